// Everything that can stop a training run, each saying what happened, where, and what to do.
import Foundation

/// A training run could not start, continue or finish.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A value of `TrainingArguments` is out of range (`name` is its config-file key).
    case invalidArgument(name: String, problem: String)
    /// A batch does not fit its own sizes, the model, or the run.
    case invalidBatch(step: Int, problem: String)
    /// The loss became NaN or infinite; no parameter was updated at this step.
    case nonFiniteLoss(step: Int, microBatch: Int, value: Float, lastCheckpoint: String?)
    /// A gradient became NaN or infinite; no parameter was updated at this step.
    case nonFiniteGradient(step: Int, parameter: String, lastCheckpoint: String?)
    /// Nothing to train.
    case noTrainableParameters
    /// A trainable parameter is not a plain contiguous fp32 tensor with `requiresGrad`.
    case invalidParameter(name: String, problem: String)
    /// A checkpoint cannot be read or does not match this run.
    case invalidCheckpoint(path: String, problem: String)
    /// The model cannot do what the arguments ask (e.g. gradient checkpointing).
    case unsupported(String)
    /// Writing an output failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        func keep(_ path: String?) -> String {
            path.map { " The last good checkpoint is \($0); fix the cause (lower the learning rate, check the data) "
                + "and rerun with --resume." } ?? " No checkpoint was written before it; lower the learning rate or "
                + "check the data and start again."
        }
        switch self {
        case let .invalidArgument(name, problem):
            return "Invalid training argument '\(name)': \(problem)."
        case let .invalidBatch(step, problem):
            return "Invalid batch at step \(step): \(problem)."
        case let .nonFiniteLoss(step, micro, value, last):
            return "The loss became \(value) at step \(step) (micro-batch \(micro)); training stopped and the "
                + "parameters were not updated." + keep(last)
        case let .nonFiniteGradient(step, parameter, last):
            return "A gradient of '\(parameter)' became NaN or infinite at step \(step); training stopped and the "
                + "parameters were not updated." + keep(last)
        case .noTrainableParameters:
            return "There are no trainable parameters: check the adapter's target modules."
        case let .invalidParameter(name, problem):
            return "Trainable parameter '\(name)' \(problem)."
        case let .invalidCheckpoint(path, problem):
            return "Cannot resume from checkpoint \(path): \(problem). Delete it to fall back to an older one, or "
                + "start without --resume."
        case let .unsupported(what):
            return what
        case let .writeFailed(path, reason):
            return "Cannot write \(path): \(reason). Check free disk space and permissions."
        }
    }
}
