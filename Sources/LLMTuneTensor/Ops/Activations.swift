// Point-wise activations with their derivatives: SiLU (Llama MLP), GELU exact (erf) and tanh-approximated
// (Gemma's gelu_pytorch_tanh), ReLU, and the fused SwiGLU silu(gate) * up (Shazeer 2020).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

/// Which GELU formula to use.
public enum GELUApproximation: Sendable {
    /// 0.5 x (1 + erf(x / √2)).
    case none
    /// 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
    case tanh
}

private let sqrt2OverPi: Float = 0.7978845608028654
private let geluCubic: Float = 0.044715

struct SiLUKernel: UnaryKernel {
    @inline(__always) func vector(_ x: Vec16) -> Vec16 { x * sigmoid16(x) }
    @inline(__always) func scalar(_ x: Float) -> Float { x * sigmoidScalar(x) }
}

/// g * silu'(x) = g σ(x) (1 + x (1 - σ(x))).
struct SiLUBackwardKernel: BinaryKernel {
    @inline(__always) func vector(_ g: Vec16, _ x: Vec16) -> Vec16 {
        let s = sigmoid16(x)
        return g * s * (1 + x * (1 - s))
    }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float {
        let s = sigmoidScalar(x)
        return g * s * (1 + x * (1 - s))
    }
}

struct GELUTanhKernel: UnaryKernel {
    @inline(__always) func vector(_ x: Vec16) -> Vec16 {
        let u: Vec16 = sqrt2OverPi * (x + geluCubic * x * x * x)
        return 0.5 * x * (1 + tanh16(u))
    }
    @inline(__always) func scalar(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(sqrt2OverPi * (x + geluCubic * x * x * x)))
    }
}

struct GELUTanhBackwardKernel: BinaryKernel {
    @inline(__always) func vector(_ g: Vec16, _ x: Vec16) -> Vec16 {
        let x2 = x * x
        let t = tanh16(sqrt2OverPi * (x + geluCubic * x2 * x))
        let du: Vec16 = sqrt2OverPi * (1 + 3 * geluCubic * x2)
        let left: Vec16 = 0.5 * (1 + t)
        let right: Vec16 = 0.5 * x * (1 - t * t) * du
        return g * (left + right)
    }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float {
        let t = tanhf(sqrt2OverPi * (x + geluCubic * x * x * x))
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * sqrt2OverPi * (1 + 3 * geluCubic * x * x))
    }
}

struct GELUErfKernel: UnaryKernel {
    @inline(__always) func vector(_ x: Vec16) -> Vec16 {
        var y = Vec16()
        for i in 0..<16 { y[i] = scalar(x[i]) }
        return y
    }
    @inline(__always) func scalar(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.7071067811865476)) }
}

struct GELUErfBackwardKernel: BinaryKernel {
    @inline(__always) func vector(_ g: Vec16, _ x: Vec16) -> Vec16 {
        var y = Vec16()
        for i in 0..<16 { y[i] = scalar(g[i], x[i]) }
        return y
    }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float {
        let cdf = 0.5 * (1 + erff(x * 0.7071067811865476))
        let pdf = expf(-0.5 * x * x) * 0.3989422804014327
        return g * (cdf + x * pdf)
    }
}

struct ReLUKernel: UnaryKernel {
    @inline(__always) func vector(_ x: Vec16) -> Vec16 { x.replacing(with: 0, where: x .< 0) }
    @inline(__always) func scalar(_ x: Float) -> Float { x < 0 ? 0 : x }
}

struct ReLUBackwardKernel: BinaryKernel {
    @inline(__always) func vector(_ g: Vec16, _ x: Vec16) -> Vec16 { g.replacing(with: 0, where: x .<= 0) }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
}

extension Tensor {
    /// x σ(x) (a.k.a. swish).
    public func silu() -> Tensor {
        let out = mapUnary(self, SiLUKernel())
        if Autograd.records(self) {
            let x = self
            out.record("silu", [x]) { g in [mapBinary(g, x, SiLUBackwardKernel())] }
        }
        return out
    }

    /// Gaussian error linear unit, exact or tanh-approximated.
    public func gelu(_ approximation: GELUApproximation) -> Tensor {
        let out: Tensor
        switch approximation {
        case .none: out = mapUnary(self, GELUErfKernel())
        case .tanh: out = mapUnary(self, GELUTanhKernel())
        }
        if Autograd.records(self) {
            let x = self
            out.record("gelu", [x]) { g in
                switch approximation {
                case .none: return [mapBinary(g, x, GELUErfBackwardKernel())]
                case .tanh: return [mapBinary(g, x, GELUTanhBackwardKernel())]
                }
            }
        }
        return out
    }

    /// max(x, 0).
    public func relu() -> Tensor {
        let out = mapUnary(self, ReLUKernel())
        if Autograd.records(self) {
            let x = self
            out.record("relu", [x]) { g in [mapBinary(g, x, ReLUBackwardKernel())] }
        }
        return out
    }

    /// silu(gate) * up in one pass (the Llama MLP's gated activation). gate and up have equal shapes.
    public static func swiglu(gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape, "swiglu: gate \(gate.shape) and up \(up.shape) differ")
        let a = gate.contiguousData, b = up.contiguousData
        let ap = UnsafePointer(a.pointer), bp = UnsafePointer(b.pointer)
        let product = { [shape = gate.shape] () -> Tensor in
            let out = Tensor(uninitialized: shape)
            let op = out.pointer
            Parallel.forRanges(out.count, minimum: minimumElementwiseWork) { r in
                var i = r.lowerBound
                while i + 16 <= r.upperBound {
                    let x = load16(ap + i)
                    store16(op + i, x * sigmoid16(x) * load16(bp + i))
                    i += 16
                }
                while i < r.upperBound { op[i] = ap[i] * sigmoidScalar(ap[i]) * bp[i]; i += 1 }
            }
            withExtendedLifetime((a, b)) {}
            return out
        }
        let out = product()
        if Autograd.records(gate, up) {
            // The backward below keeps gate and up: the product is rebuilt from them when needed.
            out.recipe = ActivationRecipe(product)
            out.record("swiglu", [gate, up]) { g in
                let g = g.contiguousData
                let gp = UnsafePointer(g.pointer)
                let dGate = Tensor(uninitialized: gate.shape), dUp = Tensor(uninitialized: up.shape)
                let dgp = dGate.pointer, dup = dUp.pointer
                Parallel.forRanges(g.count, minimum: minimumElementwiseWork) { r in
                    var i = r.lowerBound
                    while i + 16 <= r.upperBound {
                        let x = load16(ap + i), s = sigmoid16(x), gv = load16(gp + i)
                        store16(dup + i, gv * x * s)
                        store16(dgp + i, gv * load16(bp + i) * s * (1 + x * (1 - s)))
                        i += 16
                    }
                    while i < r.upperBound {
                        let x = ap[i], s = sigmoidScalar(x)
                        dup[i] = gp[i] * x * s
                        dgp[i] = gp[i] * bp[i] * s * (1 + x * (1 - s))
                        i += 1
                    }
                }
                withExtendedLifetime((a, b)) {}
                return [gate.requiresGrad ? dGate : nil, up.requiresGrad ? dUp : nil]
            }
        }
        return out
    }
}
