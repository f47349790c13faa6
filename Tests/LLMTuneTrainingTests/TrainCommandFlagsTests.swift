// `llmtune train --init-adapter DIR` and `--dump-batches FILE` (Sources/llmtune/Train.swift, TrainingJob.swift;
// used by tools/reference/peft_train_parity.py), run through the real command-line binary as KillResumeTests
// does: tiny-llama (vocab 256) with a byte-level tokenizer (token id = byte value), the PEFT adapter of
// LLMTuneAdaptersTests/Fixtures/peft-tiny-llama (r 4, alpha 8, all seven projections, non-zero A and B).
import Foundation
import XCTest
import LLMTuneFormats

final class TrainCommandFlagsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-flags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    private static let peftAdapter = tests.appendingPathComponent("LLMTuneAdaptersTests/Fixtures/peft-tiny-llama")

    /// The `llmtune` executable of the same build configuration as these tests.
    private func binary() throws -> URL {
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        let url = Self.tests.deletingLastPathComponent().appendingPathComponent(".build/\(configuration)/llmtune")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw XCTSkip("llmtune is not built at \(url.path): run `swift build -c \(configuration)`")
        }
        return url
    }

    /// tiny-llama with a tokenizer.json of the 256 byte tokens and no merges (token id = byte value).
    private func model() throws -> URL {
        let model = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Self.tests.appendingPathComponent("LLMTuneModelsTests/Fixtures/tiny-llama"),
                                         to: model)
        var vocab: [String: Int] = [:]
        for (id, scalar) in KillResumeTests.byteAlphabet().enumerated() { vocab[String(scalar)] = id }
        let tokenizer: [String: Any] = [
            "version": "1.0", "added_tokens": [], "normalizer": NSNull(), "post_processor": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "vocab": vocab,
                      "merges": []],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: model.appendingPathComponent("tokenizer.json"))
        return model
    }

    /// Prompt / completion records of different lengths (so batches are padded).
    private static let trainRecords: [(prompt: String, completion: String)] = [
        ("What is 2+2?", " four"), ("Name a colour:", " deep blue"), ("Opposite of up?", " down"),
        ("Capital of France?", " Paris"), ("Say hi", " hello there"), ("First letter?", " A"),
    ]
    private static let validRecords: [(prompt: String, completion: String)] = [("Last letter?", " Z"), ("Sky?", " blue")]

    /// A data folder with train.jsonl and valid.jsonl.
    private func data() throws -> URL {
        let folder = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func write(_ records: [(prompt: String, completion: String)], _ name: String) throws {
            let lines = try records.map { r -> String in
                let object = ["prompt": r.prompt, "completion": r.completion]
                return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
                              as: UTF8.self)
            }
            try lines.joined(separator: "\n").write(to: folder.appendingPathComponent(name), atomically: true,
                                                    encoding: .utf8)
        }
        try write(Self.trainRecords, "train.jsonl")
        try write(Self.validRecords, "valid.jsonl")
        return folder
    }

    private struct Outcome {
        var status: Int32
        var errors: String
        /// The process exited (with `status`) rather than died of a signal (a crash).
        var exited: Bool
    }

    private func run(_ binary: URL, _ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, errors: text, exited: process.terminationReason == .exit)
    }

    private func trainArguments(model: URL, data: URL, output: String, steps: Int, learningRate: String) -> [String] {
        ["train", "--model", model.path, "--data", data.path, "--steps", "\(steps)", "--batch-size", "2",
         "--learning-rate", learningRate, "--seq-len", "64", "--eval-every", "\(steps)", "--checkpoint-every", "0",
         "--seed", "3", "--output", dir.appendingPathComponent(output).path]
    }

    /// Tensor name -> float values of a safetensors file.
    private func tensors(_ url: URL) throws -> [String: [Float]] {
        let file = try SafetensorsFile(url: url)
        var out: [String: [Float]] = [:]
        for t in file.tensors { out[t.name] = try file.floats(named: t.name) }
        return out
    }

    // MARK: - --init-adapter

    /// Learning rate 0: the saved adapter is the initial one bit for bit (every tensor, same names and shapes);
    /// a normal learning rate changes it; without --init-adapter the start is a fresh LoRA (B = 0).
    func testInitAdapterIsTheStartingPoint() throws {
        let llmtune = try binary()
        let model = try model(), data = try data()
        let initial = try tensors(Self.peftAdapter.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertEqual(initial.count, 2 * 7 * 2)

        let frozen = try run(llmtune, trainArguments(model: model, data: data, output: "lr0", steps: 3, learningRate: "0")
                             + ["--init-adapter", Self.peftAdapter.path])
        XCTAssertEqual(frozen.status, 0, frozen.errors)
        XCTAssertTrue(frozen.errors.contains("initialised from \(Self.peftAdapter.path)"), frozen.errors)
        let saved = try tensors(dir.appendingPathComponent("lr0/adapter_model.safetensors"))
        XCTAssertEqual(Set(saved.keys), Set(initial.keys))
        for (name, values) in initial {
            let bits = values.map(\.bitPattern), savedBits = (saved[name] ?? []).map(\.bitPattern)
            XCTAssertEqual(savedBits, bits, "\(name) changed at learning rate 0")
        }
        let config = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: dir.appendingPathComponent("lr0/adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(config["r"] as? Int, 4)
        XCTAssertEqual((config["lora_alpha"] as? NSNumber)?.doubleValue, 8)

        let trained = try run(llmtune, trainArguments(model: model, data: data, output: "lr", steps: 3,
                                                      learningRate: "0.01") + ["--init-adapter", Self.peftAdapter.path])
        XCTAssertEqual(trained.status, 0, trained.errors)
        let moved = try tensors(dir.appendingPathComponent("lr/adapter_model.safetensors"))
        XCTAssertEqual(Set(moved.keys), Set(initial.keys))
        for (name, values) in initial {
            let change = zip(values, moved[name] ?? []).map { abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(change, 1e-3, "\(name) did not train")
            XCTAssertLessThan(change, 0.2, "\(name) moved further than 3 AdamW steps of 0.01 can")
        }

        // Without --init-adapter LLMTune draws its own LoRA: the adapter at learning rate 0 is not the file's.
        let fresh = try run(llmtune, trainArguments(model: model, data: data, output: "fresh", steps: 1,
                                                    learningRate: "0") + ["--rank", "4", "--alpha", "8",
                                                                          "--targets", "all-linear"])
        XCTAssertEqual(fresh.status, 0, fresh.errors)
        let own = try tensors(dir.appendingPathComponent("fresh/adapter_model.safetensors"))
        let b = try XCTUnwrap(own["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"])
        XCTAssertEqual(b.max(), 0, "a fresh LoRA starts with B = 0")
        XCTAssertNotEqual(own["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"],
                          initial["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"])
    }

    /// A missing folder, an adapter of another model (3 layers for a 2-layer model) and an adapter whose shapes
    /// do not match the model: a non-zero exit and a message naming the file.
    func testBadInitAdapterIsATypedErrorNamingTheFile() throws {
        let llmtune = try binary()
        let model = try model(), data = try data()
        func attempt(_ adapter: URL, _ name: String) throws -> Outcome {
            try run(llmtune, trainArguments(model: model, data: data, output: name, steps: 1, learningRate: "0.01")
                    + ["--init-adapter", adapter.path])
        }

        let missing = dir.appendingPathComponent("no-such-adapter")
        var o = try attempt(missing, "missing")
        XCTAssertNotEqual(o.status, 0)
        XCTAssertTrue(o.exited, "an error exit, not a crash")
        XCTAssertTrue(o.errors.contains(missing.path) && o.errors.contains("does not exist"), o.errors)
        XCTAssertFalse(o.errors.contains("Fatal error"), o.errors)

        // LossCurveParityTests' adapter belongs to a 3-layer model: layer 2 does not exist in tiny-llama.
        let other = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/loss_curve/init-adapter")
        o = try attempt(other, "other")
        XCTAssertNotEqual(o.status, 0)
        XCTAssertTrue(o.exited, "an error exit, not a crash")
        XCTAssertTrue(o.errors.contains(other.appendingPathComponent("adapter_model.safetensors").path)
                      && o.errors.contains("model.layers.2."), o.errors)

        // q_proj's A of layer 0 with 16 input features instead of 32.
        let bad = dir.appendingPathComponent("bad-shape")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.peftAdapter.appendingPathComponent("adapter_config.json"),
                                         to: bad.appendingPathComponent("adapter_config.json"))
        let source = try SafetensorsFile(url: Self.peftAdapter.appendingPathComponent("adapter_model.safetensors"))
        let wrongKey = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
        var written: [SafetensorsWriter.Tensor] = []
        for t in source.tensors {
            var values = try source.floats(named: t.name)
            var shape = t.shape
            if t.name == wrongKey { shape = [4, 16]; values = Array(values.prefix(64)) }
            written.append((name: t.name, dtype: .f32, shape: shape, bytes: values.withUnsafeBytes { [UInt8]($0) }))
        }
        let badFile = bad.appendingPathComponent("adapter_model.safetensors")
        try SafetensorsWriter.write(tensors: written, metadata: ["format": "pt"], to: badFile)
        o = try attempt(bad, "bad")
        XCTAssertNotEqual(o.status, 0)
        XCTAssertTrue(o.exited, "an error exit, not a crash")
        XCTAssertTrue(o.errors.contains(badFile.path) && o.errors.contains(wrongKey)
                      && o.errors.contains("[4, 16]") && o.errors.contains("[4, 32]"), o.errors)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad/adapter_model.safetensors").path))
    }

    // MARK: - --dump-batches

    /// The dump holds the validation batches, then every training batch the trainer drew, each row the token ids of
    /// one record (bytes of prompt + completion, right-padded with id 0), targets the next token on the completion
    /// and -100 on the prompt, the last token and the padding.
    func testDumpBatchesWritesTheConsumedBatches() throws {
        let llmtune = try binary()
        let model = try model(), data = try data()
        let dump = dir.appendingPathComponent("batches.jsonl")
        let o = try run(llmtune, trainArguments(model: model, data: data, output: "dump", steps: 4, learningRate: "0.001")
                        + ["--gradient-accumulation", "2", "--dump-batches", dump.path])
        XCTAssertEqual(o.status, 0, o.errors)
        let lines = try String(contentsOf: dump, encoding: .utf8).split(separator: "\n")
        let batches = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let splits = batches.map { $0["split"] as? String ?? "?" }
        XCTAssertEqual(splits, ["validation"] + Array(repeating: "train", count: 4 * 2),
                       "1 validation batch, then 4 steps x 2 micro-batches")
        XCTAssertEqual(batches.dropFirst().map { $0["batch"] as? Int ?? -1 }, Array(1...8))

        /// The record a dumped row holds; checks its targets and padding.
        func record(of batch: [String: Any], row: Int, among records: [(prompt: String, completion: String)])
            throws -> Int {
            let B = try XCTUnwrap(batch["batch_size"] as? Int), T = try XCTUnwrap(batch["length"] as? Int)
            let inputs = try XCTUnwrap(batch["inputs"] as? [Int]), targets = try XCTUnwrap(batch["targets"] as? [Int])
            XCTAssertEqual(inputs.count, B * T)
            XCTAssertEqual(targets.count, B * T)
            let x = Array(inputs[(row * T)..<((row + 1) * T)]), y = Array(targets[(row * T)..<((row + 1) * T)])
            for (index, r) in records.enumerated() {
                let tokens = Array((r.prompt + r.completion).utf8).map(Int.init)
                let promptCount = r.prompt.utf8.count, n = tokens.count
                guard n <= T, Array(x.prefix(n)) == tokens else { continue }
                let expected = (0..<T).map { j in j < n - 1 && j + 1 >= promptCount ? tokens[j + 1] : -100 }
                XCTAssertEqual(y, expected, "targets of '\(r.prompt)': -100 on the prompt and padding")
                XCTAssertTrue(x.dropFirst(n).allSatisfy { $0 == 0 }, "right padding with id 0: \(x)")
                return index
            }
            XCTFail("row \(row) \(x) is none of the records")
            return -1
        }

        let validation = batches[0]
        XCTAssertEqual(validation["batch_size"] as? Int, 2)
        XCTAssertEqual(Set(try (0..<2).map { try record(of: validation, row: $0, among: Self.validRecords) }), [0, 1])

        var seen: [Int] = []
        for batch in batches.dropFirst() {
            XCTAssertEqual(batch["batch_size"] as? Int, 2)
            for row in 0..<2 { seen.append(try record(of: batch, row: row, among: Self.trainRecords)) }
        }
        // One epoch is 3 batches of 2: the first 6 rows are the 6 records once each; the 8 batches hold 16 rows.
        XCTAssertEqual(Set(seen.prefix(6)), Set(0..<6), "the first epoch draws every record once: \(seen)")
        XCTAssertEqual(seen.count, 16)
        // Some row is padded (the records differ in length), so the padding check above ran.
        XCTAssertTrue(batches.contains { ($0["targets"] as? [Int] ?? []).last == -100 })
    }
}
