// RMSNorm (Zhang & Sennrich 2019; Llama, with Gemma's weight offset of 1) and LayerNorm (Ba et al. 2016)
// over the last dimension, with hand-written backward passes (llm.c layernorm_backward) and plain
// Double-precision reference kernels for tests.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

extension Tensor {
    /// x / sqrt(mean(x²) + eps) * (weight + weightOffset) over the last dimension. weight: (C).
    public func rmsNorm(weight: Tensor, eps: Float, weightOffset: Float = 0) -> Tensor {
        let C = shape.last ?? 1
        precondition(rank >= 1 && weight.shape == [C], "rmsNorm: input \(shape), weight \(weight.shape)")
        let R = count / Swift.max(1, C)
        let x = contiguousData
        let w = effectiveWeight(weight, offset: weightOffset)          // (C)
        let out = Tensor(uninitialized: shape)                          // (..., C)
        let recording = Autograd.records(self, weight)
        let rstd = Tensor(uninitialized: [recording ? R : 0])           // (R) saved for backward
        let xp = UnsafePointer(x.pointer), wp = UnsafePointer(w.pointer), op = out.pointer, sp = rstd.pointer
        Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
            for r in rows {
                let xr = xp + r * C
                let s = 1 / (dot(xr, xr, C) / Float(C) + eps).squareRoot()
                if recording { sp[r] = s }
                scaleRowByWeight(xr, s, wp, op + r * C, C)
            }
        }
        if recording {
            let input = self
            // The backward below keeps x, w and 1/rms: enough to rebuild the output bit for bit.
            out.recipe = ActivationRecipe { [shape] in
                let y = Tensor(uninitialized: shape)
                let yp = y.pointer
                Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
                    for r in rows { scaleRowByWeight(xp + r * C, sp[r], wp, yp + r * C, C) }
                }
                withExtendedLifetime((x, w, rstd)) {}
                return y
            }
            out.record("rmsNorm", [input, weight]) { g in
                let g = g.contiguousData
                let gp = UnsafePointer(g.pointer)
                let dx = input.requiresGrad ? Tensor(uninitialized: input.shape) : nil
                let dxp = dx?.pointer
                // dx = rstd * (g w - x̂ mean(g w x̂)),  x̂ = x rstd
                let dw = weight.requiresGrad ? columnPartials(rows: R, columns: C) { rows, acc in
                    for r in rows {
                        let s = sp[r]
                        let xr = xp + r * C, gr = gp + r * C
                        var i = 0
                        while i + 16 <= C { store16(acc + i, load16(acc + i) + load16(gr + i) * load16(xr + i) * s); i += 16 }
                        while i < C { acc[i] += gr[i] * xr[i] * s; i += 1 }
                    }
                } : nil
                if let dxp {
                    Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
                        for r in rows {
                            let s = sp[r]
                            let xr = xp + r * C, gr = gp + r * C, dr = dxp + r * C
                            var acc = Vec16()
                            var i = 0
                            while i + 16 <= C { acc += load16(gr + i) * load16(wp + i) * load16(xr + i); i += 16 }
                            var gwx = acc.sum()
                            while i < C { gwx += gr[i] * wp[i] * xr[i]; i += 1 }
                            let c = gwx * s * s / Float(C)        // mean(g w x̂) * rstd
                            let sv = Vec16(repeating: s), cv = Vec16(repeating: c)
                            i = 0
                            while i + 16 <= C {
                                store16(dr + i, sv * (load16(gr + i) * load16(wp + i) - load16(xr + i) * cv))
                                i += 16
                            }
                            while i < C { dr[i] = s * (gr[i] * wp[i] - xr[i] * c); i += 1 }
                        }
                    }
                }
                withExtendedLifetime((x, w, rstd)) {}
                return [dx, dw]
            }
        }
        return out
    }

    /// (x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance).
    /// weight, bias: (C) or nil (1 and 0).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let C = shape.last ?? 1
        precondition(rank >= 1, "layerNorm of a scalar")
        if let weight { precondition(weight.shape == [C], "layerNorm: input \(shape), weight \(weight.shape)") }
        if let bias { precondition(bias.shape == [C], "layerNorm: input \(shape), bias \(bias.shape)") }
        let R = count / Swift.max(1, C)
        let x = contiguousData
        let w = weight.map { $0.contiguousData } ?? Tensor(shape: [C], filling: 1)
        let b = bias.map { $0.contiguousData } ?? Tensor(zeros: [C])
        let out = Tensor(uninitialized: shape)                          // (..., C)
        let recording = Autograd.records(self, weight, bias)
        let stats = Tensor(uninitialized: [recording ? 2 * R : 0])      // (R, 2): mean, rstd
        let xp = UnsafePointer(x.pointer), wp = UnsafePointer(w.pointer), bp = UnsafePointer(b.pointer)
        let op = out.pointer, sp = stats.pointer
        Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
            for r in rows {
                let xr = xp + r * C, yr = op + r * C
                let mu = rowSum(xr, C) / Float(C)
                let muv = Vec16(repeating: mu)
                var acc = Vec16()
                var i = 0
                while i + 16 <= C { let d = load16(xr + i) - muv; acc += d * d; i += 16 }
                var v = acc.sum()
                while i < C { let d = xr[i] - mu; v += d * d; i += 1 }
                let s = 1 / (v / Float(C) + eps).squareRoot()
                if recording { sp[2 * r] = mu; sp[2 * r + 1] = s }
                let sv = Vec16(repeating: s)
                i = 0
                while i + 16 <= C {
                    store16(yr + i, (load16(xr + i) - muv) * sv * load16(wp + i) + load16(bp + i))
                    i += 16
                }
                while i < C { yr[i] = (xr[i] - mu) * s * wp[i] + bp[i]; i += 1 }
            }
        }
        if recording {
            let input = self
            var inputs = [input]
            if let weight { inputs.append(weight) }
            if let bias { inputs.append(bias) }
            out.record("layerNorm", inputs) { g in
                let g = g.contiguousData
                let gp = UnsafePointer(g.pointer)
                // dx = rstd * (g w - mean(g w) - x̂ mean(g w x̂))
                var dx: Tensor? = nil
                if input.requiresGrad {
                    let t = Tensor(uninitialized: input.shape)
                    let dxp = t.pointer
                    Parallel.forRanges(R, minimum: minimumRows(rowLength: C)) { rows in
                        for r in rows {
                            let mu = sp[2 * r], s = sp[2 * r + 1]
                            let xr = xp + r * C, gr = gp + r * C, dr = dxp + r * C
                            var sumGW: Float = 0, sumGWX: Float = 0
                            for i in 0..<C {
                                let gw = gr[i] * wp[i]
                                sumGW += gw
                                sumGWX += gw * (xr[i] - mu) * s
                            }
                            let m1 = sumGW / Float(C), m2 = sumGWX / Float(C)
                            for i in 0..<C { dr[i] = s * (gr[i] * wp[i] - m1 - (xr[i] - mu) * s * m2) }
                        }
                    }
                    dx = t
                }
                var grads: [Tensor?] = [dx]
                if let weight {
                    grads.append(weight.requiresGrad ? columnPartials(rows: R, columns: C) { rows, acc in
                        for r in rows {
                            let mu = sp[2 * r], s = sp[2 * r + 1]
                            for i in 0..<C { acc[i] += gp[r * C + i] * (xp[r * C + i] - mu) * s }
                        }
                    } : nil)
                }
                if let bias {
                    grads.append(bias.requiresGrad ? g.reshaped([R, C]).reduceSum(toKeptShape: [1, C]).reshaped([C]) : nil)
                }
                withExtendedLifetime((x, w, stats)) {}
                return grads
            }
        }
        return out
    }

    /// weight + offset as a contiguous tensor (the weight itself when offset is 0 and it is contiguous).
    private func effectiveWeight(_ weight: Tensor, offset: Float) -> Tensor {
        offset == 0 ? weight.contiguousData : mapUnary(weight, AddScalarKernel(s: offset))
    }

    // MARK: - Reference kernels (Double, scalar loops)

    /// Plain RMSNorm in Double, for testing the fast kernel. No autograd.
    public func rmsNormReference(weight: Tensor, eps: Float, weightOffset: Float = 0) -> Tensor {
        let C = shape.last ?? 1, R = count / Swift.max(1, C)
        let x = toArray(), w = weight.toArray()
        var y = [Float](repeating: 0, count: count)
        for r in 0..<R {
            var ss = 0.0
            for i in 0..<C { ss += Double(x[r * C + i]) * Double(x[r * C + i]) }
            let s = 1 / (ss / Double(C) + Double(eps)).squareRoot()
            for i in 0..<C { y[r * C + i] = Float(Double(x[r * C + i]) * s * (Double(w[i]) + Double(weightOffset))) }
        }
        return Tensor(shape: shape, data: y)
    }

    /// Plain LayerNorm in Double, for testing the fast kernel. No autograd.
    public func layerNormReference(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let C = shape.last ?? 1, R = count / Swift.max(1, C)
        let x = toArray()
        let w = weight?.toArray() ?? [Float](repeating: 1, count: C)
        let b = bias?.toArray() ?? [Float](repeating: 0, count: C)
        var y = [Float](repeating: 0, count: count)
        for r in 0..<R {
            var mu = 0.0
            for i in 0..<C { mu += Double(x[r * C + i]) }
            mu /= Double(C)
            var v = 0.0
            for i in 0..<C { v += (Double(x[r * C + i]) - mu) * (Double(x[r * C + i]) - mu) }
            let s = 1 / (v / Double(C) + Double(eps)).squareRoot()
            for i in 0..<C { y[r * C + i] = Float((Double(x[r * C + i]) - mu) * s * Double(w[i]) + Double(b[i])) }
        }
        return Tensor(shape: shape, data: y)
    }
}

/// y[i] = x[i] * s * w[i]: one RMSNorm output row from its input row, 1/rms and the weight.
@inline(__always)
private func scaleRowByWeight(_ x: UnsafePointer<Float>, _ s: Float, _ w: UnsafePointer<Float>,
                              _ y: UnsafeMutablePointer<Float>, _ C: Int) {
    let sv = Vec16(repeating: s)
    var i = 0
    while i + 16 <= C { store16(y + i, load16(x + i) * sv * load16(w + i)); i += 16 }
    while i < C { y[i] = x[i] * s * w[i]; i += 1 }
}

/// Σ over row chunks of per-chunk accumulations into C columns: each parallel chunk fills its own zeroed
/// (C) buffer through `body(rows, acc)`; the buffers are then added. Returns a (C) tensor.
func columnPartials(rows R: Int, columns C: Int,
                    _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
    let chunks = Swift.max(1, Swift.min(Parallel.threads, R / Swift.max(1, minimumRows(rowLength: C))))
    let partial = Tensor(zeros: [chunks, C])
    let pp = partial.pointer
    let step = (R + chunks - 1) / Swift.max(1, chunks)
    Parallel.forEach(chunks) { c in
        let lo = c * step, hi = Swift.min(R, lo + step)
        if lo < hi { body(lo..<hi, pp + c * C) }
    }
    let out = Tensor(zeros: [C])
    for c in 0..<chunks { axpy(1, pp + c * C, out.pointer, C) }
    return out
}
