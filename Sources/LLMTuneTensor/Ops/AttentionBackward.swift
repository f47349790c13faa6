// Backward of the fused attention (FlashAttention-style recomputation, Dao et al. 2022): per block of
// query rows, P = exp(scale QKᵀ - lse), dP = dO Vᵀ, dS = P (dP - Σ P dP) scale, then dQ = dS K,
// dK += dSᵀ Q, dV += Pᵀ dO. Tasks own one (batch, KV head) pair and a run of blocks; when there are
// more workers than pairs, each task accumulates dK/dV in a private buffer, summed at the end.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

/// Gradients of attention's three inputs, shaped like the inputs (contiguous).
struct AttentionGradients {
    let query: Tensor
    let key: Tensor
    let value: Tensor
}

func attentionBackward(_ geo: AttentionGeometry, q: Tensor, k: Tensor, v: Tensor, lse: Tensor,
                       gradOutput: Tensor, needQuery: Bool, needKeyValue: Bool) -> AttentionGradients {
    let dq = Tensor(zeros: [geo.B, geo.T, geo.H, geo.D])       // (B, T, H, D)
    let dk = Tensor(zeros: [geo.B, geo.S, geo.KVH, geo.D])     // (B, S, KVH, D)
    let dv = Tensor(zeros: [geo.B, geo.S, geo.KVH, geo.Dv])    // (B, S, KVH, Dv)
    let pairs = geo.B * geo.KVH
    let chunks = Swift.max(1, Swift.min(geo.blocks, (2 * Parallel.threads + pairs - 1) / Swift.max(1, pairs)))
    let blocksPerChunk = (geo.blocks + chunks - 1) / chunks
    let qh = HeadRows(q), kh = HeadRows(k), vh = HeadRows(v), gh = HeadRows(gradOutput)
    let dqh = HeadRows(dq), dkh = HeadRows(dk), dvh = HeadRows(dv)
    let lp = UnsafePointer(lse.pointer)

    // Private dK/dV buffers per task when several tasks share a (batch, KV head) pair.
    struct Partial { var keys: Range<Int>; var dk: UnsafeMutablePointer<Float>; var dv: UnsafeMutablePointer<Float> }
    let tasks = pairs * chunks
    let partials = UnsafeMutablePointer<Partial?>.allocate(capacity: tasks)
    partials.initialize(repeating: nil, count: tasks)
    defer {
        for i in 0..<tasks { if let p = partials[i] { p.dk.deallocate(); p.dv.deallocate() } }
        partials.deinitialize(count: tasks)
        partials.deallocate()
    }

    Parallel.forEach(tasks) { task in
        let pair = task / chunks, chunk = task % chunks
        let b = pair / geo.KVH, kvh = pair % geo.KVH
        let blockRange = (chunk * blocksPerChunk)..<Swift.min(geo.blocks, (chunk + 1) * blocksPerChunk)
        if blockRange.isEmpty { return }
        // Keys touched by this task, and where their dK/dV rows go.
        let first = geo.keyRange(block: blockRange.lowerBound), last = geo.keyRange(block: blockRange.upperBound - 1)
        let taskKeys = first.lowerBound..<Swift.max(first.lowerBound, last.upperBound)
        var partial: Partial? = nil
        if chunks > 1 && needKeyValue {
            let n = Swift.max(1, taskKeys.count)
            let p = Partial(keys: taskKeys, dk: .allocate(capacity: n * geo.D), dv: .allocate(capacity: n * geo.Dv))
            p.dk.initialize(repeating: 0, count: n * geo.D)
            p.dv.initialize(repeating: 0, count: n * geo.Dv)
            partials[task] = p
            partial = p
        }
        for blockIndex in blockRange {
            let block = AttentionBlock(b: b, kvh: kvh, tokens: geo.tokens(blockIndex),
                                       keys: geo.keyRange(block: blockIndex), geo: geo)
            backwardBlock(block, qh: qh, kh: kh, vh: vh, gh: gh, lse: lp, dqh: needQuery ? dqh : nil,
                          dkRow: !needKeyValue ? nil : { s in
                              if let partial { return partial.dk + (s - partial.keys.lowerBound) * geo.D }
                              return dkh.row(b, s, kvh)
                          },
                          dvRow: !needKeyValue ? nil : { s in
                              if let partial { return partial.dv + (s - partial.keys.lowerBound) * geo.Dv }
                              return dvh.row(b, s, kvh)
                          })
        }
    }

    if chunks > 1 && needKeyValue {
        Parallel.forEach(pairs) { pair in
            let b = pair / geo.KVH, kvh = pair % geo.KVH
            for chunk in 0..<chunks {
                guard let p = partials[pair * chunks + chunk] else { continue }
                for (i, s) in p.keys.enumerated() {
                    axpy(1, p.dk + i * geo.D, dkh.row(b, s, kvh), geo.D)
                    axpy(1, p.dv + i * geo.Dv, dvh.row(b, s, kvh), geo.Dv)
                }
            }
        }
    }
    return AttentionGradients(query: dq, key: dk, value: dv)
}

/// Gradients of one block of query rows.
private func backwardBlock(_ block: AttentionBlock, qh: HeadRows, kh: HeadRows, vh: HeadRows, gh: HeadRows,
                           lse: UnsafePointer<Float>, dqh: HeadRows?,
                           dkRow: ((Int) -> UnsafeMutablePointer<Float>)?,
                           dvRow: ((Int) -> UnsafeMutablePointer<Float>)?) {
    let geo = block.geo
    let R = block.rows, L = block.keys.count
    if R == 0 || L == 0 { return }
    let qRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: R)
    let gRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: R)
    let dqRows = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: R)
    let kRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: L)
    let vRows = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: L)
    let dkRows = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: L)
    let dvRows = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: L)
    let probs = UnsafeMutablePointer<Float>.allocate(capacity: R * L)    // (R, L) P
    let dScores = UnsafeMutablePointer<Float>.allocate(capacity: R * L)  // (R, L) dP, then dS
    defer {
        qRows.deallocate(); gRows.deallocate(); dqRows.deallocate(); kRows.deallocate(); vRows.deallocate()
        dkRows.deallocate(); dvRows.deallocate(); probs.deallocate(); dScores.deallocate()
    }
    for r in 0..<R {
        let (t, h) = block.tokenHead(r)
        qRows[r] = UnsafePointer(qh.row(block.b, t, h))
        gRows[r] = UnsafePointer(gh.row(block.b, t, h))
        if let dqh { dqRows[r] = dqh.row(block.b, t, h) }
    }
    for p in 0..<L {
        let s = block.keys.lowerBound + p
        kRows[p] = UnsafePointer(kh.row(block.b, s, block.kvh))
        vRows[p] = UnsafePointer(vh.row(block.b, s, block.kvh))
        if let dkRow, let dvRow { dkRows[p] = dkRow(s); dvRows[p] = dvRow(s) }
    }
    rowDots(m: R, n: L, depth: geo.D, a: qRows, b: kRows, out: probs, ldo: L)
    rowDots(m: R, n: L, depth: geo.Dv, a: gRows, b: vRows, out: dScores, ldo: L)
    for r in 0..<R {
        let (t, h) = block.tokenHead(r)
        let logSumExp = lse[(block.b * geo.T + t) * geo.H + h]
        let visible = block.visible(r)
        let pr = probs + r * L, dr = dScores + r * L
        if visible.isEmpty || !logSumExp.isFinite {
            pr.update(repeating: 0, count: L)
            dr.update(repeating: 0, count: L)
            continue
        }
        pr.update(repeating: 0, count: visible.lowerBound)
        (pr + visible.upperBound).update(repeating: 0, count: L - visible.upperBound)
        dr.update(repeating: 0, count: visible.lowerBound)
        (dr + visible.upperBound).update(repeating: 0, count: L - visible.upperBound)
        let x = pr + visible.lowerBound, y = dr + visible.lowerBound, n = visible.count
        // P = exp(scale s - lse)
        let sv = Vec16(repeating: geo.scale), lv = Vec16(repeating: logSumExp)
        var i = 0
        while i + 16 <= n { store16(x + i, exp16(load16(x + i) * sv - lv)); i += 16 }
        while i < n { x[i] = expf(x[i] * geo.scale - logSumExp); i += 1 }
        // dS = P (dP - Σ P dP) scale
        let c = dot(x, y, n)
        let cv = Vec16(repeating: c)
        i = 0
        while i + 16 <= n { store16(y + i, load16(x + i) * (load16(y + i) - cv) * sv); i += 16 }
        while i < n { y[i] = x[i] * (y[i] - c) * geo.scale; i += 1 }
    }
    if dqh != nil {
        accumulateRows(m: R, k: L, n: geo.D, a: dScores, ars: L, acs: 1, b: kRows, c: dqRows)
    }
    if dkRow != nil {
        accumulateRows(m: L, k: R, n: geo.D, a: dScores, ars: 1, acs: L, b: qRows, c: dkRows)
        accumulateRows(m: L, k: R, n: geo.Dv, a: probs, ars: 1, acs: L, b: gRows, c: dvRows)
    }
}
