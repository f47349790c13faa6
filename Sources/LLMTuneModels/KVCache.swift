// Per-layer key/value cache for incremental decoding.
import LLMTuneTensor

/// Keys and values of every layer for the tokens seen so far, in buffers of `capacity` positions.
/// Layout (B, capacity, KVH, D) so that the first `length` positions are a strided view, no copy.
public final class KVCache {
    public let batch: Int
    public let capacity: Int
    public private(set) var length: Int = 0
    private var keys: [Tensor]     // per layer (B, capacity, KVH, D)
    private var values: [Tensor]

    public init(layers: Int, batch: Int, capacity: Int, kvHeads: Int, headDim: Int) {
        self.batch = batch
        self.capacity = capacity
        // Not zeroed: only positions below `length` are ever read, and untouched pages of a fresh buffer stay
        // unmapped (a zeroed 8192-position SmolLM2 cache made 377 MB resident and cost 92k page faults).
        keys = (0..<layers).map { _ in Tensor(uninitialized: [batch, capacity, kvHeads, headDim]) }
        values = (0..<layers).map { _ in Tensor(uninitialized: [batch, capacity, kvHeads, headDim]) }
    }

    /// Writes the new keys/values (B, T, KVH, D) of `layer` at positions length..<length+T and returns views of
    /// all positions 0..<length+T. Call `advance(by: T)` once every layer has appended.
    public func append(layer: Int, key: Tensor, value: Tensor) -> (key: Tensor, value: Tensor) {
        let t = key.shape[1]
        precondition(length + t <= capacity, "KV cache overflow: checked by the caller")
        write(key, into: keys[layer])
        write(value, into: values[layer])
        let end = length + t
        return (keys[layer].slice(dim: 1, range: 0..<end), values[layer].slice(dim: 1, range: 0..<end))
    }

    public func advance(by count: Int) { length += count }

    /// Forgets everything after `position` (e.g. to reuse a shared prompt prefix).
    public func truncate(to position: Int) { length = min(length, max(0, position)) }

    private func write(_ src: Tensor, into buffer: Tensor) {
        let src = src.contiguous()
        let (b, t, rowFloats) = (src.shape[0], src.shape[1], src.shape[2] * src.shape[3])
        let s = src.pointer
        let d = buffer.pointer
        for bi in 0..<b {
            let dst = d + (bi * capacity + length) * rowFloats
            dst.update(from: s + bi * t * rowFloats, count: t * rowFloats)
        }
    }
}
