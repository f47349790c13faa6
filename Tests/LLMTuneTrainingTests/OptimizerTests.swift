import XCTest
import LLMTuneTensor
@testable import LLMTuneTraining

/// Optimizer updates, clipping and schedules against PyTorch / transformers (OptimizerGolden.swift, made by
/// Fixtures/make_optimizer_golden.py).
final class OptimizerTests: XCTestCase {
    func parameter(_ values: [Float]) -> (name: String, tensor: Tensor) {
        let t = Tensor(shape: [values.count], data: values)
        t.requiresGrad = true
        return ("p", t)
    }

    /// Runs `optimizer` over the golden gradients, comparing with PyTorch after every step.
    func check(_ optimizer: Optimizer, expected: [[Float]], learningRates: [Float], file: StaticString = #filePath,
               line: UInt = #line) {
        let p = parameter(OptimizerGolden.initial)
        for (k, g) in OptimizerGolden.gradients.enumerated() {
            p.tensor.grad = Tensor(shape: [g.count], data: g)
            optimizer.update([p], learningRate: learningRates[k])
            let got = p.tensor.toArray()
            for i in got.indices {
                XCTAssertEqual(got[i], expected[k][i], accuracy: 2e-7 + 2e-6 * abs(expected[k][i]),
                               "step \(k + 1) element \(i)", file: file, line: line)
            }
        }
        XCTAssertEqual(optimizer.stepCount, 4, file: file, line: line)
    }

    func testAdamWMatchesPyTorchDefaults() {
        check(AdamW(), expected: OptimizerGolden.adamwDefaults, learningRates: [1e-2, 1e-2, 1e-2, 1e-2])
    }

    func testAdamWMatchesPyTorchWithDecayAndChangingLearningRate() {
        check(AdamW(beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1), expected: OptimizerGolden.adamwDecay,
              learningRates: [1e-3, 5e-3, 2e-3, 0])
    }

    func testSGDMatchesPyTorch() {
        check(SGD(momentum: 0.9, weightDecay: 0.01), expected: OptimizerGolden.sgdMomentum,
              learningRates: [0.1, 0.1, 0.1, 0.1])
        check(SGD(momentum: 0.5, nesterov: true), expected: OptimizerGolden.sgdNesterov,
              learningRates: [0.05, 0.05, 0.05, 0.05])
        check(SGD(), expected: OptimizerGolden.sgdPlain, learningRates: [0.1, 0.1, 0.1, 0.1])
    }

    /// Two steps, save, restore into a fresh optimizer and parameter copy, two more steps: identical bits.
    func testStateRoundTripContinuesExactly() throws {
        for make in [{ AdamW(weightDecay: 0.05) as Optimizer }, { SGD(momentum: 0.9) as Optimizer }] {
            let reference = make()
            let p = parameter(OptimizerGolden.initial)
            let g = OptimizerGolden.gradients
            var saved: (OptimizerState, [Float])?
            for k in 0..<4 {
                if k == 2 { saved = (reference.state(), p.tensor.toArray()) }
                p.tensor.grad = Tensor(shape: [g[k].count], data: g[k])
                reference.update([p], learningRate: 0.01)
            }
            let (state, values) = try XCTUnwrap(saved)
            let resumed = make()
            let q = parameter(values)
            try resumed.restore(state, parameters: [q])
            XCTAssertEqual(resumed.stepCount, 2)
            for k in 2..<4 {
                q.tensor.grad = Tensor(shape: [g[k].count], data: g[k])
                resumed.update([q], learningRate: 0.01)
            }
            XCTAssertEqual(q.tensor.toArray(), p.tensor.toArray())
        }
    }

    func testRestoreRejectsWrongOptimizerAndSizes() {
        let p = parameter([1, 2, 3])
        let adam = AdamW()
        p.tensor.grad = Tensor(shape: [3], data: [1, 1, 1])
        adam.update([p], learningRate: 0.1)
        XCTAssertThrowsError(try SGD(momentum: 0.9).restore(adam.state(), parameters: [p]))
        let q = parameter([1, 2, 3, 4])
        XCTAssertThrowsError(try AdamW().restore(adam.state(), parameters: [q])) { error in
            XCTAssertTrue("\(error)".contains("has 3 values"), "\(error)")
        }
    }

    func testClipGradNormMatchesPyTorch() {
        let a = parameter(Array(repeating: 0, count: 20)), b = parameter(Array(repeating: 0, count: 15))
        a.tensor.grad = Tensor(shape: [20], data: OptimizerGolden.clipGradientA)
        b.tensor.grad = Tensor(shape: [15], data: OptimizerGolden.clipGradientB)
        let (norm, offender) = GradientClipping.globalNorm([a, b])
        XCTAssertNil(offender)
        XCTAssertEqual(norm ?? 0, OptimizerGolden.clipNorm, accuracy: 1e-5)
        let coefficient = GradientClipping.clip([a, b], norm: norm ?? 0, maxNorm: 1.0)
        XCTAssertLessThan(coefficient, 1)
        for (got, want) in zip(a.tensor.grad!.toArray() + b.tensor.grad!.toArray(),
                               OptimizerGolden.clippedA + OptimizerGolden.clippedB) {
            XCTAssertEqual(got, want, accuracy: 1e-6)
        }
        // Below the limit nothing changes.
        let before = a.tensor.grad!.toArray()
        XCTAssertEqual(GradientClipping.clip([a], norm: 0.5, maxNorm: 1.0), 1)
        XCTAssertEqual(a.tensor.grad!.toArray(), before)
    }

    func testNonFiniteGradientIsNamed() {
        let a = parameter([1, 2]), b = parameter([3, 4])
        a.tensor.grad = Tensor(shape: [2], data: [1, 2])
        b.tensor.grad = Tensor(shape: [2], data: [.nan, 1])
        let (norm, offender) = GradientClipping.globalNorm([("a", a.tensor), ("b", b.tensor)])
        XCTAssertNil(norm)
        XCTAssertEqual(offender, "b")
    }

    func testSchedulesMatchTransformers() {
        let cases: [(ScheduleKind, Double, [Double])] = [
            (.cosine, 0, OptimizerGolden.schedule_cosine), (.linear, 0, OptimizerGolden.schedule_linear),
            (.constant, 0, OptimizerGolden.schedule_constant), (.cosine, 0.1, OptimizerGolden.schedule_cosineMin),
        ]
        for (kind, minimum, expected) in cases {
            let s = LearningRateSchedule(kind: kind, peak: 2e-4, warmupSteps: 3, totalSteps: 10, minimumRatio: minimum)
            for step in 0...10 {   // transformers' cosine rises again past the end; ours holds the floor
                XCTAssertEqual(s.learningRate(at: step), 2e-4 * expected[step], accuracy: 1e-15, "\(kind) \(step)")
            }
        }
        // Warmup from a ratio: ceil(0.25 * 10) = 3 steps.
        var arguments = TrainingArguments()
        arguments.warmupRatio = 0.25
        arguments.learningRate = 1
        let s = LearningRateSchedule(arguments: arguments, totalSteps: 10)
        XCTAssertEqual(s.warmupSteps, 3)
        XCTAssertEqual(s.learningRate(at: 1), 1.0 / 3, accuracy: 1e-12)
    }
}
