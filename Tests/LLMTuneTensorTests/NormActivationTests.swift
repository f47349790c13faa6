// RMSNorm, LayerNorm, softmax, log-softmax, activations, SwiGLU and dropout: fast kernels against plain
// Double references on odd shapes, and gradient checks.

import XCTest
import Foundation
import LLMTuneTensor

final class NormActivationTests: XCTestCase {
    func testRMSNormMatchesReference() {
        for C in [5, 16, 37] {
            let x = randomTensor([3, C], seed: UInt64(C)), w = randomTensor([C], seed: 100 + UInt64(C))
            assertClose(x.rmsNorm(weight: w, eps: 1e-5), x.rmsNormReference(weight: w, eps: 1e-5), atol: 1e-5, rtol: 1e-5)
            assertClose(x.rmsNorm(weight: w, eps: 1e-6, weightOffset: 1),
                        x.rmsNormReference(weight: w, eps: 1e-6, weightOffset: 1), atol: 1e-5, rtol: 1e-5)
        }
        // Definition check: unit weight gives rows of mean square ~1.
        let y = randomTensor([2, 37], seed: 7).rmsNorm(weight: Tensor(shape: [37], filling: 1), eps: 0).toArray()
        XCTAssertEqual(y[0..<37].map { $0 * $0 }.reduce(0, +) / 37, 1, accuracy: 1e-4)
    }

    func testLayerNormMatchesReference() {
        for C in [6, 33] {
            let x = randomTensor([4, C], seed: UInt64(C)), w = randomTensor([C], seed: 1), b = randomTensor([C], seed: 2)
            assertClose(x.layerNorm(weight: w, bias: b, eps: 1e-5), x.layerNormReference(weight: w, bias: b, eps: 1e-5),
                        atol: 1e-5, rtol: 1e-5)
            assertClose(x.layerNorm(weight: nil, bias: nil, eps: 1e-5), x.layerNormReference(weight: nil, bias: nil, eps: 1e-5),
                        atol: 1e-5, rtol: 1e-5)
        }
    }

    func testNormGradients() {
        GradientChecker.check([randomTensor([2, 3, 7], seed: 1), randomTensor([7], seed: 2)]) {
            $0[0].rmsNorm(weight: $0[1], eps: 1e-5)
        }
        GradientChecker.check([randomTensor([3, 18], seed: 3), randomTensor([18], seed: 4)]) {
            $0[0].rmsNorm(weight: $0[1], eps: 1e-6, weightOffset: 1)
        }
        GradientChecker.check([randomTensor([2, 3, 7], seed: 5), randomTensor([7], seed: 6), randomTensor([7], seed: 7)]) {
            $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5)
        }
        GradientChecker.check([randomTensor([3, 5], seed: 8)]) { $0[0].layerNorm(weight: nil, bias: nil, eps: 1e-5) }
        // Non-contiguous input.
        GradientChecker.check([randomTensor([5, 3], seed: 9), randomTensor([3], seed: 10)]) {
            $0[0].transposed(0, 1).transposed(0, 1).slice(dim: 0, range: 1..<4).rmsNorm(weight: $0[1], eps: 1e-5)
        }
    }

    func testSoftmaxForward() {
        let x = randomTensor([3, 21], seed: 11, std: 3)
        let y = x.softmax().toArray(), ly = x.logSoftmax().toArray(), xv = x.toArray()
        for r in 0..<3 {
            let row = xv[(r * 21)..<(r * 21 + 21)].map(Double.init)
            let m = row.max()!
            let total = row.map { Foundation.exp($0 - m) }.reduce(0, +)
            for i in 0..<21 {
                XCTAssertEqual(Double(y[r * 21 + i]), Foundation.exp(row[i] - m) / total, accuracy: 1e-6)
                XCTAssertEqual(Double(ly[r * 21 + i]), row[i] - m - Foundation.log(total), accuracy: 2e-5)
            }
        }
        // Large logits stay finite.
        XCTAssertEqual(Tensor(shape: [1, 2], data: [1000, 1000]).softmax().toArray(), [0.5, 0.5])
    }

    func testSoftmaxGradients() {
        GradientChecker.check([randomTensor([2, 3, 5], seed: 12)]) { $0[0].softmax() }
        GradientChecker.check([randomTensor([3, 17], seed: 13)]) { $0[0].logSoftmax() }
        GradientChecker.check([randomTensor([4, 3], seed: 14)]) { $0[0].transposed(0, 1).softmax() }
    }

    func testActivationsForward() {
        let values: [Float] = [-9, -3.2, -1, -0.3, 0, 0.25, 1, 2.5, 7, 40, -40, 0.01, 3, -2, 5, 0.7, -0.7]
        let x = Tensor(shape: [values.count], data: values)
        let silu = x.silu().toArray(), relu = x.relu().toArray()
        let erf = x.gelu(.none).toArray(), tanh = x.gelu(.tanh).toArray()
        for (i, v) in values.map(Double.init).enumerated() {
            XCTAssertEqual(Double(silu[i]), v / (1 + Foundation.exp(-v)), accuracy: 1e-5 * max(1, abs(v)))
            XCTAssertEqual(relu[i], max(0, Float(v)))
            XCTAssertEqual(Double(erf[i]), 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot())), accuracy: 1e-5 * max(1, abs(v)))
            let u = (2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)
            XCTAssertEqual(Double(tanh[i]), 0.5 * v * (1 + Foundation.tanh(u)), accuracy: 1e-5 * max(1, abs(v)))
        }
        let gate = randomTensor([2, 19], seed: 15), up = randomTensor([2, 19], seed: 16)
        assertClose(Tensor.swiglu(gate: gate, up: up), gate.silu() * up, atol: 1e-6, rtol: 1e-5)
    }

    func testActivationGradients() {
        GradientChecker.check([randomTensor([3, 7], seed: 17, std: 2)]) { $0[0].silu() }
        GradientChecker.check([randomTensor([3, 7], seed: 18, std: 2)]) { $0[0].gelu(.none) }
        GradientChecker.check([randomTensor([3, 7], seed: 19, std: 2)]) { $0[0].gelu(.tanh) }
        // ReLU away from its kink.
        let x = Tensor(shape: [6], data: [-2, -0.5, -0.1, 0.2, 1, 3])
        GradientChecker.check([x]) { $0[0].relu() }
        GradientChecker.check([randomTensor([2, 9], seed: 20, std: 2), randomTensor([2, 9], seed: 21)]) {
            Tensor.swiglu(gate: $0[0], up: $0[1])
        }
        GradientChecker.check([randomTensor([17], seed: 22, std: 2)]) { x in x[0].silu() }
    }

    func testDropout() {
        var rng = SeededGenerator(seed: 1)
        let x = Tensor(shape: [2000], filling: 1)
        XCTAssertTrue(x.dropout(0, using: &rng) === x)
        let y = x.dropout(0.25, using: &rng).toArray()
        let kept = y.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        XCTAssertEqual(Float(kept.count) / 2000, 0.75, accuracy: 0.04)
        // The gradient uses the same mask as the forward.
        let z = randomTensor([40], seed: 2)
        z.requiresGrad = true
        var r2 = SeededGenerator(seed: 3)
        let out = z.dropout(0.5, using: &r2)
        out.backward(gradient: Tensor(shape: [40], filling: 1))
        let mask = zip(out.toArray(), z.toArray()).map { $0.0 / $0.1 }
        assertClose(z.grad!.toArray(), mask, atol: 1e-5, rtol: 1e-5)
        XCTAssertTrue(mask.contains(0) && mask.contains(2))
    }
}
