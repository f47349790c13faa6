// Reference-counted Float32 buffers behind tensors: 64-byte aligned owned memory, or borrowed memory
// (a memory-mapped weight file) kept alive through its owner. Views share one Storage.
// Large buffers are recycled through a small exact-size cache: a fresh multi-megabyte allocation is
// mapped and page-faulted by the kernel on first touch, which costs ~10x the work of filling it, and
// training steps allocate the same sizes over and over.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The memory behind one or more tensors. Owned storage is freed with its last tensor; borrowed storage
/// only keeps `owner` alive.
final class Storage: @unchecked Sendable {
    /// First element of the buffer.
    let base: UnsafeMutablePointer<Float>
    /// Elements in the buffer.
    let capacity: Int
    /// Whether `base` was allocated here (and must be freed here).
    let ownsMemory: Bool
    /// Keeps borrowed memory alive (e.g. a memory-mapped file).
    let owner: AnyObject?

    /// Allocates `capacity` floats aligned to 64 bytes (one cache line, one AVX-512 register).
    init(capacity: Int, zeroed: Bool) {
        precondition(capacity >= 0, "negative storage size \(capacity)")
        let bytes = BufferCache.sizeClass(max(1, capacity) * MemoryLayout<Float>.stride)
        let raw = BufferCache.take(bytes) ?? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        base = raw.bindMemory(to: Float.self, capacity: max(1, capacity))
        self.capacity = capacity
        ownsMemory = true
        owner = nil
    }

    /// A one-element buffer for tensors that only describe a shape (graph stand-ins); never read.
    static let empty = Storage(capacity: 0, zeroed: true)

    /// Wraps memory owned elsewhere; nothing is copied. Tensors over it must only be read.
    init(borrowing pointer: UnsafePointer<Float>, capacity: Int, owner: AnyObject?) {
        base = UnsafeMutablePointer(mutating: pointer)
        self.capacity = capacity
        ownsMemory = false
        self.owner = owner
    }

    deinit {
        if ownsMemory {
            let raw = UnsafeMutableRawPointer(base)
            if !BufferCache.give(raw, BufferCache.sizeClass(max(1, capacity) * MemoryLayout<Float>.stride)) {
                raw.deallocate()
            }
        }
    }
}

/// Freed large buffers kept for reuse, keyed by size class, up to `limitBytes` in total. Sizes are rounded up to
/// one of eight classes per power of two (at most 12.5% more), so that batches of varying length reuse each
/// other's buffers; when the cache is full the buffers given longest ago are freed to make room, so that sizes
/// no longer used do not hold it. (An exact-size cache that refused new buffers when full held the quickstart's
/// process at 2-3 GB: its batches vary in length, and the first sizes seen filled the cache for good.)
enum BufferCache {
    /// Buffers smaller than this go straight back to malloc (which recycles them well).
    static let minimumBytes = 1 << 20

    /// Default 256 MiB; the environment variable LLMTUNE_BUFFER_CACHE_MB overrides it (0 disables the cache).
    /// Measured (SmolLM2 QLoRA, 2 threads): 4 x 256 fixed-length batches peak at 1079 MB with 256 MiB and 1083 MB
    /// with 1 GiB, at the same speed; the quickstart's variable-length batches at 1.53 GB against 2.38 GB, also
    /// at the same speed (40-step runs alternated: 463 / 528 against 495 / 501 tokens/s).
    nonisolated(unsafe) static var limitBytes: Int = {
        if let v = getenv("LLMTUNE_BUFFER_CACHE_MB"), let mb = Int(String(cString: v)), mb >= 0 { return mb << 20 }
        return 256 << 20
    }()
    nonisolated(unsafe) private static var cachedBytes = 0
    /// Per size class, the cached buffers with the sequence number of their `give`.
    nonisolated(unsafe) private static var free: [Int: [(sequence: Int, pointer: UnsafeMutableRawPointer)]] = [:]
    nonisolated(unsafe) private static var sequence = 0
    nonisolated(unsafe) private static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    @inline(__always) private static func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// The bytes actually allocated for a request of `bytes`: unchanged below `minimumBytes`, otherwise rounded
    /// up to a multiple of 1/8 of its highest power of two.
    @inline(__always) static func sizeClass(_ bytes: Int) -> Int {
        guard bytes >= minimumBytes else { return bytes }
        let step = (1 << (Int.bitWidth - 1 - bytes.leadingZeroBitCount)) >> 3
        return (bytes + step - 1) / step * step
    }

    /// A cached buffer of exactly `bytes` (a size class), or nil.
    static func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes >= minimumBytes else { return nil }
        return locked {
            guard let entry = free[bytes]?.popLast() else { return nil }
            if free[bytes]!.isEmpty { free[bytes] = nil }
            cachedBytes -= bytes
            return entry.pointer
        }
    }

    /// Keeps a buffer for reuse, freeing the oldest cached ones if needed; false when it is small or larger
    /// than the whole cache (the caller frees it).
    static func give(_ p: UnsafeMutableRawPointer, _ bytes: Int) -> Bool {
        guard bytes >= minimumBytes, bytes <= limitBytes else { return false }
        return locked {
            while cachedBytes + bytes > limitBytes, let oldest = oldestSizeClass() {
                let entry = free[oldest]!.removeFirst()
                if free[oldest]!.isEmpty { free[oldest] = nil }
                entry.pointer.deallocate()
                cachedBytes -= oldest
            }
            sequence += 1
            free[bytes, default: []].append((sequence, p))
            cachedBytes += bytes
            return true
        }
    }

    /// The size class whose first (oldest) buffer was given longest ago. Lists are in `give` order.
    private static func oldestSizeClass() -> Int? {
        free.min { $0.value[0].sequence < $1.value[0].sequence }?.key
    }

    /// Frees every cached buffer.
    static func purge() {
        locked {
            for (_, list) in free { for entry in list { entry.pointer.deallocate() } }
            free = [:]
            cachedBytes = 0
        }
    }

    static var bytesHeld: Int { locked { cachedBytes } }
}

extension Tensor {
    /// Upper bound on the bytes of freed large tensor buffers kept for reuse (default 256 MiB; 0 disables).
    public static var cachedMemoryLimit: Int {
        get { BufferCache.limitBytes }
        set {
            BufferCache.limitBytes = max(0, newValue)
            if BufferCache.bytesHeld > BufferCache.limitBytes { BufferCache.purge() }
        }
    }

    /// Bytes currently held by the reuse cache.
    public static var cachedMemory: Int { BufferCache.bytesHeld }

    /// Frees the buffers held for reuse (e.g. after training, before loading another model).
    public static func releaseCachedMemory() { BufferCache.purge() }
}
