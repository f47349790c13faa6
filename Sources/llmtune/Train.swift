// `llmtune train`: LoRA / QLoRA fine-tuning from the command line or a YAML/JSON config file.
import ArgumentParser
import Foundation
import LLMTuneAdapters
import LLMTuneData
import LLMTuneHub
import LLMTuneModels
import LLMTuneTraining

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a model with LoRA (QLoRA when the base is a quantized GGUF).",
        discussion: """
        Every option can also be given in a YAML or JSON config file (`llmtune train config.yaml`), using the \
        option names (`learning-rate: 2e-4` or `learning_rate: 2e-4`); flags override the file.
        The output folder receives the PEFT adapter (adapter_config.json, adapter_model.safetensors), \
        metrics.jsonl, report.html and checkpoints/.
        """)

    @Argument(help: "A YAML or JSON config file with any of the options below.")
    var config: String?

    @Option(name: .shortAndLong, help: "Base model: a pulled name, a .gguf file or a Hugging Face folder. (required)")
    var model: String?
    @Option(help: "Training data: a .jsonl/.json/.csv file or a folder with train/valid/test files. (required)")
    var data: String?
    @Option(help: "Fine-tuning method. Default: lora.")
    var method: String?
    @Option(help: "LoRA rank r. Default: 8.")
    var rank: Int?
    @Option(help: "LoRA alpha (scale = alpha / r). Default: 16.")
    var alpha: Float?
    @Option(help: "Dropout on the LoRA input. Default: 0.")
    var dropout: Float?
    @Option(help: "Comma-separated module names to adapt, or all-linear. Default: q_proj,v_proj.")
    var targets: String?
    @Option(help: "Layer range to adapt, e.g. 20-29 or 5. Default: all layers.")
    var layers: String?
    @Flag(help: "rsLoRA scaling alpha / sqrt(r).")
    var rslora = false
    @Option(help: "LoRA A initialisation: kaiming (PEFT default) or gaussian. Default: kaiming.")
    var initialization: String?
    @Option(help: "Optimizer steps; overrides --epochs. Default: one pass over the data (--epochs 1).")
    var steps: Int?
    @Option(help: "Passes over the training data when --steps is not given. Default: 1.")
    var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch. Default: 4.")
    var batchSize: Int?
    @Option(name: .customLong("gradient-accumulation"), help: "Micro-batches per optimizer step. Default: 1.")
    var gradientAccumulation: Int?
    @Option(name: .customLong("seq-len"), help: "Maximum tokens per sequence (longer records are truncated). Default: 512.")
    var seqLen: Int?
    @Option(name: .customLong("learning-rate"), help: "Peak learning rate. Default: 2e-4.")
    var learningRate: Float?
    @Option(name: .customLong("min-learning-rate-ratio"), help: "Final learning rate as a fraction of the peak. Default: 0.")
    var minLearningRateRatio: Float?
    @Option(help: "Learning-rate schedule after warmup: cosine, linear or constant. Default: cosine.")
    var schedule: String?
    @Option(name: .customLong("warmup-steps"), help: "Linear warmup steps. Default: 0.")
    var warmupSteps: Int?
    @Option(help: "adamw or sgd. Default: adamw.")
    var optimizer: String?
    @Option(name: .customLong("weight-decay"), help: "Decoupled weight decay. Default: 0.")
    var weightDecay: Float?
    @Option(name: .customLong("max-grad-norm"), help: "Global gradient-norm clipping (0: off). Default: 1.")
    var maxGradNorm: Float?
    @Option(help: "Random seed (data order, initialisation, dropout). Default: 0.")
    var seed: UInt64?
    @Option(name: .shortAndLong, help: "Output folder. Default: runs/<model>-lora.")
    var output: String?
    @Flag(help: "Continue from the latest checkpoint in the output folder (bit-for-bit).")
    var resume = false
    @Flag(help: "Train on an fp32 copy of a quantized base (more memory). Default: the base stays quantized (QLoRA).")
    var dequantize = false
    @Flag(name: .customLong("train-on-prompt"), help: "Also compute the loss on prompts / user turns.")
    var trainOnPrompt = false
    @Flag(help: "Pack short examples together into full-length rows.")
    var pack = false
    @Flag(name: .customLong("skip-bad-records"), help: "Skip and count malformed records instead of stopping.")
    var skipBadRecords = false
    @Option(name: .customLong("validation-fraction"), help: "Held-out fraction when only one data file is given. Default: 0.1.")
    var validationFraction: Double?
    @Option(name: .customLong("eval-every"), help: "Validation loss every N steps (0: never). Default: 50.")
    var evalEvery: Int?
    @Option(name: .customLong("eval-batches"), help: "Validation batches per evaluation (0: all). Default: 0.")
    var evalBatches: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (0: only at the end). Default: 100.")
    var checkpointEvery: Int?
    @Option(name: .customLong("early-stopping-patience"), help: "Stop after N evaluations without improvement. Default: off.")
    var earlyStoppingPatience: Int?
    @Flag(name: .customLong("gradient-checkpointing"), help: "Recompute activations in backward (less memory, ~30% slower).")
    var gradientCheckpointing = false
    @Option(name: .customLong("chat-template"), help: "Built-in chat template for chat data when the model's is not recognised.")
    var chatTemplate: String?
    @Option(name: .customLong("init-adapter"),
            help: "Start from this PEFT adapter folder (its A/B values, r, alpha, targets) instead of a fresh LoRA.")
    var initAdapter: String?
    @Option(name: .customLong("dump-batches"),
            help: ArgumentHelp("Write every training and validation batch (token ids) as JSONL to this file.",
                               visibility: .hidden))
    var dumpBatches: String?

    /// The flags as settings (flags not given are nil, so a config file's values stay).
    var flagSettings: TrainSettings {
        TrainSettings(model: model, data: data, method: method, rank: rank, alpha: alpha, dropout: dropout,
                      targets: targets, layers: layers, rslora: rslora ? true : nil, initialization: initialization,
                      steps: steps, epochs: epochs, batchSize: batchSize, gradientAccumulation: gradientAccumulation,
                      seqLen: seqLen, learningRate: learningRate, minLearningRateRatio: minLearningRateRatio,
                      schedule: schedule, warmupSteps: warmupSteps, optimizer: optimizer, weightDecay: weightDecay,
                      maxGradNorm: maxGradNorm, seed: seed, output: output, resume: resume ? true : nil,
                      dequantize: dequantize ? true : nil, trainOnPrompt: trainOnPrompt ? true : nil,
                      pack: pack ? true : nil, skipBadRecords: skipBadRecords ? true : nil,
                      validationFraction: validationFraction, evalEvery: evalEvery, evalBatches: evalBatches,
                      checkpointEvery: checkpointEvery, earlyStoppingPatience: earlyStoppingPatience,
                      gradientCheckpointing: gradientCheckpointing ? true : nil, chatTemplate: chatTemplate,
                      initAdapter: initAdapter, dumpBatches: dumpBatches)
    }

    func run() throws {
        var settings = flagSettings
        if let config { settings = try TrainSettings.load(config).overridden(by: settings) }
        let job = try TrainingJob(settings: settings)
        try job.run(log: { printError($0) })
    }
}
