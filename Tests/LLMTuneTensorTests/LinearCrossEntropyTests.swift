// Fused chunked linear + cross-entropy against the unfused reference crossEntropy(linear(h, W)):
// values and gradients (hidden and a trainable dense W), ignored targets, quantized W, chunk edges.

import XCTest
@testable import LLMTuneTensor
import LLMTuneKernels

final class LinearCrossEntropyTests: XCTestCase {
    /// Loss and gradients of the fused op and of the reference, for one chunk size.
    private func compare(rows: Int, columns: Int, vocabulary: Int, targets: [Int], chunk: Int,
                         quantized: Bool, trainWeight: Bool, line: UInt = #line) {
        let h1 = randomTensor([rows, columns], seed: 11, std: 1)
        let w1 = randomTensor([vocabulary, columns], seed: 12, std: 0.7)
        let h2 = Tensor(shape: h1.shape, data: h1.toArray())
        let w2 = Tensor(shape: w1.shape, data: w1.toArray())
        h1.requiresGrad = true; h2.requiresGrad = true
        w1.requiresGrad = trainWeight; w2.requiresGrad = trainWeight
        let weight1: LinearWeight = quantized ? .quantized(f32Matrix(w1)) : .dense(w1)
        let weight2: LinearWeight = quantized ? .quantized(f32Matrix(w2)) : .dense(w2)
        let reference = h1.linear(weight1, bias: nil).crossEntropy(targets: targets)
        let fused = h2.linearCrossEntropy(weight: weight2, targets: targets, chunk: chunk)
        XCTAssertEqual(fused.item(), reference.item(), accuracy: 1e-5, line: line)
        reference.backward()
        fused.backward()
        let a = h1.grad!.toArray(), b = h2.grad!.toArray()
        XCTAssertGreaterThan(a.map(abs).max()!, 1e-3, "reference gradient is not trivial", line: line)
        for i in a.indices { XCTAssertEqual(b[i], a[i], accuracy: 1e-5, "dHidden[\(i)]", line: line) }
        for (r, t) in targets.enumerated() where t == -100 {
            XCTAssertEqual(Array(b[(r * columns)..<((r + 1) * columns)]), Array(repeating: 0, count: columns), line: line)
        }
        if trainWeight && !quantized {
            let c = w1.grad!.toArray(), d = w2.grad!.toArray()
            for i in c.indices { XCTAssertEqual(d[i], c[i], accuracy: 1e-5, "dW[\(i)]", line: line) }
        } else {
            XCTAssertNil(w2.grad, line: line)
        }
    }

    func testMatchesUnfusedDense() {
        let targets = [3, -100, 10, 0, 3, 36, -100]
        for chunk in [1, 3, 7, 64] {
            compare(rows: 7, columns: 5, vocabulary: 37, targets: targets, chunk: chunk, quantized: false, trainWeight: false)
        }
    }

    func testMatchesUnfusedTrainableDenseWeight() {
        compare(rows: 6, columns: 4, vocabulary: 21, targets: [1, 20, -100, 0, 5, 5], chunk: 4,
                quantized: false, trainWeight: true)
    }

    func testMatchesUnfusedQuantizedWeight() {
        compare(rows: 9, columns: 8, vocabulary: 50, targets: [1, 49, -100, 0, 5, 5, 7, -100, 30], chunk: 4,
                quantized: true, trainWeight: false)
    }

    func testAllIgnoredGivesZero() {
        let h = randomTensor([2, 3], seed: 5)
        h.requiresGrad = true
        let w = randomTensor([4, 3], seed: 6)
        let loss = h.linearCrossEntropy(weight: .dense(w), targets: [-100, -100], chunk: 1)
        XCTAssertEqual(loss.item(), 0)
        loss.backward()
        XCTAssertEqual(h.grad!.toArray(), Array(repeating: 0, count: 6))
    }

    func testFiniteDifferences() {
        let w = randomTensor([13, 6], seed: 8, std: 1)
        GradientChecker.check([randomTensor([5, 6], seed: 7, std: 1)]) {
            $0[0].linearCrossEntropy(weight: .dense(w), targets: [3, -100, 12, 0, 3], chunk: 2)
        }
    }
}
