// Mean negative log-likelihood of target classes under softmax(logits), fused with log-softmax: the
// forward keeps one log-sum-exp per row; the backward writes (softmax - onehot) / count directly
// (llm.c crossentropy_softmax_backward). Targets equal to ignoreIndex (prompt tokens, padding) count nothing.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

/// Σ exp(x[i] - shift) for i < n.
@inline(__always) func expSum(_ x: UnsafePointer<Float>, _ n: Int, shift: Float) -> Float {
    let sv = Vec16(repeating: shift)
    var acc = Vec16()
    var i = 0
    while i + 16 <= n { acc += exp16(load16(x + i) - sv); i += 16 }
    var s = acc.sum()
    while i < n { s += expf(x[i] - shift); i += 1 }
    return s
}

extension Tensor {
    /// logits (N, V) and N targets -> scalar mean of -log softmax(logits)[target] over targets that are not
    /// `ignoreIndex`. 0 (with zero gradient) when every target is ignored. Targets must lie in 0..<V.
    public func crossEntropy(targets: [Int], ignoreIndex: Int = -100) -> Tensor {
        precondition(rank == 2, "crossEntropy expects logits (N, V), got \(shape)")
        let N = shape[0], V = shape[1]
        precondition(targets.count == N, "crossEntropy: \(targets.count) targets for \(N) rows")
        for t in targets where t != ignoreIndex {
            precondition(t >= 0 && t < V, "crossEntropy: target \(t) outside 0..<\(V)")
        }
        let used = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        let x = contiguousData
        let xp = UnsafePointer(x.pointer)
        let lse = Tensor(uninitialized: [N])                // (N)
        let losses = Tensor(zeros: [N])                     // (N)
        let lp = lse.pointer, np = losses.pointer
        targets.withUnsafeBufferPointer { tp in
            Parallel.forRanges(N, minimum: minimumRows(rowLength: V)) { rows in
                for r in rows where tp[r] != ignoreIndex {
                    let row = xp + r * V
                    let m = rowMax(row, V)
                    lp[r] = m + logf(expSum(row, V, shift: m))
                    np[r] = lp[r] - row[tp[r]]
                }
            }
        }
        var total = 0.0
        for r in 0..<N { total += Double(np[r]) }
        let out = Tensor.scalar(used == 0 ? 0 : Float(total / Double(used)))
        if Autograd.records(self) {
            out.record("crossEntropy", [self]) { g in
                let dx = Tensor(uninitialized: [N, V])      // (N, V)
                let dp = dx.pointer
                let scale = used == 0 ? 0 : g.item() / Float(used)
                targets.withUnsafeBufferPointer { tp in
                    Parallel.forRanges(N, minimum: minimumRows(rowLength: V)) { rows in
                        for r in rows {
                            let d = dp + r * V
                            if tp[r] == ignoreIndex {
                                d.update(repeating: 0, count: V)
                                continue
                            }
                            // d = scale * exp(x - lse), then subtract scale at the target.
                            let row = xp + r * V
                            let lv = Vec16(repeating: lp[r]), sv = Vec16(repeating: scale)
                            var i = 0
                            while i + 16 <= V { store16(d + i, exp16(load16(row + i) - lv) * sv); i += 16 }
                            while i < V { d[i] = expf(row[i] - lp[r]) * scale; i += 1 }
                            d[tp[r]] -= scale
                        }
                    }
                }
                withExtendedLifetime((x, lse)) {}
                return [dx]
            }
        }
        return out
    }
}
