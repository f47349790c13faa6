// Work splitting over the machine's cores. Blocking fork-join through Dispatch: no spin-waiting.
import Dispatch

public enum Parallel {
    /// Threads used by kernels; 1 disables threading. Set from `LLMTUNE_THREADS` or the CPU count.
    nonisolated(unsafe) public static var threads: Int = defaultThreads()

    static func defaultThreads() -> Int {
        if let s = getenvString("LLMTUNE_THREADS"), let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfoLite.activeProcessorCount)
    }

    /// Runs `body(chunk)` for chunk in 0..<chunks, spread over `threads` workers.
    /// Runs inline when there is one chunk or one thread.
    public static func forEach(_ chunks: Int, _ body: (Int) -> Void) {
        if chunks <= 0 { return }
        if chunks == 1 || threads <= 1 {
            for i in 0..<chunks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { body($0) }
        }
    }

    /// Splits 0..<count into at most `threads` contiguous ranges of at least `minimum` items
    /// and runs `body(range)` on each in parallel.
    public static func forRanges(_ count: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let parts = max(1, min(threads, count / max(1, minimum)))
        if parts == 1 { body(0..<count); return }
        let step = (count + parts - 1) / parts
        forEach(parts) { p in
            let lo = p * step
            let hi = min(count, lo + step)
            if lo < hi { body(lo..<hi) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

enum ProcessInfoLite {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return Int(sysconf(_SC_NPROCESSORS_ONLN))
        #endif
    }
}
