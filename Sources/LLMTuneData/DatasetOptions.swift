// The options of data loading (the `llmtune train` data flags) and the report of what loading did.
// Defaults follow mlx-lm's LoRA trainer and LLaMA-Factory: loss on completions only, 10% validation
// split of a single file, truncation (keeping the start) of over-long examples.

import Foundation

/// How data files become training examples.
public struct DatasetOptions: Codable, Sendable, Equatable {
    /// What to do with an example longer than `maxLength` tokens.
    public enum OverLength: String, Codable, Sendable {
        /// Keep the first `maxLength` tokens (the prompt start), cut the end.
        case truncate
        /// Leave the example out.
        case drop
    }

    /// Train on prompt tokens too (default: loss only on completions / assistant turns).
    public var trainOnPrompt = false
    /// The longest example, in tokens.
    public var maxLength = 1024
    /// Truncate or drop examples longer than `maxLength`.
    public var overLength = OverLength.truncate
    /// Fraction of records held out for validation when a single file is given.
    public var validationFraction = 0.1
    /// Fraction of records held out for testing when a single file is given.
    public var testFraction = 0.0
    /// Seed of the train / validation / test split.
    public var seed: UInt64 = 0
    /// A built-in chat template name ("chatml", "llama3", "gemma", "mistral", "alpaca"); nil: the tokenizer's own.
    public var chatTemplate: String?
    /// Field mapping, canonical name -> the file's field name, e.g. ["instruction": "question"]. Canonical
    /// names: text, prompt, completion, instruction, input, output, messages, conversations, role, content.
    public var columns: [String: String] = [:]
    /// Skip malformed records (counted, with samples in the report) instead of failing.
    public var skipBadRecords = false
    /// Append the tokenizer's EOS to completions when the template does not end them with an EOS token.
    public var addEOS = true
    /// Render prompt/completion records as a user/assistant exchange through the chat template (instruct
    /// models) instead of plain concatenation.
    public var promptCompletionAsChat = false
    /// Render Alpaca records as a user/assistant exchange (user: instruction, a blank line, input) through the
    /// chat template instead of the Stanford Alpaca prompt.
    public var alpacaAsChat = false

    public init(trainOnPrompt: Bool = false, maxLength: Int = 1024, overLength: OverLength = .truncate,
                validationFraction: Double = 0.1, testFraction: Double = 0, seed: UInt64 = 0,
                chatTemplate: String? = nil, columns: [String: String] = [:], skipBadRecords: Bool = false,
                addEOS: Bool = true, promptCompletionAsChat: Bool = false, alpacaAsChat: Bool = false) {
        self.trainOnPrompt = trainOnPrompt
        self.maxLength = maxLength
        self.overLength = overLength
        self.validationFraction = validationFraction
        self.testFraction = testFraction
        self.seed = seed
        self.chatTemplate = chatTemplate
        self.columns = columns
        self.skipBadRecords = skipBadRecords
        self.addEOS = addEOS
        self.promptCompletionAsChat = promptCompletionAsChat
        self.alpacaAsChat = alpacaAsChat
    }

    private enum CodingKeys: String, CodingKey {
        case trainOnPrompt, maxLength, overLength, validationFraction, testFraction, seed, chatTemplate, columns,
             skipBadRecords, addEOS, promptCompletionAsChat, alpacaAsChat
    }

    /// Decodes a full or partial configuration: missing keys keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DatasetOptions()
        trainOnPrompt = try c.decodeIfPresent(Bool.self, forKey: .trainOnPrompt) ?? d.trainOnPrompt
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength) ?? d.maxLength
        overLength = try c.decodeIfPresent(OverLength.self, forKey: .overLength) ?? d.overLength
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? d.validationFraction
        testFraction = try c.decodeIfPresent(Double.self, forKey: .testFraction) ?? d.testFraction
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        chatTemplate = try c.decodeIfPresent(String.self, forKey: .chatTemplate)
        columns = try c.decodeIfPresent([String: String].self, forKey: .columns) ?? d.columns
        skipBadRecords = try c.decodeIfPresent(Bool.self, forKey: .skipBadRecords) ?? d.skipBadRecords
        addEOS = try c.decodeIfPresent(Bool.self, forKey: .addEOS) ?? d.addEOS
        promptCompletionAsChat = try c.decodeIfPresent(Bool.self, forKey: .promptCompletionAsChat)
            ?? d.promptCompletionAsChat
        alpacaAsChat = try c.decodeIfPresent(Bool.self, forKey: .alpacaAsChat) ?? d.alpacaAsChat
    }

    /// Parses a column mapping written "instruction=question,output=answer" (canonical=field, comma-separated).
    public static func parseColumns(_ text: String) throws -> [String: String] {
        var columns: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DatasetError.invalidOption(name: "columns", value: text,
                                                 hint: "write canonical=field pairs, e.g. instruction=question,output=answer")
            }
            guard canonicalFields.contains(parts[0]) else {
                throw DatasetError.invalidOption(name: "columns", value: text, hint: "'\(parts[0])' is not a known "
                    + "field; known: " + canonicalFields.joined(separator: ", "))
            }
            columns[parts[0]] = parts[1]
        }
        return columns
    }

    /// The field names `columns` can map.
    public static let canonicalFields = ["text", "prompt", "completion", "instruction", "input", "output", "messages",
                                         "conversations", "role", "content", "from", "value"]

    /// Throws on values that cannot work (a non-positive length, fractions outside [0, 1)).
    public func validate() throws {
        guard maxLength >= 2 else {
            throw DatasetError.invalidOption(name: "maxLength", value: "\(maxLength)",
                                             hint: "an example needs at least 2 tokens (one input, one target)")
        }
        for (name, value) in [("validationFraction", validationFraction), ("testFraction", testFraction)] {
            guard value >= 0 && value < 1 && value.isFinite else {
                throw DatasetError.invalidOption(name: name, value: "\(value)", hint: "use a fraction in [0, 1)")
            }
        }
        guard validationFraction + testFraction < 1 else {
            throw DatasetError.invalidOption(name: "validationFraction + testFraction",
                                             value: "\(validationFraction + testFraction)",
                                             hint: "leave some records for training (the sum must be below 1)")
        }
    }
}

/// Counts per split.
public struct SplitCounts: Codable, Sendable, Equatable {
    public var train = 0
    public var validation = 0
    public var test = 0

    public init(train: Int = 0, validation: Int = 0, test: Int = 0) {
        self.train = train
        self.validation = validation
        self.test = test
    }
}

/// What loading a data set did: files, record and example counts, formats, truncation, skipped records.
public struct DatasetReport: Codable, Sendable, Equatable {
    /// The files read, with their split ("train: data.jsonl").
    public var files: [String] = []
    /// Records parsed per split (before length filtering).
    public var records = SplitCounts()
    /// Examples kept per split.
    public var examples = SplitCounts()
    /// Records per detected format (RecordFormat raw values).
    public var formats: [String: Int] = [:]
    /// Examples cut to `maxLength`.
    public var truncated = 0
    /// Examples left out: longer than `maxLength` with `overLength = .drop`, or without a target token left.
    public var dropped = 0
    /// Records skipped as malformed (`skipBadRecords`).
    public var badRecords = 0
    /// Up to 10 skipped records, "file:line: reason".
    public var badRecordSamples: [String] = []
    /// Records whose prompt / completion boundary fell inside a BPE merge, tokenized piece by piece.
    public var boundaryMerges = 0
    /// Tokens that are not targets (prompts, chat headers, padding excluded), over all kept examples.
    public var promptTokens = 0
    /// Target tokens (completions, assistant turns, EOS), over all kept examples.
    public var completionTokens = 0
    /// The longest kept example, in tokens.
    public var longestExample = 0
    /// The chat template used (nil when no record needed one).
    public var chatTemplate: String?

    public init() {}

    /// A few lines for the terminal.
    public var summary: String {
        var lines: [String] = []
        lines.append("data: " + files.joined(separator: ", "))
        lines.append("examples: train \(examples.train), validation \(examples.validation), test \(examples.test)"
            + " (records \(records.train + records.validation + records.test))")
        let formatText = formats.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("formats: " + formatText + (chatTemplate.map { "; chat template \($0)" } ?? ""))
        lines.append("tokens: \(promptTokens) prompt, \(completionTokens) target; longest example \(longestExample)")
        if truncated > 0 || dropped > 0 { lines.append("over-long: \(truncated) truncated, \(dropped) dropped") }
        if badRecords > 0 {
            lines.append("skipped \(badRecords) bad records, e.g. " + (badRecordSamples.first ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
