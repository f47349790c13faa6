// The real Gemma-3-270M GGUF (Q8_0 embedding, Q5_0 / Q4_K / Q6_K / Q8_0 matrices, multiplied as loaded) against
// transformers' fp32 forward of the dequantized file (tools/reference/gemma3_reference.py). Skipped unless
// `llmtune pull gemma3-270m` has run. Run in release: `swift test -c release -Xswiftc -enable-testing`.
import Foundation
import XCTest
import LLMTuneFormats
import LLMTuneGeneration
import LLMTuneHub
@testable import LLMTuneModels
import LLMTuneTensor
import LLMTuneTokenizers

enum RealGemma3 {
    nonisolated(unsafe) private static var loaded: (LanguageModel, Tokenizer)?

    static func load() throws -> (LanguageModel, Tokenizer) {
        if let loaded { return loaded }
        Gemma3TestSupport.register()
        let url: URL
        if let path = ProcessInfo.processInfo.environment["LLMTUNE_GEMMA3_GGUF"] {
            url = URL(fileURLWithPath: path)
        } else if let u = try? ModelStore().resolve("gemma3-270m") {
            url = u
        } else {
            throw XCTSkip("Gemma-3-270M is not pulled: run `llmtune pull gemma3-270m`")
        }
        let model = try ModelRegistry.loadModel(url)
        let tokenizer = try AutoTokenizer.load(ggufMetadata: GGUFFile(url: url).metadata, source: url.path)
        loaded = (model, tokenizer)
        return (model, tokenizer)
    }
}

final class Gemma3RealModelTests: XCTestCase {
    struct Golden: Decodable {
        struct Text: Decodable {
            var name: String
            var text: String
            var input_ids: [Int]
            var logprobs: [Double]
        }
        struct Generate: Decodable {
            var prompt: String
            var prompt_ids: [Int]
            var generated_ids: [Int]
            var generated_text: String
        }
        var texts: [Text]
        var generate: Generate
    }

    private func golden() throws -> Golden {
        let url = Gemma3TestSupport.root.appendingPathComponent("gemma3_270m_golden.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    func testConfigurationOfTheRealFile() throws {
        let (model, tokenizer) = try RealGemma3.load()
        let gemma = try XCTUnwrap(model as? Gemma3Model)
        let c = gemma.configuration
        XCTAssertEqual([c.hiddenSize, c.layerCount, c.headCount, c.kvHeadCount, c.headDim, c.intermediateSize],
                       [640, 18, 4, 1, 256, 2048])
        XCTAssertEqual(c.vocabularySize, 262_144)
        XCTAssertEqual(c.slidingWindow, 512)
        XCTAssertEqual(c.slidingLayers.enumerated().filter { !$0.element }.map(\.offset), [5, 11, 17])
        XCTAssertEqual(gemma.normWeightOffset, 0)
        XCTAssertEqual(tokenizer.bosTokenId, 2)
        // The 262k embedding stays quantized: the head is the same Q8_0 matrix, no fp32 copy.
        guard case .quantized(let embedding) = gemma.embedding else { return XCTFail("embedding not quantized") }
        XCTAssertNotEqual(embedding.type, .f32)
    }

    func testScoreMatchesTransformersWithin1e3PerToken() throws {
        let (model, tokenizer) = try RealGemma3.load()
        let golden = try golden()
        XCTAssertGreaterThanOrEqual(golden.texts.count, 5)
        XCTAssertTrue(golden.texts.contains { $0.input_ids.count > 512 }, "one text must pass the sliding window")
        var worst = 0.0
        for t in golden.texts {
            XCTAssertEqual(tokenizer.encode(t.text, addSpecialTokens: true), t.input_ids, t.name)
            let scores = try Scorer.score(model, tokens: t.input_ids)
            XCTAssertEqual(scores.logprobs.count, t.logprobs.count)
            var textWorst = 0.0
            for (a, b) in zip(scores.logprobs, t.logprobs) { textWorst = max(textWorst, abs(a - b)) }
            XCTAssertLessThan(textWorst, 1e-3, "max |Δ logprob| for \(t.name)")
            worst = max(worst, textWorst)
        }
        print("Gemma-3-270M: max |Δ logprob| vs transformers = \(worst)")
    }

    func testGreedyContinuationOfTheCapitalOfFrance() throws {
        let (model, tokenizer) = try RealGemma3.load()
        let g = try golden().generate
        let prompt = tokenizer.encode(g.prompt, addSpecialTokens: true)
        XCTAssertEqual(prompt, g.prompt_ids)
        let generator = Generator(model: model, tokenizer: tokenizer)
        let result = try generator.generate(prompt: prompt, options: GenerationOptions(
            maxTokens: g.generated_ids.count, sampling: .greedy))
        XCTAssertEqual(result.tokenIds, g.generated_ids)
        XCTAssertEqual(result.text, g.generated_text)
        // transformers' greedy continuation starts " the capital of the country of France."
        XCTAssertTrue(result.text.hasPrefix(" the capital of"), result.text)
    }
}
