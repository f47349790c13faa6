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
    /// Runs inline when there is one chunk or one thread, or when `inParallel` is false (the caller
    /// judged the whole job smaller than what waking a worker costs, see `workerWakeMicroseconds`).
    public static func forEach(_ chunks: Int, inParallel: Bool = true, _ body: (Int) -> Void) {
        if chunks <= 0 { return }
        if chunks == 1 || threads <= 1 || !inParallel {
            for i in 0..<chunks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { body($0) }
        }
    }

    /// Splits 0..<count into ranges of at least `minimum` items and runs `body(range)` on each, in parallel.
    /// Runs inline when there is one thread or fewer than `2 * minimum` items. Otherwise makes up to
    /// `chunksPerThread * threads` ranges that the threads claim one at a time: the calling thread starts at
    /// once and a worker that wakes late simply claims fewer.
    ///
    /// Choose `minimum` as the items worth `workerWakeMicroseconds` of this kernel's time: handing less than
    /// that to a parked worker costs more than it saves.
    public static func forRanges(_ count: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let minimum = max(1, minimum)
        if threads <= 1 || count < 2 * minimum { body(0..<count); return }
        let parts = min(count / minimum, chunksPerThread * threads)
        let step = (count + parts - 1) / parts
        forEach((count + step - 1) / step) { p in
            body((p * step)..<min(count, (p + 1) * step))
        }
    }

    /// Ranges per thread made by `forRanges`, so that a worker that starts late does not leave the
    /// calling thread waiting for a whole half of the work.
    public static let chunksPerThread = 4

    /// About how long a parked worker thread takes to start running after it is woken, in microseconds.
    /// Measured on the 2-vCPU KVM build machine (an idle vCPU halts): 20-40 µs through a pthread condition
    /// variable or Dispatch alike. Threads here never spin while waiting for work, so each parallel region
    /// pays this once; kernels size their `minimum` so that one range is worth at least this long.
    public static let workerWakeMicroseconds = 40
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
