// Generation tasks: generate until a stop sequence, then compare with references.
// Formats: JSONL `{"prompt": str, "reference": str | "references": [str]}`, and OpenAI evals' chat JSONL
// (`{"input": [{"role", "content"}...] | str, "ideal": str | [str]}`, as in evals/registry/data).
// Reference for the loop: lm-evaluation-harness `generate_until` (greedy by default, stop strings cut the text).
import Foundation
import LLMTuneGeneration
import LLMTuneModels
import LLMTuneTokenizers

/// One generation example.
public struct GenerationExample: Sendable, Equatable {
    public enum Prompt: Sendable, Equatable {
        /// Plain text, tokenized as is.
        case text(String)
        /// Chat messages, rendered with the model's chat template.
        case chat([ChatMessage])
    }
    public var prompt: Prompt
    /// Acceptable answers (at least one).
    public var references: [String]

    public init(prompt: Prompt, references: [String]) {
        self.prompt = prompt
        self.references = references
    }
}

public struct GenerationTask: Sendable {
    public var name: String
    public var examples: [GenerationExample]

    public init(name: String, examples: [GenerationExample]) {
        self.name = name
        self.examples = examples
    }

    /// Reads either JSONL form (each line may use either).
    public static func loadJSONL(_ url: URL) throws -> GenerationTask {
        let file = url.path
        var examples: [GenerationExample] = []
        for (n, (line, object)) in try TaskFiles.jsonLinesNumbered(url).enumerated() {
            func fail(_ problem: String, _ hint: String = "") -> EvaluationError {
                .invalidTask(file: file, example: n, line: line, problem: problem, hint: hint)
            }
            let prompt: GenerationExample.Prompt
            if let text = object["prompt"] as? String {
                prompt = .text(text)
            } else if let text = object["input"] as? String {
                prompt = .text(text)
            } else if let messages = object["input"] as? [Any] {
                var chat: [ChatMessage] = []
                for (k, raw) in messages.enumerated() {
                    guard let m = raw as? [String: Any], let role = m["role"] as? String,
                          let content = m["content"] as? String else {
                        throw fail("\"input\" message \(k) needs string \"role\" and \"content\"")
                    }
                    chat.append(ChatMessage(role: role, content: content))
                }
                guard !chat.isEmpty else { throw fail("\"input\" has no messages") }
                prompt = .chat(chat)
            } else {
                throw fail("missing \"prompt\" (or OpenAI evals \"input\")",
                           "lines are {\"prompt\", \"reference\"} or {\"input\": [messages], \"ideal\"}")
            }
            var references: [String] = []
            for key in ["reference", "references", "ideal"] {
                if let s = object[key] as? String { references.append(s) }
                if let list = object[key] as? [Any] {
                    let strings = list.compactMap { $0 as? String }
                    guard strings.count == list.count else { throw fail("\"\(key)\" must hold only strings") }
                    references += strings
                }
            }
            guard !references.isEmpty else { throw fail("missing \"reference\" (or \"ideal\")") }
            examples.append(GenerationExample(prompt: prompt, references: references))
        }
        guard !examples.isEmpty else {
            throw EvaluationError.invalidTask(file: file, example: nil, problem: "no examples", hint: "one JSON object per line")
        }
        return GenerationTask(name: url.deletingPathExtension().lastPathComponent, examples: examples)
    }
}

/// Options of a generation run.
public struct GenerationTaskOptions: Sendable {
    /// Decoding: greedy by default, stopping at "\n\n" for text prompts (the harness's default `until`).
    public var generation = GenerationOptions(maxTokens: 128, sampling: .greedy, stopStrings: [])
    /// Stop strings for text prompts when `generation.stopStrings` is empty. Default ["\n\n"].
    public var defaultTextStops = ["\n\n"]
    public var normalization = TextNormalization()
    /// Score only the first `limit` examples. Default nil: all.
    public var limit: Int? = nil
    /// Start text prompts with the BOS token (the harness does for Gemma). Default false.
    public var prependBOS = false
    /// Chain-of-thought prompting: `chainOfThoughtTrigger` is appended to the prompt (text prompts: after a space;
    /// chat: to the last user message) and the answer is extracted with `answerPattern`. Default false.
    public var chainOfThought = false
    /// The chain-of-thought instruction. Default "Let's think step by step." (Kojima et al., 2022).
    public var chainOfThoughtTrigger = "Let's think step by step."
    /// Regular expression whose first match (capture group 1 when present) is the answer; nil = the whole output.
    /// With chain of thought and no pattern, `ReasoningAnswers.defaultPattern` ("The answer is X.") is used; an
    /// output without a match answers "" (counted wrong, like the harness's "[invalid]").
    public var answerPattern: String? = nil
    /// Self-consistency (Wang et al., 2022): sample this many reasoning paths with `voteSampling` (seed + path
    /// index) and majority-vote the extracted answers (ties: the answer seen first). Default 1: one greedy output.
    public var selfConsistency = 1
    /// Sampling of self-consistency paths. Default temperature 0.7, seed 0.
    public var voteSampling = SamplingParameters(temperature: 0.7)
    /// Also score outputs as ranked lists (items split on newlines / commas, list markers dropped): precision@k and
    /// average precision@k against the references as the relevant set. Default nil: off.
    public var rankK: Int? = nil

    public init() {}
}

/// Answer extraction and voting for chain-of-thought and self-consistency.
public enum ReasoningAnswers {
    /// "The answer is X" up to a sentence end or line end.
    public static let defaultPattern = #"(?i)the answer is:?\s*(.+?)\s*(?:\.(?:\s|$)|\n|$)"#

    /// The first match of `pattern` in `text` (group 1 when the pattern has one); "" when nothing matches.
    public static func extract(_ text: String, pattern: String) throws -> String {
        let regex: NSRegularExpression
        do { regex = try NSRegularExpression(pattern: pattern) } catch {
            throw EvaluationError.invalidOption(name: "answer-pattern", problem: "not a valid regular expression: \(pattern)")
        }
        guard let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return "" }
        let range = m.numberOfRanges > 1 && m.range(at: 1).location != NSNotFound ? m.range(at: 1) : m.range
        return Range(range, in: text).map { String(text[$0]) } ?? ""
    }

    /// The most frequent answer (ties: the one seen first).
    public static func majority(_ answers: [String]) -> String {
        var counts: [String: Int] = [:]
        for a in answers { counts[a, default: 0] += 1 }
        var best = answers.first ?? ""
        for a in answers where counts[a]! > counts[best]! { best = a }
        return best
    }
}

public struct GenerationSample: Codable, Sendable {
    public var index: Int
    /// The scored answer (extracted / voted when chain of thought or self-consistency is on).
    public var output: String
    /// The generated texts behind `output` (one per self-consistency path), when extraction or voting was used.
    public var rawOutputs: [String]? = nil
    public var references: [String]
    public var exactMatch: Double
    public var contains: Double
    public var rougeL: Double
    public var precisionAtK: Double? = nil
    public var averagePrecisionAtK: Double? = nil

    enum CodingKeys: String, CodingKey {
        case index, output, rawOutputs = "raw_outputs", references, exactMatch = "exact_match", contains
        case rougeL = "rouge_l", precisionAtK = "precision_at_k", averagePrecisionAtK = "average_precision_at_k"
    }
}

public struct GenerationTaskResult: Codable, Sendable {
    public var task: String
    public var examples: Int
    public var exactMatch: Double
    public var exactMatchStderr: Double
    public var contains: Double
    public var containsStderr: Double
    public var rougeL: Double
    public var rougeLStderr: Double
    /// sacrebleu-style corpus BLEU, 0-100.
    public var bleu: Double
    /// k of the ranked-list metrics, when on.
    public var rankK: Int? = nil
    /// Mean precision@k, when on.
    public var precisionAtK: Double? = nil
    /// Mean average precision@k (MAP@k), when on.
    public var averagePrecisionAtK: Double? = nil
    public var samples: [GenerationSample]

    enum CodingKeys: String, CodingKey {
        case task, examples, exactMatch = "exact_match", exactMatchStderr = "exact_match_stderr", contains
        case containsStderr = "contains_stderr", rougeL = "rouge_l", rougeLStderr = "rouge_l_stderr", bleu
        case rankK = "k", precisionAtK = "precision_at_k", averagePrecisionAtK = "average_precision_at_k", samples
    }

    /// Metrics from outputs (no model): what `GenerationEvaluation.evaluate` reports.
    public init(task: String, outputs: [String], references: [[String]], normalization: TextNormalization,
                rankK: Int? = nil) {
        self.task = task
        examples = outputs.count
        samples = outputs.indices.map { i in
            GenerationSample(index: i, output: outputs[i], references: references[i],
                             exactMatch: TextMetrics.exactMatch(outputs[i], references: references[i], normalization: normalization),
                             contains: TextMetrics.contains(outputs[i], references: references[i], normalization: normalization),
                             rougeL: TextMetrics.rougeL(outputs[i], references: references[i]))
        }
        let em = samples.map(\.exactMatch), co = samples.map(\.contains), rl = samples.map(\.rougeL)
        exactMatch = Statistics.mean(em); exactMatchStderr = Statistics.meanStderr(em)
        contains = Statistics.mean(co); containsStderr = Statistics.meanStderr(co)
        rougeL = Statistics.mean(rl); rougeLStderr = Statistics.meanStderr(rl)
        bleu = TextMetrics.corpusBLEU(outputs, references: references)
        if let k = rankK {
            self.rankK = k
            for i in samples.indices {
                let items = TextMetrics.rankedItems(outputs[i], normalization: normalization)
                let relevant = Set(references[i].map(normalization.apply))
                samples[i].precisionAtK = TextMetrics.precisionAtK(items, relevant: relevant, k: k)
                samples[i].averagePrecisionAtK = TextMetrics.averagePrecisionAtK(items, relevant: relevant, k: k)
            }
            precisionAtK = Statistics.mean(samples.map { $0.precisionAtK! })
            averagePrecisionAtK = Statistics.mean(samples.map { $0.averagePrecisionAtK! })
        }
    }
}

public enum GenerationEvaluation {
    /// Generates an answer for each example (fresh KV cache each time, so results do not depend on order) and
    /// scores it. `encodeChat` renders chat prompts (e.g. `LoadedModel.encodeChat`).
    public static func evaluate(_ model: LanguageModel, tokenizer: Tokenizer, task: GenerationTask,
                                options: GenerationTaskOptions = GenerationTaskOptions(),
                                encodeChat: (([ChatMessage]) throws -> [Int])? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> GenerationTaskResult {
        let count = min(options.limit ?? task.examples.count, task.examples.count)
        guard count > 0 else { throw EvaluationError.invalidOption(name: "limit", problem: "must be >= 1") }
        guard options.selfConsistency >= 1 else {
            throw EvaluationError.invalidOption(name: "self-consistency", problem: "must be >= 1")
        }
        if let k = options.rankK, k < 1 { throw EvaluationError.invalidOption(name: "rank-k", problem: "must be >= 1") }
        let pattern = options.answerPattern ?? (options.chainOfThought ? ReasoningAnswers.defaultPattern : nil)
        let generator = Generator(model: model, tokenizer: tokenizer)
        var outputs: [String] = []
        var raw: [[String]] = []
        for i in 0..<count {
            var generation = options.generation
            let ids: [Int]
            switch task.examples[i].prompt {
            case .text(var text):
                if options.chainOfThought { text += " " + options.chainOfThoughtTrigger }
                ids = (options.prependBOS ? tokenizer.bosTokenId.map { [$0] } ?? [] : [])
                    + tokenizer.encode(text, addSpecialTokens: false)
                if generation.stopStrings.isEmpty { generation.stopStrings = options.defaultTextStops }
            case .chat(var messages):
                guard let encodeChat else {
                    throw EvaluationError.unsupported("task \(task.name) has chat prompts but no chat template was given")
                }
                if options.chainOfThought, let last = messages.lastIndex(where: { $0.role == "user" }) {
                    messages[last].content += "\n" + options.chainOfThoughtTrigger
                }
                ids = try encodeChat(messages)
            }
            guard !ids.isEmpty else {
                throw EvaluationError.invalidTask(file: task.name, example: i, problem: "the prompt is empty", hint: "")
            }
            var texts: [String] = []
            for path in 0..<options.selfConsistency {
                var g = generation
                if options.selfConsistency > 1 {
                    g.sampling = options.voteSampling
                    g.sampling.seed = options.voteSampling.seed &+ UInt64(path)
                }
                generator.reset()
                texts.append(try generator.generate(prompt: ids, options: g).text)
            }
            let answers = try pattern.map { p in try texts.map { try ReasoningAnswers.extract($0, pattern: p) } } ?? texts
            outputs.append(ReasoningAnswers.majority(answers))
            raw.append(texts)
            progress?(i + 1, count)
        }
        var result = GenerationTaskResult(task: task.name, outputs: outputs,
                                          references: task.examples[0..<count].map(\.references),
                                          normalization: options.normalization, rankK: options.rankK)
        if pattern != nil || options.selfConsistency > 1 {
            for i in result.samples.indices { result.samples[i].rawOutputs = raw[i] }
        }
        return result
    }
}
