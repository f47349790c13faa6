// OpenBLAS (Linux) or Accelerate (macOS) loaded at run time with dlopen, so the package builds and runs
// without either: `cblas_sgemm` from the reference CBLAS interface (row-major = 101, no-trans = 111,
// trans = 112, 32-bit integers), plus OpenBLAS's `openblas_get_corename` / `openblas_{get,set}_num_threads`.
//
// Debian's OpenBLAS 0.3.21 identifies some AVX-512 CPUs (e.g. AMD Zen 4 under a hypervisor) as "Prescott"
// and runs its SSE3 kernels, about 5x slower. When the CPU has AVX-512F and the user has not set
// OPENBLAS_CORETYPE, it is set to "SkylakeX" before the library is opened.
// `LLMTUNE_BLAS=none` disables the library (the Swift kernel runs); `LLMTUNE_BLAS=/path/lib.so` picks one.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A BLAS library opened at run time.
public final class BLAS: @unchecked Sendable {
    /// What happened when the library was looked for.
    public enum Status: Sendable, CustomStringConvertible {
        /// Loaded from `path`.
        case loaded(path: String)
        /// Turned off by `LLMTUNE_BLAS=none`.
        case disabled
        /// No candidate opened, or one opened without `cblas_sgemm`; `tried` lists each path with its error.
        case unavailable(tried: [String])

        public var description: String {
            switch self {
            case .loaded(let path): return "loaded \(path)"
            case .disabled: return "disabled by LLMTUNE_BLAS=none"
            case .unavailable(let tried):
                return "not found (tried: \(tried.joined(separator: "; ")))"
            }
        }
    }

    typealias SgemmFunction = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float,
                                              UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
                                              Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias CoreNameFunction = @convention(c) () -> UnsafeMutablePointer<CChar>?
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void
    typealias GetThreadsFunction = @convention(c) () -> Int32

    /// The file the library was opened from.
    public let libraryPath: String
    /// OPENBLAS_CORETYPE as this process set it before loading ("SkylakeX"), nil when left to OpenBLAS or the user.
    public let coreTypeForced: String?
    private let handle: UnsafeMutableRawPointer
    private let sgemmFunction: SgemmFunction
    private let coreNameFunction: CoreNameFunction?
    private let setThreadsFunction: SetThreadsFunction?
    private let getThreadsFunction: GetThreadsFunction?

    private init(path: String, handle: UnsafeMutableRawPointer, sgemm: SgemmFunction, coreTypeForced: String?) {
        libraryPath = path
        self.handle = handle
        sgemmFunction = sgemm
        self.coreTypeForced = coreTypeForced
        coreNameFunction = BLAS.symbol(handle, "openblas_get_corename", as: CoreNameFunction.self)
        setThreadsFunction = BLAS.symbol(handle, "openblas_set_num_threads", as: SetThreadsFunction.self)
        getThreadsFunction = BLAS.symbol(handle, "openblas_get_num_threads", as: GetThreadsFunction.self)
    }

    /// The loaded library, nil when none loaded (see `status`).
    public static var shared: BLAS? { loadResult.library }
    /// How the library search went.
    public static var status: Status { loadResult.status }

    /// OpenBLAS's kernel family ("SkylakeX", "Haswell", "Prescott"...), "Accelerate" on macOS, nil if unknown.
    public var coreName: String? {
        if let f = coreNameFunction, let p = f() { return String(cString: p) }
        return libraryPath.contains("Accelerate") ? "Accelerate" : nil
    }

    /// Threads OpenBLAS uses per call, nil when the library does not say.
    public var threads: Int? { getThreadsFunction.map { Int($0()) } }

    /// Sets OpenBLAS's thread count (no effect for libraries without `openblas_set_num_threads`).
    public func setThreads(_ count: Int) {
        setThreadsFunction?(Int32(max(1, count)))
    }

    /// C[m, n] = alpha * op(A) * op(B) + beta * C, row-major (same contract as `GEMM.sgemm`).
    /// Sizes must fit in Int32 (checked by the caller, `GEMM.sgemm`).
    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                      alpha: Float, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        sgemmFunction(101, transA ? 112 : 111, transB ? 112 : 111, Int32(m), Int32(n), Int32(k),
                      alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// A paragraph for `llmtune doctor`: library, kernel family, threads, or why none loaded.
    public static var report: String {
        guard let blas = shared else {
            return "BLAS: \(status) — using the Swift SIMD kernel"
        }
        var line = "BLAS: \(blas.libraryPath), core \(blas.coreName ?? "unknown")"
        if let t = blas.threads { line += ", \(t) thread\(t == 1 ? "" : "s")" }
        if let forced = blas.coreTypeForced {
            line += " (OPENBLAS_CORETYPE=\(forced) set for this AVX-512 CPU)"
        } else if let user = getenvString("OPENBLAS_CORETYPE") {
            line += " (OPENBLAS_CORETYPE=\(user) from the environment)"
        }
        return line
    }

    // MARK: - Loading

    private struct LoadResult: @unchecked Sendable {
        var library: BLAS?
        var status: Status
    }

    private static let loadResult: LoadResult = load()

    /// Paths tried in order, first match wins.
    static var candidatePaths: [String] {
        #if canImport(Darwin)
        return [
            "/System/Library/Frameworks/Accelerate.framework/Accelerate",
            "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
            "/usr/local/opt/openblas/lib/libopenblas.dylib",
        ]
        #else
        return [
            "libopenblas.so.0",
            "libopenblas.so",
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
            "/usr/lib64/libopenblas.so.0",
            "/usr/lib64/libopenblasp.so.0",
            "/usr/local/lib/libopenblas.so.0",
            "/usr/local/lib/libopenblas.so",
        ]
        #endif
    }

    private static func load() -> LoadResult {
        let choice = getenvString("LLMTUNE_BLAS")
        if let choice, ["none", "off", "0", "false", "swift"].contains(choice.lowercased()) {
            return LoadResult(library: nil, status: .disabled)
        }
        let forced = forceCoreTypeIfNeeded()
        let paths = choice.map { [$0] } ?? candidatePaths
        var tried: [String] = []
        for path in paths {
            guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                tried.append("\(path): \(dlerror().map { String(cString: $0) } ?? "dlopen failed")")
                continue
            }
            guard let f = symbol(h, "cblas_sgemm", as: SgemmFunction.self) else {
                tried.append("\(path): no cblas_sgemm")
                dlclose(h)
                continue
            }
            let blas = BLAS(path: path, handle: h, sgemm: f, coreTypeForced: forced)
            blas.setThreads(Parallel.threads)
            return LoadResult(library: blas, status: .loaded(path: path))
        }
        return LoadResult(library: nil, status: .unavailable(tried: tried))
    }

    /// Sets OPENBLAS_CORETYPE before the library loads when `coreTypeToForce` says so; returns what it set.
    private static func forceCoreTypeIfNeeded() -> String? {
        guard let value = coreTypeToForce(userValue: getenvString("OPENBLAS_CORETYPE"), cpu: CPUInfo.current)
        else { return nil }
        setenv("OPENBLAS_CORETYPE", value, 1)
        return value
    }

    /// "SkylakeX" for an x86-64 Linux CPU with AVX-512F when the user left OPENBLAS_CORETYPE unset, else nil.
    static func coreTypeToForce(userValue: String?, cpu: CPUInfo) -> String? {
        #if os(Linux) && arch(x86_64)
        if (userValue ?? "").isEmpty && cpu.hasAVX512F { return "SkylakeX" }
        #endif
        return nil
    }

    private static func symbol<T>(_ handle: UnsafeMutableRawPointer, _ name: String, as type: T.Type) -> T? {
        guard let p = dlsym(handle, name) else { return nil }
        return unsafeBitCast(p, to: type)
    }
}
