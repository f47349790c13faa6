// LoRALinear and AdapterSet.apply: PEFT's initialisation, targeting rules and errors, determinism, dropout
// reseeding, and gradients (dA, dB, dx) against finite differences with a quantized (Q8_0) frozen base.
import Foundation
import XCTest
import LLMTuneAdapters
import LLMTuneKernels
import LLMTuneModels
import LLMTuneTensor

/// Owns the bytes of a quantized matrix built in a test.
private final class Bytes {
    let pointer: UnsafeMutableRawPointer
    init(count: Int) { pointer = .allocate(byteCount: count, alignment: 64) }
    deinit { pointer.deallocate() }
}

private func quantizedLinear(rows: Int, columns: Int, type: GGMLType, seed: UInt64) -> Linear {
    var rng = SeededGenerator(seed: seed)
    let w = Tensor.randn([rows, columns], std: 0.5, using: &rng).toArray()
    let rowBytes = type.byteCount(elements: columns)!
    let bytes = Bytes(count: rows * rowBytes)
    w.withUnsafeBufferPointer { p in
        for r in 0..<rows { Quantizer.quantizeRow(type, p.baseAddress! + r * columns, count: columns, into: bytes.pointer + r * rowBytes) }
    }
    let m = QuantizedMatrix(type: type, rows: rows, columns: columns, data: UnsafeRawPointer(bytes.pointer), owner: bytes)
    return Linear(path: "model.layers.0.mlp.up_proj", weight: .quantized(m), bias: nil)
}

final class LoRALayerTests: XCTestCase {
    func testGradientsAgainstFiniteDifferencesWithQuantizedBase() {
        let (N, inF, outF, r) = (5, 64, 48, 3)
        let base = quantizedLinear(rows: outF, columns: inF, type: .q8_0, seed: 1)
        var rng = SeededGenerator(seed: 2)
        let layer = LoRALinear(base: base, a: Tensor.randn([r, inF], std: 0.3, using: &rng),
                               b: Tensor.randn([outF, r], std: 0.3, using: &rng), scale: 1.75)
        let x = Tensor.randn([N, inF], std: 1, using: &rng)
        x.requiresGrad = true
        let weights = Tensor.randn([N, outF], std: 1, using: &rng)   // loss = Σ y ⊙ R
        func loss() -> Float { Autograd.noGrad { (layer(x) * weights).sum().item() } }
        (layer(x) * weights).sum().backward()
        guard let da = layer.a.grad, let db = layer.b.grad, let dx = x.grad else { return XCTFail("missing gradients") }
        XCTAssertEqual(da.shape, [r, inF])
        XCTAssertEqual(db.shape, [outF, r])
        // The loss is linear in each of A, B and x, so central differences are exact up to rounding.
        for (t, g) in [(layer.a, da), (layer.b, db), (x, dx)] {
            let p = t.pointer, gv = g.toArray()
            var worst: Float = 0
            for i in stride(from: 0, to: t.count, by: max(1, t.count / 23)) {
                let saved = p[i]
                p[i] = saved + 0.05; let plus = loss()
                p[i] = saved - 0.05; let minus = loss()
                p[i] = saved
                let numeric = (plus - minus) / 0.1
                worst = max(worst, abs(numeric - gv[i]) / max(1, abs(numeric)))
            }
            XCTAssertLessThan(worst, 2e-3, "gradient of \(t.shape)")
        }
        // B = 0 would give dA = 0: check dA is really s (dy B)ᵀ x by comparing one entry analytically.
        let dyB = Autograd.noGrad { weights.matmul(layer.b) }.toArray()   // (N, r)
        var expected: Float = 0
        for n in 0..<N { expected += 1.75 * dyB[n * r + 1] * x[n, 7] }
        XCTAssertEqual(da[1, 7], expected, accuracy: 1e-3 * max(1, abs(expected)))
    }

    func testApplyInitialisesLikePEFTAndStartsAtTheBase() throws {
        let model = try ModelRegistry.loadModel(Fixtures.hfModel)
        let base = batchLogits(model)
        let set = try AdapterSet.apply(to: model, configuration: LoRAConfiguration(rank: 8, alpha: 16, targets: ["all-linear"], seed: 7))
        XCTAssertEqual(set.layers.count, 14, "all-linear = 7 projections x 2 layers, never lm_head")
        XCTAssertFalse(set.layers.contains { $0.path.contains("lm_head") })
        XCTAssertEqual(set.parameters.count, 28)
        XCTAssertEqual(set.parameters[0].name, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
        XCTAssertEqual(set.parameters[1].name, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")
        XCTAssertEqual(maxAbsDifference(batchLogits(model), base), 0, "B = 0: the adapted model equals the base")
        // Kaiming-uniform with a = sqrt(5): uniform(-1/sqrt(in), 1/sqrt(in)); variance bound² / 3.
        let down = set.layers.first { $0.path.hasSuffix("down_proj") }!
        let values = down.a.toArray()
        let bound = 1 / Float(64).squareRoot()
        XCTAssertLessThanOrEqual(values.map(abs).max()!, bound)
        XCTAssertGreaterThan(values.map(abs).max()!, 0.9 * bound)
        let variance = values.map { $0 * $0 }.reduce(0, +) / Float(values.count)
        XCTAssertEqual(variance, bound * bound / 3, accuracy: 0.25 * bound * bound / 3)
        XCTAssertEqual(set.layers[0].scale, 2)
        XCTAssertTrue(set.layers.allSatisfy { $0.b.toArray().allSatisfy { $0 == 0 } })
        // Deterministic per seed; different layers get different draws.
        let again = try AdapterSet.apply(to: ModelRegistry.loadModel(Fixtures.hfModel),
                                         configuration: LoRAConfiguration(rank: 8, alpha: 16, targets: ["all-linear"], seed: 7))
        XCTAssertEqual(again.layers[3].a.toArray(), set.layers[3].a.toArray())
        XCTAssertNotEqual(set.layers[0].a.toArray(), set.layers[1].a.toArray())
        // Applying twice is refused.
        XCTAssertThrowsError(try AdapterSet.apply(to: model, configuration: LoRAConfiguration())) {
            guard case AdapterError.notAPlainLinear = $0 else { return XCTFail("\($0)") }
        }
    }

    func testGaussianInitAndRSLoRAScale() throws {
        let model = try ModelRegistry.loadModel(Fixtures.hfModel)
        let set = try AdapterSet.apply(to: model, configuration: LoRAConfiguration(
            rank: 4, alpha: 8, targets: ["gate_proj", "up_proj"], useRSLoRA: true, initialization: .gaussian))
        XCTAssertEqual(set.layers[0].scale, 4)
        let values = set.layers.flatMap { $0.a.toArray() }   // 4 layers x 4 x 32 draws, std 1/4
        let variance = values.map { $0 * $0 }.reduce(0, +) / Float(values.count)
        XCTAssertEqual(variance.squareRoot(), 0.25, accuracy: 0.03)
    }

    func testTargetingRulesAndErrors() throws {
        let model = try ModelRegistry.loadModel(Fixtures.hfModel)
        let set = try AdapterSet.apply(to: model, configuration: LoRAConfiguration(targets: ["self_attn.v_proj", "o_proj"], layers: 1...1))
        XCTAssertEqual(set.layers.map(\.path), ["model.layers.1.self_attn.v_proj", "model.layers.1.self_attn.o_proj"])
        set.remove()
        XCTAssertThrowsError(try AdapterSet.apply(to: model, configuration: LoRAConfiguration(targets: ["q_proj", "query"]))) {
            guard case AdapterError.unknownTargets(let unknown, let available) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(unknown, ["query"])
            XCTAssertEqual(available, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
            XCTAssertTrue("\($0)".contains("gate_proj"))
        }
        XCTAssertThrowsError(try AdapterSet.apply(to: model, configuration: LoRAConfiguration(layers: 5...9))) {
            guard case AdapterError.noLayersSelected = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try AdapterSet.apply(to: model, configuration: LoRAConfiguration(rank: 0))) {
            guard case AdapterError.invalidConfiguration(let field, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "rank")
        }
        XCTAssertThrowsError(try AdapterSet.apply(to: model, configuration: LoRAConfiguration(dropout: 1))) {
            guard case AdapterError.invalidConfiguration(let field, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(field, "dropout")
        }
    }

    func testDropoutOnlyWhileTrainingAndReseedable() throws {
        let model = try ModelRegistry.loadModel(Fixtures.hfModel)
        let set = try AdapterSet.apply(to: model, configuration: LoRAConfiguration(dropout: 0.5))
        var rng = SeededGenerator(seed: 3)
        for l in set.layers { l.b.copyElements(from: Tensor.randn(l.b.shape, std: 0.5, using: &rng)) }
        let evaluation = batchLogits(model)
        XCTAssertEqual(maxAbsDifference(batchLogits(model), evaluation), 0)
        set.setTraining(true)
        set.reseedDropout(seed: 1, step: 10)
        let first = batchLogits(model)
        set.reseedDropout(seed: 1, step: 10)
        XCTAssertEqual(maxAbsDifference(batchLogits(model), first), 0, "same (seed, step): same masks")
        set.reseedDropout(seed: 1, step: 11)
        XCTAssertGreaterThan(maxAbsDifference(batchLogits(model), first), 1e-3, "another step: other masks")
        XCTAssertGreaterThan(maxAbsDifference(first, evaluation), 1e-3, "dropout is active while training")
        set.setTraining(false)
        XCTAssertEqual(maxAbsDifference(batchLogits(model), evaluation), 0)
    }
}
