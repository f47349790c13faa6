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

    public init() {}
}

public struct GenerationSample: Codable, Sendable {
    public var index: Int
    public var output: String
    public var references: [String]
    public var exactMatch: Double
    public var contains: Double
    public var rougeL: Double

    enum CodingKeys: String, CodingKey {
        case index, output, references, exactMatch = "exact_match", contains, rougeL = "rouge_l"
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
    public var samples: [GenerationSample]

    enum CodingKeys: String, CodingKey {
        case task, examples, exactMatch = "exact_match", exactMatchStderr = "exact_match_stderr", contains
        case containsStderr = "contains_stderr", rougeL = "rouge_l", rougeLStderr = "rouge_l_stderr", bleu, samples
    }

    /// Metrics from outputs (no model): what `GenerationEvaluation.evaluate` reports.
    public init(task: String, outputs: [String], references: [[String]], normalization: TextNormalization) {
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
        let generator = Generator(model: model, tokenizer: tokenizer)
        var outputs: [String] = []
        for i in 0..<count {
            var generation = options.generation
            let ids: [Int]
            switch task.examples[i].prompt {
            case .text(let text):
                ids = (options.prependBOS ? tokenizer.bosTokenId.map { [$0] } ?? [] : [])
                    + tokenizer.encode(text, addSpecialTokens: false)
                if generation.stopStrings.isEmpty { generation.stopStrings = options.defaultTextStops }
            case .chat(let messages):
                guard let encodeChat else {
                    throw EvaluationError.unsupported("task \(task.name) has chat prompts but no chat template was given")
                }
                ids = try encodeChat(messages)
            }
            guard !ids.isEmpty else {
                throw EvaluationError.invalidTask(file: task.name, example: i, problem: "the prompt is empty", hint: "")
            }
            generator.reset()
            outputs.append(try generator.generate(prompt: ids, options: generation).text)
            progress?(i + 1, count)
        }
        return GenerationTaskResult(task: task.name, outputs: outputs,
                                    references: task.examples[0..<count].map(\.references),
                                    normalization: options.normalization)
    }
}
