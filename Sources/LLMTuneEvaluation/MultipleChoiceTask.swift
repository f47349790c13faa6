// Multiple-choice tasks: the examples, how prompts are laid out, and the two file formats that supply them.
// References: lm-evaluation-harness `ConfigurableTask` (description + few-shot examples joined by
// `fewshot_delimiter`, each `doc_to_text + target_delimiter + doc_to_target`), and BIG-bench
// `bigbench/api/json_task.py` (`default_format_fn`, `make_nshot_dataset`): an example's input becomes
// `example_input_prefix + input [+ choice_prefix + choices] + example_output_prefix`, shots are joined by
// `few_shot_example_separator`, and `task_prefix` starts every prompt.
import Foundation

/// One question with its candidate answers.
public struct MultipleChoiceExample: Sendable, Equatable {
    /// The prompt text for this example, up to where an answer goes (already holds any task prefixes).
    public var query: String
    /// The candidate answers, scored as continuations of the prompt.
    public var choices: [String]
    /// Indices of the correct choices (one or more).
    public var gold: [Int]

    public init(query: String, choices: [String], gold: [Int]) {
        self.query = query
        self.choices = choices
        self.gold = gold
    }
}

/// A multiple-choice task: examples and the prompt layout.
public struct MultipleChoiceTask: Sendable {
    public var name: String
    public var examples: [MultipleChoiceExample]
    /// Text before everything (harness `description`, BIG-bench `task_prefix`). Default "".
    public var description: String
    /// Between few-shot examples and before the scored one. Harness default "\n\n"; BIG-bench default "\n".
    public var fewShotSeparator: String
    /// Between a query and its answer. Harness default " "; "" for BIG-bench, whose output prefix ends the query.
    public var targetDelimiter: String

    public init(name: String, examples: [MultipleChoiceExample], description: String = "",
                fewShotSeparator: String = "\n\n", targetDelimiter: String = " ") {
        self.name = name
        self.examples = examples
        self.description = description
        self.fewShotSeparator = fewShotSeparator
        self.targetDelimiter = targetDelimiter
    }

    /// The prompt for example `index` with the given shot indices (each shown with its first gold answer).
    public func prompt(for index: Int, shots: [Int]) -> String {
        var text = description
        for s in shots {
            let shot = examples[s]
            text += shot.query + targetDelimiter + shot.choices[shot.gold[0]] + fewShotSeparator
        }
        return text + examples[index].query
    }

    /// `count` few-shot example indices for example `index`, drawn without replacement from the other examples
    /// (never `index`, nor an example identical to it) by a generator seeded with (seed, index), so every
    /// example's shots are fixed whatever `--limit` is.
    public func fewShotIndices(for index: Int, count: Int, seed: UInt64) throws -> [Int] {
        if count == 0 { return [] }
        let me = examples[index]
        var pool = examples.indices.filter { $0 != index && examples[$0] != me }
        guard pool.count >= count else {
            throw EvaluationError.invalidOption(
                name: "num-fewshot", problem: "\(count) shots need \(count) other examples; task \(name) has \(pool.count)")
        }
        var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        for i in 0..<count {   // partial Fisher-Yates
            let j = i + Int(rng.next() % UInt64(pool.count - i))
            pool.swapAt(i, j)
        }
        return Array(pool[0..<count])
    }
}

/// A small seeded generator (SplitMix64, Steele et al. 2014) for reproducible few-shot draws.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Loading

extension MultipleChoiceTask {
    /// Reads a JSONL file of `{"question" or "context": str, "choices": [str], "answer": int or str}` lines
    /// (answer: 0-based index, or the text of a choice). Prompts are laid out harness-style: the question, then
    /// " " + choice.
    public static func loadJSONL(_ url: URL) throws -> MultipleChoiceTask {
        let file = url.path
        let lines = try TaskFiles.jsonLinesNumbered(url)
        var examples: [MultipleChoiceExample] = []
        for (n, (line, object)) in lines.enumerated() {
            func fail(_ problem: String, _ hint: String = "") -> EvaluationError {
                .invalidTask(file: file, example: n, line: line, problem: problem, hint: hint)
            }
            guard let query = (object["question"] ?? object["context"]) as? String else {
                throw fail("missing \"question\" (or \"context\") string", "each line is {\"question\", \"choices\", \"answer\"}")
            }
            guard let rawChoices = object["choices"] as? [Any] else {
                throw fail("missing \"choices\" list of strings")
            }
            let choices = rawChoices.compactMap { $0 as? String }
            guard choices.count == rawChoices.count else { throw fail("\"choices\" must hold only strings") }
            guard !choices.isEmpty else { throw fail("\"choices\" is empty", "give at least one candidate answer") }
            let answer: Int
            if let text = object["answer"] as? String {
                guard let i = choices.firstIndex(of: text) else {
                    throw fail("\"answer\" \"\(text)\" is not one of the choices")
                }
                answer = i
            } else if let number = object["answer"] as? NSNumber, number.doubleValue == number.doubleValue.rounded(),
                      abs(number.doubleValue) < 1e15 {
                answer = number.intValue
                guard answer >= 0 && answer < choices.count else {
                    throw fail("\"answer\" \(answer) is out of range for \(choices.count) choices", "answers are 0-based indices")
                }
            } else {
                throw fail("missing \"answer\" (a 0-based choice index or the text of a choice)")
            }
            examples.append(MultipleChoiceExample(query: query, choices: choices, gold: [answer]))
        }
        guard !examples.isEmpty else {
            throw EvaluationError.invalidTask(file: file, example: nil, problem: "no examples", hint: "one JSON object per line")
        }
        return MultipleChoiceTask(name: url.deletingPathExtension().lastPathComponent, examples: examples)
    }

    /// Reads a BIG-bench `task.json` as published: examples with `target_scores`, and the task's
    /// `task_prefix`, `example_input_prefix` ("\nQ: "), `example_output_prefix` ("\nA: "), `choice_prefix`
    /// ("\n  choice: "), `append_choices_to_input` (true) and `few_shot_example_separator` ("\n").
    /// Gold choices are those with the highest score. Where BIG-bench appends the choices to the input it
    /// lists them in a numpy-seeded permutation of their sorted order; here they are listed sorted.
    public static func loadBigBench(_ url: URL) throws -> MultipleChoiceTask {
        let file = url.path
        let root = try TaskFiles.jsonObject(url)
        func string(_ key: String, _ fallback: String) throws -> String {
            guard let value = root[key] else { return fallback }
            guard let s = value as? String else {
                throw EvaluationError.invalidTask(file: file, example: nil, problem: "\"\(key)\" is not a string", hint: "")
            }
            return s
        }
        let inputPrefix = try string("example_input_prefix", "\nQ: ")
        let outputPrefix = try string("example_output_prefix", "\nA: ")
        let choicePrefix = try string("choice_prefix", "\n  choice: ")
        let separator = try string("few_shot_example_separator", "\n")
        let taskPrefix = try string("task_prefix", "")
        let appendChoices = (root["append_choices_to_input"] as? Bool) ?? true
        let name = (root["name"] as? String) ?? url.deletingLastPathComponent().lastPathComponent
        guard let rawExamples = root["examples"] as? [Any] else {
            throw EvaluationError.invalidTask(file: file, example: nil, problem: "no \"examples\" list",
                                              hint: "this may be a programmatic BIG-bench task (task.py), not a JSON one")
        }
        var examples: [MultipleChoiceExample] = []
        for (n, raw) in rawExamples.enumerated() {
            func fail(_ problem: String, _ hint: String = "") -> EvaluationError {
                .invalidTask(file: file, example: n, problem: problem, hint: hint)
            }
            guard let example = raw as? [String: Any] else { throw fail("not a JSON object") }
            guard let input = example["input"] as? String else { throw fail("missing \"input\" string") }
            guard let scores = example["target_scores"] as? [String: Any] else {
                throw fail("missing \"target_scores\"", "only multiple-choice BIG-bench tasks are supported here")
            }
            // JSONSerialization loses key order; recover it from the file is not possible, so choices are
            // ordered by their text (BIG-bench's own `sorted(...)` order for the listed choices).
            let choices = scores.keys.sorted()
            guard !choices.isEmpty else { throw fail("\"target_scores\" is empty") }
            var values: [Double] = []
            for c in choices {
                guard let v = scores[c] as? NSNumber else { throw fail("score of choice \"\(c)\" is not a number") }
                values.append(v.doubleValue)
            }
            let best = values.max()!, worst = values.min()!
            guard (choices.count == 1 && best != 0) || (choices.count > 1 && best > worst) else {
                throw fail("no correct choice (no score above the others)")
            }
            let gold = values.indices.filter { values[$0] == best }
            var text = input
            if appendChoices { text += choicePrefix + choices.joined(separator: choicePrefix) }
            examples.append(MultipleChoiceExample(query: inputPrefix + text + outputPrefix, choices: choices, gold: gold))
        }
        guard !examples.isEmpty else {
            throw EvaluationError.invalidTask(file: file, example: nil, problem: "no examples", hint: "")
        }
        return MultipleChoiceTask(name: name, examples: examples, description: taskPrefix,
                                  fewShotSeparator: separator, targetDelimiter: "")
    }
}

/// Reading task files with errors that name the file and example.
enum TaskFiles {
    static func read(_ url: URL) throws -> Data {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw EvaluationError.unreadableFile(path: url.path, reason: exists ? "not readable" : "no such file")
        }
        return data
    }

    /// Non-empty lines of a JSONL file, each a JSON object, with their 1-based line numbers. Example indices
    /// count non-empty lines from 0.
    static func jsonLinesNumbered(_ url: URL) throws -> [(line: Int, object: [String: Any])] {
        let text = String(decoding: try read(url), as: UTF8.self)
        var out: [(line: Int, object: [String: Any])] = []
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
                throw EvaluationError.invalidTask(file: url.path, example: out.count, line: n + 1,
                                                  problem: "not a JSON object", hint: "JSONL: one JSON object per line")
            }
            out.append((n + 1, object))
        }
        return out
    }

    static func jsonLines(_ url: URL) throws -> [[String: Any]] { try jsonLinesNumbered(url).map(\.object) }

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        let data = try read(url)
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw EvaluationError.invalidTask(file: url.path, example: nil, problem: "not a JSON object", hint: "")
            }
            return object
        } catch let error as EvaluationError {
            throw error
        } catch {
            throw EvaluationError.invalidTask(file: url.path, example: nil, problem: "invalid JSON: \(error.localizedDescription)", hint: "")
        }
    }
}
