// `llmtune train` killed with SIGKILL mid-run and resumed ends with exactly the adapter of an uninterrupted
// run (issue 4). Runs the real command-line binary on the tiny Llama fixture with a byte-level tokenizer.
import Foundation
import XCTest

final class KillResumeTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The `llmtune` executable of the same build configuration as these tests (`swift test` builds it).
    private func binary() throws -> URL {
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = root.appendingPathComponent(".build/\(configuration)/llmtune")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw XCTSkip("llmtune is not built at \(url.path): run `swift build -c \(configuration)`")
        }
        return url
    }

    /// tiny-llama (vocab 256) with a byte-level tokenizer of exactly 256 byte tokens and no merges.
    private func tinyModelWithTokenizer() throws -> URL {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../LLMTuneModelsTests/Fixtures/tiny-llama").standardized
        let model = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: fixture, to: model)
        var vocab: [String: Int] = [:]
        for (id, scalar) in Self.byteAlphabet().enumerated() { vocab[String(scalar)] = id }
        let tokenizer: [String: Any] = [
            "version": "1.0",
            "added_tokens": [],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "vocab": vocab,
                      "merges": []],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: model.appendingPathComponent("tokenizer.json"))
        return model
    }

    /// GPT-2's bytes_to_unicode: the printable character standing for each byte.
    static func byteAlphabet() -> [Unicode.Scalar] {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var chars = printable
        var n = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            chars.append(256 + n)
            n += 1
        }
        let order = zip(printable, chars).sorted { $0.0 < $1.0 }
        return order.map { Unicode.Scalar(UInt32($0.1))! }
    }

    private func run(_ binary: URL, _ arguments: [String], killAtStep: Int? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = ""
        let handle = errors.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
            if let k = killAtStep, seen.contains("step \(k)/") {
                kill(process.processIdentifier, SIGKILL)
                break
            }
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testSIGKILLThenResumeGivesTheUninterruptedAdapter() throws {
        let llmtune = try binary()
        let model = try tinyModelWithTokenizer()
        let data = dir.appendingPathComponent("train.jsonl")
        let texts = (0..<64).map { i in "{\"text\": \"record \(i): the quick brown fox jumps over the lazy dog \(i * 7)\"}" }
        try texts.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
        func arguments(_ out: String) -> [String] {
            ["train", "--model", model.path, "--data", data.path, "--rank", "4", "--alpha", "8", "--dropout", "0.1",
             "--targets", "all-linear", "--steps", "400", "--batch-size", "4", "--seq-len", "64",
             "--learning-rate", "1e-3", "--checkpoint-every", "25", "--eval-every", "50", "--seed", "7",
             "--output", dir.appendingPathComponent(out).path]
        }
        XCTAssertEqual(try run(llmtune, arguments("straight")), 0)

        let status = try run(llmtune, arguments("killed"), killAtStep: 130)
        XCTAssertNotEqual(status, 0, "the run was killed")
        let killed = dir.appendingPathComponent("killed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("adapter_model.safetensors").path),
                       "the killed run did not finish")
        XCTAssertEqual(try run(llmtune, arguments("killed") + ["--resume"]), 0)

        let a = try Data(contentsOf: dir.appendingPathComponent("straight/adapter_model.safetensors"))
        let b = try Data(contentsOf: killed.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertGreaterThan(a.count, 1000)
        XCTAssertEqual(a, b, "resumed adapter is bit-for-bit the uninterrupted one")
    }
}
