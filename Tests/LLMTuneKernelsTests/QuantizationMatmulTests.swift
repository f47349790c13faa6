// The fused and panel products of QuantizedMatrix against the plain reference
// (dequantizeRows + GEMM.sgemmReference), on odd shapes, for every supported type.
import XCTest
@testable import LLMTuneKernels

final class QuantizationMatmulTests: XCTestCase {
    /// Columns per type: 3 blocks (legacy), 2 super-blocks (k-quants), 70 (floats: a partial block).
    private func columns(_ type: GGMLType) -> Int {
        switch type.blockSize {
        case 256: return 512
        case 32: return 96
        default: return 70
        }
    }

    private static let types = GGMLType.allCases.filter(\.isSupportedWeight)

    /// Asserts |got - want| <= 1e-4 * (|x|·|W| products), element by element.
    private func assertClose(_ got: [Float], _ want: [Float], _ bound: [Float], _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        var worst: Float = 0
        for i in 0..<want.count {
            let err = abs(got[i] - want[i])
            if !(err <= 1e-4 * bound[i] + 1e-7) {
                XCTFail("\(what) element \(i): got \(got[i]), want \(want[i])", file: file, line: line)
                return
            }
            worst = max(worst, err / max(bound[i], 1e-7))
        }
        XCTAssertLessThan(worst, 1e-4, what, file: file, line: line)
    }

    /// Reference and magnitude bound of out[m, N] = x[m, K] · Wᵀ and dx[m, K] = dy[m, N] · W.
    private func reference(_ w: [Float], N: Int, K: Int, x: [Float], m: Int, transposed: Bool)
        -> (value: [Float], bound: [Float]) {
        let n = transposed ? K : N
        let k = transposed ? N : K
        var value = [Float](repeating: 0, count: m * n)
        var bound = [Float](repeating: 0, count: m * n)
        let wa = w.map(abs), xa = x.map(abs)
        for (a, b, c) in [(x, w, 0), (xa, wa, 1)] {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    var out = [Float](repeating: 0, count: m * n)
                    out.withUnsafeMutableBufferPointer { o in
                        GEMM.sgemmReference(transA: false, transB: !transposed, m: m, n: n, k: k, alpha: 1,
                                            a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: K,
                                            beta: 0, c: o.baseAddress!, ldc: n)
                    }
                    if c == 0 { value = out } else { bound = out }
                }
            }
        }
        return (value, bound)
    }

    private func run(_ type: GGMLType, N: Int, m: Int, threads: Int, rng: inout SeededGenerator) {
        let K = columns(type)
        let enc = RandomEncodedMatrix(type, rows: N, columns: K, rng: &rng)
        let W = enc.matrix
        let w = W.dequantizedArray()
        let x = (0..<(m * K)).map { _ in Float.random(in: -1...1, using: &rng) }
        let dy = (0..<(m * N)).map { _ in Float.random(in: -1...1, using: &rng) }
        let saved = Parallel.threads
        Parallel.threads = threads
        defer { Parallel.threads = saved }

        let forward = reference(w, N: N, K: K, x: x, m: m, transposed: false)
        var out = [Float](repeating: .nan, count: m * N)
        out.withUnsafeMutableBufferPointer { W.matmul(x, rows: m, into: $0.baseAddress!) }
        assertClose(out, forward.value, forward.bound, "\(type) matmul m=\(m) N=\(N) threads=\(threads)")

        let backward = reference(w, N: N, K: K, x: dy, m: m, transposed: true)
        var dx = [Float](repeating: .nan, count: m * K)
        dx.withUnsafeMutableBufferPointer { W.matmulTransposed(dy, rows: m, into: $0.baseAddress!) }
        assertClose(dx, backward.value, backward.bound, "\(type) matmulTransposed m=\(m) N=\(N) threads=\(threads)")

        // The other path on the same data, with panels that do not divide N.
        var out2 = [Float](repeating: .nan, count: m * N)
        out2.withUnsafeMutableBufferPointer { W.panelMatmul(x, rows: m, into: $0.baseAddress!, panelRows: 16) }
        assertClose(out2, forward.value, forward.bound, "\(type) panelMatmul m=\(m)")
        var dx2 = [Float](repeating: .nan, count: m * K)
        dx2.withUnsafeMutableBufferPointer {
            W.panelMatmulTransposed(dy, rows: m, into: $0.baseAddress!, panelRows: 16)
        }
        assertClose(dx2, backward.value, backward.bound, "\(type) panelMatmulTransposed m=\(m)")
    }

    func testFusedAndPanelProductsMatchTheReferenceForEveryType() {
        var rng = SeededGenerator(seed: 2024)
        for type in Self.types {
            for (m, N, threads) in [(1, 37, 3), (3, 37, 2), (7, 19, 3), (33, 37, 3)] {
                run(type, N: N, m: m, threads: threads, rng: &rng)
            }
        }
    }

    func testFusedPathWithManyColumnBlocksAndThreads() {
        // More column blocks than threads, and a thread count that does not divide them.
        var rng = SeededGenerator(seed: 5)
        for type in [GGMLType.q4_1, .q8_0, .q5_K, .f16] {
            run(type, N: 5, m: 2, threads: 3, rng: &rng)
        }
    }

    func testSmolLM2Q4_1RowsTimesAVectorMatchesTheOracle() throws {
        // Two real rows of blk.0.attn_q (Q4_1): the fused dot equals the dot with gguf's dequantization.
        let manifest = try QuantFixtures.manifest()
        let c = try XCTUnwrap(manifest.real.first { $0.type == "Q4_1" })
        let raw = try QuantFixtures.bytes(c.raw)
        let w = try QuantFixtures.floats(c.floats)
        let x = (0..<c.columns).map { Float(($0 * 37) % 17) / 17 - 0.5 }
        let want = (0..<c.rows).map { r in (0..<c.columns).reduce(Float(0)) { $0 + w[r * c.columns + $1] * x[$1] } }
        let bound = (0..<c.rows).map { r in (0..<c.columns).reduce(Float(0)) { $0 + abs(w[r * c.columns + $1] * x[$1]) } }
        var out = [Float](repeating: .nan, count: c.rows)
        raw.withUnsafeBytes { b in
            let W = QuantizedMatrix(type: .q4_1, rows: c.rows, columns: c.columns, data: b.baseAddress!, owner: nil)
            out.withUnsafeMutableBufferPointer { W.matmul(x, rows: 1, into: $0.baseAddress!) }
        }
        assertClose(out, want, bound, "SmolLM2 attn_q rows")
    }
}
