// The training loop: next-token cross-entropy on a causal language model, token-weighted gradient accumulation,
// global-norm clipping, a scheduled optimizer step; validation, early stopping, checkpoints and resumption,
// progress events, metrics.jsonl and report.html. A plain function of (model, parameters, data, arguments,
// callback) as in mlx-lm's tuner/trainer.py and mlx-swift-lm's LoRATrain; loss masking follows transformers
// (targets of -100 are ignored; accumulation weights micro-batches by their target counts).
import Foundation
import LLMTuneModels
import LLMTuneTensor

/// What a finished run reports.
public struct TrainingResult: Sendable {
    /// Optimizer steps completed (resumed steps included).
    public var steps: Int
    /// Steps the run was set up for.
    public var totalSteps: Int
    public var history: TrainingHistory
    /// Training loss of every step, in order.
    public var losses: [Double] { history.losses }
    public var bestValidationLoss: Double?
    public var bestStep: Int?
    /// Input tokens processed (real tokens, padding excluded when the batches say so).
    public var tokens: Int
    /// Wall time of the whole run, resumed parts included.
    public var wallSeconds: Double
    /// tokens / wallSeconds.
    public var tokensPerSecond: Double
    /// Peak resident memory of the process, in bytes.
    public var peakMemoryBytes: Int
    /// Why the run ended before `totalSteps` ("early stopping", "stopped by callback"), nil when it completed.
    public var stopReason: String?
    public var outputDirectory: URL
}

/// Trains parameters of a language model.
public enum Trainer {
    /// Mean next-token cross-entropy of `model` on `batch` (over targets that are not -100): (B, T) tokens ->
    /// logits (B, T, V) -> (B·T, V) -> scalar. Recorded for autograd unless called under `Autograd.noGrad`.
    public static func loss(model: LanguageModel, batch: TrainingBatch) -> Tensor {
        // Fused output projection + cross-entropy: never holds the whole (B·T, V) logits or their gradient.
        if let m = model as? OutputHeadModel, let head = m.outputWeight {
            let h = m.hiddenStates(tokens: batch.inputs, batch: batch.batchSize)   // (B, T, C)
            return h.reshaped([batch.batchSize * batch.length, head.inFeatures])    // (B·T, C)
                .linearCrossEntropy(weight: head, targets: batch.targets, ignoreIndex: TrainingBatch.ignoredTarget)
        }
        let logits = model.forward(tokens: batch.inputs, batch: batch.batchSize, cache: nil, lastOnly: false)
        return logits.reshaped([batch.batchSize * batch.length, model.vocabularySize])   // (B·T, V)
            .crossEntropy(targets: batch.targets, ignoreIndex: TrainingBatch.ignoredTarget)
    }

    /// Token-weighted mean loss over `batches`, without gradients, with `parameters` in evaluation mode.
    public static func evaluate(model: LanguageModel, parameters: any TrainableParameters,
                                batches: [TrainingBatch]) -> Double {
        parameters.setTraining(false)
        defer { parameters.setTraining(true) }
        return Autograd.noGrad {
            var total = 0.0
            var count = 0
            for b in batches {
                let n = b.targetCount
                guard n > 0 else { continue }
                total += Double(loss(model: model, batch: b).item()) * Double(n)
                count += n
            }
            return count == 0 ? .nan : total / Double(count)
        }
    }

    /// Runs the training loop described by `arguments` and writes into `arguments.outputDirectory`: the adapter
    /// (`parameters.save`), `best/` when validating, `checkpoints/`, `metrics.jsonl` and `report.html`.
    ///
    /// With `arguments.resume` the run continues from the newest complete checkpoint (from scratch when there
    /// is none: `.started` then reports no checkpoint) and ends with exactly the parameters an uninterrupted run
    /// would have. Without it, earlier checkpoints, best/ and metrics.jsonl in the output folder are replaced. `callback` sees every
    /// event and stops the run by returning false. Throws `TrainingError` (a NaN/inf loss or gradient stops the
    /// run before any update at that step; the checkpoints written so far stay).
    public static func train(model: LanguageModel, parameters: any TrainableParameters, data: any BatchSource,
                             validation: (any BatchSource)? = nil, arguments: TrainingArguments,
                             callback: (TrainingEvent) -> Bool = { _ in true }) throws -> TrainingResult {
        try arguments.validate()
        let named = parameters.parameters
        try checkParameters(named)
        if arguments.gradientCheckpointing {
            guard let m = model as? GradientCheckpointingModel else {
                throw TrainingError.unsupported("Gradient checkpointing is not available for '\(model.architecture)' "
                    + "models; train without it (or with shorter sequences or smaller batches).")
            }
            m.gradientCheckpointing = true
        }
        var data = data
        let output = URL(fileURLWithPath: arguments.outputDirectory, isDirectory: true)
        do { try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true) } catch {
            throw TrainingError.writeFailed(path: output.path, reason: "\(error)")
        }
        let store = CheckpointStore(directory: output.appendingPathComponent("checkpoints"))
        let totalSteps = arguments.totalSteps(batchesPerEpoch: data.batchesPerEpoch)
        let schedule = LearningRateSchedule(arguments: arguments, totalSteps: totalSteps)
        let optimizer = makeOptimizer(arguments)

        // Fixed evaluation batches, taken once.
        var evaluationBatches: [TrainingBatch] = []
        if var v = validation, arguments.evalEvery > 0 {
            for _ in 0..<(arguments.evalBatches ?? v.batchesPerEpoch) { evaluationBatches.append(try v.nextBatch()) }
            for b in evaluationBatches { try check(b, step: 0, model: model) }
        }

        // Fresh start or resumption.
        var state = TrainerState(step: 0, totalSteps: totalSteps, seed: arguments.seed, dataState: Data(), tokens: 0,
                                 elapsedSeconds: 0, history: TrainingHistory(), bestValidationLossBits: nil,
                                 bestStep: nil, evaluationsWithoutImprovement: 0, peakMemoryBytes: 0)
        var resumedFrom: URL?
        if arguments.resume, let latest = store.list().last {
            let saved = try store.read(latest.url)
            guard saved.state.seed == arguments.seed else {
                throw TrainingError.invalidCheckpoint(path: latest.url.path, problem:
                    "it was written with seed \(saved.state.seed) and this run has seed \(arguments.seed)")
            }
            try restore(named, from: saved.parameters, checkpoint: latest.url)
            try optimizer.restore(saved.optimizer, parameters: named)
            do { try data.restoreState(saved.state.dataState) } catch {
                throw TrainingError.invalidCheckpoint(path: latest.url.path, problem: "data state: \(error)")
            }
            state = saved.state
            state.totalSteps = totalSteps
            resumedFrom = latest.url
        } else {
            // A fresh run owns its output folder: checkpoints and best/ of an earlier run would mislead a resume.
            try store.removeAll()
            let best = output.appendingPathComponent("best")
            if FileManager.default.fileExists(atPath: best.path) {
                do { try FileManager.default.removeItem(at: best) } catch {
                    throw TrainingError.writeFailed(path: best.path, reason: "cannot remove the old best/: \(error)")
                }
            }
        }
        store.removeTemporaries()
        let log = try MetricsLog(url: output.appendingPathComponent("metrics.jsonl"),
                                 keepThrough: resumedFrom == nil ? nil : state.step)

        var keepGoing = callback(.started(startStep: state.step, totalSteps: totalSteps, resumedFrom: resumedFrom))
        let sessionStart = DispatchTime.now().uptimeNanoseconds
        let elapsedBefore = state.elapsedSeconds
        let stepsBefore = state.step
        func elapsed() -> Double { elapsedBefore + Double(DispatchTime.now().uptimeNanoseconds - sessionStart) / 1e9 }
        var stopReason: String? = keepGoing ? nil : "stopped by callback"

        parameters.setTraining(true)
        defer { for (_, p) in named { p.zeroGrad() } }
        while keepGoing, state.step < totalSteps {
            let step = state.step   // 0-based index of the step being taken
            let stepStart = DispatchTime.now().uptimeNanoseconds
            for (_, p) in named { p.zeroGrad() }
            parameters.prepareStep(seed: arguments.seed, step: step)

            // Micro-batches, weighted by their share of the step's targets.
            var micro: [TrainingBatch] = []
            for _ in 0..<arguments.gradientAccumulation {
                let b = try data.nextBatch()
                try check(b, step: step + 1, model: model)
                micro.append(b)
            }
            let targetTotal = micro.reduce(0) { $0 + $1.targetCount }
            var stepLoss = 0.0
            var stepTokens = 0
            for (i, b) in micro.enumerated() {
                let n = b.targetCount
                stepTokens += b.tokenCount
                guard n > 0 else { continue }
                let weight = Float(n) / Float(targetTotal)
                let l = loss(model: model, batch: b)
                let value = l.item()
                guard value.isFinite else {
                    throw TrainingError.nonFiniteLoss(step: step + 1, microBatch: i + 1, value: value,
                                                      lastCheckpoint: store.list().last?.url.path)
                }
                l.backward(gradient: .scalar(weight))
                stepLoss += Double(value) * Double(n) / Double(targetTotal)
            }
            let (norm, offender) = GradientClipping.globalNorm(named)
            guard let norm else {
                throw TrainingError.nonFiniteGradient(step: step + 1, parameter: offender ?? "?",
                                                      lastCheckpoint: store.list().last?.url.path)
            }
            if let maxNorm = arguments.maxGradNorm, maxNorm > 0 {
                GradientClipping.clip(named, norm: norm, maxNorm: maxNorm)
            }
            let learningRate = schedule.learningRate(at: step)
            optimizer.update(named, learningRate: Float(learningRate))
            for (_, p) in named { p.zeroGrad() }
            state.step = step + 1
            state.tokens += stepTokens
            let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9

            // Validation and early stopping.
            var validationLoss: Double?
            var stopEarly = false
            if !evaluationBatches.isEmpty,
               state.step % arguments.evalEvery == 0 || state.step == totalSteps {
                let v = evaluate(model: model, parameters: parameters, batches: evaluationBatches)
                validationLoss = v
                let improved = v.isFinite
                    && (state.bestValidationLoss.map { v < $0 - arguments.earlyStoppingMinDelta } ?? true)
                if improved {
                    state.bestValidationLoss = v
                    state.bestStep = state.step
                    state.evaluationsWithoutImprovement = 0
                    try saveAdapter(parameters, to: output.appendingPathComponent("best"))
                } else {
                    state.evaluationsWithoutImprovement += 1
                    if let patience = arguments.earlyStoppingPatience,
                       state.evaluationsWithoutImprovement >= patience {
                        stopEarly = true
                    }
                }
                keepGoing = callback(.evaluation(step: state.step, loss: v, improved: improved)) && keepGoing
            }

            let memory = ProcessMemory.residentBytes()
            state.peakMemoryBytes = max(state.peakMemoryBytes, memory)
            let now = elapsed()
            let sessionSteps = state.step - stepsBefore
            let remaining = (now - elapsedBefore) / Double(sessionSteps) * Double(totalSteps - state.step)
            let metrics = StepMetrics(step: state.step, totalSteps: totalSteps, loss: stepLoss,
                                      learningRate: learningRate, gradientNorm: norm, tokens: state.tokens,
                                      tokensPerSecond: stepSeconds > 0 ? Double(stepTokens) / stepSeconds : 0,
                                      elapsedSeconds: now, remainingSeconds: remaining,
                                      validationLoss: validationLoss, residentMemoryBytes: memory)
            state.history.append(metrics)
            log.append(metrics)
            keepGoing = callback(.step(metrics)) && keepGoing
            if stopEarly, let bestStep = state.bestStep, let best = state.bestValidationLoss {
                stopReason = "early stopping"
                keepGoing = callback(.earlyStopped(step: state.step, bestStep: bestStep, bestLoss: best)) && false
            } else if !keepGoing {
                stopReason = "stopped by callback"
            }

            // Checkpoint (always on the last step and when stopping, so that a stopped run can be resumed).
            let due = arguments.checkpointEvery > 0
                && (state.step % arguments.checkpointEvery == 0 || state.step == totalSteps || !keepGoing)
            if due {
                state.elapsedSeconds = elapsed()
                state.dataState = try data.saveState()
                let url = try store.write(state: state, parameters: named, optimizer: optimizer.state(),
                                          keep: arguments.checkpointsKept)
                keepGoing = callback(.checkpoint(step: state.step, url: url)) && keepGoing
                if !keepGoing && stopReason == nil { stopReason = "stopped by callback" }
            }
        }

        try saveAdapter(parameters, to: output, replacing: false)
        state.elapsedSeconds = elapsed()
        state.peakMemoryBytes = max(state.peakMemoryBytes, ProcessMemory.peakResidentBytes())
        let result = TrainingResult(
            steps: state.step, totalSteps: totalSteps, history: state.history,
            bestValidationLoss: state.bestValidationLoss, bestStep: state.bestStep, tokens: state.tokens,
            wallSeconds: state.elapsedSeconds,
            tokensPerSecond: state.elapsedSeconds > 0 ? Double(state.tokens) / state.elapsedSeconds : 0,
            peakMemoryBytes: state.peakMemoryBytes, stopReason: stopReason, outputDirectory: output)
        try TrainingReport.write(TrainingReport.html(result: result, arguments: arguments),
                                 to: output.appendingPathComponent("report.html"))
        return result
    }

    // MARK: - Helpers

    static func checkParameters(_ named: [(name: String, tensor: Tensor)]) throws {
        guard !named.isEmpty else { throw TrainingError.noTrainableParameters }
        var seen = Set<String>()
        for (name, t) in named {
            guard seen.insert(name).inserted else {
                throw TrainingError.invalidParameter(name: name, problem: "appears twice")
            }
            guard t.requiresGrad else { throw TrainingError.invalidParameter(name: name, problem: "has requiresGrad off") }
            guard t.isContiguous else { throw TrainingError.invalidParameter(name: name, problem: "is not contiguous") }
        }
    }

    /// Checks a batch's sizes and ids against the model (out-of-range ids would crash the kernels).
    static func check(_ b: TrainingBatch, step: Int, model: LanguageModel) throws {
        let n = b.batchSize * b.length
        func fail(_ problem: String) -> TrainingError { .invalidBatch(step: step, problem: problem) }
        guard b.batchSize > 0, b.length > 0 else { throw fail("empty batch (\(b.batchSize) x \(b.length))") }
        guard b.inputs.count == n, b.targets.count == n else {
            throw fail("\(b.inputs.count) inputs and \(b.targets.count) targets for \(b.batchSize) x \(b.length)")
        }
        guard b.length <= model.contextLength else {
            throw fail("sequences of \(b.length) tokens exceed the model's context of \(model.contextLength); "
                + "lower the sequence length")
        }
        let V = model.vocabularySize
        if let bad = b.inputs.first(where: { $0 < 0 || $0 >= V }) {
            throw fail("input token id \(bad) is outside the model's vocabulary 0..<\(V) (tokenizer mismatch?)")
        }
        if let bad = b.targets.first(where: { $0 != TrainingBatch.ignoredTarget && ($0 < 0 || $0 >= V) }) {
            throw fail("target id \(bad) is outside the model's vocabulary 0..<\(V) and is not -100")
        }
    }

    /// Copies checkpointed values into the parameters, checking names and sizes.
    static func restore(_ named: [(name: String, tensor: Tensor)], from values: [String: [Float]],
                        checkpoint: URL) throws {
        func fail(_ problem: String) -> TrainingError { .invalidCheckpoint(path: checkpoint.path, problem: problem) }
        guard values.count == named.count else {
            throw fail("it holds \(values.count) parameters and this run trains \(named.count) (different adapter "
                + "settings?)")
        }
        for (name, t) in named {
            guard let v = values[name] else { throw fail("parameter '\(name)' is missing") }
            guard v.count == t.count else {
                throw fail("parameter '\(name)' has \(v.count) values, this run's has \(t.count) (shape \(t.shape))")
            }
            v.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { t.pointer.update(from: base, count: v.count) }
            }
        }
    }

    /// Saves the adapter into `directory`; with `replacing`, through a temporary sibling folder swapped in
    /// afterwards, so the folder holds either the old or the new adapter.
    static func saveAdapter(_ parameters: any TrainableParameters, to directory: URL, replacing: Bool = true) throws {
        let fm = FileManager.default
        guard replacing else {
            do { try parameters.save(to: directory) } catch let e as TrainingError { throw e } catch {
                throw TrainingError.writeFailed(path: directory.path, reason: "\(error)")
            }
            return
        }
        let parent = directory.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(directory.lastPathComponent)-new")
        let old = parent.appendingPathComponent(".\(directory.lastPathComponent)-old")
        do {
            for u in [temporary, old] where fm.fileExists(atPath: u.path) { try fm.removeItem(at: u) }
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            try parameters.save(to: temporary)
            if fm.fileExists(atPath: directory.path) { try fm.moveItem(at: directory, to: old) }
            try fm.moveItem(at: temporary, to: directory)
            if fm.fileExists(atPath: old.path) { try fm.removeItem(at: old) }
            syncDirectory(parent.path)
        } catch let e as TrainingError {
            throw e
        } catch {
            throw TrainingError.writeFailed(path: directory.path, reason: "\(error)")
        }
    }
}
