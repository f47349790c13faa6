// Scoring multiple-choice tasks by log-likelihood, lm-evaluation-harness style.
// Reference: lm-evaluation-harness `ConfigurableTask.process_results` for `output_type: multiple_choice`:
// each choice is the continuation `target_delimiter + choice` of the prompt; acc = [argmax ll in gold];
// acc_norm = [argmax ll / len(choice) in gold] (length in characters of the choice text); ties go to the lowest
// index (np.argmax). Standard errors: `mean_stderr` = sample standard deviation / sqrt(n).
// Tokenization: `HFLM._encode_pair`: trailing whitespace of the context moves to the continuation, the
// continuation's tokens are those of tokenize(context + continuation) after tokenize(context).
import Foundation
import LLMTuneModels
import LLMTuneTokenizers

/// Options of a multiple-choice run.
public struct MultipleChoiceOptions: Sendable {
    /// Few-shot examples per prompt. Default 0.
    public var shots: Int = 0
    /// Seed of the few-shot draw. Default 1234 (the harness's default fewshot seed).
    public var seed: UInt64 = 1234
    /// Score only the first `limit` examples (shots still come from all examples). Default nil: all.
    public var limit: Int? = nil
    /// Requests sharing one context prefill (see `LogLikelihood.score`). Default 32.
    public var batchSize: Int = 32
    /// Start every encoding with the BOS token (the harness does for Gemma). Default false.
    public var prependBOS = false

    public init(shots: Int = 0, seed: UInt64 = 1234, limit: Int? = nil, batchSize: Int = 32, prependBOS: Bool = false) {
        self.shots = shots
        self.seed = seed
        self.limit = limit
        self.batchSize = batchSize
        self.prependBOS = prependBOS
    }
}

/// The outcome of one scored example.
public struct MultipleChoicePrediction: Codable, Sendable, Equatable {
    public var index: Int
    /// Summed log-likelihood of each choice.
    public var logLikelihoods: [Double]
    public var gold: [Int]
    /// argmax of the log-likelihoods.
    public var prediction: Int
    /// argmax of the log-likelihoods divided by the choices' character counts.
    public var normalizedPrediction: Int

    enum CodingKeys: String, CodingKey {
        case index, logLikelihoods = "loglikelihoods", gold, prediction, normalizedPrediction = "prediction_norm"
    }
}

/// acc / acc_norm and their standard errors.
public struct MultipleChoiceResult: Codable, Sendable {
    public var task: String
    public var shots: Int
    public var examples: Int
    public var accuracy: Double
    public var accuracyStderr: Double
    public var normalizedAccuracy: Double
    public var normalizedAccuracyStderr: Double
    public var predictions: [MultipleChoicePrediction]

    enum CodingKeys: String, CodingKey {
        case task, shots, examples, accuracy = "acc", accuracyStderr = "acc_stderr"
        case normalizedAccuracy = "acc_norm", normalizedAccuracyStderr = "acc_norm_stderr", predictions
    }
}

public enum MultipleChoice {
    /// Scores `task` on `model`.
    public static func evaluate(_ model: LanguageModel, tokenizer: Tokenizer, task: MultipleChoiceTask,
                                options: MultipleChoiceOptions = MultipleChoiceOptions(),
                                progress: ((Int, Int) -> Void)? = nil) throws -> MultipleChoiceResult {
        guard options.shots >= 0 else { throw EvaluationError.invalidOption(name: "num-fewshot", problem: "must be >= 0") }
        let count = min(options.limit ?? task.examples.count, task.examples.count)
        guard count > 0 else { throw EvaluationError.invalidOption(name: "limit", problem: "must be >= 1") }
        var requests: [LogLikelihoodRequest] = []
        var owners: [(example: Int, choice: Int)] = []
        for i in 0..<count {
            let shots = try task.fewShotIndices(for: i, count: options.shots, seed: options.seed)
            let prompt = task.prompt(for: i, shots: shots)
            for (c, choice) in task.examples[i].choices.enumerated() {
                let pair = encodePair(tokenizer, context: prompt, continuation: task.targetDelimiter + choice,
                                      prependBOS: options.prependBOS)
                requests.append(LogLikelihoodRequest(context: pair.context, continuation: pair.continuation))
                owners.append((i, c))
            }
        }
        let scores = try LogLikelihood.score(model, requests: requests, batchSize: options.batchSize,
                                             progress: progress)
        var lls = task.examples[0..<count].map { [Double](repeating: 0, count: $0.choices.count) }
        for (k, owner) in owners.enumerated() { lls[owner.example][owner.choice] = scores[k].logprob }

        var predictions: [MultipleChoicePrediction] = []
        for i in 0..<count {
            let example = task.examples[i]
            let lengths = example.choices.map { Double($0.unicodeScalars.count) }
            let normalized = zip(lls[i], lengths).map { $0 / $1 }
            predictions.append(MultipleChoicePrediction(index: i, logLikelihoods: lls[i], gold: example.gold,
                                                        prediction: argmax(lls[i]),
                                                        normalizedPrediction: argmax(normalized)))
        }
        let acc = predictions.map { $0.gold.contains($0.prediction) ? 1.0 : 0.0 }
        let accNorm = predictions.map { $0.gold.contains($0.normalizedPrediction) ? 1.0 : 0.0 }
        return MultipleChoiceResult(task: task.name, shots: options.shots, examples: count,
                                    accuracy: Statistics.mean(acc), accuracyStderr: Statistics.meanStderr(acc),
                                    normalizedAccuracy: Statistics.mean(accNorm),
                                    normalizedAccuracyStderr: Statistics.meanStderr(accNorm), predictions: predictions)
    }

    /// The harness's `_encode_pair`: (context tokens, continuation tokens). An empty context becomes the BOS
    /// (or first EOS) token.
    public static func encodePair(_ tokenizer: Tokenizer, context: String, continuation: String,
                                  prependBOS: Bool = false) -> (context: [Int], continuation: [Int]) {
        var context = context, continuation = continuation
        let trimmed = pythonRightStrip(context)
        if trimmed.count < context.count {
            continuation = String(context[trimmed.endIndex...]) + continuation
            context = String(trimmed)
        }
        let bos = prependBOS ? tokenizer.bosTokenId.map { [$0] } ?? [] : []
        if context.isEmpty {
            let start = tokenizer.bosTokenId ?? tokenizer.eosTokenIds.first ?? 0
            return ([start], tokenizer.encode(continuation, addSpecialTokens: false))
        }
        let whole = bos + tokenizer.encode(context + continuation, addSpecialTokens: false)
        let contextTokens = bos + tokenizer.encode(context, addSpecialTokens: false)
        return (contextTokens, Array(whole[min(contextTokens.count, whole.count)...]))
    }

    /// Python `str.rstrip()`: drops trailing Unicode whitespace.
    static func pythonRightStrip(_ s: String) -> Substring {
        var end = s.endIndex
        while end > s.startIndex {
            let before = s.index(before: end)
            if s[before].unicodeScalars.allSatisfy(Perplexity.isPythonWhitespace) { end = before } else { break }
        }
        return s[..<end]
    }

    /// Index of the largest value; ties go to the lowest index (np.argmax).
    static func argmax(_ x: [Double]) -> Int {
        var best = 0
        for i in x.indices where x[i] > x[best] { best = i }
        return best
    }
}

/// The harness's aggregate statistics.
public enum Statistics {
    public static func mean(_ x: [Double]) -> Double { x.isEmpty ? .nan : x.reduce(0, +) / Double(x.count) }

    /// Sample standard deviation (n - 1 in the denominator).
    public static func sampleStandardDeviation(_ x: [Double]) -> Double {
        guard x.count > 1 else { return .nan }
        let m = mean(x)
        return (x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)).squareRoot()
    }

    /// Standard error of the mean: sample standard deviation / sqrt(n) (harness `mean_stderr`).
    public static func meanStderr(_ x: [Double]) -> Double {
        sampleStandardDeviation(x) / Double(x.count).squareRoot()
    }
}
