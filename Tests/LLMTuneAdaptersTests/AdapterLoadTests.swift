// Loading adapters written by PEFT and mlx-lm: the logits of base + adapter must equal PEFT's / the reference's
// to 1e-4, on the Hugging Face folder and on the GGUF copy of the same model (whose q/k rows are permuted).
import Foundation
import XCTest
import LLMTuneAdapters
import LLMTuneFormats
import LLMTuneModels
import LLMTuneTensor

final class AdapterLoadTests: XCTestCase {
    func testPEFTAdapterOnHuggingFaceModel() throws {
        let model = try ModelRegistry.loadModel(Fixtures.hfModel)
        let base = batchLogits(model)
        let golden = Fixtures.logits("peft-tiny-llama.logits.f32")
        XCTAssertGreaterThan(maxAbsDifference(base, golden), 1, "the adapter must move the logits")
        let set = try AdapterSet.load(from: Fixtures.url("peft-tiny-llama"), into: model)
        XCTAssertEqual(set.layers.count, 14)
        XCTAssertEqual(set.configuration.rank, 4)
        XCTAssertEqual(set.configuration.alpha, 8)
        XCTAssertEqual(set.layers[0].scale, 2)
        XCTAssertLessThan(maxAbsDifference(batchLogits(model), golden), 1e-4)
        set.remove()
        XCTAssertEqual(maxAbsDifference(batchLogits(model), base), 0, "remove() restores the base model")
    }

    func testPEFTAdapterOnGGUFModelUsesPermutedRows() throws {
        let model = try ModelRegistry.loadModel(Fixtures.ggufModel)
        XCTAssertNotNil(model.permutedRotaryRows)
        _ = try AdapterSet.load(from: Fixtures.url("peft-tiny-llama"), into: model)
        XCTAssertLessThan(maxAbsDifference(batchLogits(model), Fixtures.logits("peft-tiny-llama.logits.f32")), 1e-4)
    }

    func testRSLoRABF16LayerSubset() throws {
        for url in [Fixtures.hfModel, Fixtures.ggufModel] {
            let model = try ModelRegistry.loadModel(url)
            let set = try AdapterSet.load(from: Fixtures.url("peft-rslora-bf16"), into: model)
            XCTAssertEqual(set.layers.map(\.path), ["model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.k_proj"])
            XCTAssertEqual(set.layers[0].scale, 4 / Float(2).squareRoot(), accuracy: 1e-6)
            XCTAssertTrue(set.configuration.useRSLoRA)
            XCTAssertEqual(set.configuration.layers, 1...1)
            XCTAssertLessThan(maxAbsDifference(batchLogits(model), Fixtures.logits("peft-rslora-bf16.logits.f32")), 1e-4,
                              url.lastPathComponent)
        }
    }

    func testMLXAdapter() throws {
        for url in [Fixtures.hfModel, Fixtures.ggufModel] {
            let model = try ModelRegistry.loadModel(url)
            let set = try AdapterSet.load(from: Fixtures.url("mlx-tiny-llama"), into: model)
            XCTAssertEqual(set.layers.count, 6)
            XCTAssertEqual(set.layers[0].scale, 2.5)
            XCTAssertEqual(set.configuration.targets, ["q_proj", "k_proj", "v_proj"])
            XCTAssertLessThan(maxAbsDifference(batchLogits(model), Fixtures.logits("mlx-tiny-llama.logits.f32")), 1e-4,
                              url.lastPathComponent)
        }
    }

    /// Keys with PEFT's adapter name inside (".lora_A.default.weight") load like plain ones.
    func testAdapterNameInKeys() throws {
        let dir = Fixtures.temporaryDirectory(self)
        let source = try SafetensorsFile(url: Fixtures.url("peft-tiny-llama/adapter_model.safetensors"))
        let tensors: [SafetensorsWriter.Tensor] = try source.tensors.map { t in
            let name = t.name.replacingOccurrences(of: ".weight", with: ".default.weight")
            let values = try source.floats(named: t.name)
            return (name: name, dtype: .f32, shape: t.shape, bytes: values.withUnsafeBytes { [UInt8]($0) })
        }
        try SafetensorsWriter.write(tensors: tensors, to: dir.appendingPathComponent("adapter_model.safetensors"))
        try FileManager.default.copyItem(at: Fixtures.url("peft-tiny-llama/adapter_config.json"),
                                         to: dir.appendingPathComponent("adapter_config.json"))
        let model = try ModelRegistry.loadModel(Fixtures.hfModel)
        _ = try AdapterSet.load(from: dir, into: model)
        XCTAssertLessThan(maxAbsDifference(batchLogits(model), Fixtures.logits("peft-tiny-llama.logits.f32")), 1e-4)
    }

    func testLoadErrors() throws {
        let model = try ModelRegistry.loadModel(Fixtures.hfModel)
        let dir = Fixtures.temporaryDirectory(self)
        // Missing folder / missing files.
        XCTAssertThrowsError(try AdapterSet.load(from: dir.appendingPathComponent("nope"), into: model)) {
            guard case AdapterError.missingFile = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try AdapterSet.load(from: dir, into: model)) {
            guard case AdapterError.missingFile(let path, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(path.hasSuffix("adapter_config.json"))
        }
        try FileManager.default.copyItem(at: Fixtures.url("peft-tiny-llama/adapter_config.json"),
                                         to: dir.appendingPathComponent("adapter_config.json"))
        XCTAssertThrowsError(try AdapterSet.load(from: dir, into: model)) {
            guard case AdapterError.missingFile = $0 else { return XCTFail("\($0)") }
        }
        // A key that names no module, and a shape mismatch.
        let weights = dir.appendingPathComponent("adapter_model.safetensors")
        func write(_ name: String, _ shape: [Int]) throws {
            let n = shape.reduce(1, *)
            let bytes = [Float](repeating: 0.5, count: n).withUnsafeBytes { [UInt8]($0) }
            let other = name.replacingOccurrences(of: "lora_A", with: "lora_B")
            try SafetensorsWriter.write(tensors: [(name: name, dtype: .f32, shape: shape, bytes: bytes),
                                                  (name: other, dtype: .f32, shape: [shape[1], shape[0]],
                                                   bytes: bytes)], to: weights)
        }
        try write("base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight", [4, 32])
        XCTAssertThrowsError(try AdapterSet.load(from: dir, into: model)) {
            guard case AdapterError.unmatchedKey(let key, _, let available) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(key, "model.layers.9.self_attn.q_proj")
            XCTAssertTrue(available.contains("model.layers.1.self_attn.q_proj"))
        }
        try write("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", [4, 16])
        XCTAssertThrowsError(try AdapterSet.load(from: dir, into: model)) {
            guard case AdapterError.shapeMismatch(_, let expected, let found, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(expected, [4, 32])
            XCTAssertEqual(found, [4, 16])
        }
        XCTAssertEqual(model.linearLayers.filter { $0 is LoRALinear }.count, 0, "a failed load leaves the model as it was")
    }
}
