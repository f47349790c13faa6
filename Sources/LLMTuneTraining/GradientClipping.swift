// Global-norm gradient clipping (Pascanu et al. 2013), as torch.nn.utils.clip_grad_norm_: the L2 norm of all
// gradients together; when it exceeds maxNorm every gradient is scaled by maxNorm / (norm + 1e-6).
import Foundation
import LLMTuneTensor

public enum GradientClipping {
    /// The L2 norm of every parameter's gradient taken as one vector (accumulated in Double), or nil when a
    /// gradient holds NaN or infinity; `offender` then names the first such parameter.
    public static func globalNorm(_ parameters: [(name: String, tensor: Tensor)]) -> (norm: Double?, offender: String?) {
        var total = 0.0
        for (name, p) in parameters {
            guard let g = p.contiguousGradient else { continue }
            let s = sumOfSquares(g.pointer, g.count)
            if !s.isFinite { return (nil, name) }
            total += s
        }
        return (total.squareRoot(), nil)
    }

    /// Scales every gradient by min(1, maxNorm / (norm + 1e-6)) in place. Returns the coefficient applied.
    @discardableResult
    public static func clip(_ parameters: [(name: String, tensor: Tensor)], norm: Double, maxNorm: Double) -> Float {
        let coefficient = Float(maxNorm / (norm + 1e-6))
        guard coefficient < 1 else { return 1 }
        for (_, p) in parameters {
            guard let g = p.grad else { continue }
            if !g.isContiguous { p.grad = p.contiguousGradient }
            guard let c = p.grad else { continue }
            scale(c.pointer, c.count, by: coefficient)
        }
        return coefficient
    }

    static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        // Float SIMD partial sums over blocks, accumulated in Double between blocks.
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(n, start + 4096)
            var acc = SIMD16<Float>()
            var i = start
            while i + 16 <= end {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                acc += v * v
                i += 16
            }
            var s = Double(acc.sum())
            while i < end { s += Double(x[i]) * Double(x[i]); i += 1 }
            total += s
            start = end
        }
        return total
    }

    static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, by c: Float) {
        let cv = SIMD16<Float>(repeating: c)
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: v * cv, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { x[i] *= c; i += 1 }
    }
}
