// AdamW: Adam (Kingma & Ba 2015) with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight
// Decay Regularization"). The update is PyTorch's torch.optim.AdamW (single-tensor path, amsgrad off), in
// the same order of float operations:
//   p ← p·(1 − lr·λ);  m ← m + (1 − β1)(g − m);  v ← β2·v + (1 − β2)·g²
//   p ← p − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
import Foundation
import LLMTuneTensor

/// Adam with decoupled weight decay; defaults are PyTorch's (β 0.9, 0.999, ε 1e-8, weight decay 0.01).
public final class AdamW: Optimizer {
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    public let weightDecay: Float
    public private(set) var stepCount = 0
    private var m = ParameterBuffers()   // exp_avg
    private var v = ParameterBuffers()   // exp_avg_sq

    public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    public func update(_ parameters: [(name: String, tensor: Tensor)], learningRate: Float) {
        stepCount += 1
        // Scalars as PyTorch computes them: Python floats (double), rounded to float where they meet a tensor.
        let t = Double(stepCount)
        let lr = Double(learningRate)
        let decay = Float(1 - lr * Double(weightDecay))
        let stepSize = Float(lr / (1 - pow(Double(beta1), t)))
        let correction2 = Float((1 - pow(Double(beta2), t)).squareRoot())
        for (name, p) in parameters {
            guard let g = p.contiguousGradient else { continue }
            precondition(p.isContiguous && g.count == p.count, "AdamW: parameter \(name) is not contiguous")
            let mt = m.buffer(name, like: p).tensor, vt = v.buffer(name, like: p).tensor
            adamwKernel(p.pointer, g.pointer, mt.pointer, vt.pointer, p.count, decay: decay,
                        beta1: beta1, beta2: beta2, stepSize: stepSize, correction2: correction2, eps: eps)
        }
    }

    public func state() -> OptimizerState {
        var buffers: [String: [Float]] = [:]
        m.export(suffix: "exp_avg", into: &buffers)
        v.export(suffix: "exp_avg_sq", into: &buffers)
        return OptimizerState(kind: "adamw", stepCount: stepCount, buffers: buffers)
    }

    public func restore(_ state: OptimizerState, parameters: [(name: String, tensor: Tensor)]) throws {
        guard state.kind == "adamw" else {
            throw TrainingError.invalidCheckpoint(path: "optimizer state",
                                                  problem: "written by \(state.kind), this run uses adamw")
        }
        let required = state.stepCount > 0
        try m.load(suffix: "exp_avg", from: state.buffers, parameters: parameters, required: required)
        try v.load(suffix: "exp_avg_sq", from: state.buffers, parameters: parameters, required: required)
        stepCount = state.stepCount
    }
}

/// One AdamW update over n elements (SIMD16 body, scalar tail with the same operation order).
@inline(__always)
func adamwKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                 _ v: UnsafeMutablePointer<Float>, _ n: Int, decay: Float, beta1: Float, beta2: Float,
                 stepSize: Float, correction2: Float, eps: Float) {
    let w1 = 1 - beta1, w2 = 1 - beta2
    typealias V = SIMD16<Float>
    let decayV = V(repeating: decay), w1V = V(repeating: w1), b2V = V(repeating: beta2), w2V = V(repeating: w2)
    let stepV = V(repeating: stepSize), c2V = V(repeating: correction2), epsV = V(repeating: eps)
    var i = 0
    while i + 16 <= n {
        let gi = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
        var pi = UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
        var mi = UnsafeRawPointer(m + i).loadUnaligned(as: V.self)
        var vi = UnsafeRawPointer(v + i).loadUnaligned(as: V.self)
        pi = pi * decayV
        mi = mi + w1V * (gi - mi)
        vi = vi * b2V + w2V * gi * gi
        let denom = vi.squareRoot() / c2V + epsV
        pi = pi - stepV * mi / denom
        UnsafeMutableRawPointer(p + i).storeBytes(of: pi, as: V.self)
        UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: V.self)
        UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: V.self)
        i += 16
    }
    while i < n {
        let gi = g[i]
        p[i] = p[i] * decay
        m[i] = m[i] + w1 * (gi - m[i])
        v[i] = v[i] * beta2 + w2 * gi * gi
        let denom = v[i].squareRoot() / correction2 + eps
        p[i] = p[i] - stepSize * m[i] / denom
        i += 1
    }
}
