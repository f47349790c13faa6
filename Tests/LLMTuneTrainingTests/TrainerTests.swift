import XCTest
import LLMTuneModels
import LLMTuneTensor
@testable import LLMTuneTraining

/// The trainer on the tiny random Llama fixture with test-only LoRA adapters.
final class TrainerTests: XCTestCase {
    var directories: [URL] = []

    override func tearDown() {
        // LLMTUNE_KEEP_TEST_OUTPUT=1 keeps the output folders (to look at report.html).
        if ProcessInfo.processInfo.environment["LLMTUNE_KEEP_TEST_OUTPUT"] != nil {
            print("kept: \(directories.map(\.path))")
            return
        }
        for d in directories { try? FileManager.default.removeItem(at: d) }
        directories = []
    }

    func arguments(steps: Int, output: String = #function) -> TrainingArguments {
        var a = TrainingArguments()
        a.steps = steps
        a.learningRate = 1e-2
        a.warmupSteps = 2
        a.evalEvery = 0
        a.checkpointEvery = 0
        a.seed = 11
        let dir = Fixture.temporaryDirectory(output)
        directories.append(dir)
        a.outputDirectory = dir.path
        return a
    }

    func source(count: Int = 8, batchSize: Int = 2, length: Int = 16) -> ShuffledBatches {
        ShuffledBatches(sequences: Fixture.sequences(count: count, length: length), batchSize: batchSize, seed: 5)
    }

    func testLossFallsOnRepeatedSequences() throws {
        let model = try Fixture.model()
        let adapters = TestAdapters(model: model)
        let data = ShuffledBatches(sequences: Fixture.repeated(count: 4, length: 16), batchSize: 2, seed: 5)
        let result = try Trainer.train(model: model, parameters: adapters, data: data, arguments: arguments(steps: 30))
        XCTAssertEqual(result.steps, 30)
        XCTAssertEqual(result.losses.count, 30)
        let first = result.losses[0], last = result.losses.suffix(3).reduce(0, +) / 3
        XCTAssertGreaterThan(first, 5.0)   // about ln 256 = 5.55 for the random model (6.2 measured)
        XCTAssertLessThan(last, 0.5)       // 0.27 measured
        // Outputs: the adapter, metrics.jsonl (one line per step), report.html.
        let output = result.outputDirectory
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("adapter.json").path))
        let lines = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, 30)
        for (i, line) in lines.enumerated() {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(object["step"] as? Int, i + 1)
            for key in ["loss", "learning_rate", "grad_norm", "tokens", "tokens_per_second", "elapsed_seconds"] {
                XCTAssertNotNil(object[key], "\(key) missing in \(line)")
            }
            XCTAssertEqual(object["tokens"] as? Int, (i + 1) * 32)
            XCTAssertEqual((object["loss"] as? NSNumber)?.doubleValue ?? 0, result.losses[i], accuracy: 1e-12)
        }
        // Warmup: step 1 has learning rate 0, step 3 the peak.
        XCTAssertEqual(result.history.learningRates[0], 0)
        XCTAssertEqual(result.history.learningRates[2], 1e-2, accuracy: 1e-15)
        let report = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("<svg"))
        XCTAssertTrue(report.contains("polyline"))
        XCTAssertFalse(report.contains("<script"))
        XCTAssertFalse(report.contains("src="))
        XCTAssertEqual(result.tokens, 30 * 32)
        XCTAssertGreaterThan(result.peakMemoryBytes, 1 << 20)
    }

    /// Same seed: same losses and parameters, bit for bit; another seed draws other dropout masks.
    func testSameSeedSameLosses() throws {
        func run(seed: UInt64) throws -> (losses: [Double], values: [[Float]]) {
            let model = try Fixture.model()
            let adapters = TestAdapters(model: model, dropout: 0.2)
            var a = arguments(steps: 6)
            a.seed = seed
            let r = try Trainer.train(model: model, parameters: adapters, data: source(), arguments: a)
            return (r.losses, adapters.values)
        }
        let one = try run(seed: 1), two = try run(seed: 1), other = try run(seed: 2)
        XCTAssertEqual(one.losses, two.losses)
        XCTAssertTrue(one.values == two.values, "same seed, different parameters")
        XCTAssertNotEqual(one.losses, other.losses)
    }

    /// An uninterrupted 10-step run, and a run that crashes during step 8 (last checkpoint: step 6) then
    /// resumes to step 10 with freshly initialized adapters: identical parameters (==) and losses.
    func testResumeAfterCrashIsBitForBit() throws {
        func setup(initSeed: UInt64) throws -> (LanguageModel, TestAdapters) {
            let model = try Fixture.model()
            return (model, TestAdapters(model: model, dropout: 0.1, seed: initSeed))
        }
        var a = arguments(steps: 10)
        a.gradientAccumulation = 2
        a.checkpointEvery = 3
        a.evalEvery = 4
        a.optimizer = .adamw
        a.weightDecay = 0.01
        var validationSource = source(count: 4, batchSize: 2)
        let validation = FixedBatches([try validationSource.nextBatch()])

        let (m1, reference) = try setup(initSeed: 7)
        let full = try Trainer.train(model: m1, parameters: reference, data: source(), validation: validation,
                                     arguments: a)

        var b = a
        b.outputDirectory = Fixture.temporaryDirectory("resume").path
        directories.append(URL(fileURLWithPath: b.outputDirectory))
        let (m2, crashed) = try setup(initSeed: 7)
        var crashing = source()
        crashing.crashAtBatch = 7 * 2 + 1   // second micro-batch of step 8
        XCTAssertThrowsError(try Trainer.train(model: m2, parameters: crashed, data: crashing, validation: validation,
                                               arguments: b)) { XCTAssertTrue($0 is ShuffledBatches.Crash) }
        let store = CheckpointStore(directory: URL(fileURLWithPath: b.outputDirectory).appendingPathComponent("checkpoints"))
        XCTAssertEqual(store.list().map(\.step), [3, 6])   // step 9 never came; only 2 kept

        b.resume = true
        let (m3, resumed) = try setup(initSeed: 99)   // other initial values: all must come from the checkpoint
        XCTAssertFalse(resumed.values == reference.values)
        var events: [String] = []
        let rest = try Trainer.train(model: m3, parameters: resumed, data: source(), validation: validation,
                                     arguments: b) { event in
            if case let .started(start, _, from) = event { events.append("start \(start) \(from?.lastPathComponent ?? "")") }
            return true
        }
        XCTAssertEqual(events, ["start 6 step-00000006"])
        XCTAssertTrue(resumed.values == reference.values, "resumed parameters differ from the uninterrupted run's")
        XCTAssertEqual(rest.losses, full.losses)
        XCTAssertEqual(rest.history.validation, full.history.validation)
        XCTAssertEqual(rest.steps, 10)
        XCTAssertEqual(rest.tokens, full.tokens)
        let lines = try String(contentsOf: URL(fileURLWithPath: b.outputDirectory).appendingPathComponent("metrics.jsonl"),
                               encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.compactMap { MetricsLog.step(of: $0) }, Array(1...10))
        XCTAssertEqual(store.list().map(\.step), [9, 10])
    }

    /// k micro-batches of B sequences equal one batch of k·B sequences (target-count weighting).
    func testGradientAccumulationEqualsOneBigBatch() throws {
        var sequences = Fixture.sequences(count: 4, length: 12)
        func batch(_ rows: ArraySlice<[Int]>, maskFirst: Int) -> TrainingBatch {
            var targets = rows.flatMap { $0.dropFirst() }
            for i in 0..<maskFirst { targets[i] = -100 }   // micro-batches with different target counts
            return TrainingBatch(inputs: rows.flatMap { $0.dropLast() }, targets: targets, batchSize: rows.count,
                                 length: 12)
        }
        sequences[1][3] = 17
        let small = [batch(sequences[0..<2], maskFirst: 9), batch(sequences[2..<4], maskFirst: 0)]
        var bigTargets = small[0].targets + small[1].targets
        bigTargets = Array(bigTargets)
        let big = TrainingBatch(inputs: small[0].inputs + small[1].inputs, targets: bigTargets, batchSize: 4, length: 12)

        func run(_ batches: [TrainingBatch], accumulation: Int) throws -> ([Double], [[Float]]) {
            let model = try Fixture.model()
            let adapters = TestAdapters(model: model)
            var a = arguments(steps: 3)
            a.gradientAccumulation = accumulation
            a.maxGradNorm = 0.5   // clipping sees the accumulated gradient
            let r = try Trainer.train(model: model, parameters: adapters, data: FixedBatches(batches), arguments: a)
            return (r.losses, adapters.values)
        }
        let (accumulatedLosses, accumulated) = try run(small, accumulation: 2)
        let (bigLosses, whole) = try run([big], accumulation: 1)
        for (x, y) in zip(accumulatedLosses, bigLosses) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        var largest: Float = 0
        for (p, q) in zip(accumulated, whole) { for (x, y) in zip(p, q) { largest = max(largest, abs(x - y)) } }
        XCTAssertLessThan(largest, 2e-5)
        // Unweighted averaging of the two micro-batch losses would differ visibly.
        XCTAssertNotEqual(small[0].targetCount, small[1].targetCount)
    }

    /// A NaN loss stops the run naming the step; parameters stay as after the previous step (= its checkpoint).
    func testNonFiniteLossStopsBeforeUpdating() throws {
        let model = try Fixture.model()
        let adapters = TestAdapters(model: model)
        adapters.poisonAtStep = 2   // 0-based: the third step
        var a = arguments(steps: 6)
        a.checkpointEvery = 2
        XCTAssertThrowsError(try Trainer.train(model: model, parameters: adapters, data: source(), arguments: a)) {
            guard case let TrainingError.nonFiniteLoss(step, _, value, last) = $0 else {
                return XCTFail("unexpected \($0)")
            }
            XCTAssertEqual(step, 3)
            XCTAssertTrue(value.isNaN)
            XCTAssertEqual(last.map { URL(fileURLWithPath: $0).lastPathComponent }, "step-00000002")
            XCTAssertTrue("\($0)".contains("step 3"))
        }
        let store = CheckpointStore(directory: URL(fileURLWithPath: a.outputDirectory).appendingPathComponent("checkpoints"))
        let saved = try store.read(store.url(step: 2))
        for (name, t) in adapters.parameters {
            XCTAssertTrue(t.toArray() == saved.parameters[name], name)
            XCTAssertNil(t.grad)
        }
    }

    /// Evaluations at steps 2, 4, 6; only the first counts as an improvement (huge min delta): patience 2 stops
    /// after step 6 and best/ holds the parameters of step 2.
    func testEarlyStoppingKeepsBestAdapter() throws {
        let model = try Fixture.model()
        let adapters = TestAdapters(model: model)
        var a = arguments(steps: 20)
        a.evalEvery = 2
        a.earlyStoppingPatience = 2
        a.earlyStoppingMinDelta = 100
        a.checkpointEvery = 100
        var validationSource = source()
        let validation = FixedBatches([try validationSource.nextBatch()])
        var atStep2: [[Float]] = []
        var evaluations: [(Int, Bool)] = []
        var sawEarlyStop = false
        let r = try Trainer.train(model: model, parameters: adapters, data: source(),
                                  validation: validation, arguments: a) { event in
            switch event {
            case let .step(m) where m.step == 2: atStep2 = adapters.values
            case let .evaluation(step, _, improved): evaluations.append((step, improved))
            case .earlyStopped: sawEarlyStop = true
            default: break
            }
            return true
        }
        XCTAssertEqual(r.steps, 6)
        XCTAssertEqual(r.stopReason, "early stopping")
        XCTAssertTrue(sawEarlyStop)
        XCTAssertEqual(evaluations.map(\.0), [2, 4, 6])
        XCTAssertEqual(evaluations.map(\.1), [true, false, false])
        XCTAssertEqual(r.bestStep, 2)
        XCTAssertEqual(r.history.validation.count, 3)
        let best = URL(fileURLWithPath: a.outputDirectory).appendingPathComponent("best/adapter.json")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: best)) as? [String: [Double]])
        for ((name, _), values) in zip(adapters.parameters, atStep2) {
            XCTAssertTrue(object[name]?.map(Float.init) == values, name)
        }
        // A stopped run still ends with a checkpoint it can be resumed from.
        let store = CheckpointStore(directory: URL(fileURLWithPath: a.outputDirectory).appendingPathComponent("checkpoints"))
        XCTAssertEqual(store.list().map(\.step), [6])
    }

    func testCallbackStopsTheRun() throws {
        let model = try Fixture.model()
        let adapters = TestAdapters(model: model)
        var a = arguments(steps: 10)
        a.checkpointEvery = 5
        let r = try Trainer.train(model: model, parameters: adapters, data: source(), arguments: a) { event in
            if case let .step(m) = event { return m.step < 3 }
            return true
        }
        XCTAssertEqual(r.steps, 3)
        XCTAssertEqual(r.stopReason, "stopped by callback")
        let store = CheckpointStore(directory: URL(fileURLWithPath: a.outputDirectory).appendingPathComponent("checkpoints"))
        XCTAssertEqual(store.list().map(\.step), [3])
    }

    func testBadBatchesAndArgumentsAreReported() throws {
        let model = try Fixture.model()
        let adapters = TestAdapters(model: model)
        let bad = TrainingBatch(inputs: [1, 2, 300, 4], targets: [2, 3, 4, 5], batchSize: 1, length: 4)
        XCTAssertThrowsError(try Trainer.train(model: model, parameters: adapters, data: FixedBatches([bad]),
                                               arguments: arguments(steps: 1))) {
            XCTAssertTrue("\($0)".contains("input token id 300"), "\($0)")
        }
        var a = arguments(steps: 1)
        a.betas = [0.9]
        XCTAssertThrowsError(try Trainer.train(model: model, parameters: adapters, data: source(), arguments: a)) {
            XCTAssertEqual($0 as? TrainingError, .invalidArgument(name: "betas", problem: "must be two numbers in [0, 1), found [0.9]"))
        }
        a = arguments(steps: 1)
        a.gradientCheckpointing = true
        XCTAssertThrowsError(try Trainer.train(model: ForwardingModel(model), parameters: adapters, data: source(),
                                               arguments: a)) {
            XCTAssertTrue("\($0)".contains("Gradient checkpointing"), "\($0)")
        }
    }
}

/// A model seen only through `LanguageModel`: no gradient checkpointing and no fused output head, so the
/// trainer computes full logits + crossEntropy.
class ForwardingModel: LanguageModel {
    let inner: LanguageModel
    init(_ inner: LanguageModel) { self.inner = inner }
    var architecture: String { inner.architecture }
    var vocabularySize: Int { inner.vocabularySize }
    var contextLength: Int { inner.contextLength }
    var hiddenSize: Int { inner.hiddenSize }
    var layerCount: Int { inner.layerCount }
    func makeCache(batch: Int, capacity: Int) -> KVCache { inner.makeCache(batch: batch, capacity: capacity) }
    func forward(tokens: [Int], batch: Int, cache: KVCache?, lastOnly: Bool) -> Tensor {
        inner.forward(tokens: tokens, batch: batch, cache: cache, lastOnly: lastOnly)
    }
    var permutedRotaryRows: PermutedRotaryRows? { inner.permutedRotaryRows }
    var linearLayers: [LinearLayer] { inner.linearLayers }
    func replaceLinear(_ layer: LinearLayer) -> Bool { inner.replaceLinear(layer) }
}

/// A model that accepts the gradient-checkpointing switch (forwarding to the tiny Llama).
final class SwitchableModel: ForwardingModel, GradientCheckpointingModel {
    var gradientCheckpointing = false
    override func forward(tokens: [Int], batch: Int, cache: KVCache?, lastOnly: Bool) -> Tensor {
        // Checkpoint the whole model as one segment when switched on (the Llama blocks do it per block).
        guard gradientCheckpointing else { return inner.forward(tokens: tokens, batch: batch, cache: cache, lastOnly: lastOnly) }
        return Tensor.checkpoint([]) { _ in self.inner.forward(tokens: tokens, batch: batch, cache: cache, lastOnly: lastOnly) }
    }
}

final class GradientCheckpointingTrainingTests: XCTestCase {
    /// The switch reaches the model, and training with recomputation (dropout included) gives the same
    /// parameters as training without it.
    func testSameTrainingWithAndWithoutCheckpointing() throws {
        var results: [[[Float]]] = []
        for checkpointing in [false, true] {
            let model = SwitchableModel(try Fixture.model())
            let adapters = TestAdapters(model: model, dropout: 0.1)
            var a = TrainingArguments()
            a.steps = 3
            a.learningRate = 1e-2
            a.evalEvery = 0
            a.checkpointEvery = 0
            a.gradientCheckpointing = checkpointing
            let dir = Fixture.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            a.outputDirectory = dir.path
            let data = ShuffledBatches(sequences: Fixture.sequences(count: 4, length: 8), batchSize: 2, seed: 1)
            _ = try Trainer.train(model: model, parameters: adapters, data: data, arguments: a)
            XCTAssertEqual(model.gradientCheckpointing, checkpointing)
            results.append(adapters.values)
        }
        var largest: Float = 0
        for (p, q) in zip(results[0], results[1]) { for (x, y) in zip(p, q) { largest = max(largest, abs(x - y)) } }
        XCTAssertLessThan(largest, 1e-6)
    }
}
