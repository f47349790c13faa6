// GPT-2 logits parity against transformers on a tiny random GPT2LMHeadModel (fixture and its script:
// tools/reference/gpt2_make_fixtures.py), KV-cached decoding, and the adapter-facing layer list.
import Foundation
import XCTest
@testable import LLMTuneModels
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneTensor

final class GPT2ParityTests: XCTestCase {
    static var folder: URL { Fixtures.root.appendingPathComponent("gpt2/tiny") }

    override class func setUp() {
        super.setUp()
        if !ModelRegistry.architectures.contains(where: { $0.names.contains("gpt2") }) {
            ModelRegistry.architectures.append(.gpt2)
        }
    }

    func testLogitsMatchTransformers() throws {
        let model = try ModelRegistry.loadModel(Self.folder)
        XCTAssertTrue(model is GPT2Model)
        let (g, expected) = try Fixtures.golden("gpt2/golden.json")
        let (B, T, V) = (g.logits_shape[0], g.logits_shape[1], g.logits_shape[2])
        XCTAssertEqual(model.vocabularySize, V)
        let logits = Autograd.noGrad {
            model.forward(tokens: g.input_ids.flatMap { $0 }, batch: B, cache: nil, lastOnly: false)
        }
        XCTAssertEqual(logits.shape, [B, T, V])
        let got = logits.toArray()
        var worst: Float = 0
        for i in 0..<expected.count { worst = max(worst, abs(got[i] - expected[i])) }
        XCTAssertLessThan(worst, g.tolerance)
        // The fixture's logits are O(1): a model that ignored positions or a bias could not pass by accident.
        XCTAssertGreaterThan(expected.map(abs).max() ?? 0, 1)
    }

    func testLastOnlyEqualsLastRow() throws {
        let model = try ModelRegistry.loadModel(Self.folder)
        let (g, expected) = try Fixtures.golden("gpt2/golden.json")
        let (B, T, V) = (g.logits_shape[0], g.logits_shape[1], g.logits_shape[2])
        let last = Autograd.noGrad {
            model.forward(tokens: g.input_ids.flatMap { $0 }, batch: B, cache: nil, lastOnly: true)
        }
        XCTAssertEqual(last.shape, [B, 1, V])
        let got = last.toArray()
        for b in 0..<B {
            for v in 0..<V {
                XCTAssertEqual(got[b * V + v], expected[(b * T + T - 1) * V + v], accuracy: 1e-4)
            }
        }
    }

    /// Prefill then one token at a time through the KV cache (positions continue) equals the full pass.
    func testKVCacheDecodeMatchesFullForward() throws {
        let model = try ModelRegistry.loadModel(Self.folder)
        let (g, expected) = try Fixtures.golden("gpt2/golden.json")
        let (B, T, V) = (g.logits_shape[0], g.logits_shape[1], g.logits_shape[2])
        let cache = model.makeCache(batch: B, capacity: 32)
        var worst: Float = 0
        Autograd.noGrad {
            let prefill = 4
            let first = model.forward(tokens: g.input_ids.flatMap { Array($0[0..<prefill]) }, batch: B, cache: cache,
                                      lastOnly: false).toArray()      // (B, 4, V)
            for b in 0..<B {
                for t in 0..<prefill {
                    for v in 0..<V {
                        worst = max(worst, abs(first[(b * prefill + t) * V + v] - expected[(b * T + t) * V + v]))
                    }
                }
            }
            for t in prefill..<T {
                let step = model.forward(tokens: g.input_ids.map { $0[t] }, batch: B, cache: cache,
                                         lastOnly: true).toArray()    // (B, 1, V)
                for b in 0..<B {
                    for v in 0..<V { worst = max(worst, abs(step[b * V + v] - expected[(b * T + t) * V + v])) }
                }
            }
        }
        XCTAssertEqual(cache.length, T)
        XCTAssertLessThan(worst, 1e-4)
    }

    func testLinearLayersUsePEFTPathsAndHFShapes() throws {
        let model = try ModelRegistry.loadModel(Self.folder)
        let layers = model.linearLayers
        XCTAssertEqual(layers.map(\.path), [
            "transformer.h.0.attn.c_attn", "transformer.h.0.attn.c_proj", "transformer.h.0.mlp.c_fc",
            "transformer.h.0.mlp.c_proj", "transformer.h.1.attn.c_attn", "transformer.h.1.attn.c_proj",
            "transformer.h.1.mlp.c_fc", "transformer.h.1.mlp.c_proj",
        ])
        XCTAssertEqual(layers[0].inFeatures, 32)
        XCTAssertEqual(layers[0].outFeatures, 96)
        XCTAssertEqual(layers[2].outFeatures, 128)
        XCTAssertEqual(layers[3].inFeatures, 128)
        XCTAssertNil(model.permutedRotaryRows)

        // Replacing c_attn with a zero layer changes the logits (the replacement is really used).
        let zero = Linear(path: "transformer.h.0.attn.c_attn", weight: .dense(Tensor(zeros: [96, 32])), bias: nil)
        let before = Autograd.noGrad { model.logits([1, 2, 3]) }.toArray()
        XCTAssertTrue(model.replaceLinear(zero))
        XCTAssertFalse(model.replaceLinear(Linear(path: "nope", weight: .dense(Tensor(zeros: [1, 1])), bias: nil)))
        let after = Autograd.noGrad { model.logits([1, 2, 3]) }.toArray()
        XCTAssertGreaterThan(zip(before, after).map { abs($0 - $1) }.max() ?? 0, 1e-3)
    }

    /// OpenAI's original checkpoints (GPT2Model) name tensors without "transformer.": both layouts load.
    func testCheckpointWithoutTransformerPrefixLoads() throws {
        final class Unprefixed: WeightSource {
            let base: WeightSource
            init(_ base: WeightSource) { self.base = base }
            var sourceDescription: String { base.sourceDescription }
            func map(_ name: String) -> String { name.hasPrefix("transformer.") ? "(hidden)" : "transformer." + name }
            func shape(of name: String) -> [Int]? { base.shape(of: map(name)) }
            func matrix(_ name: String) throws -> QuantizedMatrix { try base.matrix(map(name)) }
            func floats(_ name: String) throws -> [Float] { try base.floats(map(name)) }
        }
        let checkpoint = try SafetensorsCheckpoint(directory: Self.folder)
        let source = Unprefixed(SafetensorsWeightSource(checkpoint: checkpoint, path: Self.folder.path, dequantize: false))
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("config.json"))
        let model = try Architecture.gpt2.fromConfig(data, WeightLoader(source: source))
        XCTAssertEqual(model.linearLayers.first?.path, "h.0.attn.c_attn")
        let (g, expected) = try Fixtures.golden("gpt2/golden.json")
        let got = Autograd.noGrad { model.logits(g.input_ids[0]) }.toArray()
        var worst: Float = 0
        for i in got.indices { worst = max(worst, abs(got[i] - expected[i])) }
        XCTAssertLessThan(worst, 1e-4)
    }

    func testBadActivationIsATypedError() throws {
        let config = try String(contentsOf: Self.folder.appendingPathComponent("config.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"gelu_new\"", with: "\"swish\"")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpt2-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("model.safetensors"),
                                         to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelRegistry.loadModel(dir)) { error in
            XCTAssertTrue("\(error)".contains("activation_function"), "\(error)")
        }
    }
}
