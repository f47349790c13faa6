import XCTest
import LLMTuneTensor

/// Tensor.checkpoint: same values and gradients as the plain computation, gradients to captured parameters,
/// and a finite-difference check.
final class CheckpointingTests: XCTestCase {
    func random(_ shape: [Int], seed: UInt64, grad: Bool = true) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let t = Tensor.randn(shape, std: 0.7, using: &rng)
        t.requiresGrad = grad
        return t
    }

    /// A block-like segment: h = x + silu(x Wᵀ) * x, then rms-normalised.
    func segment(_ x: Tensor, _ w: Tensor, _ g: Tensor) -> Tensor {
        let h = x + x.linear(.dense(w), bias: nil).silu() * x   // (B, T, C)
        return h.rmsNorm(weight: g, eps: 1e-5)
    }

    func testMatchesPlainComputationInValueAndGradient() {
        let w1 = random([6, 6], seed: 2), w2 = random([6, 6], seed: 3), g = random([6], seed: 4)
        let weight = random([2, 3, 6], seed: 5, grad: false)
        func loss(checkpointed: Bool, x: Tensor) -> Tensor {
            var h = x * 1.5
            for w in [w1, w2] {
                h = checkpointed ? Tensor.checkpoint([h]) { self.segment($0[0], w, g) } : segment(h, w, g)
            }
            return (h * weight).sum()
        }
        var results: [(Float, [[Float]])] = []
        for checkpointed in [false, true] {
            let x = random([2, 3, 6], seed: 1)
            for t in [w1, w2, g] { t.zeroGrad() }
            let l = loss(checkpointed: checkpointed, x: x)
            l.backward()
            results.append((l.item(), [x, w1, w2, g].map { $0.grad?.toArray() ?? [] }))
        }
        XCTAssertEqual(results[0].0, results[1].0)
        for (plain, checkpointed) in zip(results[0].1, results[1].1) {
            XCTAssertFalse(plain.isEmpty)
            XCTAssertEqual(plain.count, checkpointed.count)
            for (a, b) in zip(plain, checkpointed) { XCTAssertEqual(a, b, accuracy: 1e-6 + 1e-5 * abs(a)) }
        }
    }

    /// Central differences on the input and on a captured weight.
    func testFiniteDifferences() {
        let x = random([2, 2, 6], seed: 11), w = random([6, 6], seed: 12), g = random([6], seed: 13)
        let weight = random([2, 2, 6], seed: 14, grad: false)
        func loss() -> Tensor { (Tensor.checkpoint([x]) { self.segment($0[0], w, g) } * weight).sum() }
        loss().backward()
        let dx = x.grad!.toArray(), dw = w.grad!.toArray()
        let h: Float = 1e-2
        for (tensor, analytic) in [(x, dx), (w, dw)] {
            for i in stride(from: 0, to: tensor.count, by: 5) {
                let p = tensor.pointer
                let saved = p[i]
                p[i] = saved + h
                let up = Autograd.noGrad { Double(loss().item()) }
                p[i] = saved - h
                let down = Autograd.noGrad { Double(loss().item()) }
                p[i] = saved
                let numeric = Float((up - down) / (2 * Double(h)))
                XCTAssertEqual(analytic[i], numeric, accuracy: 2e-3 + 2e-3 * abs(numeric), "element \(i)")
            }
        }
    }

    /// Inputs without gradient (the embedding output of a frozen model): captured parameters still get one.
    func testCapturedParametersGetGradientsWhenInputsDoNot() {
        let x = random([1, 4, 6], seed: 21, grad: false), w = random([6, 6], seed: 22), g = random([6], seed: 23)
        let out = Tensor.checkpoint([x]) { self.segment($0[0], w, g) }
        XCTAssertEqual(out.operationName, "checkpoint")
        out.sum().backward()
        let reference = random([6, 6], seed: 22)
        segment(x, reference, random([6], seed: 23)).sum().backward()
        XCTAssertNil(x.grad)
        XCTAssertEqual(w.grad?.toArray() ?? [], reference.grad?.toArray() ?? [1])
    }

    func testNoGradRunsBodyPlainly() {
        let x = random([1, 2, 6], seed: 31), w = random([6, 6], seed: 32), g = random([6], seed: 33)
        var calls = 0
        let out = Autograd.noGrad { Tensor.checkpoint([x]) { calls += 1; return self.segment($0[0], w, g) } }
        XCTAssertEqual(calls, 1)
        XCTAssertNil(out.operationName)
        XCTAssertFalse(out.requiresGrad)
        // With recording on, the body runs once forward and once more in backward.
        let recorded = Tensor.checkpoint([x]) { calls += 1; return self.segment($0[0], w, g) }
        XCTAssertEqual(calls, 2)
        recorded.sum().backward()
        XCTAssertEqual(calls, 3)
    }
}

/// Dropout-like randomness inside a checkpointed segment is replayed on recomputation.
final class CheckpointRandomnessTests: XCTestCase {
    /// x ⊙ mask with a mask drawn through `drawReplayable` (what Tensor.dropout does once it uses the hook).
    func randomMask(_ x: Tensor, _ rng: inout SeededGenerator) -> Tensor {
        let values = rng.drawReplayable { r in (0..<x.count).map { _ in r.nextUniform() < 0.5 ? Float(0) : 2 } }
        return x * Tensor(shape: x.shape, data: values)
    }

    func testMasksAgreeBetweenForwardAndRecomputation() {
        var rngs = [SeededGenerator(seed: 9), SeededGenerator(seed: 9)]
        var grads: [[Float]] = []
        var losses: [Float] = []
        for checkpointed in [false, true] {
            var rng = rngs[checkpointed ? 1 : 0]
            var tg = SeededGenerator(seed: 4)
            let w = Tensor.randn([5, 5], std: 0.5, using: &tg)
            w.requiresGrad = true
            let x = Tensor.randn([3, 5], std: 1, using: &tg)
            func segment(_ h: Tensor) -> Tensor { randomMask(h.linear(.dense(w), bias: nil), &rng).silu() }
            let y = checkpointed ? Tensor.checkpoint([x]) { segment($0[0]) } : segment(x)
            let l = (y * y).sum()
            l.backward()
            losses.append(l.item())
            grads.append(w.grad?.toArray() ?? [])
            rngs[checkpointed ? 1 : 0] = rng
        }
        XCTAssertEqual(losses[0], losses[1])
        XCTAssertEqual(grads[0].count, 25)
        for (a, b) in zip(grads[0], grads[1]) { XCTAssertEqual(a, b, accuracy: 1e-6 + 1e-5 * abs(a)) }
        // The caller's generator advanced once (by the first run only) in both cases.
        XCTAssertEqual(rngs[0].next(), rngs[1].next())
    }
}
