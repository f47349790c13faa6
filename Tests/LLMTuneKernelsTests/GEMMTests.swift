// The fast GEMM paths (Swift SIMD kernel, BLAS library, dispatcher) against the plain triple loop
// `GEMM.sgemmReference`, on odd shapes that hit every edge: partial micro-tiles, k across the packing
// depth, the matrix-vector and narrow (n <= 16) paths, transposes, alpha / beta, padded leading dimensions.
import XCTest
@testable import LLMTuneKernels

final class GEMMTests: XCTestCase {
    enum Path: String { case simd, dispatched, blas }

    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var transA = false, transB = false
        var alpha: Float = 1, beta: Float = 0
        /// Extra columns of padding in each leading dimension.
        var padA = 0, padB = 0, padC = 0
        var description: String {
            "m=\(m) n=\(n) k=\(k) tA=\(transA) tB=\(transB) alpha=\(alpha) beta=\(beta) pad=\(padA),\(padB),\(padC)"
        }
    }

    /// Deterministic values in [-1, 1).
    func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int((state >> 33) % 2000) - 1000) / 1000
        }
    }

    /// Runs one case on `path` and compares every element of C, padding included, with the reference.
    func check(_ t: Case, _ path: Path, file: StaticString = #filePath, line: UInt = #line) {
        let lda = (t.transA ? t.m : t.k) + t.padA
        let ldb = (t.transB ? t.k : t.n) + t.padB
        let ldc = t.n + t.padC
        let a = values((t.transA ? t.k : t.m) * lda, seed: 1)
        let b = values((t.transB ? t.n : t.k) * ldb, seed: 2)
        var c0 = values(t.m * ldc, seed: 3)
        if t.beta == 0 {
            // C must not be read when beta == 0: NaN there must not leak into the result.
            for i in 0..<t.m { for j in 0..<t.n { c0[i * ldc + j] = .nan } }
        }
        var expected = c0
        var got = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                expected.withUnsafeMutableBufferPointer { pc in
                    GEMM.sgemmReference(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k,
                                        alpha: t.alpha, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                        beta: t.beta, c: pc.baseAddress!, ldc: ldc)
                }
                got.withUnsafeMutableBufferPointer { pc in
                    let args = (pa.baseAddress!, pb.baseAddress!, pc.baseAddress!)
                    switch path {
                    case .simd:
                        SIMDGEMM.sgemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k,
                                       alpha: t.alpha, a: args.0, lda: lda, b: args.1, ldb: ldb,
                                       beta: t.beta, c: args.2, ldc: ldc)
                    case .dispatched:
                        GEMM.sgemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k,
                                   alpha: t.alpha, a: args.0, lda: lda, b: args.1, ldb: ldb,
                                   beta: t.beta, c: args.2, ldc: ldc)
                    case .blas:
                        BLAS.shared!.sgemm(transA: t.transA, transB: t.transB, m: t.m, n: t.n, k: t.k,
                                           alpha: t.alpha, a: args.0, lda: lda, b: args.1, ldb: ldb,
                                           beta: t.beta, c: args.2, ldc: ldc)
                    }
                }
            }
        }
        let tolerance = 2e-6 * Float(max(t.k, 1)) * max(1, abs(t.alpha)) + 1e-6
        var worst: Float = 0
        var worstIndex = 0
        for idx in 0..<expected.count {
            let d = abs(got[idx] - expected[idx])
            if !(d <= worst) { worst = d; worstIndex = idx }
        }
        XCTAssert(worst <= tolerance,
                  "\(path) \(t): max error \(worst) at row \(worstIndex / ldc) column \(worstIndex % ldc) "
                  + "(got \(got[worstIndex]), expected \(expected[worstIndex]))", file: file, line: line)
    }

    /// Shapes covering: 1x1x1, partial tiles in m / n, k beyond the 256 packing depth, n beyond the
    /// 1024 packing width, gemv (m == 1, n == 1), narrow n (<= 8, <= 16), k <= 16, m < 8.
    var shapes: [(Int, Int, Int)] {
        [(1, 1, 1), (7, 13, 5), (33, 65, 17), (8, 32, 1), (9, 33, 300), (2, 3, 4),
         (1, 77, 40), (1, 130, 3), (45, 1, 70), (1, 1, 333),
         (40, 8, 33), (19, 16, 70), (13, 5, 19), (70, 40, 3), (5, 70, 90), (3, 1030, 9)]
    }

    func runAll(_ path: Path) {
        for (m, n, k) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(Case(m: m, n: n, k: k, transA: transA, transB: transB), path)
                }
            }
        }
        // alpha / beta and padded leading dimensions (lda > k, ...), with each of the paths.
        for (m, n, k) in [(7, 13, 5), (33, 65, 17), (1, 40, 20), (30, 1, 20), (24, 12, 40), (9, 33, 270)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(Case(m: m, n: n, k: k, transA: transA, transB: transB, alpha: -0.5, beta: 0.75,
                               padA: 3, padB: 5, padC: 2), path)
                    check(Case(m: m, n: n, k: k, transA: transA, transB: transB, alpha: 2, beta: 1,
                               padA: 1, padC: 7), path)
                    check(Case(m: m, n: n, k: k, transA: transA, transB: transB, alpha: 1.5, beta: 0,
                               padB: 4, padC: 1), path)
                }
            }
        }
        // k == 0 and alpha == 0 only scale C.
        check(Case(m: 5, n: 6, k: 0, alpha: 1, beta: 0.5), path)
        check(Case(m: 5, n: 6, k: 4, alpha: 0, beta: -2), path)
    }

    func testSIMDKernelMatchesReference() {
        runAll(.simd)
    }

    func testDispatchedGEMMMatchesReference() {
        runAll(.dispatched)
        // Large enough for the BLAS library when `GEMM.usesBLAS`.
        for transA in [false, true] {
            for transB in [false, true] {
                check(Case(m: 70, n: 65, k: 60, transA: transA, transB: transB, alpha: 0.5, beta: 2,
                           padA: 1, padB: 2, padC: 3), .dispatched)
            }
        }
    }

    func testBLASMatchesReference() throws {
        guard BLAS.shared != nil else { throw XCTSkip("no BLAS library: \(BLAS.status)") }
        // BLAS requires leading dimensions >= 1, so skip k == 0.
        for (m, n, k) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(Case(m: m, n: n, k: k, transA: transA, transB: transB, alpha: 0.5, beta: 0.25,
                               padA: 2, padB: 1, padC: 3), .blas)
                }
            }
        }
    }

    /// Shapes large enough to take the threaded paths (shared packed B, column split, narrow, gemv),
    /// run with three threads so that the split is uneven.
    func testThreadedPathsMatchReference() {
        let saved = Parallel.threads
        Parallel.threads = 3
        defer { Parallel.threads = saved }
        for t in [Case(m: 67, n: 45, k: 700), Case(m: 67, n: 45, k: 700, transA: true, transB: true, beta: 1),
                  Case(m: 12, n: 600, k: 300, transB: true), Case(m: 300, n: 9, k: 800, transA: true),
                  Case(m: 1, n: 16000, k: 70, transB: true, beta: 0.5), Case(m: 15000, n: 1, k: 80),
                  Case(m: 1, n: 16001, k: 67, beta: 0.5)] {
            check(t, .simd)
        }
    }

    func testCoreTypeIsForcedOnlyForAVX512WhenUnset() {
        let avx512 = CPUInfo(modelName: "test", features: ["avx2", "avx512f"], logicalCores: 2)
        let avx2 = CPUInfo(modelName: "test", features: ["avx2", "fma"], logicalCores: 2)
        #if os(Linux) && arch(x86_64)
        XCTAssertEqual(BLAS.coreTypeToForce(userValue: nil, cpu: avx512), "SkylakeX")
        XCTAssertEqual(BLAS.coreTypeToForce(userValue: "", cpu: avx512), "SkylakeX")
        #endif
        XCTAssertNil(BLAS.coreTypeToForce(userValue: "Haswell", cpu: avx512))
        XCTAssertNil(BLAS.coreTypeToForce(userValue: nil, cpu: avx2))
    }

    func testOpenBLASDoesNotRunPrescottKernelsOnAVX512() throws {
        guard let blas = BLAS.shared else { throw XCTSkip("no BLAS library: \(BLAS.status)") }
        guard CPUInfo.current.hasAVX512F else { throw XCTSkip("CPU without AVX-512F") }
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]?.lowercased() == "prescott" {
            throw XCTSkip("OPENBLAS_CORETYPE=Prescott chosen by the user")
        }
        let core = try XCTUnwrap(blas.coreName, "OpenBLAS did not report its core")
        XCTAssertNotEqual(core.lowercased(), "prescott", BLAS.report)
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == "SkylakeX"
            || blas.coreTypeForced != nil {
            XCTAssertEqual(core, "SkylakeX", BLAS.report)
        }
        XCTAssertGreaterThanOrEqual(blas.threads ?? 1, 1)
    }

    func testDispatchRules() {
        // The Swift kernel keeps the shapes where it measured faster than OpenBLAS.
        XCTAssertFalse(GEMM.prefersBLAS(m: 1, n: 49152, k: 576, lda: 576, ldb: 576, ldc: 49152))
        XCTAssertFalse(GEMM.prefersBLAS(m: 1024, n: 8, k: 576, lda: 576, ldb: 576, ldc: 8))
        XCTAssertFalse(GEMM.prefersBLAS(m: 1024, n: 576, k: 8, lda: 8, ldb: 576, ldc: 576))
        XCTAssertFalse(GEMM.prefersBLAS(m: 20, n: 20, k: 20, lda: 20, ldb: 20, ldc: 20))
        XCTAssertTrue(GEMM.prefersBLAS(m: 576, n: 576, k: 1024, lda: 1024, ldb: 576, ldc: 576))
        XCTAssertFalse(GEMM.prefersBLAS(m: 576, n: 576, k: 1024, lda: 1 << 32, ldb: 576, ldc: 576))
        XCTAssertFalse(GEMM.backendDescription.isEmpty)
    }
    /// Prints GFLOP/s of the Swift kernel and the BLAS library on the model's shapes. Only with
    /// LLMTUNE_BENCH=1, and meaningful only in a release build: `LLMTUNE_BENCH=1 swift test -c release
    /// --filter GEMMTests/testPrintThroughput`. No assertions on time.
    func testPrintThroughput() throws {
        guard ProcessInfo.processInfo.environment["LLMTUNE_BENCH"] == "1" else {
            throw XCTSkip("set LLMTUNE_BENCH=1 (release build) to print GEMM throughput")
        }
        print(BLAS.report)
        print(GEMM.backendDescription)
        print(CPUInfo.current)
        let shapes: [(Int, Int, Int, Bool, Bool)] = [
            (576, 576, 1024, false, false), (576, 576, 1024, false, true), (256, 1536, 576, false, true),
            (1024, 576, 576, true, false), (1, 49152, 576, false, true), (1024, 8, 576, false, true),
            (1024, 576, 8, false, false), (8, 576, 1024, true, false), (64, 576, 576, false, true),
        ]
        for (m, n, k, ta, tb) in shapes {
            let a = values(m * k, seed: 1), b = values(k * n, seed: 2)
            var c = [Float](repeating: 0, count: m * n)
            let lda = ta ? m : k, ldb = tb ? k : n
            let flops = 2.0 * Double(m * n * k)
            let reps = max(3, min(500, Int(2e9 / flops)))
            func time(_ run: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Double {
                var best = Double.infinity
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            for _ in 0..<3 {
                                let start = DispatchTime.now().uptimeNanoseconds
                                for _ in 0..<reps { run(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!) }
                                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(reps)
                                best = min(best, seconds)
                            }
                        }
                    }
                }
                return flops / best / 1e9
            }
            let swift = time { SIMDGEMM.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1, a: $0, lda: lda,
                                              b: $1, ldb: ldb, beta: 0, c: $2, ldc: n) }
            var line = "\(m)x\(n)x\(k) tA=\(ta) tB=\(tb): swift \(Int(swift)) GFLOP/s"
            if let blas = BLAS.shared {
                let g = time { blas.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1, a: $0, lda: lda,
                                          b: $1, ldb: ldb, beta: 0, c: $2, ldc: n) }
                line += ", blas \(Int(g)) GFLOP/s"
            }
            print(line)
        }
    }
}
