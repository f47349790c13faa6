// Fixture access for the data tests: the tiny SmolLM-style tokenizer (ChatML template, <|im_end|> = EOS,
// copied from the tokenizer tests) and small data files written by hand.

import Foundation
import XCTest
import LLMTuneData
import LLMTuneTokenizers

enum DataFixtures {
    static var folder: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw XCTSkip("Fixtures folder missing from the test bundle")
            }
            return url
        }
    }

    static func url(_ name: String) throws -> URL { try folder.appendingPathComponent(name) }

    static func tokenizer() throws -> BPETokenizer { try BPETokenizer.load(directory: url("tiny_smollm")) }

    /// Writes `text` to a fresh temporary file named `name`.
    static func temporaryFile(_ name: String, _ text: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("llmtune-data-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }
}

/// The error thrown by `body`, as a DatasetError (fails the test if nothing or something else is thrown).
func datasetError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> DatasetError? {
    do {
        _ = try body()
        XCTFail("expected a DatasetError", file: file, line: line)
    } catch let error as DatasetError {
        return error
    } catch {
        XCTFail("expected a DatasetError, got \(error)", file: file, line: line)
    }
    return nil
}
