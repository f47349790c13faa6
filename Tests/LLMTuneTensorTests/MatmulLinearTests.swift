// matmul (plain, batched, shared right operand, transposed views), linear over dense and quantized
// (f32) weights, and embedding lookups.

import XCTest
import LLMTuneKernels
import LLMTuneTensor

/// Plain (..., M, K) x (K, N) or batched product in Double.
private func naiveMatmul(_ a: Tensor, _ b: Tensor) -> [Float] {
    let M = a.shape[a.rank - 2], K = a.shape[a.rank - 1], N = b.shape[b.rank - 1]
    let batches = a.count / (M * K)
    let av = a.toArray(), bv = b.toArray()
    let shared = b.rank == 2
    var out = [Float](repeating: 0, count: batches * M * N)
    for z in 0..<batches {
        for i in 0..<M {
            for j in 0..<N {
                var acc = 0.0
                for p in 0..<K {
                    acc += Double(av[z * M * K + i * K + p]) * Double(bv[(shared ? 0 : z * K * N) + p * N + j])
                }
                out[z * M * N + i * N + j] = Float(acc)
            }
        }
    }
    return out
}

/// A frozen f32 QuantizedMatrix over a tensor's (rows, columns) data.
func f32Matrix(_ w: Tensor) -> QuantizedMatrix {
    QuantizedMatrix(type: .f32, rows: w.shape[0], columns: w.shape[1], data: UnsafeRawPointer(w.pointer), owner: w)
}

final class MatmulLinearTests: XCTestCase {
    func testMatmulForward() {
        let a = randomTensor([3, 5], seed: 1), b = randomTensor([5, 4], seed: 2)
        assertClose(a.matmul(b).toArray(), naiveMatmul(a, b))
        // Transposed views go to sgemm as flags.
        let at = randomTensor([5, 3], seed: 3).transposed(0, 1), bt = randomTensor([4, 5], seed: 4).transposed(0, 1)
        assertClose(at.matmul(bt).toArray(), naiveMatmul(at.contiguous(), bt.contiguous()))
        // Batched and shared.
        let x = randomTensor([2, 3, 3, 5], seed: 5), y = randomTensor([2, 3, 5, 2], seed: 6)
        assertClose(x.matmul(y).toArray(), naiveMatmul(x, y))
        XCTAssertEqual(x.matmul(y).shape, [2, 3, 3, 2])
        assertClose(x.matmul(b).toArray(), naiveMatmul(x, b))
        // A batched operand that is a non-foldable view.
        let xv = randomTensor([3, 2, 5], seed: 7).transposed(0, 1)   // (2, 3, 5)
        assertClose(xv.matmul(b).toArray(), naiveMatmul(xv.contiguous(), b))
    }

    func testMatmulGradient() {
        GradientChecker.check([randomTensor([3, 4], seed: 8), randomTensor([4, 2], seed: 9)]) { $0[0].matmul($0[1]) }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 10), randomTensor([2, 4, 2], seed: 11)]) {
            $0[0].matmul($0[1])
        }
        GradientChecker.check([randomTensor([2, 3, 4], seed: 12), randomTensor([4, 3], seed: 13)]) {
            $0[0].matmul($0[1])
        }
        GradientChecker.check([randomTensor([4, 3], seed: 14), randomTensor([2, 4], seed: 15)]) {
            $0[0].transposed(0, 1).matmul($0[1].transposed(0, 1))
        }
        GradientChecker.check([randomTensor([3, 2, 4], seed: 16), randomTensor([4, 3], seed: 17)]) {
            $0[0].transposed(0, 1).matmul($0[1])
        }
    }

    func testLinearDenseAndQuantizedAgree() {
        let x = randomTensor([2, 3, 6], seed: 20)
        let w = randomTensor([4, 6], seed: 21), bias = randomTensor([4], seed: 22)
        let dense = x.linear(.dense(w), bias: bias)
        XCTAssertEqual(dense.shape, [2, 3, 4])
        var expected = naiveMatmul(x, w.transposed(0, 1).contiguous())
        for i in 0..<expected.count { expected[i] += bias.toArray()[i % 4] }
        assertClose(dense.toArray(), expected)
        assertClose(x.linear(.quantized(f32Matrix(w)), bias: bias), dense)
        XCTAssertEqual(LinearWeight.quantized(f32Matrix(w)).outFeatures, 4)
        XCTAssertEqual(LinearWeight.dense(w).inFeatures, 6)
    }

    func testLinearDenseGradient() {
        GradientChecker.check([randomTensor([2, 3, 5], seed: 23), randomTensor([4, 5], seed: 24),
                               randomTensor([4], seed: 25)]) { $0[0].linear(.dense($0[1]), bias: $0[2]) }
        // A transposed weight view and a strided input view.
        GradientChecker.check([randomTensor([5, 4], seed: 26), randomTensor([3, 2, 5], seed: 27)]) {
            $0[1].transposed(0, 1).linear(.dense($0[0].transposed(0, 1)), bias: nil)
        }
    }

    func testLinearFrozenWeightGetsNoGradient() {
        let w = randomTensor([4, 5], seed: 28)
        let x = randomTensor([3, 5], seed: 29)
        x.requiresGrad = true
        x.linear(.dense(w), bias: nil).sum().backward()
        XCTAssertNil(w.grad)
        XCTAssertNotNil(x.grad)
    }

    func testLinearQuantizedGradient() {
        let w = randomTensor([4, 5], seed: 30)
        let q = f32Matrix(w)
        GradientChecker.check([randomTensor([2, 3, 5], seed: 31), randomTensor([4], seed: 32)]) {
            $0[0].linear(.quantized(q), bias: $0[1])
        }
    }

    func testEmbeddingForwardAndGradient() {
        let table = randomTensor([6, 4], seed: 40)
        let ids = [5, 0, 2, 2, 1, 5]
        let e = Tensor.embedding(.dense(table), ids: ids, shape: [2, 3])
        XCTAssertEqual(e.shape, [2, 3, 4])
        for (i, id) in ids.enumerated() {
            XCTAssertEqual(Array(e.toArray()[(i * 4)..<(i * 4 + 4)]), Array(table.toArray()[(id * 4)..<(id * 4 + 4)]))
        }
        XCTAssertEqual(Tensor.embedding(.quantized(f32Matrix(table)), ids: ids, shape: [2, 3]).toArray(), e.toArray())
        // Repeated ids accumulate; unused rows get zero.
        GradientChecker.check([randomTensor([6, 4], seed: 41)]) { Tensor.embedding(.dense($0[0]), ids: ids, shape: [2, 3]) }
        // A transposed table view reads through its strides.
        let tv = randomTensor([4, 6], seed: 42)
        XCTAssertEqual(Tensor.embedding(.dense(tv.transposed(0, 1)), ids: [3], shape: [1]).toArray(),
                       tv.transposed(0, 1).slice(dim: 0, range: 3..<4).toArray())
    }
}
