// Issue 5, "speed-ups change no numbers": 50 optimizer steps of LoRA on a tiny Llama give, step by step, the
// training losses of PyTorch + PEFT (the unoptimised reference) within 1e-4, on an fp32 base and on a base whose
// projections are quantized in-process to Q4_1 / Q8_0 (QLoRA); and LLMTune's speed paths (gradient checkpointing,
// 1 vs 2 kernel threads, the fused output-projection + cross-entropy loss vs logits + crossEntropy) give the same
// curve. Fixture and oracle: tools/reference/lora_loss_curve_fixtures.py -> Fixtures/loss_curve (curve.json holds
// the arguments, the micro-batches and PyTorch's curves). See docs/training-parity.md.
import Foundation
import XCTest
import LLMTuneAdapters
import LLMTuneKernels
import LLMTuneModels
import LLMTuneTensor
@testable import LLMTuneTraining

final class LossCurveParityTests: XCTestCase {
    // MARK: - Fixture

    struct Curve: Decodable {
        var losses: [Double]
        var gradientNorms: [Double]?
        var learningRates: [Double]?
        var dequantizedWeights: [String: WeightCheck]?
        /// The wide run's settings and a checksum of its batch.
        var steps: Int?
        var batchSize: Int?
        var length: Int?
        var copies: Int?
        var inputSum: Int?
        var targetCount: Int?

        enum CodingKeys: String, CodingKey {
            case losses, steps, length, copies
            case batchSize = "batch_size"
            case inputSum = "input_sum"
            case targetCount = "target_count"
            case gradientNorms = "gradient_norms"
            case learningRates = "learning_rates"
            case dequantizedWeights = "dequantized_weights"
        }
    }

    struct WeightCheck: Decodable {
        var sum: Double
        var sumOfSquares: Double
        var first: [Float]
        enum CodingKeys: String, CodingKey { case sum, first; case sumOfSquares = "sum_of_squares" }
    }

    struct Batch: Decodable {
        var batchSize: Int
        var length: Int
        var inputs: [Int]
        var targets: [Int]
        enum CodingKeys: String, CodingKey { case length, inputs, targets; case batchSize = "batch_size" }
    }

    struct Arguments: Decodable {
        var steps: Int
        var gradientAccumulation: Int
        var learningRate: Double
        var schedule: String
        var warmupSteps: Int
        var minLearningRateRatio: Double
        var betas: [Double]
        var eps: Double
        var weightDecay: Double
        var maxGradNorm: Double
        enum CodingKeys: String, CodingKey {
            case steps, schedule, betas, eps
            case gradientAccumulation = "gradient_accumulation"
            case learningRate = "learning_rate"
            case warmupSteps = "warmup_steps"
            case minLearningRateRatio = "min_learning_rate_ratio"
            case weightDecay = "weight_decay"
            case maxGradNorm = "max_grad_norm"
        }
    }

    struct Fixture: Decodable {
        var arguments: Arguments
        var tolerance: Double
        var batches: [Batch]
        var curves: [String: Curve]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/loss_curve")

    private var output: URL!

    override func setUpWithError() throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-losscurve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: output) }

    /// curve.json, decoded (a missing or malformed file fails the test with the decoder's error).
    private func loadFixture() throws -> Fixture {
        let url = Self.folder.appendingPathComponent("curve.json")
        let data = try XCTUnwrap(FileManager.default.contents(atPath: url.path),
                                 "cannot read \(url.path) (tools/reference/lora_loss_curve_fixtures.py writes it)")
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    // MARK: - Running LLMTune's trainer on the fixture

    enum Base: String { case fp32, q4_1, q8_0 }

    struct Variant {
        var base: Base = .fp32
        var learningRate: Double?
        var gradientCheckpointing = false
        var threads: Int?
        /// Hides the model's OutputHeadModel conformance, so the trainer takes logits + crossEntropy.
        var plainLoss = false
        /// The "fp32_wide" run: one batch of every micro-batch's rows (`widened`), no accumulation.
        var wide = false
    }

    /// Every row of every fixture micro-batch, right-padded (id 0, target -100) to the longest, `copies` times:
    /// the script's `widen`.
    private func widened(_ batches: [Batch], copies: Int) -> TrainingBatch {
        let T = batches.map(\.length).max() ?? 0
        var inputs: [Int] = [], targets: [Int] = []
        for _ in 0..<copies {
            for b in batches {
                for r in 0..<b.batchSize {
                    inputs += b.inputs[(r * b.length)..<((r + 1) * b.length)] + Array(repeating: 0, count: T - b.length)
                    targets += b.targets[(r * b.length)..<((r + 1) * b.length)]
                        + Array(repeating: TrainingBatch.ignoredTarget, count: T - b.length)
                }
            }
        }
        return TrainingBatch(inputs: inputs, targets: targets, batchSize: inputs.count / max(1, T), length: T)
    }

    /// Trains the fixture adapter for the fixture's steps with LLMTune's Trainer; returns the result.
    private func train(_ f: Fixture, _ v: Variant, name: String) throws -> TrainingResult {
        let model = try ModelRegistry.loadModel(Self.folder.appendingPathComponent("model"))
        if v.base != .fp32 {
            let type: GGMLType = v.base == .q4_1 ? .q4_1 : .q8_0
            let checks = try XCTUnwrap(f.curves[v.base.rawValue]?.dequantizedWeights)
            try quantizeProjections(model, type: type, checks: checks)
        }
        let adapters = try AdapterSet.load(from: Self.folder.appendingPathComponent("init-adapter"), into: model)
        XCTAssertEqual(adapters.layers.count, 7 * model.layerCount)
        let a = f.arguments
        var arguments = TrainingArguments()
        arguments.steps = a.steps
        arguments.gradientAccumulation = a.gradientAccumulation
        arguments.learningRate = v.learningRate ?? a.learningRate
        arguments.schedule = try XCTUnwrap(ScheduleKind(rawValue: a.schedule))
        arguments.warmupSteps = a.warmupSteps
        arguments.minLearningRateRatio = a.minLearningRateRatio
        arguments.optimizer = .adamw
        arguments.betas = a.betas
        arguments.eps = a.eps
        arguments.weightDecay = a.weightDecay
        arguments.maxGradNorm = a.maxGradNorm
        arguments.evalEvery = 0
        arguments.checkpointEvery = 0
        arguments.gradientCheckpointing = v.gradientCheckpointing
        arguments.outputDirectory = output.appendingPathComponent(name).path
        var batches = f.batches.map {
            TrainingBatch(inputs: $0.inputs, targets: $0.targets, batchSize: $0.batchSize, length: $0.length)
        }
        if v.wide {
            let w = try XCTUnwrap(f.curves["fp32_wide"])
            let batch = widened(f.batches, copies: try XCTUnwrap(w.copies))
            XCTAssertEqual(batch.batchSize, w.batchSize)
            XCTAssertEqual(batch.length, w.length)
            XCTAssertEqual(batch.inputs.reduce(0, +), w.inputSum, "the wide batch is the script's")
            XCTAssertEqual(batch.targetCount, w.targetCount)
            batches = [batch]
            arguments.steps = try XCTUnwrap(w.steps)
            arguments.gradientAccumulation = 1
        }
        let savedThreads = Parallel.threads
        if let t = v.threads { GEMM.setThreads(t) }
        defer { GEMM.setThreads(savedThreads) }
        let trained: LanguageModel = v.plainLoss ? ForwardingModel(model) : model
        if v.plainLoss {
            XCTAssertNil(trained as? OutputHeadModel, "the trainer takes logits + crossEntropy")
        } else {
            XCTAssertNotNil((trained as? OutputHeadModel)?.outputWeight, "the trainer takes the fused loss")
        }
        return try Trainer.train(model: trained, parameters: TrainableAdapters(adapters, baseModel: "loss_curve"),
                                 data: FixedBatches(batches), arguments: arguments)
    }

    /// Replaces every projection weight (not the tied embedding / head) by its `type` encoding, written by
    /// LLMTune's Quantizer, and checks the decoded values against those PyTorch trained on.
    private func quantizeProjections(_ model: LanguageModel, type: GGMLType,
                                     checks: [String: WeightCheck]) throws {
        var seen = 0
        for layer in model.linearLayers {
            guard let linear = layer as? Linear, !linear.path.hasSuffix("lm_head") else { continue }
            let rows = linear.outFeatures, columns = linear.inFeatures
            var values = [Float](repeating: 0, count: rows * columns)   // (out, in)
            switch linear.weight {
            case .dense(let t): values = t.contiguous().toArray()
            case .quantized(let q): values.withUnsafeMutableBufferPointer { q.dequantizeRows(0..<rows, into: $0.baseAddress!) }
            }
            let rowBytes = try XCTUnwrap(type.byteCount(elements: columns))
            let storage = QuantizedStorage(byteCount: rows * rowBytes)
            values.withUnsafeBufferPointer { src in
                for r in 0..<rows {
                    Quantizer.quantizeRow(type, src.baseAddress! + r * columns, count: columns,
                                          into: storage.bytes + r * rowBytes)
                }
            }
            let matrix = QuantizedMatrix(type: type, rows: rows, columns: columns, data: UnsafeRawPointer(storage.bytes),
                                         owner: storage)
            linear.weight = .quantized(matrix)

            // The decoded values are PyTorch's (same encoder bytes, same decoder).
            var decoded = [Float](repeating: 0, count: rows * columns)
            decoded.withUnsafeMutableBufferPointer { matrix.dequantizeRows(0..<rows, into: $0.baseAddress!) }
            let check = try XCTUnwrap(checks[linear.path], "no check for \(linear.path) in curve.json")
            let sum = decoded.reduce(0.0) { $0 + Double($1) }
            let squares = decoded.reduce(0.0) { $0 + Double($1) * Double($1) }
            XCTAssertEqual(sum, check.sum, accuracy: 1e-5, "\(type) \(linear.path): sum of decoded weights")
            XCTAssertEqual(squares, check.sumOfSquares, accuracy: 1e-5, "\(type) \(linear.path): sum of squares")
            XCTAssertEqual(Array(decoded.prefix(check.first.count)), check.first, "\(type) \(linear.path): first values")
            seen += 1
        }
        XCTAssertEqual(seen, checks.count, "every quantized projection of the fixture was quantized here")
    }

    /// Max |a - b| over the steps, with the step where it occurs (1-based).
    private func maxDifference(_ a: [Double], _ b: [Double]) -> (value: Double, step: Int) {
        var worst = (value: 0.0, step: 0)
        for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > worst.value || x.isNaN || y.isNaN {
            worst = (x.isNaN || y.isNaN ? .infinity : abs(x - y), i + 1)
        }
        return worst
    }

    /// Asserts `result`'s curve equals `reference`'s losses to the fixture tolerance; returns the max difference.
    @discardableResult
    private func assertCurve(_ result: TrainingResult, equals reference: [Double], tolerance: Double,
                             _ label: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
        XCTAssertEqual(result.losses.count, reference.count, "\(label): steps", file: file, line: line)
        let d = maxDifference(result.losses, reference)
        print(String(format: "loss curve %@: max |difference| %.3e at step %d (loss %.6f -> %.6f)", label, d.value,
                     d.step, result.losses.first ?? .nan, result.losses.last ?? .nan))
        XCTAssertLessThanOrEqual(d.value, tolerance, "\(label): step \(d.step) differs by \(d.value)",
                                 file: file, line: line)
        return d.value
    }

    // MARK: - Tests

    /// fp32 base: losses, gradient norms (before clipping) and learning rates of every step equal PyTorch's.
    func testFP32CurveEqualsPyTorch() throws {
        let f = try loadFixture()
        let reference = try XCTUnwrap(f.curves["fp32"])
        let r = try train(f, Variant(), name: "fp32")
        XCTAssertEqual(r.steps, f.arguments.steps)
        assertCurve(r, equals: reference.losses, tolerance: f.tolerance, "fp32 vs PyTorch")
        let norms = try XCTUnwrap(reference.gradientNorms)
        let relative = zip(r.history.gradientNorms, norms).map { abs($0 - $1) / $1 }.max() ?? .nan
        print(String(format: "gradient norms fp32 vs PyTorch: max relative difference %.3e", relative))
        XCTAssertLessThan(relative, 1e-4)
        let clipped = norms.filter { $0 > f.arguments.maxGradNorm }.count
        XCTAssertTrue(clipped > 0 && clipped < norms.count, "the fixture clips at some steps, not all (\(clipped))")
        let rates = try XCTUnwrap(reference.learningRates)
        for (i, (x, y)) in zip(r.history.learningRates, rates).enumerated() {
            XCTAssertEqual(x, y, accuracy: 1e-12, "learning rate of step \(i + 1)")
        }
    }

    /// The test can fail: twice the learning rate gives a curve far from PyTorch's (and equal to PyTorch's own run
    /// at that rate).
    func testWrongLearningRateGivesAnotherCurve() throws {
        let f = try loadFixture()
        let r = try train(f, Variant(learningRate: 2 * f.arguments.learningRate), name: "lr2x")
        let d = maxDifference(r.losses, try XCTUnwrap(f.curves["fp32"]).losses)
        print(String(format: "loss curve at 2x learning rate vs PyTorch at 1x: max |difference| %.3e", d.value))
        XCTAssertGreaterThan(d.value, 1000 * f.tolerance, "a wrong learning rate must be visible in the curve")
        assertCurve(r, equals: try XCTUnwrap(f.curves["fp32_learning_rate_2e-3"]).losses, tolerance: f.tolerance,
                    "2x learning rate vs PyTorch at 2x")
    }

    /// QLoRA: the projections quantized in-process to Q4_1 and to Q8_0; PyTorch trained on the decoded values.
    func testQuantizedBaseCurvesEqualPyTorch() throws {
        let f = try loadFixture()
        let fp32 = try XCTUnwrap(f.curves["fp32"]).losses
        for base in [Base.q4_1, .q8_0] {
            let reference = try XCTUnwrap(f.curves[base.rawValue]).losses
            let r = try train(f, Variant(base: base), name: base.rawValue)
            assertCurve(r, equals: reference, tolerance: f.tolerance, "\(base.rawValue) vs PyTorch")
            // Quantization visibly changes the curve: the test sees which weights were used.
            XCTAssertGreaterThan(maxDifference(reference, fp32).value, 10 * f.tolerance)
        }
    }

    /// Multi-threaded kernels: on one wide batch (B·T = 1440 rows) the matrix products, cross-entropy and
    /// attention split their work over threads; 1, 2 and 3 threads (with checkpointing, with the unfused loss) give
    /// PyTorch's curve.
    func testWideBatchCurveWithThreadsEqualsPyTorch() throws {
        let f = try loadFixture()
        let reference = try XCTUnwrap(f.curves["fp32_wide"]).losses
        let one = try train(f, Variant(threads: 1, wide: true), name: "wide1")
        assertCurve(one, equals: reference, tolerance: f.tolerance, "wide batch, 1 thread vs PyTorch")
        for (label, v) in [("2 threads", Variant(threads: 2, wide: true)), ("3 threads", Variant(threads: 3, wide: true)),
                           ("2 threads, gradient checkpointing",
                            Variant(gradientCheckpointing: true, threads: 2, wide: true)),
                           ("2 threads, logits + crossEntropy (unfused)", Variant(threads: 2, plainLoss: true, wide: true))] {
            let r = try train(f, v, name: label.filter { $0.isLetter || $0.isNumber })
            assertCurve(r, equals: reference, tolerance: f.tolerance, "wide batch, \(label) vs PyTorch")
            assertCurve(r, equals: one.losses, tolerance: f.tolerance, "wide batch, \(label) vs 1 thread")
        }
    }

    /// The speed paths give the same curve: gradient checkpointing, 1 vs 2 kernel threads, the fused
    /// output-projection + cross-entropy vs logits + crossEntropy; each against PyTorch and the plain run.
    func testSpeedPathsGiveTheSameCurve() throws {
        let f = try loadFixture()
        let reference = try XCTUnwrap(f.curves["fp32"]).losses
        let plain = try train(f, Variant(threads: 1), name: "one-thread")
        assertCurve(plain, equals: reference, tolerance: f.tolerance, "1 thread vs PyTorch")
        let variants: [(String, Variant)] = [
            ("2 threads", Variant(threads: 2)),
            ("gradient checkpointing", Variant(gradientCheckpointing: true, threads: 1)),
            ("logits + crossEntropy (unfused)", Variant(threads: 1, plainLoss: true)),
            ("Q4_1 with gradient checkpointing, 2 threads", Variant(base: .q4_1, gradientCheckpointing: true, threads: 2)),
        ]
        for (label, v) in variants {
            let r = try train(f, v, name: label.filter { $0.isLetter || $0.isNumber })
            let curve = try XCTUnwrap(f.curves[v.base.rawValue]).losses
            assertCurve(r, equals: curve, tolerance: f.tolerance, "\(label) vs PyTorch")
            if v.base == .fp32 {
                assertCurve(r, equals: plain.losses, tolerance: f.tolerance, "\(label) vs 1 thread")
            }
        }
    }
}

/// Owns the bytes of an in-process quantized matrix.
private final class QuantizedStorage {
    let bytes: UnsafeMutableRawPointer
    init(byteCount: Int) { bytes = .allocate(byteCount: max(1, byteCount), alignment: 64) }
    deinit { bytes.deallocate() }
}
