import XCTest
@testable import LLMTuneTraining

final class ArgumentsAndProgressTests: XCTestCase {
    func testConfigKeepsDefaultsForMissingKeys() throws {
        let json = #"{"learning_rate": 0.0002, "steps": 500, "optimizer": "sgd", "max_grad_norm": null,"#
            + #" "early_stopping_patience": 3, "seed": 42, "schedule": "linear"}"#
        let a = try JSONDecoder().decode(TrainingArguments.self, from: Data(json.utf8))
        XCTAssertEqual(a.learningRate, 2e-4)
        XCTAssertEqual(a.steps, 500)
        XCTAssertEqual(a.optimizer, .sgd)
        XCTAssertNil(a.maxGradNorm)
        XCTAssertEqual(a.earlyStoppingPatience, 3)
        XCTAssertEqual(a.seed, 42)
        XCTAssertEqual(a.schedule, .linear)
        // Untouched defaults.
        XCTAssertEqual(a.batchSize, 4)
        XCTAssertEqual(a.betas, [0.9, 0.999])
        XCTAssertEqual(a.eps, 1e-8)
        XCTAssertEqual(a.evalEvery, 50)
        XCTAssertEqual(a.checkpointEvery, 100)
        XCTAssertEqual(a.gradientAccumulation, 1)
        // Round trip.
        let again = try JSONDecoder().decode(TrainingArguments.self, from: JSONEncoder().encode(a))
        XCTAssertEqual(again, a)
        XCTAssertEqual(TrainingArguments().maxGradNorm, 1.0)
    }

    func testValidationNamesTheKey() {
        var a = TrainingArguments()
        a.gradientAccumulation = 0
        XCTAssertThrowsError(try a.validate()) {
            XCTAssertTrue("\($0)".contains("'gradient_accumulation'"), "\($0)")
        }
        a = TrainingArguments()
        a.earlyStoppingPatience = 2
        a.evalEvery = 0
        XCTAssertThrowsError(try a.validate()) { XCTAssertTrue("\($0)".contains("eval_every"), "\($0)") }
        XCTAssertNoThrow(try TrainingArguments().validate())
    }

    func testStepsFromEpochs() {
        var a = TrainingArguments()
        a.epochs = 2
        a.gradientAccumulation = 4
        XCTAssertEqual(a.totalSteps(batchesPerEpoch: 10), 5)   // ceil(20 / 4)
        a.epochs = 0.5
        XCTAssertEqual(a.totalSteps(batchesPerEpoch: 10), 2)   // ceil(ceil(5) / 4)
        a.steps = 7
        XCTAssertEqual(a.totalSteps(batchesPerEpoch: 10), 7)
    }

    func metrics(step: Int, validation: Double? = nil) -> StepMetrics {
        StepMetrics(step: step, totalSteps: 100, loss: 2.34567, learningRate: 1e-4, gradientNorm: 0.5, tokens: 1000,
                    tokensPerSecond: 1234.4, elapsedSeconds: 10, remainingSeconds: 83, validationLoss: validation,
                    residentMemoryBytes: 512 << 20)
    }

    func testProgressLine() {
        XCTAssertEqual(ProgressPrinter.line(metrics(step: 12), validation: 2.1, barWidth: 10),
                       "[#---------] step 12/100 | loss 2.3457 | val 2.1000 | lr 1.00e-04 | 1234 tok/s | ETA 1m23s | mem 512 MB")
        XCTAssertEqual(ProgressPrinter.duration(3725), "1h02m05s")
        XCTAssertEqual(ProgressPrinter.duration(59.4), "59s")
    }

    func testLiveAndPlainModes() {
        var live = ""
        let terminal = ProgressPrinter(live: true) { live += $0 }
        for s in 1...3 { terminal.handle(.step(metrics(step: s))) }
        XCTAssertEqual(live.components(separatedBy: "\r").count, 4)
        XCTAssertFalse(live.contains("\n"))
        var plain = ""
        let log = ProgressPrinter(live: false, every: 2) { plain += $0 }
        for s in 1...5 { log.handle(.step(metrics(step: s, validation: s == 3 ? 1.5 : nil))) }
        let lines = plain.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)   // steps 2, 3 (validation), 4
        XCTAssertTrue(lines[1].contains("val 1.5000"))
    }

    func testMetricsLineIsJSON() throws {
        let line = metrics(step: 3, validation: 1.25).jsonLine
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["step"] as? Int, 3)
        XCTAssertEqual(object["val_loss"] as? Double, 1.25)
        XCTAssertEqual(object["tokens_per_second"] as? Double, 1234.4)
        XCTAssertNil(try XCTUnwrap(JSONSerialization.jsonObject(with: Data(metrics(step: 1).jsonLine.utf8))
                                   as? [String: Any])["val_loss"])
    }

    func testSmoothingIsDebiased() {
        let s = TrainingReport.smoothed([4, 2], weight: 0.9)
        XCTAssertEqual(s[0], 4, accuracy: 1e-12)
        XCTAssertEqual(s[1], (0.9 * 0.4 + 0.1 * 2) / (1 - 0.81), accuracy: 1e-12)
    }

    func testNiceTicks() {
        XCTAssertEqual(TrainingReport.niceTicks(-0.03, 6.5), [-2, 0, 2, 4, 6, 8])
        XCTAssertEqual(TrainingReport.niceTicks(1, 30, minimumStep: 1), [0, 10, 20, 30])
        XCTAssertEqual(TrainingReport.niceTicks(1, 3, minimumStep: 1), [1, 2, 3])
    }
}
