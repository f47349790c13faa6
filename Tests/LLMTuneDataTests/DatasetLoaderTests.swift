// Loading files and folders: seeded splits (deterministic, golden), folder layouts, the report,
// skipBadRecords counting, the random generator's golden values.

import Foundation
import XCTest
@testable import LLMTuneData
import LLMTuneTokenizers

final class DatasetLoaderTests: XCTestCase {
    func testDataRandomGoldenValues() {
        // From an independent Python implementation of SplitMix64 with this seeding and Lemire's bounded draw:
        //   r = R(42, 7); [r.next() for _ in range(3)];  R(0, 0).perm(10);  R(2**64 - 1, 5).below(1000) x 5
        var random = DataRandom(seed: 42, stream: 7)
        XCTAssertEqual([random.next(), random.next(), random.next()],
                       [0xF91E_3EC3_FC20_C566, 0xB428_54A1_5885_F3A0, 0xB5D1_23EA_F4B0_D8B6])
        var zero = DataRandom(seed: 0, stream: 0)
        XCTAssertEqual(zero.permutation(10), [6, 2, 4, 1, 8, 0, 9, 5, 3, 7])
        var high = DataRandom(seed: .max, stream: 5)
        XCTAssertEqual((0..<5).map { _ in high.below(1000) }, [548, 476, 129, 168, 345])
    }

    func testSingleFileSplitIsSeededAndDeterministic() throws {
        let tokenizer = try DataFixtures.tokenizer()
        let url = try DataFixtures.url("mixed.jsonl")
        let options = DatasetOptions(validationFraction: 0.34, testFraction: 0.17, seed: 3)
        let first = try DatasetLoader.load(url, tokenizer: tokenizer, options: options)
        let second = try DatasetLoader.load(url, tokenizer: tokenizer, options: options)
        XCTAssertEqual(first.train, second.train)
        XCTAssertEqual(first.validation, second.validation)
        XCTAssertEqual(first.test, second.test)
        XCTAssertEqual(first.report.records, SplitCounts(train: 3, validation: 2, test: 1))
        XCTAssertEqual(first.report.examples, SplitCounts(train: 3, validation: 2, test: 1))
        XCTAssertEqual(first.report.formats, ["text": 2, "prompt_completion": 1, "alpaca": 1, "messages": 1,
                                              "sharegpt": 1])
        XCTAssertEqual(first.report.chatTemplate, "chatml")
        XCTAssertEqual(first.report.files, ["all: mixed.jsonl"])

        // Golden assignment (record lines) for seed 3, from the Python SplitMix64 above: perm(6) with stream
        // 0x59117 = [0, 4, 3, 5, 1, 2]; validation = first two, test = the third.
        let records = try DatasetLoader.readRecords(url)
        let split = try DatasetLoader.splitRecords(records, options: options)
        XCTAssertEqual(split.validation.map(\.line), Self.goldenValidationLines)
        XCTAssertEqual(split.test.map(\.line), Self.goldenTestLines)
        XCTAssertEqual(Set((split.train + split.validation + split.test).map(\.line)), Set(1...6))

        // Other seeds give other splits.
        let others = try (4...9).map { seed -> [Int] in
            var o = options
            o.seed = UInt64(seed)
            return try DatasetLoader.splitRecords(records, options: o).validation.map(\.line)
        }
        XCTAssertTrue(others.contains { $0 != Self.goldenValidationLines })
    }

    static let goldenValidationLines = [1, 5]
    static let goldenTestLines = [4]

    func testSplitNeedsEnoughRecords() throws {
        let records = try DatasetLoader.readRecords(DataFixtures.url("chat.jsonl"))
        guard case .emptySplit? = datasetError({ try DatasetLoader.splitRecords(
            records, options: DatasetOptions(validationFraction: 0.5, testFraction: 0.4)) }) else {
            return XCTFail("expected emptySplit")
        }
        XCTAssertEqual(try DatasetLoader.splitRecords(records, options: DatasetOptions(validationFraction: 0.1))
            .validation.count, 1)
        XCTAssertEqual(try DatasetLoader.splitRecords(records, options: DatasetOptions(validationFraction: 0))
            .train.count, 2)
    }

    func testFolderWithTrainValidTest() throws {
        let tokenizer = try DataFixtures.tokenizer()
        let splits = try DatasetLoader.load(DataFixtures.url("folder"), tokenizer: tokenizer,
                                            options: DatasetOptions())
        XCTAssertEqual(splits.report.files, ["train: train.jsonl", "validation: valid.jsonl", "test: test.jsonl"])
        XCTAssertEqual(splits.report.examples, SplitCounts(train: 8, validation: 2, test: 1))
        XCTAssertEqual(splits.report.formats, ["prompt_completion": 8, "text": 2, "alpaca": 1])
        XCTAssertNil(splits.report.chatTemplate)
        // File order is kept; the first train example is "train 1:" + " answer 1".
        let first = splits.train[0]
        XCTAssertEqual(first.tokens, tokenizer.encode("train 1: answer 1", addSpecialTokens: false) + [2])
        XCTAssertEqual(splits.report.completionTokens, (splits.train + splits.validation + splits.test)
            .reduce(0) { $0 + $1.targetCount })
        XCTAssertTrue(splits.report.summary.contains("examples: train 8, validation 2, test 1"), splits.report.summary)
    }

    func testFolderLayoutErrors() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-layout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        try Data("{\"text\": \"a\"}\n".utf8).write(to: base.appendingPathComponent("valid.jsonl"))
        XCTAssertEqual(datasetError { try DatasetLoader.layout(of: base) },
                       .folderWithoutTrainFile(folder: base.path, files: ["valid.jsonl"]))
        try Data("{\"text\": \"a\"}\n".utf8).write(to: base.appendingPathComponent("train.jsonl"))
        try Data("text\nb\n".utf8).write(to: base.appendingPathComponent("train.csv"))
        XCTAssertEqual(datasetError { try DatasetLoader.layout(of: base) },
                       .ambiguousSplit(folder: base.path, split: "train", files: ["train.csv", "train.jsonl"]))
        try FileManager.default.removeItem(at: base.appendingPathComponent("train.csv"))
        let layout = try DatasetLoader.layout(of: base)
        XCTAssertEqual(layout.validation?.lastPathComponent, "valid.jsonl")
        XCTAssertNil(layout.test)
    }

    func testFolderWithOnlyTrainIsSplit() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        let lines = (1...20).map { "{\"prompt\": \"p\($0)\", \"completion\": \" c\($0)\"}" }.joined(separator: "\n")
        try Data(lines.utf8).write(to: base.appendingPathComponent("train.jsonl"))
        let splits = try DatasetLoader.load(base, tokenizer: DataFixtures.tokenizer(),
                                            options: DatasetOptions(validationFraction: 0.1))
        XCTAssertEqual(splits.report.examples, SplitCounts(train: 18, validation: 2, test: 0))
    }

    func testSkipBadRecordsCountsThemInTheReport() throws {
        let tokenizer = try DataFixtures.tokenizer()
        let url = try DataFixtures.url("bad.jsonl")
        XCTAssertEqual(datasetError { try DatasetLoader.load(url, tokenizer: tokenizer, options: DatasetOptions()) }?
            .location, "bad.jsonl:3")
        let splits = try DatasetLoader.load(url, tokenizer: tokenizer,
                                            options: DatasetOptions(validationFraction: 0.25, skipBadRecords: true))
        XCTAssertEqual(splits.report.badRecords, 6)
        XCTAssertEqual(splits.report.badRecordSamples.count, 6)
        XCTAssertTrue(splits.report.badRecordSamples[0].hasPrefix("bad.jsonl:3: invalid JSON"),
                      splits.report.badRecordSamples[0])
        XCTAssertEqual(splits.report.records, SplitCounts(train: 3, validation: 1, test: 0))
        XCTAssertTrue(splits.report.summary.contains("skipped 6 bad records"))
    }

    func testAllDroppedIsAClearError() throws {
        let error = datasetError {
            try DatasetLoader.load(DataFixtures.url("folder"), tokenizer: DataFixtures.tokenizer(),
                                   options: DatasetOptions(maxLength: 3, overLength: .drop))
        }
        guard case .emptySplit("train", let reason)? = error else { return XCTFail("expected emptySplit") }
        XCTAssertTrue(reason.contains("maxLength 3"), reason)
        XCTAssertNotNil(datasetError { try DatasetOptions(maxLength: 1).validate() })
        XCTAssertNotNil(datasetError { try DatasetOptions(validationFraction: 0.6, testFraction: 0.5).validate() })
    }

    func testReportAndOptionsAreCodable() throws {
        let splits = try DatasetLoader.load(DataFixtures.url("mixed.jsonl"), tokenizer: DataFixtures.tokenizer(),
                                            options: DatasetOptions())
        let data = try JSONEncoder().encode(splits.report)
        XCTAssertEqual(try JSONDecoder().decode(DatasetReport.self, from: data), splits.report)
        let options = DatasetOptions(trainOnPrompt: true, maxLength: 77, columns: ["text": "body"])
        XCTAssertEqual(try JSONDecoder().decode(DatasetOptions.self, from: JSONEncoder().encode(options)), options)
        // A partial configuration keeps the defaults for what it does not set.
        let partial = try JSONDecoder().decode(DatasetOptions.self, from: Data("{\"maxLength\": 64}".utf8))
        XCTAssertEqual(partial, DatasetOptions(maxLength: 64))
    }
}
