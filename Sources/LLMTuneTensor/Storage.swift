// Reference-counted Float32 buffers behind tensors: 64-byte aligned owned memory, or borrowed memory
// (a memory-mapped weight file) kept alive through its owner. Views share one Storage.

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
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        base = raw.bindMemory(to: Float.self, capacity: max(1, capacity))
        self.capacity = capacity
        ownsMemory = true
        owner = nil
    }

    /// Wraps memory owned elsewhere; nothing is copied. Tensors over it must only be read.
    init(borrowing pointer: UnsafePointer<Float>, capacity: Int, owner: AnyObject?) {
        base = UnsafeMutablePointer(mutating: pointer)
        self.capacity = capacity
        ownsMemory = false
        self.owner = owner
    }

    deinit {
        if ownsMemory { UnsafeMutableRawPointer(base).deallocate() }
    }
}
