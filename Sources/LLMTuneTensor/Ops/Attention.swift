// Fused scaled dot-product attention with grouped-query heads (GQA), causal offset and sliding window,
// reading keys/values through their strides (KV-cache prefix views need no copy). Forward works on
// blocks of query rows (a few tokens x the query heads of one KV head): scores for the block's key
// range only, softmax, then P·V; the log-sum-exp of each row is kept for the backward, which recomputes
// the probabilities block by block (FlashAttention, Dao et al. 2022). attentionReference is the oracle.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

/// Sizes, strides, mask and blocking of one attention call.
struct AttentionGeometry {
    let B: Int, T: Int, S: Int, H: Int, KVH: Int, D: Int, Dv: Int
    /// Query heads per KV head.
    let group: Int
    let scale: Float
    let causalOffset: Int?
    let window: Int?
    /// Tokens per block of query rows, and blocks per sequence.
    let tokensPerBlock: Int
    let blocks: Int

    init(query: Tensor, key: Tensor, value: Tensor, scale: Float, causalOffset: Int?, window: Int?) {
        precondition(query.rank == 4 && key.rank == 4 && value.rank == 4,
                     "attention expects (B, T, H, D) query and (B, S, KVH, D) key/value, got \(query.shape), \(key.shape), \(value.shape)")
        B = query.shape[0]; T = query.shape[1]; H = query.shape[2]; D = query.shape[3]
        S = key.shape[1]; KVH = key.shape[2]; Dv = value.shape[3]
        precondition(key.shape == [B, S, KVH, D] && value.shape[0..<3] == [B, S, KVH],
                     "attention: query \(query.shape), key \(key.shape), value \(value.shape) disagree")
        precondition(KVH > 0 && H % KVH == 0, "attention: \(H) query heads not a multiple of \(KVH) KV heads")
        precondition(window == nil || causalOffset != nil, "attention: a window needs a causal offset")
        precondition(window.map { $0 > 0 } ?? true, "attention: window must be positive")
        group = H / KVH
        self.scale = scale
        self.causalOffset = causalOffset
        self.window = window
        tokensPerBlock = Swift.max(1, Swift.min(T, 64 / group))
        blocks = (T + tokensPerBlock - 1) / Swift.max(1, tokensPerBlock)
    }

    /// Keys visible from query token t.
    @inline(__always) func keyRange(_ t: Int) -> Range<Int> {
        guard let c = causalOffset else { return 0..<S }
        let hi = Swift.min(S, Swift.max(0, t + c + 1))
        let lo = window.map { Swift.min(hi, Swift.max(0, t + c - $0 + 1)) } ?? 0
        return lo..<hi
    }

    /// Tokens of block `block`.
    @inline(__always) func tokens(_ block: Int) -> Range<Int> {
        let t0 = block * tokensPerBlock
        return t0..<Swift.min(T, t0 + tokensPerBlock)
    }

    /// Keys visible from any token of the block.
    @inline(__always) func keyRange(block: Int) -> Range<Int> {
        let ts = tokens(block)
        let first = keyRange(ts.lowerBound), last = keyRange(ts.upperBound - 1)
        return first.lowerBound..<Swift.max(first.lowerBound, last.upperBound)
    }
}

/// Base pointer and (batch, token, head) element strides of a (B, T, H, D) tensor with a contiguous last dim.
struct HeadRows {
    let base: UnsafeMutablePointer<Float>
    let sb: Int, st: Int, sh: Int

    init(_ t: Tensor) {
        precondition(t.strides[3] == 1 || t.shape[3] == 1, "attention operand needs a contiguous last dimension")
        base = t.storage.base + t.offset
        sb = t.strides[0]; st = t.strides[1]; sh = t.strides[2]
    }

    @inline(__always) func row(_ b: Int, _ t: Int, _ h: Int) -> UnsafeMutablePointer<Float> {
        base + b * sb + t * st + h * sh
    }
}

/// Makes the last dimension contiguous (copying only when it is not).
private func lastDimContiguous(_ t: Tensor) -> Tensor {
    (t.strides[3] == 1 || t.shape[3] == 1) ? t : t.contiguousCopy()
}

extension Tensor {
    /// softmax(scale · Q Kᵀ + mask) V per head. query (B, T, H, D), key (B, S, KVH, D), value (B, S, KVH, Dv)
    /// -> (B, T, H, Dv). Head h reads KV head h / (H / KVH). With `causalOffset` c, query t sees keys
    /// s <= t + c (c = S - T for a cache prefix); with `window` w also s > t + c - w. key and value may be
    /// strided views (e.g. a prefix of a (B, maxS, KVH, D) cache). Rows that see no key output zeros.
    public static func attention(query: Tensor, key: Tensor, value: Tensor, scale: Float, causalOffset: Int?,
                                 window: Int?) -> Tensor {
        let geo = AttentionGeometry(query: query, key: key, value: value, scale: scale,
                                    causalOffset: causalOffset, window: window)
        let q = lastDimContiguous(query), k = lastDimContiguous(key), v = lastDimContiguous(value)
        let out = Tensor(zeros: [geo.B, geo.T, geo.H, geo.Dv])    // (B, T, H, Dv)
        let recording = Autograd.records(query, key, value)
        let lse = Tensor(uninitialized: [recording ? geo.B * geo.T * geo.H : 0])   // (B, T, H)
        attentionForward(geo, q: HeadRows(q), k: HeadRows(k), v: HeadRows(v), out: HeadRows(out),
                         lse: recording ? lse.pointer : nil)
        if recording {
            out.record("attention", [query, key, value]) { g in
                let grads = attentionBackward(geo, q: q, k: k, v: v, lse: lse, gradOutput: g.contiguousData,
                                              needQuery: query.requiresGrad,
                                              needKeyValue: key.requiresGrad || value.requiresGrad)
                return [query.requiresGrad ? grads.query : nil, key.requiresGrad ? grads.key : nil,
                        value.requiresGrad ? grads.value : nil]
            }
        }
        return out
    }

    /// Plain attention in Double with an explicit masked softmax(scale QKᵀ)V per head, for tests. No autograd.
    public static func attentionReference(query: Tensor, key: Tensor, value: Tensor, scale: Float,
                                          causalOffset: Int?, window: Int?) -> Tensor {
        let geo = AttentionGeometry(query: query, key: key, value: value, scale: scale,
                                    causalOffset: causalOffset, window: window)
        var out = [Float](repeating: 0, count: geo.B * geo.T * geo.H * geo.Dv)
        for b in 0..<geo.B {
            for t in 0..<geo.T {
                for h in 0..<geo.H {
                    let kvh = h / geo.group
                    let visible = geo.keyRange(t)
                    if visible.isEmpty { continue }
                    var scores = [Double](repeating: 0, count: geo.S)
                    for s in visible {
                        var acc = 0.0
                        for d in 0..<geo.D { acc += Double(query[b, t, h, d]) * Double(key[b, s, kvh, d]) }
                        scores[s] = acc * Double(scale)
                    }
                    let m = visible.map { scores[$0] }.max()!
                    var total = 0.0
                    for s in visible { scores[s] = exp(scores[s] - m); total += scores[s] }
                    for d in 0..<geo.Dv {
                        var acc = 0.0
                        for s in visible { acc += scores[s] / total * Double(value[b, s, kvh, d]) }
                        out[((b * geo.T + t) * geo.H + h) * geo.Dv + d] = Float(acc)
                    }
                }
            }
        }
        return Tensor(shape: [geo.B, geo.T, geo.H, geo.Dv], data: out)
    }
}

/// One block of query rows: every token of the block times every query head of one KV head.
struct AttentionBlock {
    let b: Int, kvh: Int
    let tokens: Range<Int>
    let keys: Range<Int>
    let geo: AttentionGeometry

    var rows: Int { tokens.count * geo.group }

    /// Query token and head of row r (rows ordered token-major).
    @inline(__always) func tokenHead(_ r: Int) -> (t: Int, h: Int) {
        (tokens.lowerBound + r / geo.group, kvh * geo.group + r % geo.group)
    }

    /// Visible keys of row r relative to `keys.lowerBound`.
    @inline(__always) func visible(_ r: Int) -> Range<Int> {
        let v = geo.keyRange(tokenHead(r).t).clamped(to: keys)
        return (v.lowerBound - keys.lowerBound)..<(v.upperBound - keys.lowerBound)
    }
}

/// Multiply-adds of an attention call below which it runs on the calling thread (about 100 µs of the
/// row-dot kernels, above `Parallel.workerWakeMicroseconds`).
let minimumAttentionProducts = 1 << 22

/// Fills `out` (zeroed) and, when given, the log-sum-exp of every (b, t, h) row. With fewer blocks than
/// workers (decode), each block's keys are split into chunks whose partial softmaxes are merged
/// (flash-decoding).
private func attentionForward(_ geo: AttentionGeometry, q: HeadRows, k: HeadRows, v: HeadRows, out: HeadRows,
                              lse: UnsafeMutablePointer<Float>?) {
    let tasks = geo.B * geo.KVH * geo.blocks
    let longest = (0..<geo.blocks).map { geo.keyRange(block: $0).count }.max() ?? 0
    let splits = tasks >= 2 * Parallel.threads ? 1
        : Swift.max(1, Swift.min((2 * Parallel.threads + tasks - 1) / tasks, longest / 512))
    let rowsPerBlock = geo.tokensPerBlock * geo.group
    // Per (task, split): partial outputs (rows, Dv) and row statistics (rows, 2): max, sum of exp.
    let partialOut = splits > 1 ? UnsafeMutablePointer<Float>.allocate(capacity: tasks * splits * rowsPerBlock * geo.Dv) : nil
    let partialStats = splits > 1 ? UnsafeMutablePointer<Float>.allocate(capacity: tasks * splits * rowsPerBlock * 2) : nil
    defer { partialOut?.deallocate(); partialStats?.deallocate() }

    // Score and value products of the whole call; a decode step's (one query token) stays on this thread.
    let products = geo.B * geo.H * geo.T * longest * (geo.D + geo.Dv)
    let inParallel = products >= minimumAttentionProducts
    Parallel.forEach(tasks * splits, inParallel: inParallel) { job in
        let task = job / splits, split = job % splits
        let blockIndex = task % geo.blocks
        let bk = task / geo.blocks
        let blockKeys = geo.keyRange(block: blockIndex)
        let chunk = (blockKeys.count + splits - 1) / splits
        let lo = Swift.min(blockKeys.upperBound, blockKeys.lowerBound + split * chunk)
        let keys = lo..<Swift.min(blockKeys.upperBound, lo + chunk)
        let block = AttentionBlock(b: bk / geo.KVH, kvh: bk % geo.KVH, tokens: geo.tokens(blockIndex),
                                   keys: keys, geo: geo)
        let R = block.rows, L = keys.count
        let qRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: R)
        let oRows = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: R)
        let kRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: Swift.max(1, L))
        let vRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: Swift.max(1, L))
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, R * L))   // (R, L)
        defer {
            qRows.deallocate(); oRows.deallocate(); kRows.deallocate(); vRows.deallocate(); scores.deallocate()
        }
        let slot = task * splits + split
        for r in 0..<R {
            let (t, h) = block.tokenHead(r)
            qRows[r] = UnsafePointer(q.row(block.b, t, h))
            if let partialOut {
                oRows[r] = partialOut + (slot * rowsPerBlock + r) * geo.Dv
                oRows[r].update(repeating: 0, count: geo.Dv)
            } else {
                oRows[r] = out.row(block.b, t, h)
            }
        }
        for p in 0..<L {
            kRows[p] = UnsafePointer(k.row(block.b, keys.lowerBound + p, block.kvh))
            vRows[p] = UnsafePointer(v.row(block.b, keys.lowerBound + p, block.kvh))
        }
        rowDots(m: R, n: L, depth: geo.D, a: qRows, b: kRows, out: scores, ldo: L)
        for r in 0..<R {
            let (m, total) = expRow(scores + r * L, length: L, visible: block.visible(r), scale: geo.scale)
            if let partialStats {
                partialStats[(slot * rowsPerBlock + r) * 2] = m
                partialStats[(slot * rowsPerBlock + r) * 2 + 1] = total
            } else {
                if total > 0 { scaleRow(1 / total, scores + r * L, scores + r * L, L) }
                if let lse {
                    let (t, h) = block.tokenHead(r)
                    lse[(block.b * geo.T + t) * geo.H + h] = total > 0 ? m + logf(total) : -.infinity
                }
            }
        }
        accumulateRows(m: R, k: L, n: geo.Dv, a: scores, ars: L, acs: 1, b: vRows, c: oRows)
    }

    guard let partialOut, let partialStats else { return }
    // Merge the splits: out = Σ_s e^{m_s - m} o_s / Σ_s e^{m_s - m} l_s.
    Parallel.forEach(tasks, inParallel: inParallel) { task in
        let blockIndex = task % geo.blocks
        let bk = task / geo.blocks
        let block = AttentionBlock(b: bk / geo.KVH, kvh: bk % geo.KVH, tokens: geo.tokens(blockIndex),
                                   keys: geo.keyRange(block: blockIndex), geo: geo)
        for r in 0..<block.rows {
            var m = -Float.infinity
            for split in 0..<splits {
                let st = partialStats + ((task * splits + split) * rowsPerBlock + r) * 2
                if st[1] > 0 { m = Swift.max(m, st[0]) }
            }
            let (t, h) = block.tokenHead(r)
            let o = out.row(block.b, t, h)
            var total: Float = 0
            if m > -.infinity {
                for split in 0..<splits {
                    let slot = task * splits + split
                    let st = partialStats + (slot * rowsPerBlock + r) * 2
                    if st[1] <= 0 { continue }
                    let w = expf(st[0] - m)
                    total += w * st[1]
                    axpy(w, partialOut + (slot * rowsPerBlock + r) * geo.Dv, o, geo.Dv)
                }
                scaleRow(1 / total, o, o, geo.Dv)
            }
            if let lse { lse[(block.b * geo.T + t) * geo.H + h] = total > 0 ? m + logf(total) : -.infinity }
        }
    }
}

/// In place: row[i] = exp(scale * row[i] - m) over `visible`, 0 elsewhere, where m is the visible maximum.
/// Returns (m, Σ exp); (-infinity, 0) when nothing is visible.
@inline(__always)
func expRow(_ row: UnsafeMutablePointer<Float>, length: Int, visible: Range<Int>, scale: Float) -> (Float, Float) {
    if visible.isEmpty {
        row.update(repeating: 0, count: length)
        return (-.infinity, 0)
    }
    row.update(repeating: 0, count: visible.lowerBound)
    (row + visible.upperBound).update(repeating: 0, count: length - visible.upperBound)
    let x = row + visible.lowerBound
    let n = visible.count
    scaleRow(scale, x, x, n)
    let m = rowMax(x, n)
    return (m, expShiftedSum(x, x, n, shift: m))
}
