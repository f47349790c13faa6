// What the trainer needs from the rest of the system, as three small protocols, so that it depends on no
// adapter or data-set type: whatever holds the trainable parameters (a LoRA adapter set), whatever yields
// batches (a batch iterator over a tokenized data set), and a model that can recompute its activations.
import Foundation
import LLMTuneModels
import LLMTuneTensor

/// One micro-batch of token ids: `inputs` and `targets` are (B, T) row-major; a target of -100 counts nothing.
public struct TrainingBatch: Sendable, Equatable {
    /// (B, T) input ids.
    public var inputs: [Int]
    /// (B, T) next-token targets, -100 where no loss is taken (prompt, padding).
    public var targets: [Int]
    /// B.
    public var batchSize: Int
    /// T.
    public var length: Int
    /// Real (non-padding) input tokens, for throughput figures; B·T unless given.
    public var tokenCount: Int

    public init(inputs: [Int], targets: [Int], batchSize: Int, length: Int, tokenCount: Int? = nil) {
        self.inputs = inputs
        self.targets = targets
        self.batchSize = batchSize
        self.length = length
        self.tokenCount = tokenCount ?? batchSize * length
    }

    /// Targets that count in the loss (not -100).
    public var targetCount: Int { targets.reduce(0) { $0 + ($1 == TrainingBatch.ignoredTarget ? 0 : 1) } }

    /// The target value that takes no loss.
    public static let ignoredTarget = -100
}

/// The parameters being trained (e.g. every LoRA A and B matrix), with what the trainer must tell them.
public protocol TrainableParameters {
    /// Every trainable tensor with a unique, stable name, in a fixed order. Each is a contiguous leaf with
    /// `requiresGrad` set; the trainer updates their storage in place and reads `grad`.
    var parameters: [(name: String, tensor: Tensor)] { get }
    /// Training mode (dropout active) or evaluation mode (dropout off).
    func setTraining(_ training: Bool)
    /// Called before each optimizer step (and before each evaluation) so that random parts such as dropout masks
    /// are a function of (seed, step) only: a resumed run then draws the same masks as an uninterrupted one.
    func prepareStep(seed: UInt64, step: Int)
    /// Writes the parameters in their user-facing format (e.g. a PEFT adapter folder) into `directory`, which
    /// exists and is empty.
    func save(to directory: URL) throws
}

/// An endless, resumable stream of micro-batches in a seeded order.
public protocol BatchSource {
    /// The next micro-batch (a new epoch starts, reshuffled, after the last one).
    mutating func nextBatch() throws -> TrainingBatch
    /// Epochs started so far (0 during the first).
    var epoch: Int { get }
    /// Micro-batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Everything needed to continue the stream exactly where it is (order, position, random state).
    func saveState() throws -> Data
    /// Continues from a state made by `saveState()`.
    mutating func restoreState(_ state: Data) throws
}

/// A model that can recompute its blocks' activations in the backward pass (`Tensor.checkpoint`).
public protocol GradientCheckpointingModel: AnyObject {
    var gradientCheckpointing: Bool { get set }
}

/// A fixed list of batches served in order, over and over (evaluation sets, tests).
public struct FixedBatches: BatchSource {
    public let batches: [TrainingBatch]
    public private(set) var position = 0

    public init(_ batches: [TrainingBatch]) {
        precondition(!batches.isEmpty, "FixedBatches needs at least one batch")
        self.batches = batches
    }

    public mutating func nextBatch() throws -> TrainingBatch {
        defer { position += 1 }
        return batches[position % batches.count]
    }

    public var epoch: Int { position / batches.count }
    public var batchesPerEpoch: Int { batches.count }

    public func saveState() throws -> Data { Data(String(position).utf8) }

    public mutating func restoreState(_ state: Data) throws {
        guard let p = Int(String(decoding: state, as: UTF8.self)), p >= 0 else {
            throw TrainingError.invalidCheckpoint(path: "batch source state", problem: "not a FixedBatches position")
        }
        position = p
    }
}
