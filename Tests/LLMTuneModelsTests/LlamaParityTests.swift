// Logits parity of the Llama family against transformers on tiny random models (fixtures and their script:
// tools/reference/make_tiny_llama_fixtures.py).
import Foundation
import XCTest
import LLMTuneModels
import LLMTuneTensor

struct Golden: Decodable {
    var input_ids: [[Int]]
    var logits_file: String
    var logits_shape: [Int]
    var tolerance: Float
}

enum Fixtures {
    static var root: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }

    static func golden(_ name: String) throws -> (Golden, [Float]) {
        let url = root.appendingPathComponent(name)
        let g = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        let data = try Data(contentsOf: url.deletingLastPathComponent().appendingPathComponent(g.logits_file))
        let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (g, floats)
    }

    /// Runs the batch of the golden file through the model and compares every logit.
    static func checkLogits(model url: URL, golden: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try ModelRegistry.loadModel(url)
        let (g, expected) = try Fixtures.golden(golden)
        let (B, T, V) = (g.logits_shape[0], g.logits_shape[1], g.logits_shape[2])
        XCTAssertEqual(model.vocabularySize, V, file: file, line: line)
        let logits = Autograd.noGrad {
            model.forward(tokens: g.input_ids.flatMap { $0 }, batch: B, cache: nil, lastOnly: false)
        }
        XCTAssertEqual(logits.shape, [B, T, V], file: file, line: line)
        let got = logits.toArray()
        var worst: Float = 0
        for i in 0..<expected.count { worst = max(worst, abs(got[i] - expected[i])) }
        XCTAssertLessThan(worst, g.tolerance, "max |Δlogit| for \(golden)", file: file, line: line)
    }
}

final class LlamaParityTests: XCTestCase {
    private func check(model url: URL, golden: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try Fixtures.checkLogits(model: url, golden: golden, file: file, line: line)
    }

    func testTinyLlama() throws {
        try check(model: Fixtures.root.appendingPathComponent("tiny-llama"), golden: "tiny-llama/golden.json")
    }

    func testTinyLlamaTied() throws {
        try check(model: Fixtures.root.appendingPathComponent("tiny-llama-tied"), golden: "tiny-llama-tied/golden.json")
    }

    func testTinyMistralSlidingWindow() throws {
        try check(model: Fixtures.root.appendingPathComponent("tiny-mistral"), golden: "tiny-mistral/golden.json")
    }

    func testTinyQwen2WithQKVBias() throws {
        try check(model: Fixtures.root.appendingPathComponent("tiny-qwen2"), golden: "tiny-qwen2/golden.json")
    }

    func testTinyLlamaFromGGUFWithPermutedRowsMatchesHF() throws {
        try check(model: Fixtures.root.appendingPathComponent("tiny-llama.gguf"), golden: "tiny-llama/golden.json")
    }

    func testTinyLlamaQ80StaysQuantizedAndMatchesDequantizedReference() throws {
        try check(model: Fixtures.root.appendingPathComponent("tiny-llama-q8_0.gguf"),
                  golden: "tiny-llama-q8_0.golden.json")
    }

    /// Decoding token by token through the KV cache gives the same logits as one full pass.
    func testKVCacheMatchesFullForward() throws {
        let model = try ModelRegistry.loadModel(Fixtures.root.appendingPathComponent("tiny-mistral"))
        let (g, expected) = try Fixtures.golden("tiny-mistral/golden.json")
        let V = g.logits_shape[2]
        let ids = g.input_ids[0]
        let cache = model.makeCache(batch: 1, capacity: 64)
        var worst: Float = 0
        Autograd.noGrad {
            // Prefill 5 tokens at once, then one at a time.
            let first = model.forward(tokens: Array(ids[0..<5]), batch: 1, cache: cache, lastOnly: false).toArray()
            for i in 0..<(5 * V) { worst = max(worst, abs(first[i] - expected[i])) }
            for t in 5..<ids.count {
                let row = model.forward(tokens: [ids[t]], batch: 1, cache: cache, lastOnly: true).toArray()
                for v in 0..<V { worst = max(worst, abs(row[v] - expected[t * V + v])) }
            }
        }
        XCTAssertLessThan(worst, 1e-4)
    }

    func testDequantizeOptionGivesSameLogits() throws {
        let url = Fixtures.root.appendingPathComponent("tiny-llama-q8_0.gguf")
        let a = try ModelRegistry.loadModel(url)
        let b = try ModelRegistry.loadModel(url, options: LoadOptions(dequantize: true))
        let ids = [1, 5, 9, 77, 200]
        let la = Autograd.noGrad { a.logits(ids).toArray() }
        let lb = Autograd.noGrad { b.logits(ids).toArray() }
        XCTAssertEqual(la.count, lb.count)
        for i in la.indices { XCTAssertEqual(la[i], lb[i], accuracy: 1e-4) }
    }
}
