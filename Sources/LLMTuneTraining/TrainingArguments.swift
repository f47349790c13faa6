// Every knob of a training run in one Codable struct, each field with its default (the style of mlx-swift-lm's
// LoRATrain.Parameters and of Hugging Face TrainingArguments, whose defaults are followed unless noted).
// Config files (YAML/JSON) decode into it; a missing key keeps the default.
import Foundation

/// Which optimizer updates the trainable parameters.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's `torch.optim.AdamW`.
    case adamw
    /// Stochastic gradient descent with optional momentum, PyTorch's `torch.optim.SGD`.
    case sgd
}

/// How the learning rate decays after warmup.
public enum ScheduleKind: String, Codable, Sendable, CaseIterable {
    /// Half a cosine from the peak to the minimum (transformers `get_cosine_schedule_with_warmup`).
    case cosine
    /// A straight line from the peak to the minimum (transformers `get_linear_schedule_with_warmup`).
    case linear
    /// The peak learning rate until the end (transformers `get_constant_schedule_with_warmup`).
    case constant
}

/// The options of one training run. Every field has a default; a config file only names what it changes.
public struct TrainingArguments: Codable, Sendable, Equatable {
    /// Optimizer steps to run; nil (default) derives them from `epochs`: ceil(epochs × batches per epoch /
    /// gradientAccumulation).
    public var steps: Int? = nil
    /// Passes over the training data when `steps` is nil. Default 1.
    public var epochs: Double = 1
    /// Sequences per micro-batch. Default 4. (Read by whoever builds the batches; recorded in the report.)
    public var batchSize: Int = 4
    /// Micro-batches whose gradients are summed into one optimizer step (token-weighted, so that k micro-batches
    /// equal one batch k times larger). Default 1.
    public var gradientAccumulation: Int = 1
    /// Peak learning rate (reached after warmup). Default 1e-4 (2e-4 is common for LoRA).
    public var learningRate: Double = 1e-4
    /// Default `.adamw`.
    public var optimizer: OptimizerKind = .adamw
    /// Decoupled weight decay for AdamW, L2 penalty added to the gradient for SGD. Default 0 (transformers'
    /// Trainer; `torch.optim.AdamW` alone defaults to 0.01).
    public var weightDecay: Double = 0
    /// AdamW's (β1, β2). Default [0.9, 0.999].
    public var betas: [Double] = [0.9, 0.999]
    /// AdamW's ε added to the denominator. Default 1e-8.
    public var eps: Double = 1e-8
    /// SGD momentum (0 = plain SGD). Default 0.
    public var momentum: Double = 0
    /// Nesterov momentum for SGD. Default false.
    public var nesterov: Bool = false
    /// Decay shape after warmup. Default `.cosine`.
    public var schedule: ScheduleKind = .cosine
    /// Steps of linear warmup from 0 to the peak learning rate. Default 0.
    public var warmupSteps: Int = 0
    /// Warmup as a fraction of the total steps, used when `warmupSteps` is 0: ceil(ratio × steps). Default 0.
    public var warmupRatio: Double = 0
    /// The learning rate decays to this fraction of the peak. Default 0.
    public var minLearningRateRatio: Double = 0
    /// Global L2 norm the gradients are clipped to (torch.nn.utils.clip_grad_norm_); nil or <= 0 disables.
    /// Default 1.0.
    public var maxGradNorm: Double? = 1.0
    /// Compute the validation loss every this many steps (and after the last step); 0 disables. Default 50.
    public var evalEvery: Int = 50
    /// Validation batches evaluated each time, taken once at the start (so every evaluation sees the same
    /// ones); nil = one epoch of the validation data. Default nil.
    public var evalBatches: Int? = nil
    /// Stop when the validation loss has not improved for this many evaluations in a row; nil disables.
    /// The best adapter is kept in `best/`. Default nil.
    public var earlyStoppingPatience: Int? = nil
    /// Smallest decrease of the validation loss that counts as an improvement. Default 0.
    public var earlyStoppingMinDelta: Double = 0
    /// Write a resumable checkpoint every this many steps (and after the last step); 0 disables. Default 100.
    public var checkpointEvery: Int = 100
    /// Complete checkpoints kept; older ones are deleted. Default 2.
    public var checkpointsKept: Int = 2
    /// Seed of everything random in the run (dropout masks; data order is the data source's). Default 0.
    public var seed: UInt64 = 0
    /// Print a progress line every this many steps when stderr is not a terminal. Default 1.
    public var logEvery: Int = 1
    /// Recompute activations in the backward pass instead of keeping them (less memory, ~30% more time).
    /// Needs a model that supports it. Default false.
    public var gradientCheckpointing: Bool = false
    /// Where the adapter, checkpoints, `metrics.jsonl` and `report.html` go. Default "adapters".
    public var outputDirectory: String = "adapters"
    /// Continue from the latest complete checkpoint in `outputDirectory/checkpoints`. Default false.
    public var resume: Bool = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, epochs
        case batchSize = "batch_size"
        case gradientAccumulation = "gradient_accumulation"
        case learningRate = "learning_rate"
        case optimizer
        case weightDecay = "weight_decay"
        case betas, eps, momentum, nesterov, schedule
        case warmupSteps = "warmup_steps"
        case warmupRatio = "warmup_ratio"
        case minLearningRateRatio = "min_learning_rate_ratio"
        case maxGradNorm = "max_grad_norm"
        case evalEvery = "eval_every"
        case evalBatches = "eval_batches"
        case earlyStoppingPatience = "early_stopping_patience"
        case earlyStoppingMinDelta = "early_stopping_min_delta"
        case checkpointEvery = "checkpoint_every"
        case checkpointsKept = "checkpoints_kept"
        case seed
        case logEvery = "log_every"
        case gradientCheckpointing = "gradient_checkpointing"
        case outputDirectory = "output_directory"
        case resume
    }

    /// Decodes a config, keeping the default of every key that is absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var a = TrainingArguments()
        func read<T: Decodable>(_ key: CodingKeys, _ field: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { field = v }
        }
        if c.contains(.steps) { a.steps = try c.decodeIfPresent(Int.self, forKey: .steps) }
        try read(.epochs, &a.epochs)
        try read(.batchSize, &a.batchSize)
        try read(.gradientAccumulation, &a.gradientAccumulation)
        try read(.learningRate, &a.learningRate)
        try read(.optimizer, &a.optimizer)
        try read(.weightDecay, &a.weightDecay)
        try read(.betas, &a.betas)
        try read(.eps, &a.eps)
        try read(.momentum, &a.momentum)
        try read(.nesterov, &a.nesterov)
        try read(.schedule, &a.schedule)
        try read(.warmupSteps, &a.warmupSteps)
        try read(.warmupRatio, &a.warmupRatio)
        try read(.minLearningRateRatio, &a.minLearningRateRatio)
        if c.contains(.maxGradNorm) { a.maxGradNorm = try c.decodeIfPresent(Double.self, forKey: .maxGradNorm) }
        try read(.evalEvery, &a.evalEvery)
        if c.contains(.evalBatches) { a.evalBatches = try c.decodeIfPresent(Int.self, forKey: .evalBatches) }
        if c.contains(.earlyStoppingPatience) {
            a.earlyStoppingPatience = try c.decodeIfPresent(Int.self, forKey: .earlyStoppingPatience)
        }
        try read(.earlyStoppingMinDelta, &a.earlyStoppingMinDelta)
        try read(.checkpointEvery, &a.checkpointEvery)
        try read(.checkpointsKept, &a.checkpointsKept)
        try read(.seed, &a.seed)
        try read(.logEvery, &a.logEvery)
        try read(.gradientCheckpointing, &a.gradientCheckpointing)
        try read(.outputDirectory, &a.outputDirectory)
        try read(.resume, &a.resume)
        self = a
    }

    /// Encodes every field, absent optionals as null (so that "no clipping" survives a round trip).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steps, forKey: .steps)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(gradientAccumulation, forKey: .gradientAccumulation)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(betas, forKey: .betas)
        try c.encode(eps, forKey: .eps)
        try c.encode(momentum, forKey: .momentum)
        try c.encode(nesterov, forKey: .nesterov)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(warmupSteps, forKey: .warmupSteps)
        try c.encode(warmupRatio, forKey: .warmupRatio)
        try c.encode(minLearningRateRatio, forKey: .minLearningRateRatio)
        try c.encode(maxGradNorm, forKey: .maxGradNorm)
        try c.encode(evalEvery, forKey: .evalEvery)
        try c.encode(evalBatches, forKey: .evalBatches)
        try c.encode(earlyStoppingPatience, forKey: .earlyStoppingPatience)
        try c.encode(earlyStoppingMinDelta, forKey: .earlyStoppingMinDelta)
        try c.encode(checkpointEvery, forKey: .checkpointEvery)
        try c.encode(checkpointsKept, forKey: .checkpointsKept)
        try c.encode(seed, forKey: .seed)
        try c.encode(logEvery, forKey: .logEvery)
        try c.encode(gradientCheckpointing, forKey: .gradientCheckpointing)
        try c.encode(outputDirectory, forKey: .outputDirectory)
        try c.encode(resume, forKey: .resume)
    }

    /// Checks every value, naming the offending field (its config-file key) and what is allowed.
    public func validate() throws {
        func require(_ ok: Bool, _ key: CodingKeys, _ problem: String) throws {
            if !ok { throw TrainingError.invalidArgument(name: key.rawValue, problem: problem) }
        }
        if let steps { try require(steps > 0, .steps, "must be positive, found \(steps)") }
        try require(epochs > 0 && epochs.isFinite, .epochs, "must be positive, found \(epochs)")
        try require(batchSize > 0, .batchSize, "must be positive, found \(batchSize)")
        try require(gradientAccumulation > 0, .gradientAccumulation, "must be positive, found \(gradientAccumulation)")
        try require(learningRate >= 0 && learningRate.isFinite, .learningRate,
                    "must be a finite number >= 0, found \(learningRate)")
        try require(weightDecay >= 0, .weightDecay, "must be >= 0, found \(weightDecay)")
        try require(betas.count == 2 && betas.allSatisfy { $0 >= 0 && $0 < 1 }, .betas,
                    "must be two numbers in [0, 1), found \(betas)")
        try require(eps > 0, .eps, "must be positive, found \(eps)")
        try require(momentum >= 0 && momentum < 1, .momentum, "must be in [0, 1), found \(momentum)")
        try require(!nesterov || momentum > 0, .nesterov, "needs momentum > 0")
        try require(warmupSteps >= 0, .warmupSteps, "must be >= 0, found \(warmupSteps)")
        try require(warmupRatio >= 0 && warmupRatio < 1, .warmupRatio, "must be in [0, 1), found \(warmupRatio)")
        try require(minLearningRateRatio >= 0 && minLearningRateRatio <= 1, .minLearningRateRatio,
                    "must be in [0, 1], found \(minLearningRateRatio)")
        try require(evalEvery >= 0, .evalEvery, "must be >= 0 (0 disables), found \(evalEvery)")
        if let evalBatches { try require(evalBatches > 0, .evalBatches, "must be positive, found \(evalBatches)") }
        if let p = earlyStoppingPatience {
            try require(p > 0, .earlyStoppingPatience, "must be positive, found \(p)")
            try require(evalEvery > 0, .earlyStoppingPatience, "needs eval_every > 0 (validation losses)")
        }
        try require(checkpointEvery >= 0, .checkpointEvery, "must be >= 0 (0 disables), found \(checkpointEvery)")
        try require(checkpointsKept > 0, .checkpointsKept, "must be positive, found \(checkpointsKept)")
        try require(logEvery > 0, .logEvery, "must be positive, found \(logEvery)")
        try require(!outputDirectory.isEmpty, .outputDirectory, "must not be empty")
    }

    /// Optimizer steps of the run: `steps`, or ceil(epochs × batchesPerEpoch / gradientAccumulation).
    public func totalSteps(batchesPerEpoch: Int) -> Int {
        if let steps { return steps }
        let micro = (epochs * Double(max(batchesPerEpoch, 1))).rounded(.up)
        return max(1, Int((micro / Double(gradientAccumulation)).rounded(.up)))
    }

    /// Warmup steps for a run of `totalSteps`: `warmupSteps`, else ceil(warmupRatio × totalSteps).
    public func resolvedWarmupSteps(totalSteps: Int) -> Int {
        warmupSteps > 0 ? warmupSteps : Int((warmupRatio * Double(totalSteps)).rounded(.up))
    }
}
