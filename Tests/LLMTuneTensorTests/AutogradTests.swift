// The autograd engine: accumulation, shared inputs, repeated backward, and inference recording nothing.

import XCTest
import LLMTuneTensor

final class AutogradTests: XCTestCase {
    func testGradientOfSharedSubexpression() {
        // f = Σ (x * x + x) -> df/dx = 2x + 1
        let x = Tensor(shape: [3], data: [1, -2, 0.5])
        x.requiresGrad = true
        let y = x * x + x
        y.sum().backward()
        XCTAssertEqual(x.grad?.toArray(), [3, -3, 2])
        XCTAssertNil(y.grad, "only leaves keep gradients")
        // A second backward accumulates.
        (x * 3).sum().backward()
        XCTAssertEqual(x.grad?.toArray(), [6, 0, 5])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testAddOfSameTensorTwiceGivesIndependentGradients() {
        let a = Tensor(shape: [2], data: [1, 2]), b = Tensor(shape: [2], data: [3, 4])
        a.requiresGrad = true
        b.requiresGrad = true
        (a + b).backward(gradient: Tensor(shape: [2], data: [1, 1]))
        (a * 2).backward(gradient: Tensor(shape: [2], data: [1, 1]))
        XCTAssertEqual(a.grad?.toArray(), [3, 3])
        XCTAssertEqual(b.grad?.toArray(), [1, 1], "b's gradient must not alias a's")
    }

    func testNoGradRecordsNothingAndKeepsNoInputs() {
        weak var weakInput: Tensor?
        var output: Tensor?
        do {
            let x = randomTensor([2, 3, 4, 8], seed: 1)
            x.requiresGrad = true
            weakInput = x
            output = Autograd.noGrad {
                let h = x.rmsNorm(weight: Tensor(shape: [8], filling: 1), eps: 1e-5).silu()
                return Tensor.attention(query: h, key: h, value: h, scale: 0.3, causalOffset: 0, window: nil)
                    .reshaped([6, 32]).softmax()
            }
            XCTAssertNil(output?.operationName)
            XCTAssertFalse(output!.requiresGrad)
        }
        XCTAssertNil(weakInput, "an inference output must not keep its inputs alive")
        XCTAssertTrue(Autograd.isEnabled, "noGrad restores the switch")
        XCTAssertNotNil(output)
    }

    func testNoRecordingWithoutGradientInputs() {
        let x = randomTensor([3, 4], seed: 2)
        let y = (x * x).sum(dim: 1, keepDim: false).mean()
        XCTAssertNil(y.operationName)
        let w = randomTensor([4], seed: 3)
        w.requiresGrad = true
        XCTAssertEqual((x * w).operationName, "multiply")
    }

    func testDetachStopsGradient() {
        let x = Tensor(shape: [2], data: [1, 2])
        x.requiresGrad = true
        let y = x * x.detached()
        y.sum().backward()
        XCTAssertEqual(x.grad?.toArray(), [1, 2])
    }

    func testDeepGraphIsReleasedWithoutRecursion() {
        // Releasing a 30 000-op chain recursively overflows the stack; the node teardown is iterative.
        weak var first: Tensor?
        do {
            let x = Tensor(shape: [1], filling: 1)
            x.requiresGrad = true
            var y = x.scaled(by: 1)
            first = y
            for _ in 0..<30_000 { y = y + 0.5 }
            y.backward()
            XCTAssertEqual(x.grad?.item(), 1)
            XCTAssertEqual(y.item(), 15_001)
        }
        XCTAssertNil(first, "the chain is released")
    }
}
