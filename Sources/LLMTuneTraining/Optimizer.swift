// The optimizer interface and the state shared by every optimizer: a step counter and, per parameter, named
// fp32 buffers (AdamW's exp_avg / exp_avg_sq, SGD's momentum_buffer), saved and restored exactly.
import Foundation
import LLMTuneTensor

/// Updates parameters in place from their accumulated gradients.
public protocol Optimizer: AnyObject {
    /// Updates taken so far (PyTorch's `state['step']`).
    var stepCount: Int { get }
    /// One update of every parameter that has a gradient, at learning rate `learningRate`.
    func update(_ parameters: [(name: String, tensor: Tensor)], learningRate: Float)
    /// The complete state: the step count and every buffer, keyed "<parameter>.<buffer>".
    func state() -> OptimizerState
    /// Replaces the state with one from `state()`. Throws when a buffer is missing or has the wrong size.
    func restore(_ state: OptimizerState, parameters: [(name: String, tensor: Tensor)]) throws
}

/// Everything an optimizer keeps between steps.
public struct OptimizerState {
    /// Which optimizer wrote it ("adamw" or "sgd").
    public var kind: String
    public var stepCount: Int
    /// Buffers keyed "<parameter name>.<buffer name>", each as long as its parameter.
    public var buffers: [String: [Float]]

    public init(kind: String, stepCount: Int, buffers: [String: [Float]]) {
        self.kind = kind
        self.stepCount = stepCount
        self.buffers = buffers
    }
}

/// Per-parameter buffers of one kind, allocated on first use.
struct ParameterBuffers {
    private(set) var tensors: [String: Tensor] = [:]

    /// The buffer of `name`, created as zeros shaped like `like` when missing; `created` says it was new.
    mutating func buffer(_ name: String, like parameter: Tensor) -> (tensor: Tensor, created: Bool) {
        if let t = tensors[name] { return (t, false) }
        let t = Tensor(zeros: [parameter.count])
        tensors[name] = t
        return (t, true)
    }

    func export(suffix: String, into buffers: inout [String: [Float]]) {
        for (name, t) in tensors { buffers[name + "." + suffix] = t.toArray() }
    }

    /// Loads every parameter's buffer from `buffers`; parameters without one start from zero again.
    mutating func load(suffix: String, from buffers: [String: [Float]],
                       parameters: [(name: String, tensor: Tensor)], required: Bool) throws {
        tensors = [:]
        for (name, p) in parameters {
            guard let values = buffers[name + "." + suffix] else {
                if required {
                    throw TrainingError.invalidCheckpoint(path: "optimizer state",
                                                          problem: "no '\(suffix)' buffer for parameter '\(name)'")
                }
                continue
            }
            guard values.count == p.count else {
                throw TrainingError.invalidCheckpoint(path: "optimizer state",
                    problem: "'\(name).\(suffix)' has \(values.count) values, the parameter has \(p.count)")
            }
            tensors[name] = Tensor(shape: [values.count], data: values)
        }
    }
}

extension Tensor {
    /// The gradient as a contiguous tensor (nil when none was accumulated).
    var contiguousGradient: Tensor? {
        guard let g = grad else { return nil }
        return g.isContiguous ? g : Autograd.noGrad { g.contiguous() }
    }
}

/// Builds the optimizer the arguments name.
public func makeOptimizer(_ arguments: TrainingArguments) -> Optimizer {
    switch arguments.optimizer {
    case .adamw:
        return AdamW(beta1: Float(arguments.betas[0]), beta2: Float(arguments.betas[1]), eps: Float(arguments.eps),
                     weightDecay: Float(arguments.weightDecay))
    case .sgd:
        return SGD(momentum: Float(arguments.momentum), weightDecay: Float(arguments.weightDecay),
                   nesterov: arguments.nesterov)
    }
}
