// The real SmolLM2-135M-Instruct GGUF (Q4_1 blocks, multiplied as loaded) against an independent numpy
// forward of the dequantized weights (tools/reference/smollm2_reference.py). `scripts/test` pulls the model
// first; without it these tests are skipped, saying so.
import Foundation
import XCTest
import LLMTuneGeneration
import LLMTuneHub
import LLMTuneModels
import LLMTuneTensor
import LLMTuneTokenizers

enum RealModel {
    static func smolLM2() throws -> LoadedModel {
        let url: URL
        if let path = ProcessInfo.processInfo.environment["LLMTUNE_SMOLLM2_GGUF"] {
            url = URL(fileURLWithPath: path)
        } else if let u = try? ModelStore().resolve("smollm2-135m-instruct") {
            url = u
        } else {
            throw XCTSkip("SmolLM2 is not pulled: run `llmtune pull smollm2-135m-instruct` (scripts/test does)")
        }
        return try cached(url)
    }

    nonisolated(unsafe) private static var loaded: [URL: LoadedModel] = [:]
    private static func cached(_ url: URL) throws -> LoadedModel {
        if let m = loaded[url] { return m }
        let m = try ModelRegistry.load(url)
        loaded[url] = m
        return m
    }
}

final class SmolLM2Tests: XCTestCase {
    struct ScoreGolden: Decodable {
        struct Text: Decodable {
            var name: String
            var text: String
            var input_ids: [Int]
            var logprobs: [Double]
        }
        var texts: [Text]
    }

    struct GenerateGolden: Decodable {
        var messages: [[String: String]]
        var prompt_ids: [Int]
        var generated_ids: [Int]
        var generated_text: String
    }

    func testScoreMatchesNumpyReferenceWithin1e3PerToken() throws {
        let loaded = try RealModel.smolLM2()
        let url = Fixtures.root.appendingPathComponent("smollm2_score_golden.json")
        let golden = try JSONDecoder().decode(ScoreGolden.self, from: Data(contentsOf: url))
        XCTAssertGreaterThanOrEqual(golden.texts.count, 8)
        var worst = 0.0
        for t in golden.texts {
            // The tokenizer must reproduce the reference ids, and the model its log-probabilities.
            XCTAssertEqual(loaded.tokenizer.encode(t.text, addSpecialTokens: false), t.input_ids, t.name)
            let scores = try Scorer.score(loaded.model, tokens: t.input_ids)
            XCTAssertEqual(scores.logprobs.count, t.logprobs.count)
            for (a, b) in zip(scores.logprobs, t.logprobs) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThan(worst, 1e-3, "max |Δ logprob| over the golden texts")
    }

    func testGreedyChatAnswerIsParis() throws {
        let loaded = try RealModel.smolLM2()
        let url = Fixtures.root.appendingPathComponent("smollm2_generate_golden.json")
        let golden = try JSONDecoder().decode(GenerateGolden.self, from: Data(contentsOf: url))
        let messages = golden.messages.map { ChatMessage(role: $0["role"]!, content: $0["content"]!) }
        let prompt = try loaded.encodeChat(messages)
        XCTAssertEqual(prompt, golden.prompt_ids, "chat template + tokenizer reproduce transformers' prompt")
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        var streamed = ""
        let result = try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 16, sampling: .greedy)) {
            streamed += $0
            return true
        }
        XCTAssertEqual(result.finishReason, .eos)
        let eos = golden.generated_ids.firstIndex(of: 2) ?? golden.generated_ids.count
        XCTAssertEqual(result.tokenIds, Array(golden.generated_ids[..<eos]))
        XCTAssertEqual(result.text, "The capital of France is Paris.")
        XCTAssertEqual(streamed, result.text)
    }

    func testPromptLongerThanContextIsAClearError() throws {
        let loaded = try RealModel.smolLM2()
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        let tooLong = [Int](repeating: 100, count: loaded.model.contextLength + 1)
        XCTAssertThrowsError(try generator.generate(prompt: tooLong, options: GenerationOptions(maxTokens: 4))) { error in
            XCTAssertTrue("\(error)".contains("context"), "\(error)")
        }
    }
}
