// Turns resolved `train` settings into a run: model, data, LoRA adapters, trainer. Shared by `llmtune train`
// and `llmtune quickstart`.
import Foundation
import LLMTuneAdapters
import LLMTuneData
import LLMTuneHub
import LLMTuneModels
import LLMTuneTokenizers
import LLMTuneTraining

struct TrainingJob {
    let settings: TrainSettings

    init(settings: TrainSettings) throws {
        guard settings.model != nil else { throw ConfigError.missing("model", "--model M (a pulled name, .gguf or folder)") }
        guard settings.data != nil else { throw ConfigError.missing("data", "--data PATH (.jsonl/.json/.csv or folder)") }
        let method = settings.method ?? "lora"
        guard method == "lora" else {
            throw ConfigError.invalidValue("method", method, "supported methods: lora (QLoRA = lora on a quantized GGUF)")
        }
        self.settings = settings
    }

    var modelName: String { settings.model ?? "" }
    var outputDirectory: String {
        settings.output ?? "runs/" + URL(fileURLWithPath: modelName).deletingPathExtension().lastPathComponent + "-lora"
    }

    var loraConfiguration: LoRAConfiguration {
        get throws {
            var c = LoRAConfiguration()
            c.rank = settings.rank ?? c.rank
            c.alpha = settings.alpha ?? c.alpha
            c.dropout = settings.dropout ?? c.dropout
            if let t = settings.targets {
                c.targets = t.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            if let l = settings.layers { c.layers = try Self.parseLayers(l) }
            c.useRSLoRA = settings.rslora ?? false
            if let i = settings.initialization {
                switch i {
                case "kaiming", "kaiming-uniform", "default": c.initialization = .kaimingUniform
                case "gaussian": c.initialization = .gaussian
                default: throw ConfigError.invalidValue("initialization", i, "use kaiming or gaussian")
                }
            }
            c.seed = settings.seed ?? 0
            return c
        }
    }

    var datasetOptions: DatasetOptions {
        var o = DatasetOptions()
        o.trainOnPrompt = settings.trainOnPrompt ?? false
        o.maxLength = settings.seqLen ?? 512
        o.validationFraction = settings.validationFraction ?? 0.1
        o.seed = settings.seed ?? 0
        o.chatTemplate = settings.chatTemplate
        o.skipBadRecords = settings.skipBadRecords ?? false
        return o
    }

    var trainingArguments: TrainingArguments {
        get throws {
            var a = TrainingArguments()
            a.steps = settings.steps
            a.epochs = Double(settings.epochs ?? 1)
            a.batchSize = settings.batchSize ?? 4
            a.gradientAccumulation = settings.gradientAccumulation ?? 1
            a.learningRate = Double(settings.learningRate ?? 2e-4)
            a.minLearningRateRatio = Double(settings.minLearningRateRatio ?? 0)
            if let s = settings.schedule {
                guard let kind = ScheduleKind(rawValue: s) else {
                    throw ConfigError.invalidValue("schedule", s, "use cosine, linear or constant")
                }
                a.schedule = kind
            }
            a.warmupSteps = settings.warmupSteps ?? 0
            if let o = settings.optimizer {
                guard let kind = OptimizerKind(rawValue: o) else {
                    throw ConfigError.invalidValue("optimizer", o, "use adamw or sgd")
                }
                a.optimizer = kind
            }
            a.weightDecay = Double(settings.weightDecay ?? 0)
            a.maxGradNorm = Double(settings.maxGradNorm ?? 1)
            a.seed = settings.seed ?? 0
            a.evalEvery = settings.evalEvery ?? 50
            if let e = settings.evalBatches, e > 0 { a.evalBatches = e }
            a.checkpointEvery = settings.checkpointEvery ?? 100
            a.earlyStoppingPatience = settings.earlyStoppingPatience
            a.gradientCheckpointing = settings.gradientCheckpointing ?? false
            a.outputDirectory = outputDirectory
            a.resume = settings.resume ?? false
            return a
        }
    }

    /// A fresh LoRA set from `fresh`, or, with `--init-adapter`, the PEFT adapter of that folder (its values,
    /// r, alpha and targets), trainable. Rank/alpha/targets/layers/rsLoRA/initialisation given as well must agree
    /// with the file; a dropout given replaces the file's.
    func makeAdapters(model: LanguageModel, fresh: LoRAConfiguration) throws -> AdapterSet {
        guard let directory = settings.initAdapter else { return try AdapterSet.apply(to: model, configuration: fresh) }
        let set = try AdapterSet.load(from: URL(fileURLWithPath: directory), into: model)
        let file = set.configuration
        func conflict(_ key: String, _ given: String, _ found: String) -> ConfigError {
            .invalidValue(key, given, "--init-adapter \(directory) has \(key) \(found); drop --\(key) or make it match")
        }
        if let r = settings.rank, r != file.rank { throw conflict("rank", "\(r)", "\(file.rank)") }
        if let a = settings.alpha, a != file.alpha { throw conflict("alpha", "\(a)", "\(file.alpha)") }
        if let t = settings.targets {
            let given = Set(t.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            let adapted = Set(set.layers.map { String($0.path.split(separator: ".").last ?? "") })
            let linear = Set(model.linearLayers.filter { !$0.path.hasSuffix("lm_head") }
                .map { String($0.path.split(separator: ".").last ?? "") })
            let same = given == Set(file.targets) || given == adapted
                || (given == ["all-linear"] && (file.targetsAllLinear || adapted == linear))
            if !same { throw conflict("targets", t, adapted.sorted().joined(separator: ",")) }
        }
        if let l = settings.layers, try Self.parseLayers(l) != file.layers {
            throw conflict("layers", l, file.layers.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "all")
        }
        if let rs = settings.rslora, rs != file.useRSLoRA { throw conflict("rslora", "\(rs)", "\(file.useRSLoRA)") }
        if let i = settings.initialization {
            throw conflict("initialization", i, "its trained values (no initialisation is drawn)")
        }
        if let d = settings.dropout {
            guard d >= 0, d < 1 else { throw ConfigError.invalidValue("dropout", "\(d)", "use a value in [0, 1)") }
            set.configuration.dropout = d
            for l in set.layers { l.dropout = d }
        }
        set.configuration.seed = fresh.seed
        return set
    }

    /// "3-7" or "5" (inclusive layer indices).
    static func parseLayers(_ text: String) throws -> ClosedRange<Int> {
        let parts = text.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        switch parts.count {
        case 1: if let a = parts[0], a >= 0 { return a...a }
        case 2: if let a = parts[0], let b = parts[1], a >= 0, a <= b { return a...b }
        default: break
        }
        throw ConfigError.invalidValue("layers", text, "write a range such as 20-29, or one layer such as 5")
    }

    /// Loads everything (the model unless `preloaded` is given) and trains. `log` receives the set-up lines;
    /// progress goes to stderr. Returns the run's result and the trained adapters, still applied to the model.
    @discardableResult
    func run(preloaded: LoadedModel? = nil, log: (String) -> Void) throws -> (TrainingResult, AdapterSet) {
        let lora = try loraConfiguration
        let arguments = try trainingArguments
        let options = datasetOptions
        let loaded = try preloaded ?? ModelRegistry.load(ModelStore().resolve(modelName),
                                                         options: LoadOptions(dequantize: settings.dequantize ?? false))
        log("model      \(modelName) (\(loaded.model.architecture), \(loaded.model.layerCount) layers)"
            + ((settings.dequantize ?? false) ? ", fp32 copy" : ", weights as stored"))

        let splits = try DatasetLoader.load(URL(fileURLWithPath: settings.data ?? ""), tokenizer: loaded.tokenizer,
                                            options: options)
        log(splits.report.summary)
        guard !splits.train.isEmpty else {
            throw ConfigError.invalidValue("data", settings.data ?? "", "no training examples are left after filtering")
        }
        let adapters = try makeAdapters(model: loaded.model, fresh: lora)
        let trainable = adapters.parameters.reduce(0) { $0 + $1.tensor.count }
        let used = adapters.configuration
        log("adapters   LoRA r=\(used.rank) alpha=\(used.alpha) on \(adapters.layers.count) layers "
            + "(\(used.targets.joined(separator: ","))), \(trainable) trainable parameters"
            + (settings.initAdapter.map { ", initialised from \($0)" } ?? ""))

        let pad = DatasetLoader.paddingTokenId(for: loaded.tokenizer)
        let data = BatchIterator(examples: splits.train, batchSize: arguments.batchSize, maxLength: options.maxLength,
                                 padTokenId: pad, seed: arguments.seed, pack: settings.pack ?? false)
        var validation: FixedBatches?
        if !splits.validation.isEmpty && arguments.evalEvery > 0 {
            let batches = evaluationBatches(splits.validation, batchSize: arguments.batchSize,
                                            maxLength: options.maxLength, padTokenId: pad)
            validation = FixedBatches(batches.map(TrainingBatch.init))
        }
        var source: any BatchSource = data
        if let path = settings.dumpBatches {
            let dump = try BatchDump(path: path, wrapping: data)
            try validation?.batches.forEach { try dump.file.write($0, split: "validation") }
            source = dump
            log("batches    \(path) (every batch drawn, as token ids)")
        }
        log("output     \(arguments.outputDirectory)")
        let printer = ProgressPrinter()
        let result = try Trainer.train(model: loaded.model, parameters: TrainableAdapters(adapters, baseModel: modelName),
                                       data: source, validation: validation, arguments: arguments,
                                       callback: printer.handle)
        log(String(format: "done       %d steps, %.0f tokens/s, %.0f s, peak memory %.0f MB%@", result.steps,
                   result.tokensPerSecond, result.wallSeconds, Double(result.peakMemoryBytes) / 1e6,
                   result.stopReason.map { " (\($0))" as NSString } ?? "" as NSString))
        log("adapter    \(arguments.outputDirectory) (PEFT); report \(arguments.outputDirectory)/report.html")
        return (result, adapters)
    }
}

/// Hidden `--dump-batches FILE`: one JSON line per batch, {"split": "validation" | "train", "batch": n (train only, 1-based),
/// "batch_size": B, "length": T, "inputs": [B·T ids], "targets": [B·T ids, -100 = no loss]}. The validation
/// batches come first; then every training micro-batch in the order the trainer draws it. Used by
/// tools/reference/peft_train_parity.py to replay LLMTune's exact data order in PyTorch.
final class BatchDumpFile {
    let handle: FileHandle
    let path: String
    var trainBatches = 0

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw ConfigError.invalidValue("dump-batches", path, "the file cannot be created (does its folder exist?)")
        }
        handle = h
        self.path = path
    }

    deinit { try? handle.close() }

    func write(_ b: TrainingBatch, split: String) throws {
        var line = "{\"split\":\"\(split)\","
        if split == "train" {
            trainBatches += 1
            line += "\"batch\":\(trainBatches),"
        }
        line += "\"batch_size\":\(b.batchSize),\"length\":\(b.length),\"inputs\":["
        line += b.inputs.map(String.init).joined(separator: ",") + "],\"targets\":["
        line += b.targets.map(String.init).joined(separator: ",") + "]}\n"
        do {
            try handle.write(contentsOf: Data(line.utf8))
        } catch {
            throw ConfigError.invalidValue("dump-batches", path, "writing failed: \(error)")
        }
    }
}

/// A batch source that writes each batch it hands out to a `BatchDumpFile`.
struct BatchDump: BatchSource {
    var inner: any BatchSource
    let file: BatchDumpFile

    init(path: String, wrapping inner: any BatchSource) throws {
        self.inner = inner
        file = try BatchDumpFile(path: path)
    }

    mutating func nextBatch() throws -> TrainingBatch {
        let b = try inner.nextBatch()
        try file.write(b, split: "train")
        return b
    }

    var epoch: Int { inner.epoch }
    var batchesPerEpoch: Int { inner.batchesPerEpoch }
    func saveState() throws -> Data { try inner.saveState() }
    mutating func restoreState(_ state: Data) throws { try inner.restoreState(state) }
}
