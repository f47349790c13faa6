// The multiplication drivers behind QuantizedMatrix: weights stay encoded and are decoded block by block
// in fp32. Two paths per product:
//   small m (decode, m <= QuantizedMatmul.fusedMaximumRows): fused kernels that decode each block into
//     registers and use it at once, parallel over output rows (forward) or over column blocks (transposed);
//   larger m (prefill, training): decode a panel of W rows into an fp32 scratch (parallel over the panel's
//     rows) and hand it to GEMM.sgemm, which brings its own threading. Panels run one after the other so
//     that sgemm's threads are never nested inside ours.
// Reference: the same product as dequantizeRows + GEMM.sgemmReference (see QuantizationMatmulTests).

/// Tuning constants of the quantized products.
public enum QuantizedMatmul {
    /// Activation rows up to which the fused decode-and-dot kernels are used instead of panels + sgemm.
    public static let fusedMaximumRows = 8
    /// Floats in one dequantized panel of W (4 MiB).
    static let panelFloats = 1 << 20
    /// Weight-row products (weights x activation rows) below which a fused product is not split between
    /// threads: about 70 µs of one core, above `Parallel.workerWakeMicroseconds`. A decode step's per-layer
    /// matrix-vector products (SmolLM2: 0.1-0.9 M weights, 4-30 µs) stay on the calling thread; the 28 M-weight
    /// output head is split.
    static let minimumFusedWorkPerRange = 1 << 21
    /// Weights below which dequantizing a panel is not split between threads (about 50 µs of one core).
    static let minimumDequantizedPerRange = 1 << 18
}

/// out[m, rows] = x[m, columns] · Wᵀ, fused path.
struct FusedForward: CodecVisitor {
    let w: QuantizedMatrix
    let x: UnsafePointer<Float>
    let m: Int
    let out: UnsafeMutablePointer<Float>

    func visit<C: BlockCodec>(_ codec: C.Type) {
        let (N, K, rb, base, m, x, out) = (w.rows, w.columns, w.rowBytes, w.data, m, x, out)
        let minimumRows = max(1, QuantizedMatmul.minimumFusedWorkPerRange / max(1, K * m))
        // Per-32 sums of the activation rows for the factored block dots (the row left over by the tiles).
        let G = K / 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, G)) { sums in
            let xsum = sums.baseAddress!
            let last = m - 1
            if C.hasBlockDot && m % 2 == 1 { RowKernels.blockSums(x + last * K, columns: K, xsum) }
            Parallel.forRanges(N, minimum: minimumRows) { range in
                for r in range {
                    let wr = base + r * rb
                    var i = 0
                    while i + 4 <= m {
                        let s = RowKernels.dot4(C.self, wr, x + i * K, ldx: K, columns: K)
                        out[i * N + r] = s[0]
                        out[(i + 1) * N + r] = s[1]
                        out[(i + 2) * N + r] = s[2]
                        out[(i + 3) * N + r] = s[3]
                        i += 4
                    }
                    if i + 2 <= m {
                        let (s0, s1) = RowKernels.dot2(C.self, wr, x + i * K, x + (i + 1) * K, columns: K)
                        out[i * N + r] = s0
                        out[(i + 1) * N + r] = s1
                        i += 2
                    }
                    if i < m {
                        out[i * N + r] = RowKernels.dot1(C.self, wr, x + i * K, xsum: xsum, columns: K)
                    }
                }
            }
        }
    }
}

/// dx[m, columns] = dy[m, rows] · W, fused path: each thread owns a range of column blocks of dx and
/// accumulates dy[i, r] * W[r, those columns] over all rows r.
struct FusedTransposed: CodecVisitor {
    let w: QuantizedMatrix
    let dy: UnsafePointer<Float>
    let m: Int
    let dx: UnsafeMutablePointer<Float>

    func visit<C: BlockCodec>(_ codec: C.Type) {
        let (N, K, rb, base, m, dy, dx) = (w.rows, w.columns, w.rowBytes, w.data, m, dy, dx)
        let E = C.elements
        let blocks = (K + E - 1) / E  // the last one may be partial (plain float rows)
        let minimumBlocks = max(1, QuantizedMatmul.minimumFusedWorkPerRange / max(1, N * E * m))
        Parallel.forRanges(blocks, minimum: minimumBlocks) { range in
            let c0 = range.lowerBound * E
            let c1 = min(K, range.upperBound * E)
            for i in 0..<m { (dx + i * K + c0).initialize(repeating: 0, count: c1 - c0) }
            for r in 0..<N {
                RowKernels.accumulate(C.self, base + r * rb, columns: K, blocks: range, m: m,
                                      dy + r, ldg: N, dx, ldd: K)
            }
        }
    }
}

/// Decodes rows `range` into `out` ([range.count, columns]), in parallel when `parallel` and large enough.
struct DequantizeRows: CodecVisitor {
    let w: QuantizedMatrix
    let range: Range<Int>
    let out: UnsafeMutablePointer<Float>
    let parallel: Bool

    func visit<C: BlockCodec>(_ codec: C.Type) {
        let (K, rb, base, lo, out) = (w.columns, w.rowBytes, w.data, range.lowerBound, out)
        let body = { (rows: Range<Int>) in
            for r in rows {
                RowKernels.dequantizeRow(C.self, base + (lo + r) * rb, columns: K, out + r * K)
            }
        }
        if parallel {
            Parallel.forRanges(range.count, minimum: max(1, QuantizedMatmul.minimumDequantizedPerRange / max(1, K)),
                               body)
        } else {
            body(0..<range.count)
        }
    }
}

extension QuantizedMatrix {
    /// Rows of W per dequantized panel: about `panelFloats` floats, at least 16 rows.
    var panelRows: Int { Swift.min(rows, Swift.max(16, QuantizedMatmul.panelFloats / Swift.max(1, columns))) }

    /// out[m, rows] = x[m, columns] · Wᵀ through fp32 panels of `panelRows` W rows and GEMM.sgemm.
    func panelMatmul(_ x: UnsafePointer<Float>, rows m: Int, into out: UnsafeMutablePointer<Float>,
                     panelRows requested: Int? = nil) {
        let P = Swift.max(1, requested ?? panelRows)
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: P * columns)  // (P, K)
        defer { panel.deallocate() }
        var r0 = 0
        while r0 < rows {
            let n = Swift.min(P, rows - r0)
            withCodec(type, DequantizeRows(w: self, range: r0..<(r0 + n), out: panel, parallel: true))
            GEMM.sgemm(transA: false, transB: true, m: m, n: n, k: columns, alpha: 1, a: x, lda: columns,
                       b: panel, ldb: columns, beta: 0, c: out + r0, ldc: rows)
            r0 += n
        }
    }

    /// dx[m, columns] = dy[m, rows] · W through fp32 panels of W rows, accumulated by GEMM.sgemm.
    func panelMatmulTransposed(_ dy: UnsafePointer<Float>, rows m: Int, into dx: UnsafeMutablePointer<Float>,
                               panelRows requested: Int? = nil) {
        if rows == 0 {
            dx.initialize(repeating: 0, count: m * columns)
            return
        }
        let P = Swift.max(1, requested ?? panelRows)
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: P * columns)  // (P, K)
        defer { panel.deallocate() }
        var r0 = 0
        while r0 < rows {
            let n = Swift.min(P, rows - r0)
            withCodec(type, DequantizeRows(w: self, range: r0..<(r0 + n), out: panel, parallel: true))
            GEMM.sgemm(transA: false, transB: false, m: m, n: columns, k: n, alpha: 1, a: dy + r0, lda: rows,
                       b: panel, ldb: columns, beta: r0 == 0 ? 0 : 1, c: dx, ldc: columns)
            r0 += n
        }
    }
}
