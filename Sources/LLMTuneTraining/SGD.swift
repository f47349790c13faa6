// Stochastic gradient descent with momentum (Polyak 1964; Sutskever et al. 2013 for Nesterov), PyTorch's
// torch.optim.SGD with dampening 0:
//   g ← g + λ·p;  b ← g (first step) or μ·b + g;  d ← nesterov ? g + μ·b : b;  p ← p − lr·d
import Foundation
import LLMTuneTensor

/// SGD with optional momentum, Nesterov momentum and L2 weight decay (PyTorch semantics, dampening 0).
public final class SGD: Optimizer {
    public let momentum: Float
    public let weightDecay: Float
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private var buffers = ParameterBuffers()   // momentum_buffer

    public init(momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func update(_ parameters: [(name: String, tensor: Tensor)], learningRate: Float) {
        stepCount += 1
        for (name, p) in parameters {
            guard let g = p.contiguousGradient else { continue }
            precondition(p.isContiguous && g.count == p.count, "SGD: parameter \(name) is not contiguous")
            let pp = p.pointer, gp = UnsafePointer(g.pointer), n = p.count
            if momentum == 0 {
                sgdKernel(pp, gp, nil, n, learningRate: learningRate, weightDecay: weightDecay, momentum: 0,
                          first: false, nesterov: false)
                continue
            }
            let (b, created) = buffers.buffer(name, like: p)
            sgdKernel(pp, gp, b.pointer, n, learningRate: learningRate, weightDecay: weightDecay,
                      momentum: momentum, first: created, nesterov: nesterov)
        }
    }

    public func state() -> OptimizerState {
        var out: [String: [Float]] = [:]
        buffers.export(suffix: "momentum_buffer", into: &out)
        return OptimizerState(kind: "sgd", stepCount: stepCount, buffers: out)
    }

    public func restore(_ state: OptimizerState, parameters: [(name: String, tensor: Tensor)]) throws {
        guard state.kind == "sgd" else {
            throw TrainingError.invalidCheckpoint(path: "optimizer state",
                                                  problem: "written by \(state.kind), this run uses sgd")
        }
        try buffers.load(suffix: "momentum_buffer", from: state.buffers, parameters: parameters,
                         required: momentum > 0 && state.stepCount > 0)
        stepCount = state.stepCount
    }
}

/// One SGD update over n elements; `b` is the momentum buffer (nil without momentum), `first` says it is new.
@inline(__always)
func sgdKernel(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ b: UnsafeMutablePointer<Float>?,
               _ n: Int, learningRate lr: Float, weightDecay: Float, momentum: Float, first: Bool, nesterov: Bool) {
    typealias V = SIMD16<Float>
    let lrV = V(repeating: lr), wdV = V(repeating: weightDecay), muV = V(repeating: momentum)
    let decays = weightDecay != 0
    var i = 0
    while i + 16 <= n {
        var gi = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
        let pi = UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
        if decays { gi = gi + wdV * pi }
        if let b {
            var bi = first ? gi : UnsafeRawPointer(b + i).loadUnaligned(as: V.self) * muV + gi
            UnsafeMutableRawPointer(b + i).storeBytes(of: bi, as: V.self)
            if nesterov { bi = gi + muV * bi }
            gi = bi
        }
        UnsafeMutableRawPointer(p + i).storeBytes(of: pi - lrV * gi, as: V.self)
        i += 16
    }
    while i < n {
        var gi = g[i]
        if decays { gi = gi + weightDecay * p[i] }
        if let b {
            var bi = first ? gi : b[i] * momentum + gi
            b[i] = bi
            if nesterov { bi = gi + momentum * bi }
            gi = bi
        }
        p[i] = p[i] - lr * gi
        i += 1
    }
}
