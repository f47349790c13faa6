// A measured matrix-multiply ceiling: the GFLOP/s this machine's GEMM reaches on a training-sized product,
// right now (shared hosts change speed in phases). Benchmarks divide achieved model FLOP/s by it (MFU).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension GEMM {
    /// Median GFLOP/s of `repeats` timed products C[m, n] = A[m, k] · B[n, k]ᵀ (the layout of a linear
    /// layer's forward) through `sgemm`, with the current `Parallel.threads`, after one warm-up call.
    public static func measuredGigaflops(m: Int = 1024, n: Int = 1536, k: Int = 576, repeats: Int = 9) -> Double {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(m * k) { a[i] = Float(i % 7) * 0.125 - 0.375 }
        for i in 0..<(n * k) { b[i] = Float(i % 5) * 0.25 - 0.5 }
        func run() {
            sgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k,
                  beta: 0, c: c, ldc: n)
        }
        run()
        var seconds: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = monotonicSeconds()
            run()
            seconds.append(monotonicSeconds() - start)
        }
        let median = seconds.sorted()[seconds.count / 2]
        return 2 * Double(m) * Double(n) * Double(k) / max(median, 1e-12) / 1e9
    }

    static func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
