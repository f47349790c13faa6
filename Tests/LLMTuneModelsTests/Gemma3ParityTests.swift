// Logits parity of Gemma-3 against transformers on tiny random models, from an HF folder and from a GGUF written
// with llama.cpp's conventions (fixtures and their script: tools/reference/gemma3_tiny_fixtures.py).
import Foundation
import XCTest
@testable import LLMTuneModels
import LLMTuneFormats
import LLMTuneTensor

enum Gemma3TestSupport {
    /// The integrator adds `.gemma3` to the registry list; until then tests register it themselves.
    static func register() {
        if !ModelRegistry.architectures.contains(where: { $0.names.contains("gemma3") }) {
            ModelRegistry.architectures.append(.gemma3)
        }
    }

    static var root: URL { Fixtures.root.appendingPathComponent("gemma3") }
}

final class Gemma3ParityTests: XCTestCase {
    override func setUp() { Gemma3TestSupport.register() }

    private func check(model url: URL, golden: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try Fixtures.checkLogits(model: url, golden: "gemma3/" + golden, file: file, line: line)
    }

    func testTinyGemma3FromHuggingFaceFolder() throws {
        try check(model: Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3"), golden: "tiny-gemma3/golden.json")
    }

    func testTinyGemma3FromGGUFWithNormsPlusOne() throws {
        let url = Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3.gguf")
        try check(model: url, golden: "tiny-gemma3/golden.json")
        let model = try XCTUnwrap(try ModelRegistry.loadModel(url) as? Gemma3Model)
        XCTAssertEqual(model.normWeightOffset, 0)
        XCTAssertEqual(model.configuration.slidingLayers, [true, true, true, true, true, false])
        XCTAssertEqual(model.configuration.slidingWindow, 4)
        XCTAssertEqual(model.configuration.localRopeTheta, 10_000)
        XCTAssertEqual(model.configuration.globalRopeTheta, 1_000_000)
        XCTAssertNil(model.permutedRotaryRows)
    }

    /// Explicit layer_types, query_pre_attn_scalar != head_dim, legacy rope_theta / rope_local_base_freq keys.
    func testTinyGemma3ScaledLegacyConfig() throws {
        let url = Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3-scaled")
        try check(model: url, golden: "tiny-gemma3-scaled/golden.json")
        let model = try XCTUnwrap(try ModelRegistry.loadModel(url) as? Gemma3Model)
        XCTAssertEqual(model.configuration.slidingLayers, [true, false, true])
        XCTAssertEqual(model.configuration.queryPreAttentionScalar, 24)
        XCTAssertEqual(model.configuration.localRopeTheta, 500)
        XCTAssertEqual(model.configuration.globalRopeTheta, 50_000)
    }

    /// Prefill then token-by-token decoding through the KV cache (past the sliding window) equals one full pass.
    func testKVCacheMatchesFullForward() throws {
        let model = try ModelRegistry.loadModel(Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3.gguf"))
        let (g, expected) = try Fixtures.golden("gemma3/tiny-gemma3/golden.json")
        let V = g.logits_shape[2], T = g.logits_shape[1]
        let ids = g.input_ids[1]
        let cache = model.makeCache(batch: 1, capacity: 32)
        var worst: Float = 0
        Autograd.noGrad {
            let first = model.forward(tokens: Array(ids[0..<3]), batch: 1, cache: cache, lastOnly: false).toArray()
            for i in 0..<(3 * V) { worst = max(worst, abs(first[i] - expected[T * V + i])) }
            for t in 3..<ids.count {
                let row = model.forward(tokens: [ids[t]], batch: 1, cache: cache, lastOnly: true).toArray()
                XCTAssertEqual(row.count, V)
                for v in 0..<V { worst = max(worst, abs(row[v] - expected[(T + t) * V + v])) }
            }
        }
        XCTAssertLessThan(worst, 1e-4)
    }

    /// LoRA-style replacement reaches every projection by its Hugging Face path.
    func testLinearLayersAndReplacement() throws {
        let model = try ModelRegistry.loadModel(Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3"))
        XCTAssertEqual(model.linearLayers.count, 6 * 7)
        XCTAssertEqual(model.linearLayers.first?.path, "model.layers.0.self_attn.q_proj")
        XCTAssertEqual(model.linearLayers.last?.path, "model.layers.5.mlp.down_proj")
        let ids = [2, 5, 9, 77, 40]
        let before = Autograd.noGrad { model.logits(ids).toArray() }
        let target = model.linearLayers[7 * 5 + 6]   // layer 5 down_proj
        let zero = Linear(path: target.path, weight: .dense(Tensor(zeros: [target.outFeatures, target.inFeatures])),
                          bias: nil)
        XCTAssertTrue(model.replaceLinear(zero))
        XCTAssertFalse(model.replaceLinear(Linear(path: "model.layers.9.mlp.up_proj", weight: zero.weight, bias: nil)))
        let after = Autograd.noGrad { model.logits(ids).toArray() }
        var change: Float = 0
        for i in before.indices { change = max(change, abs(before[i] - after[i])) }
        XCTAssertGreaterThan(change, 1e-3)
    }

    /// Gradients reach a trainable projection through every Gemma-specific op (QK-norm, offset norms, GELU-tanh,
    /// embedding scale, sliding-window attention).
    func testGradientReachesATrainableProjection() throws {
        let model = try ModelRegistry.loadModel(Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3"))
        let target = model.linearLayers[0]   // layer 0 q_proj
        guard let original = target as? Linear, case .quantized(let q) = original.weight else {
            return XCTFail("expected a loaded Linear")
        }
        let dense = Tensor(zeros: [q.rows, q.columns])
        q.dequantizeRows(0..<q.rows, into: dense.pointer)
        dense.requiresGrad = true
        XCTAssertTrue(model.replaceLinear(Linear(path: target.path, weight: .dense(dense), bias: nil)))
        let ids = [2, 5, 9, 77, 40, 3, 11, 60]
        let logits = model.forward(tokens: ids, batch: 1, cache: nil, lastOnly: false)
        let loss = logits.reshaped([ids.count, model.vocabularySize]).crossEntropy(targets: Array(ids.dropFirst()) + [1])
        loss.backward()
        let grad = try XCTUnwrap(dense.grad).toArray()
        XCTAssertGreaterThan(grad.map { abs($0) }.max() ?? 0, 1e-6)
        XCTAssertFalse(grad.contains { !$0.isFinite })
    }

    /// A multimodal "gemma3" checkpoint (text_config, weights under model.language_model.*) loads its text model.
    func testMultimodalWrapperCheckpoint() throws {
        let source = Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gemma3-wrapped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let renamed: [SafetensorsWriter.Tensor] = file.tensors.map { t in
            let name = t.name.hasPrefix("model.") ? "model.language_model." + t.name.dropFirst("model.".count) : t.name
            return (name: name, dtype: t.dtype, shape: t.shape, bytes: Array(file.bytes(for: t)))
        }
        try SafetensorsWriter.write(tensors: renamed, to: dir.appendingPathComponent("model.safetensors"))
        let text = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: source.appendingPathComponent("config.json"))) as? [String: Any])
        let wrapped: [String: Any] = ["model_type": "gemma3", "text_config": text]
        try JSONSerialization.data(withJSONObject: wrapped).write(to: dir.appendingPathComponent("config.json"))
        let model = try ModelRegistry.loadModel(dir)
        let (g, expected) = try Fixtures.golden("gemma3/tiny-gemma3/golden.json")
        let got = Autograd.noGrad { model.logits(g.input_ids[0]).toArray() }
        var worst: Float = 0
        for i in got.indices { worst = max(worst, abs(got[i] - expected[i])) }
        XCTAssertLessThan(worst, 1e-4)
    }

    func testGGUFNameMap() {
        XCTAssertEqual(Gemma3Configuration.ggufName("model.layers.3.post_feedforward_layernorm.weight"),
                       "blk.3.post_ffw_norm.weight")
        XCTAssertEqual(Gemma3Configuration.ggufName("model.layers.0.pre_feedforward_layernorm.weight"),
                       "blk.0.ffn_norm.weight")
        XCTAssertEqual(Gemma3Configuration.ggufName("model.layers.0.post_attention_layernorm.weight"),
                       "blk.0.post_attention_norm.weight")
        XCTAssertEqual(Gemma3Configuration.ggufName("model.layers.7.self_attn.k_norm.weight"),
                       "blk.7.attn_k_norm.weight")
        XCTAssertEqual(Gemma3Configuration.ggufName("model.embed_tokens.weight"), "token_embd.weight")
        XCTAssertNil(Gemma3Configuration.ggufName("model.layers.0.self_attn.rotary.weight"))
    }

    func testConfigErrorsNameTheKey() throws {
        let base = try Data(contentsOf: Gemma3TestSupport.root.appendingPathComponent("tiny-gemma3/config.json"))
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: base) as? [String: Any])
        json["final_logit_softcapping"] = 30.0
        XCTAssertThrowsError(try Gemma3Configuration(configJSON: JSONSerialization.data(withJSONObject: json),
                                                     file: "c.json")) { error in
            XCTAssertTrue("\(error)".contains("final_logit_softcapping"), "\(error)")
        }
        json["final_logit_softcapping"] = nil
        json["layer_types"] = ["sliding_attention"]
        XCTAssertThrowsError(try Gemma3Configuration(configJSON: JSONSerialization.data(withJSONObject: json),
                                                     file: "c.json")) { error in
            XCTAssertTrue("\(error)".contains("layer_types"), "\(error)")
        }
        // A multimodal wrapper: the text config is nested.
        json["layer_types"] = nil
        let wrapped: [String: Any] = ["model_type": "gemma3", "text_config": json]
        let c = try Gemma3Configuration(configJSON: JSONSerialization.data(withJSONObject: wrapped), file: "c.json")
        XCTAssertEqual(c.layerCount, 6)
        XCTAssertEqual(c.slidingLayers, [true, true, true, true, true, false])
    }
}
