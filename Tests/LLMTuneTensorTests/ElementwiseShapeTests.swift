// Broadcasting arithmetic, reductions and shape operations: forward values and gradient checks.

import XCTest
import LLMTuneTensor

final class ElementwiseShapeTests: XCTestCase {
    func testBroadcastForward() {
        let x = Tensor(shape: [2, 2, 3], data: (0..<12).map(Float.init))
        let bias = Tensor(shape: [3], data: [10, 20, 30])
        XCTAssertEqual((x + bias).toArray(), [10, 21, 32, 13, 24, 35, 16, 27, 38, 19, 30, 41])
        let scale = Tensor(shape: [2, 2, 1], data: [1, 2, 3, 4])
        XCTAssertEqual((x * scale).toArray(), [0, 1, 2, 6, 8, 10, 18, 21, 24, 36, 40, 44])
        let col = Tensor(shape: [2, 1], data: [1, 2]), row = Tensor(shape: [1, 3], data: [10, 20, 30])
        XCTAssertEqual((col - row).toArray(), [-9, -19, -29, -8, -18, -28])
        XCTAssertEqual((x.transposed(0, 2) * 2).toArray(), x.transposed(0, 2).toArray().map { $0 * 2 })
        XCTAssertEqual((-bias).toArray(), [-10, -20, -30])
        XCTAssertEqual((bias + 1).toArray(), [11, 21, 31])
        // A long row exercises the SIMD body and its tail.
        let long = Tensor(shape: [37], data: (0..<37).map(Float.init))
        XCTAssertEqual((long * long).toArray(), (0..<37).map { Float($0 * $0) })
    }

    func testReductionsForward() {
        let x = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        XCTAssertEqual(x.sum().item(), 276)
        XCTAssertEqual(x.mean().item(), 11.5)
        XCTAssertEqual(x.sum(dim: 0, keepDim: false).toArray(), (0..<12).map { Float($0 + $0 + 12) })
        XCTAssertEqual(x.sum(dim: 2, keepDim: true).shape, [2, 3, 1])
        XCTAssertEqual(x.sum(dim: 2, keepDim: true).toArray(), [6, 22, 38, 54, 70, 86])
        XCTAssertEqual(x.sum(dim: 1, keepDim: false).toArray(), [12, 15, 18, 21, 48, 51, 54, 57])
        XCTAssertEqual(x.mean(dim: -1, keepDim: false).toArray(), [1.5, 5.5, 9.5, 13.5, 17.5, 21.5])
    }

    func testBroadcastAddGradient() {
        GradientChecker.check([randomTensor([2, 3, 5], seed: 1), randomTensor([5], seed: 2)]) { $0[0] + $0[1] }
        GradientChecker.check([randomTensor([2, 1, 5], seed: 1), randomTensor([3, 1], seed: 2)]) { $0[0] - $0[1] }
    }

    func testBroadcastMultiplyGradient() {
        GradientChecker.check([randomTensor([2, 3, 5], seed: 3), randomTensor([2, 3, 1], seed: 4)]) { $0[0] * $0[1] }
        GradientChecker.check([randomTensor([4, 3], seed: 5), randomTensor([3], seed: 6)]) { $0[0] * $0[1] }
        GradientChecker.check([randomTensor([3, 4], seed: 7)]) { x in x[0] * x[0] }
    }

    func testScalarOperationsGradient() {
        GradientChecker.check([randomTensor([3, 4], seed: 8)]) { x in (x[0] * 1.5).scaled(by: -2) + 0.5 }
        GradientChecker.check([randomTensor([5], seed: 9)]) { x in -x[0] }
    }

    func testReductionGradients() {
        GradientChecker.check([randomTensor([3, 4], seed: 10)]) { $0[0].sum() }
        GradientChecker.check([randomTensor([3, 4], seed: 11)]) { $0[0].mean() }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 12)]) { $0[0].sum(dim: 1, keepDim: false) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 13)]) { $0[0].sum(dim: 2, keepDim: true) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 14)]) { $0[0].mean(dim: 0, keepDim: true) }
    }

    func testViewGradients() {
        GradientChecker.check([randomTensor([2, 3, 4], seed: 15)]) { $0[0].transposed(0, 2) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 16)]) { $0[0].permuted([2, 0, 1]) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 17)]) { $0[0].slice(dim: 1, range: 1..<3) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 18)]) { $0[0].reshaped([4, -1]) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 19)]) { $0[0].transposed(1, 2).reshaped([2, 12]) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 20)]) { $0[0].permuted([1, 0, 2]).contiguous() }
        // Two overlapping slices of one tensor accumulate into the same gradient.
        GradientChecker.check([randomTensor([5, 2], seed: 21)]) { x in
            x[0].slice(dim: 0, range: 0..<3) * x[0].slice(dim: 0, range: 2..<5)
        }
    }

    func testConcatGradient() {
        GradientChecker.check([randomTensor([2, 3], seed: 22), randomTensor([2, 1], seed: 23),
                               randomTensor([2, 2], seed: 24)]) { Tensor.concat($0, dim: 1) }
        GradientChecker.check([randomTensor([1, 3], seed: 25), randomTensor([3, 2], seed: 26)]) { x in
            Tensor.concat([x[0], x[1].transposed(0, 1)], dim: 0)
        }
    }
}
