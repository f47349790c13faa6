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
        let bytes = max(1, capacity) * MemoryLayout<Float>.stride
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
            if !BufferCache.give(raw, max(1, capacity) * MemoryLayout<Float>.stride) { raw.deallocate() }
        }
    }
}

/// Freed large buffers kept for reuse, keyed by exact byte size, up to `limitBytes` in total.
enum BufferCache {
    /// Buffers smaller than this go straight back to malloc (which recycles them well).
    static let minimumBytes = 1 << 20

    /// Default 1 GiB; the environment variable LLMTUNE_BUFFER_CACHE_MB overrides it (0 disables the cache).
    nonisolated(unsafe) static var limitBytes: Int = {
        if let v = getenv("LLMTUNE_BUFFER_CACHE_MB"), let mb = Int(String(cString: v)), mb >= 0 { return mb << 20 }
        return 1 << 30
    }()
    nonisolated(unsafe) private static var cachedBytes = 0
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutableRawPointer]] = [:]
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

    /// A cached buffer of exactly `bytes`, or nil.
    static func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes >= minimumBytes else { return nil }
        return locked {
            guard let p = free[bytes]?.popLast() else { return nil }
            cachedBytes -= bytes
            return p
        }
    }

    /// Keeps a buffer for reuse; false when it is small or the cache is full (the caller frees it).
    static func give(_ p: UnsafeMutableRawPointer, _ bytes: Int) -> Bool {
        guard bytes >= minimumBytes else { return false }
        return locked {
            guard cachedBytes + bytes <= limitBytes else { return false }
            free[bytes, default: []].append(p)
            cachedBytes += bytes
            return true
        }
    }

    /// Frees every cached buffer.
    static func purge() {
        locked {
            for (_, list) in free { for p in list { p.deallocate() } }
            free = [:]
            cachedBytes = 0
        }
    }

    static var bytesHeld: Int { locked { cachedBytes } }
}

extension Tensor {
    /// Upper bound on the bytes of freed large tensor buffers kept for reuse (default 1 GiB; 0 disables).
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
