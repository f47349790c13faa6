// Finite-difference gradient checking for the op tests (candle grad_tests.rs, torch.autograd.gradcheck):
// loss = Σ output * W with fixed random W; analytic gradients from backward(gradient: W) against
// central differences (L(x + ε) - L(x - ε)) / 2ε, the loss summed in Double.

import XCTest
import LLMTuneTensor

enum GradientChecker {
    /// Checks d(Σ f(inputs) * W)/d(input) for every input against central differences.
    /// Inputs must be contiguous tensors created by the test (they are perturbed in place).
    static func check(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 1e-2,
                      seed: UInt64 = 99, file: StaticString = #filePath, line: UInt = #line,
                      _ f: ([Tensor]) -> Tensor) {
        for x in inputs {
            precondition(x.isContiguous, "gradient check inputs must be contiguous")
            x.requiresGrad = true
            x.zeroGrad()
        }
        let out = f(inputs)
        XCTAssertNotNil(out.operationName, "output was not recorded", file: file, line: line)
        var rng = SeededGenerator(seed: seed)
        let weights = Tensor.randn(out.shape, std: 1, using: &rng)
        let w = weights.toArray().map(Double.init)
        out.backward(gradient: weights)

        func loss() -> Double {
            let y = Autograd.noGrad { f(inputs) }.toArray()
            var s = 0.0
            for i in 0..<y.count { s += Double(y[i]) * w[i] }
            return s
        }

        for (n, x) in inputs.enumerated() {
            let analytic = x.grad?.toArray() ?? [Float](repeating: 0, count: x.count)
            XCTAssertEqual(analytic.count, x.count, "input \(n): gradient size", file: file, line: line)
            if let g = x.grad { XCTAssertEqual(g.shape, x.shape, "input \(n): gradient shape", file: file, line: line) }
            var worst: (index: Int, analytic: Float, numeric: Float, excess: Float)? = nil
            let p = x.pointer
            for i in 0..<x.count {
                let saved = p[i]
                p[i] = saved + eps
                let plus = loss()
                p[i] = saved - eps
                let minus = loss()
                p[i] = saved
                let numeric = Float((plus - minus) / Double(2 * eps))
                let a = analytic[i]
                let excess = abs(a - numeric) - (atol + rtol * max(abs(a), abs(numeric)))
                if excess > 0 && excess > (worst?.excess ?? 0) { worst = (i, a, numeric, excess) }
            }
            if let worst {
                XCTFail("input \(n) \(x.shape): element \(worst.index) analytic \(worst.analytic) numeric \(worst.numeric)",
                        file: file, line: line)
            }
        }
        for x in inputs { x.requiresGrad = false; x.zeroGrad() }
    }
}

/// Random tensor with normal entries (std 1 unless given).
func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor.randn(shape, std: std, using: &rng)
}

/// Asserts element-wise |a - b| <= atol + rtol |b|, reporting the worst element.
func assertClose(_ a: Tensor, _ b: Tensor, atol: Float = 1e-5, rtol: Float = 1e-5,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shapes differ", file: file, line: line)
    assertClose(a.toArray(), b.toArray(), atol: atol, rtol: rtol, file: file, line: line)
}

func assertClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-5,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "sizes differ", file: file, line: line)
    var worst: (Int, Float)? = nil
    for i in 0..<min(a.count, b.count) {
        let excess = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if !(excess <= 0) && (worst == nil || excess > worst!.1 || excess.isNaN) { worst = (i, excess) }
    }
    if let (i, _) = worst {
        XCTFail("element \(i): \(a[i]) vs \(b[i])", file: file, line: line)
    }
}
