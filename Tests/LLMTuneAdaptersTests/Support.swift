// Shared helpers of the adapter tests: fixture paths, golden logits, comparisons.
import Foundation
import XCTest
import LLMTuneModels
import LLMTuneTensor

enum Fixtures {
    static var root: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    }
    static func url(_ name: String) -> URL { root.appendingPathComponent(name) }
    static var hfModel: URL { url("tiny-llama") }
    static var ggufModel: URL { url("tiny-llama.gguf") }

    /// The two 12-token rows every golden was computed on.
    static var inputIDs: [[Int]] {
        let data = try! Data(contentsOf: url("adapters.json"))
        let object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (object["input_ids"] as! [[NSNumber]]).map { $0.map(\.intValue) }
    }

    /// (2, 12, 256) float32 little-endian logits.
    static func logits(_ name: String) -> [Float] {
        let data = try! Data(contentsOf: url(name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// A fresh temporary folder, removed at the end of the test.
    static func temporaryDirectory(_ test: XCTestCase) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-adapters-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}

/// Logits of both rows, concatenated: (2 · 12 · V).
func batchLogits(_ model: LanguageModel) -> [Float] {
    Autograd.noGrad { Fixtures.inputIDs.flatMap { model.logits($0).toArray() } }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Runs `tools/reference/<script>` with python3; returns the exit status and the combined output.
func runPythonScript(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/reference/\(script)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", url.path] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    print(output)
    return (process.terminationStatus, output)
}

var pythonChecksEnabled: Bool { ProcessInfo.processInfo.environment["LLMTUNE_PYTHON_CHECKS"] == "1" }
