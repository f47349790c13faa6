// Rotary position embeddings (Su et al. 2021, RoFormer). Two pairings of the rotated dimensions:
// HF transformers' rotate-half (dimension i with i + d/2) and llama.cpp's interleaved pairs (2i, 2i+1),
// the layout of GGUF Llama q/k weights (shared/NOTES.md). Frequencies follow HF's float32 computation
// (inv_freq = 1 / base^(2i/d), angle = position * inv_freq in float32).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

/// How rotated dimensions are paired.
public enum RotaryLayout: Sendable {
    /// Dimension i pairs with i + d/2 (HF `rotate_half`).
    case halves
    /// Dimension 2i pairs with 2i + 1 (llama.cpp / GGUF).
    case interleaved
}

/// Cached cos/sin of position × frequency for positions 0..<maxPositions.
public final class RotaryTable: @unchecked Sendable {
    /// Rotated dimensions per head (even, at most the head dimension).
    public let dimension: Int
    /// Positions covered by the cache.
    public let maxPositions: Int
    /// Frequency of each rotated pair, (dimension / 2).
    public let inverseFrequencies: [Float]
    /// (maxPositions, dimension / 2) cos and sin of position * inverseFrequencies[i].
    let cosines: Tensor
    let sines: Tensor

    /// Standard RoPE: inverseFrequencies[i] = 1 / base^(2i / dimension).
    public convenience init(dimension: Int, base: Float, maxPositions: Int) {
        self.init(inverseFrequencies: RotaryTable.inverseFrequencies(dimension: dimension, base: base),
                  maxPositions: maxPositions)
    }

    /// RoPE with given frequencies (e.g. after Llama-3 or linear rope scaling); dimension = 2 * count.
    public init(inverseFrequencies: [Float], maxPositions: Int) {
        precondition(!inverseFrequencies.isEmpty && maxPositions > 0, "empty rotary table")
        let half = inverseFrequencies.count
        dimension = 2 * half
        self.maxPositions = maxPositions
        self.inverseFrequencies = inverseFrequencies
        cosines = Tensor(uninitialized: [maxPositions, half])
        sines = Tensor(uninitialized: [maxPositions, half])
        let cp = cosines.pointer, sp = sines.pointer
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Double(Float(p) * inverseFrequencies[i])   // float32 product, as HF
                cp[p * half + i] = Float(cos(angle))
                sp[p * half + i] = Float(sin(angle))
            }
        }
    }

    /// 1 / base^(2i / dimension) for i < dimension / 2, in float32 like HF transformers.
    public static func inverseFrequencies(dimension: Int, base: Float) -> [Float] {
        precondition(dimension > 0 && dimension % 2 == 0, "rotary dimension \(dimension) must be even")
        return (0..<(dimension / 2)).map { i in 1 / powf(base, Float(2 * i) / Float(dimension)) }
    }

    /// cos and sin of the angle of pair `index` at `position`.
    public func rotation(position: Int, index: Int) -> (cos: Float, sin: Float) {
        let half = dimension / 2
        return (cosines.pointer[position * half + index], sines.pointer[position * half + index])
    }
}

extension Tensor {
    /// Rotates the first `table.dimension` dimensions of each head of x (B, T, H, D); token t has position
    /// positionOffset + t. Other dimensions pass through.
    public func rotary(_ table: RotaryTable, positionOffset: Int, layout: RotaryLayout) -> Tensor {
        precondition(rank == 4, "rotary expects (B, T, H, D), got \(shape)")
        let T = shape[1], D = shape[3]
        precondition(table.dimension <= D, "rotary dimension \(table.dimension) exceeds head dimension \(D)")
        precondition(positionOffset >= 0 && positionOffset + T <= table.maxPositions,
                     "positions \(positionOffset)..<\(positionOffset + T) beyond the rotary table (\(table.maxPositions))")
        let out = Tensor(uninitialized: shape)   // (B, T, H, D)
        rotaryKernel(contiguousData, into: out, table, positionOffset: positionOffset, layout: layout, inverse: false)
        if Autograd.records(self) {
            out.record("rotary", [self]) { g in
                let dx = Tensor(uninitialized: g.shape)
                rotaryKernel(g.contiguousData, into: dx, table, positionOffset: positionOffset, layout: layout,
                             inverse: true)
                return [dx]
            }
        }
        return out
    }

    /// Plain scalar rotary in Double over the same table, for testing the fast kernel. No autograd.
    public func rotaryReference(_ table: RotaryTable, positionOffset: Int, layout: RotaryLayout) -> Tensor {
        let B = shape[0], T = shape[1], H = shape[2], D = shape[3]
        let half = table.dimension / 2
        var y = toArray()
        let x = y
        for b in 0..<B {
            for t in 0..<T {
                for h in 0..<H {
                    let base = ((b * T + t) * H + h) * D
                    for i in 0..<half {
                        let (c, s) = table.rotation(position: positionOffset + t, index: i)
                        let (i1, i2) = layout == .halves ? (i, i + half) : (2 * i, 2 * i + 1)
                        let x1 = Double(x[base + i1]), x2 = Double(x[base + i2])
                        y[base + i1] = Float(x1 * Double(c) - x2 * Double(s))
                        y[base + i2] = Float(x2 * Double(c) + x1 * Double(s))
                    }
                }
            }
        }
        return Tensor(shape: shape, data: y)
    }
}

/// out = rotate(x) (contiguous (B, T, H, D)); `inverse` rotates by minus the angle (the backward).
private func rotaryKernel(_ x: Tensor, into out: Tensor, _ table: RotaryTable, positionOffset: Int,
                          layout: RotaryLayout, inverse: Bool) {
    let T = x.shape[1], H = x.shape[2], D = x.shape[3]
    let half = table.dimension / 2
    let rows = x.count / Swift.max(1, D)
    let xp = UnsafePointer(x.pointer), op = out.pointer
    let cp = UnsafePointer(table.cosines.pointer), sp = UnsafePointer(table.sines.pointer)
    let sign: Float = inverse ? -1 : 1
    Parallel.forRanges(rows, minimum: minimumRows(rowLength: D)) { range in
        for row in range {
            let t = (row / H) % T
            let c = cp + (positionOffset + t) * half, s = sp + (positionOffset + t) * half
            let xr = xp + row * D, yr = op + row * D
            var i = 0
            switch layout {
            case .halves:
                while i + 16 <= half {
                    let x1 = load16(xr + i), x2 = load16(xr + half + i)
                    let cv = load16(c + i), sv = load16(s + i) * sign
                    store16(yr + i, x1 * cv - x2 * sv)
                    store16(yr + half + i, x2 * cv + x1 * sv)
                    i += 16
                }
                while i < half {
                    let x1 = xr[i], x2 = xr[half + i], sv = s[i] * sign
                    yr[i] = x1 * c[i] - x2 * sv
                    yr[half + i] = x2 * c[i] + x1 * sv
                    i += 1
                }
            case .interleaved:
                while i + 8 <= half {
                    let v = load16(xr + 2 * i)
                    let x1 = v.evenHalf, x2 = v.oddHalf
                    let cv = UnsafeRawPointer(c + i).loadUnaligned(as: SIMD8<Float>.self)
                    let sv = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD8<Float>.self) * sign
                    var y = Vec16()
                    y.evenHalf = x1 * cv - x2 * sv
                    y.oddHalf = x2 * cv + x1 * sv
                    store16(yr + 2 * i, y)
                    i += 8
                }
                while i < half {
                    let x1 = xr[2 * i], x2 = xr[2 * i + 1], sv = s[i] * sign
                    yr[2 * i] = x1 * c[i] - x2 * sv
                    yr[2 * i + 1] = x2 * c[i] + x1 * sv
                    i += 1
                }
            }
            if table.dimension < D {
                (yr + table.dimension).update(from: xr + table.dimension, count: D - table.dimension)
            }
        }
    }
}
