// Saving in PEFT's layout: round trips, the exact tensors PEFT wrote (also from a GGUF model whose q/k rows are
// permuted: lora_B must be un-permuted on save), the config fields, and (LLMTUNE_PYTHON_CHECKS=1) PEFT itself
// loading an LLMTune-written adapter.
import Foundation
import XCTest
import LLMTuneAdapters
import LLMTuneFormats
import LLMTuneModels
import LLMTuneTensor

final class AdapterSaveTests: XCTestCase {
    private func tensors(_ url: URL) throws -> [String: [Float]] {
        let file = try SafetensorsFile(url: url)
        var out: [String: [Float]] = [:]
        for t in file.tensors { out[t.name] = try file.floats(named: t.name) }
        return out
    }

    func testSaveFromGGUFModelReproducesPEFTFiles() throws {
        for source in [Fixtures.hfModel, Fixtures.ggufModel] {
            let model = try ModelRegistry.loadModel(source)
            let set = try AdapterSet.load(from: Fixtures.url("peft-tiny-llama"), into: model)
            let dir = Fixtures.temporaryDirectory(self)
            try set.save(to: dir, baseModel: "tiny-llama")
            let saved = try tensors(dir.appendingPathComponent("adapter_model.safetensors"))
            let reference = try tensors(Fixtures.url("peft-tiny-llama/adapter_model.safetensors"))
            XCTAssertEqual(Set(saved.keys), Set(reference.keys))
            for (k, v) in reference { XCTAssertEqual(saved[k], v, "\(k) from \(source.lastPathComponent)") }
            let file = try SafetensorsFile(url: dir.appendingPathComponent("adapter_model.safetensors"))
            XCTAssertTrue(file.tensors.allSatisfy { $0.dtype == .f32 })
            XCTAssertEqual(file.metadata["format"], "pt")
        }
    }

    func testSaveReloadRoundTripAndConfigFields() throws {
        let model = try ModelRegistry.loadModel(Fixtures.ggufModel)
        let configuration = LoRAConfiguration(rank: 3, alpha: 6, dropout: 0.1, targets: ["all-linear"], layers: 1...1,
                                              useRSLoRA: true, initialization: .gaussian, seed: 4)
        let set = try AdapterSet.apply(to: model, configuration: configuration)
        var rng = SeededGenerator(seed: 9)
        for l in set.layers { l.b.copyElements(from: Tensor.randn(l.b.shape, std: 0.4, using: &rng)) }
        let adapted = batchLogits(model)
        let dir = Fixtures.temporaryDirectory(self)
        try set.save(to: dir, baseModel: "some/model")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json"))) as! [String: Any]
        XCTAssertEqual(json["peft_type"] as? String, "LORA")
        XCTAssertEqual(json["task_type"] as? String, "CAUSAL_LM")
        XCTAssertEqual(json["r"] as? Int, 3)
        XCTAssertEqual(json["lora_alpha"] as? Int, 6)
        XCTAssertEqual((json["lora_dropout"] as? NSNumber)?.doubleValue ?? 0, 0.1, accuracy: 1e-6)
        XCTAssertEqual(json["use_rslora"] as? Bool, true)
        XCTAssertEqual(json["init_lora_weights"] as? String, "gaussian")
        XCTAssertEqual(json["bias"] as? String, "none")
        XCTAssertEqual(json["base_model_name_or_path"] as? String, "some/model")
        XCTAssertEqual(json["layers_to_transform"] as? [Int], [1])
        XCTAssertEqual(json["fan_in_fan_out"] as? Bool, false)
        XCTAssertTrue(json["modules_to_save"] is NSNull)
        XCTAssertEqual(json["target_modules"] as? [String], ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
        set.remove()
        for source in [Fixtures.ggufModel, Fixtures.hfModel] {
            let fresh = try ModelRegistry.loadModel(source)
            let loaded = try AdapterSet.load(from: dir, into: fresh)
            XCTAssertEqual(loaded.configuration.rank, 3)
            XCTAssertEqual(loaded.layers.count, 7)
            XCTAssertEqual(loaded.layers[0].scale, 6 / Float(3).squareRoot(), accuracy: 1e-6)
            XCTAssertLessThan(maxAbsDifference(batchLogits(fresh), adapted), 1e-4, source.lastPathComponent)
        }
    }

    /// restore(from:) puts saved values back bit for bit into a live set (resume), also through the q/k permutation.
    func testRestoreIntoLiveSet() throws {
        let model = try ModelRegistry.loadModel(Fixtures.ggufModel)
        let configuration = LoRAConfiguration(rank: 4, alpha: 8, targets: ["q_proj", "k_proj", "down_proj"], seed: 2)
        let set = try AdapterSet.apply(to: model, configuration: configuration)
        var rng = SeededGenerator(seed: 8)
        for l in set.layers { l.b.copyElements(from: Tensor.randn(l.b.shape, std: 0.4, using: &rng)) }
        let saved = set.parameters.map { $0.tensor.toArray() }
        let dir = Fixtures.temporaryDirectory(self)
        try set.save(to: dir, baseModel: "tiny-llama")
        for (_, p) in set.parameters { p.copyElements(from: Tensor(zeros: p.shape)) }
        try set.restore(from: dir)
        XCTAssertEqual(set.parameters.map { $0.tensor.toArray() }, saved)
        let other = try AdapterSet.apply(to: ModelRegistry.loadModel(Fixtures.ggufModel),
                                         configuration: LoRAConfiguration(rank: 2, targets: ["q_proj", "k_proj", "down_proj"]))
        XCTAssertThrowsError(try other.restore(from: dir)) {
            guard case AdapterError.shapeMismatch = $0 else { return XCTFail("\($0)") }
        }
    }

    /// Python PEFT loads adapters LLMTune wrote and gives the same logits: a new all-linear adapter trained on the
    /// GGUF model (permuted q/k rows), and an mlx-lm adapter re-saved in PEFT's layout (its scale becomes lora_alpha).
    func testPEFTLoadsLLMTuneAdapter() throws {
        guard pythonChecksEnabled else {
            throw XCTSkip("set LLMTUNE_PYTHON_CHECKS=1 (needs python3 with torch, transformers, peft)")
        }
        let model = try ModelRegistry.loadModel(Fixtures.ggufModel)
        let set = try AdapterSet.apply(to: model, configuration: LoRAConfiguration(rank: 4, alpha: 8, targets: ["all-linear"], seed: 5))
        var rng = SeededGenerator(seed: 6)
        for l in set.layers { l.b.copyElements(from: Tensor.randn(l.b.shape, std: 0.4, using: &rng)) }
        let mlxModel = try ModelRegistry.loadModel(Fixtures.hfModel)
        let mlx = try AdapterSet.load(from: Fixtures.url("mlx-tiny-llama"), into: mlxModel)
        for (model, set) in [(model, set), (mlxModel, mlx)] {
            let dir = Fixtures.temporaryDirectory(self)
            try set.save(to: dir, baseModel: "tiny-llama")
            let logits = batchLogits(model)
            try logits.withUnsafeBytes { try Data($0).write(to: dir.appendingPathComponent("llmtune_logits.f32")) }
            try JSONSerialization.data(withJSONObject: Fixtures.inputIDs).write(to: dir.appendingPathComponent("llmtune_ids.json"))
            let result = try runPythonScript("peft_check_llmtune_adapter.py", [dir.path, "--model", Fixtures.hfModel.path])
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("OK"), result.output)
        }
    }
}
