// Loading a data set for `llmtune train --data PATH`: a file (.jsonl / .json / .csv) split into train /
// validation (/ test) with a seeded shuffle, or a folder with train.* and optional valid.* (validation.*,
// val.*) and test.* files (mlx-lm's layout; a folder with only a train file is split like a single file).
// Records are templated and tokenized by ExampleEncoder, then truncated or dropped to `maxLength`.

import Foundation
import LLMTuneTokenizers

/// The examples of each split and the report of how they were made.
public struct DatasetSplits: Sendable {
    public var train: [TokenizedExample]
    public var validation: [TokenizedExample]
    public var test: [TokenizedExample]
    public var report: DatasetReport

    public init(train: [TokenizedExample], validation: [TokenizedExample], test: [TokenizedExample],
                report: DatasetReport) {
        self.train = train
        self.validation = validation
        self.test = test
        self.report = report
    }
}

/// Reads, splits, templates and tokenizes training data.
public enum DatasetLoader {
    /// The files of a data folder, by split.
    public struct FolderLayout: Sendable, Equatable {
        public var train: URL
        public var validation: URL?
        public var test: URL?
    }

    static let extensions = ["jsonl", "json", "csv"]
    static let splitNames: [(split: String, names: [String])] = [
        ("train", ["train"]), ("validation", ["valid", "validation", "val", "dev"]), ("test", ["test"]),
    ]

    /// The train / validation / test files of a folder.
    public static func layout(of folder: URL) throws -> FolderLayout {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.sorted() ?? []
        let dataFiles = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
        var found: [String: URL] = [:]
        for (split, stems) in splitNames {
            let matches = dataFiles.filter { stems.contains(($0 as NSString).deletingPathExtension.lowercased()) }
            if matches.count > 1 {
                throw DatasetError.ambiguousSplit(folder: folder.path, split: split, files: matches)
            }
            if let match = matches.first { found[split] = folder.appendingPathComponent(match) }
        }
        guard let train = found["train"] else {
            throw DatasetError.folderWithoutTrainFile(folder: folder.path, files: names)
        }
        return FolderLayout(train: train, validation: found["validation"], test: found["test"])
    }

    /// Parses one file into records (no tokenizer). Malformed records throw, or are left out with
    /// `options.skipBadRecords` (see `parse(_:options:)` for the skipped ones).
    public static func readRecords(_ file: URL, options: DatasetOptions = DatasetOptions()) throws -> [Record] {
        try parse(file, options: options).records
    }

    /// Parses one file into records, keeping the errors of skipped records.
    public static func parse(_ file: URL, options: DatasetOptions = DatasetOptions()) throws -> ParsedFile {
        try RecordReader.read(file, options: options)
    }

    /// Loads a file or a data folder into tokenized train / validation / test examples.
    public static func load(_ path: URL, tokenizer: any Tokenizer, options: DatasetOptions) throws -> DatasetSplits {
        try options.validate()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isFolder) else {
            throw DatasetError.notFound(path: path.path)
        }
        var report = DatasetReport()
        var bad: [DatasetError] = []
        func read(_ url: URL, _ split: String) throws -> [Record] {
            let parsed = try parse(url, options: options)
            report.files.append("\(split): \(url.lastPathComponent)")
            bad += parsed.badRecords
            if parsed.records.isEmpty, let first = parsed.badRecords.first {
                throw DatasetError.emptySplit(split: split, reason: "all \(parsed.badRecords.count) records of "
                    + "\(url.lastPathComponent) are malformed; the first: \(first)")
            }
            return parsed.records
        }
        var train: [Record], validation: [Record] = [], test: [Record] = []
        if isFolder.boolValue {
            let layout = try layout(of: path)
            train = try read(layout.train, "train")
            if let url = layout.validation { validation = try read(url, "validation") }
            if let url = layout.test { test = try read(url, "test") }
            if layout.validation == nil {
                let split = try splitRecords(train, options: options, includeTest: layout.test == nil)
                (train, validation) = (split.train, split.validation)
                if layout.test == nil { test = split.test }
            }
        } else {
            let all = try read(path, "all")
            (train, validation, test) = try splitRecords(all, options: options, includeTest: true)
        }
        report.records = SplitCounts(train: train.count, validation: validation.count, test: test.count)
        report.badRecords = bad.count
        report.badRecordSamples = bad.prefix(10).map(\.description)
        for record in train + validation + test { report.formats[record.format.rawValue, default: 0] += 1 }

        let encoder = ExampleEncoder(tokenizer: tokenizer, options: options)
        let trainExamples = try encode(train, encoder: encoder, report: &report)
        let validationExamples = try encode(validation, encoder: encoder, report: &report)
        let testExamples = try encode(test, encoder: encoder, report: &report)
        report.examples = SplitCounts(train: trainExamples.count, validation: validationExamples.count,
                                      test: testExamples.count)
        let usesChat = (train + validation + test).contains {
            if case .chat = $0.content { return true } else { return false }
        }
        if usesChat || options.promptCompletionAsChat || options.alpacaAsChat {
            report.chatTemplate = (try? encoder.chatTemplate())?.kind.rawValue
        }
        if trainExamples.isEmpty {
            throw DatasetError.emptySplit(split: "train", reason: train.isEmpty
                ? "no training records" : "all \(train.count) records were dropped (longer than maxLength "
                    + "\(options.maxLength) tokens, or no target token left after truncation); raise maxLength")
        }
        return DatasetSplits(train: trainExamples, validation: validationExamples, test: testExamples, report: report)
    }

    /// The id to pad batches with: the tokenizer's pad token, else its EOS, else 0 (padding is never a target,
    /// and right padding is never attended to by real tokens under a causal mask).
    public static func paddingTokenId(for tokenizer: any Tokenizer) -> Int {
        tokenizer.padTokenId ?? tokenizer.eosTokenIds.first ?? 0
    }

    /// Tokenizes records (with truncation / dropping), outside of any file layout; returns the examples and a
    /// report of the token counts.
    public static func examples(from records: [Record], tokenizer: any Tokenizer, options: DatasetOptions) throws
        -> (examples: [TokenizedExample], report: DatasetReport) {
        try options.validate()
        var report = DatasetReport()
        for record in records { report.formats[record.format.rawValue, default: 0] += 1 }
        let examples = try encode(records, encoder: ExampleEncoder(tokenizer: tokenizer, options: options),
                                  report: &report)
        report.records.train = records.count
        report.examples.train = examples.count
        return (examples, report)
    }

    /// Seeded split of one file's records: validation and test counts are round(fraction * n) (at least one
    /// when the fraction is positive), taken from a SplitMix64 shuffle; each split keeps file order.
    public static func splitRecords(_ records: [Record], options: DatasetOptions, includeTest: Bool = true) throws
        -> (train: [Record], validation: [Record], test: [Record]) {
        let n = records.count
        func count(_ fraction: Double) -> Int {
            fraction > 0 ? max(1, Int((Double(n) * fraction).rounded())) : 0
        }
        let validationCount = count(options.validationFraction)
        let testCount = includeTest ? count(options.testFraction) : 0
        guard validationCount + testCount < n else {
            throw DatasetError.emptySplit(split: "train", reason: "\(n) records cannot give \(validationCount) for "
                + "validation and \(testCount) for test and still leave some for training; add records, lower "
                + "the fractions, or give a folder with train and valid files")
        }
        var random = DataRandom(seed: options.seed, stream: 0x5_9117)
        let order = random.permutation(n)
        var assignment = [UInt8](repeating: 0, count: n)
        for i in order.prefix(validationCount) { assignment[i] = 1 }
        for i in order.dropFirst(validationCount).prefix(testCount) { assignment[i] = 2 }
        var train: [Record] = [], validation: [Record] = [], test: [Record] = []
        for (index, record) in records.enumerated() {
            switch assignment[index] {
            case 1: validation.append(record)
            case 2: test.append(record)
            default: train.append(record)
            }
        }
        return (train, validation, test)
    }

    /// Encodes records in parallel, applies the length policy and accumulates the report's counts.
    static func encode(_ records: [Record], encoder: ExampleEncoder,
                       report: inout DatasetReport) throws -> [TokenizedExample] {
        if records.isEmpty { return [] }
        var results = [Result<(example: TokenizedExample, piecewise: Bool), Error>?](repeating: nil,
                                                                                      count: records.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            let chunk = 64
            let chunks = (records.count + chunk - 1) / chunk
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for i in (c * chunk)..<min(records.count, (c + 1) * chunk) {
                    base[i] = Result { try encoder.encodeReporting(records[i].content) }
                }
            }
        }
        let maxLength = encoder.options.maxLength
        var examples: [TokenizedExample] = []
        examples.reserveCapacity(records.count)
        for result in results {
            guard let result else { continue }
            var (example, piecewise) = try result.get()
            if piecewise { report.boundaryMerges += 1 }
            if example.count > maxLength {
                if encoder.options.overLength == .drop {
                    report.dropped += 1
                    continue
                }
                example = TokenizedExample(tokens: Array(example.tokens.prefix(maxLength)),
                                           lossMask: Array(example.lossMask.prefix(maxLength)))
                report.truncated += 1
            }
            let targets = example.targetCount
            if targets == 0 {
                report.dropped += 1
                continue
            }
            report.completionTokens += targets
            report.promptTokens += example.count - targets
            report.longestExample = max(report.longestExample, example.count)
            examples.append(example)
        }
        return examples
    }
}
