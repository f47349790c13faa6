// The two adapters between the trainer's protocols and the concrete types of LLMTuneAdapters (AdapterSet) and
// LLMTuneData (BatchIterator, Batch).
import Foundation
import LLMTuneAdapters
import LLMTuneData
import LLMTuneModels
import LLMTuneTensor

/// A LoRA adapter set as the trainer's parameters; `save` writes the PEFT folder for `baseModel`.
public struct TrainableAdapters: TrainableParameters {
    public let adapters: AdapterSet
    /// `base_model_name_or_path` written into adapter_config.json.
    public let baseModel: String

    public init(_ adapters: AdapterSet, baseModel: String) {
        self.adapters = adapters
        self.baseModel = baseModel
    }

    public var parameters: [(name: String, tensor: Tensor)] { adapters.parameters }
    public func setTraining(_ training: Bool) { adapters.setTraining(training) }
    public func prepareStep(seed: UInt64, step: Int) { adapters.reseedDropout(seed: seed, step: step) }
    public func save(to directory: URL) throws { try adapters.save(to: directory, baseModel: baseModel) }
}

extension TrainingBatch {
    /// The trainer's view of a data batch.
    public init(_ batch: Batch) {
        self.init(inputs: batch.inputs, targets: batch.targets, batchSize: batch.batchSize, length: batch.length,
                  tokenCount: batch.tokenCount)
    }
}

extension BatchIterator: BatchSource {
    public mutating func nextBatch() throws -> TrainingBatch { TrainingBatch(next()) }

    public func saveState() throws -> Data { try JSONEncoder().encode(state) }

    public mutating func restoreState(_ data: Data) throws {
        let saved = try JSONDecoder().decode(State.self, from: data)
        try validate(saved)   // other data or settings: a thrown error, not restore's precondition
        restore(saved)
    }
}

/// LlamaModel recomputes its blocks in backward when `gradientCheckpointing` is set.
extension LlamaModel: GradientCheckpointingModel {}
