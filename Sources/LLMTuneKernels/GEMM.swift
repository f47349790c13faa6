// Single-precision general matrix multiply, row-major: C = alpha * op(A) * op(B) + beta * C.
// Dispatches to OpenBLAS (loaded at run time) when available, else to a SIMD Swift kernel.
// The plain triple loop `sgemmReference` is the oracle for both.

public enum GEMM {
    /// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, all row-major.
    /// op(A) = A (lda >= k) or, with `transA`, A is stored [k, m] (lda >= m). Same for B.
    /// When beta == 0, C is only written (it may hold garbage or NaN).
    ///
    /// Large products go to OpenBLAS / Accelerate when one loaded with a kernel suited to this CPU
    /// (`usesBLAS`); matrix-vector products, narrow outputs (n <= 16, LoRA ranks), short inner dimensions
    /// and small products run the Swift kernel, which measured faster than OpenBLAS 0.3.21 on those shapes.
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(lda >= (transA ? m : k), "sgemm: lda \(lda) too small for m=\(m) k=\(k)")
        precondition(ldb >= (transB ? k : n), "sgemm: ldb \(ldb) too small for k=\(k) n=\(n)")
        precondition(ldc >= n, "sgemm: ldc \(ldc) too small for n=\(n)")
        if let blas = blasForLargeProducts, prefersBLAS(m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc) {
            blas.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            SIMDGEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                           b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// Whether large products go to the loaded BLAS library. False when none loaded, or when OpenBLAS runs a
    /// kernel family without AVX-512 on an AVX-512 CPU (e.g. OPENBLAS_CORETYPE=Haswell): the Swift kernel,
    /// which uses AVX-512, measured about 2x faster than that.
    public static var usesBLAS: Bool { blasForLargeProducts != nil }

    private static let blasForLargeProducts: BLAS? = {
        guard let blas = BLAS.shared else { return nil }
        #if arch(x86_64)
        if CPUInfo.current.hasAVX512F {
            let core = (blas.coreName ?? "").lowercased()
            let avx512Cores = ["skylakex", "cooperlake", "sapphirerapids"]
            if !avx512Cores.contains(core) { return nil }
        }
        #endif
        return blas
    }()

    /// The shapes where the BLAS library is used (when `usesBLAS`).
    static func prefersBLAS(m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) -> Bool {
        if m <= 16 || n <= 16 || k <= 16 { return false }
        if m * n * k < 1 << 18 { return false }
        let limit = Int(Int32.max)
        return m <= limit && n <= limit && k <= limit && lda <= limit && ldb <= limit && ldc <= limit
    }

    /// Sets the threads used by the Swift kernels (`Parallel.threads`) and by OpenBLAS.
    public static func setThreads(_ count: Int) {
        Parallel.threads = max(1, count)
        BLAS.shared?.setThreads(max(1, count))
    }

    /// One line for `llmtune doctor` naming the matrix-multiply backend.
    public static var backendDescription: String {
        if usesBLAS, let blas = BLAS.shared {
            return "matmul: \(blas.coreName ?? "BLAS") via \(blas.libraryPath) for large products, "
                + "Swift SIMD kernel for vector / narrow / small ones"
        }
        if let blas = BLAS.shared {
            return "matmul: Swift SIMD kernel (OpenBLAS core \(blas.coreName ?? "unknown") lacks AVX-512; "
                + "unset OPENBLAS_CORETYPE or set it to SkylakeX to use it)"
        }
        return "matmul: Swift SIMD kernel (\(BLAS.status))"
    }

    /// The plain reference kernel: slow, obviously correct.
    public static func sgemmReference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                      alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                      b: UnsafePointer<Float>, ldb: Int,
                                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += av * bv
                }
                let old = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * acc + old
            }
        }
    }
}
