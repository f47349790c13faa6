// Matrix products through GEMM.sgemm. Operands are described as strided matrix views, so transposed
// views are handed to sgemm as transposition flags instead of being copied.
// matmul: (M, K) x (K, N); batched (..., M, K) x (..., K, N); shared right operand (..., M, K) x (K, N).

import LLMTuneKernels

/// A matrix operand: element (i, j) at base[i * rowStride + j * columnStride].
struct MatrixView {
    var base: UnsafePointer<Float>
    var rows: Int
    var columns: Int
    var rowStride: Int
    var columnStride: Int

    var transposed: MatrixView {
        MatrixView(base: base, rows: columns, columns: rows, rowStride: columnStride, columnStride: rowStride)
    }

    /// The sgemm description (stored transposed?, leading dimension), or nil when neither stride is 1.
    var gemmLayout: (trans: Bool, ld: Int)? {
        if (columnStride == 1 || columns == 1) && (rows == 1 || rowStride >= Swift.max(1, columns)) {
            return (false, rows == 1 ? Swift.max(1, columns) : rowStride)
        }
        if (rowStride == 1 || rows == 1) && (columns == 1 || columnStride >= Swift.max(1, rows)) {
            return (true, columns == 1 ? Swift.max(1, rows) : columnStride)
        }
        return nil
    }
}

/// c (m x n, row-major with ldc) = alpha * a · b + beta * c.
func gemm(_ a: MatrixView, _ b: MatrixView, into c: UnsafeMutablePointer<Float>, ldc: Int,
          alpha: Float = 1, beta: Float = 0) {
    precondition(a.columns == b.rows, "gemm: inner dimensions \(a.columns) and \(b.rows) differ")
    let m = a.rows, n = b.columns, k = a.columns
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m {
            if beta == 0 { (c + i * ldc).update(repeating: 0, count: n) } else { scaleRow(beta, c + i * ldc, c + i * ldc, n) }
        }
        return
    }
    withGemmLayout(a) { pa, ta, lda in
        withGemmLayout(b) { pb, tb, ldb in
            GEMM.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: pa, lda: lda,
                       b: pb, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}

/// Calls `body` with the operand in an sgemm-compatible layout, packing it row-major when needed.
private func withGemmLayout(_ v: MatrixView, _ body: (UnsafePointer<Float>, Bool, Int) -> Void) {
    if let layout = v.gemmLayout {
        body(v.base, layout.trans, layout.ld)
        return
    }
    let packed = UnsafeMutablePointer<Float>.allocate(capacity: v.rows * v.columns)
    defer { packed.deallocate() }
    for i in 0..<v.rows {
        for j in 0..<v.columns { packed[i * v.columns + j] = v.base[i * v.rowStride + j * v.columnStride] }
    }
    body(packed, false, v.columns)
}

extension Tensor {
    /// The last two dimensions of batch element `batch` (leading dimensions enumerated row-major) as a matrix.
    func matrixView(batch: Int) -> MatrixView {
        var o = offset
        var r = batch
        for d in stride(from: rank - 3, through: 0, by: -1) {
            o += (r % shape[d]) * strides[d]
            r /= shape[d]
        }
        return MatrixView(base: UnsafePointer(storage.base + o), rows: shape[rank - 2], columns: shape[rank - 1],
                          rowStride: strides[rank - 2], columnStride: strides[rank - 1])
    }

    /// All dimensions but the last folded into rows: a (rows, last) matrix view, or nil when the leading
    /// dimensions cannot be folded without a copy.
    func foldedMatrixView() -> MatrixView? {
        let lastStride = rank == 0 ? 1 : strides[rank - 1]
        let columns = rank == 0 ? 1 : shape[rank - 1]
        let lead = Array(shape.dropLast()), leadStrides = Array(strides.dropLast())
        let loop = StridedLoop(shape: lead, strides: [leadStrides])
        guard loop.outerShape.isEmpty else { return nil }
        return MatrixView(base: UnsafePointer(pointer), rows: lead.reduce(1, *), columns: columns,
                          rowStride: loop.inner <= 1 ? columns * Swift.max(1, lastStride) : loop.innerStrides[0],
                          columnStride: lastStride)
    }

    /// As `foldedMatrixView`, copying to contiguous memory when folding needs it; returns the tensor to keep alive.
    func foldedMatrix() -> (MatrixView, Tensor) {
        if let v = foldedMatrixView() { return (v, self) }
        let c = contiguousCopy()
        return (c.foldedMatrixView()!, c)
    }

    /// Matrix product. (M, K) x (K, N) -> (M, N); (..., M, K) x (..., K, N) -> (..., M, N) with equal leading
    /// dimensions; (..., M, K) x (K, N) -> (..., M, N).
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul of \(shape) and \(other.shape): need rank >= 2")
        let M = shape[rank - 2], K = shape[rank - 1], N = other.shape[other.rank - 1]
        precondition(other.shape[other.rank - 2] == K, "matmul of \(shape) and \(other.shape): inner dimensions differ")
        let lead = Array(shape.dropLast(2))
        let shared = other.rank == 2
        precondition(shared || Array(other.shape.dropLast(2)) == lead,
                     "matmul of \(shape) and \(other.shape): leading dimensions differ")
        let out = Tensor(uninitialized: lead + [M, N])   // (..., M, N)
        if shared {
            let (a, keep) = foldedMatrix()
            gemm(a, other.matrixView(batch: 0), into: out.pointer, ldc: N)
            withExtendedLifetime(keep) {}
        } else {
            let batches = lead.reduce(1, *)
            for i in 0..<batches {
                gemm(matrixView(batch: i), other.matrixView(batch: i), into: out.pointer + i * M * N, ldc: N)
            }
        }
        if Autograd.records(self, other) {
            let a = self, b = other
            out.record("matmul", [a, b]) { g in
                let g = g.contiguousData
                var da: Tensor? = nil, db: Tensor? = nil
                if a.requiresGrad {
                    let t = Tensor(uninitialized: a.shape)   // dA = dC · Bᵀ
                    if shared {
                        gemm(g.foldedMatrixView()!, b.matrixView(batch: 0).transposed, into: t.pointer, ldc: K)
                    } else {
                        for i in 0..<lead.reduce(1, *) {
                            gemm(g.matrixView(batch: i), b.matrixView(batch: i).transposed,
                                 into: t.pointer + i * M * K, ldc: K)
                        }
                    }
                    da = t
                }
                if b.requiresGrad {
                    let t = Tensor(uninitialized: b.shape)   // dB = Aᵀ · dC
                    if shared {
                        let (av, keep) = a.foldedMatrix()
                        gemm(av.transposed, g.foldedMatrixView()!, into: t.pointer, ldc: N)
                        withExtendedLifetime(keep) {}
                    } else {
                        for i in 0..<lead.reduce(1, *) {
                            gemm(a.matrixView(batch: i).transposed, g.matrixView(batch: i),
                                 into: t.pointer + i * K * N, ldc: N)
                        }
                    }
                    db = t
                }
                return [da, db]
            }
        }
        return out
    }
}
