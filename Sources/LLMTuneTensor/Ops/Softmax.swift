// Softmax and log-softmax over the last dimension, max-subtracted for stability, SIMD exp.
// Backward: softmax dx = y (g - Σ g y); log-softmax dx = g - softmax(x) Σ g.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

/// y[i] = exp(x[i] - shift) for i < n, returning Σ y.
@inline(__always) func expShiftedSum(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                                     shift: Float) -> Float {
    let sv = Vec16(repeating: shift)
    var acc = Vec16()
    var i = 0
    while i + 16 <= n {
        let e = exp16(load16(x + i) - sv)
        store16(y + i, e)
        acc += e
        i += 16
    }
    var s = acc.sum()
    while i < n { let e = expf(x[i] - shift); y[i] = e; s += e; i += 1 }
    return s
}

extension Tensor {
    /// exp(x) / Σ exp(x) over the last dimension.
    public func softmax() -> Tensor {
        let C = shape.last ?? 1, R = count / Swift.max(1, C)
        let x = contiguousData
        let out = Tensor(uninitialized: shape)
        let xp = UnsafePointer(x.pointer), op = out.pointer
        Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
            for r in rows {
                let m = rowMax(xp + r * C, C)
                let s = expShiftedSum(xp + r * C, op + r * C, C, shift: m)
                scaleRow(1 / s, op + r * C, op + r * C, C)
            }
        }
        if Autograd.records(self) {
            let y = out.detached()   // the output without its node (no reference cycle)
            out.record("softmax", [self]) { g in
                let g = g.contiguousData
                let dx = Tensor(uninitialized: y.shape)
                let gp = UnsafePointer(g.pointer), yp = UnsafePointer(y.pointer), dp = dx.pointer
                Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
                    for r in rows {
                        let gy = dot(gp + r * C, yp + r * C, C)
                        let gv = Vec16(repeating: gy)
                        var i = 0
                        while i + 16 <= C {
                            store16(dp + r * C + i, load16(yp + r * C + i) * (load16(gp + r * C + i) - gv))
                            i += 16
                        }
                        while i < C { dp[r * C + i] = yp[r * C + i] * (gp[r * C + i] - gy); i += 1 }
                    }
                }
                return [dx]
            }
        }
        return out
    }

    /// x - log Σ exp(x) over the last dimension.
    public func logSoftmax() -> Tensor {
        let C = shape.last ?? 1, R = count / Swift.max(1, C)
        let x = contiguousData
        let out = Tensor(uninitialized: shape)
        let xp = UnsafePointer(x.pointer), op = out.pointer
        Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
            for r in rows {
                let m = rowMax(xp + r * C, C)
                let s = expShiftedSum(xp + r * C, op + r * C, C, shift: m)
                let lse = m + logf(s)
                let lv = Vec16(repeating: lse)
                var i = 0
                while i + 16 <= C { store16(op + r * C + i, load16(xp + r * C + i) - lv); i += 16 }
                while i < C { op[r * C + i] = xp[r * C + i] - lse; i += 1 }
            }
        }
        if Autograd.records(self) {
            let y = out.detached()
            out.record("logSoftmax", [self]) { g in
                let g = g.contiguousData
                let dx = Tensor(uninitialized: y.shape)
                let gp = UnsafePointer(g.pointer), yp = UnsafePointer(y.pointer), dp = dx.pointer
                Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
                    for r in rows {
                        let gs = rowSum(gp + r * C, C)
                        let gv = Vec16(repeating: gs)
                        var i = 0
                        while i + 16 <= C {
                            store16(dp + r * C + i, load16(gp + r * C + i) - exp16(load16(yp + r * C + i)) * gv)
                            i += 16
                        }
                        while i < C { dp[r * C + i] = gp[r * C + i] - expf(yp[r * C + i]) * gs; i += 1 }
                    }
                }
                return [dx]
            }
        }
        return out
    }
}
