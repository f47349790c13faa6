// Shared test helpers: the tiny fixture models of LLMTuneModelsTests, the real SmolLM2 when pulled.
import Foundation
import XCTest
import LLMTuneHub
import LLMTuneModels
import LLMTuneTensor
import LLMTuneTokenizers

enum TestModels {
    /// Tests/LLMTuneModelsTests/Fixtures, found from this file's path.
    static var modelFixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LLMTuneModelsTests/Fixtures")
    }

    /// A 2-layer Llama with 256 tokens and a 128-token context (fp32 safetensors; no tokenizer).
    static func tinyLlama() throws -> LanguageModel {
        try ModelRegistry.loadModel(modelFixtures.appendingPathComponent("tiny-llama"))
    }

    /// The same architecture with Q8_0 weights (quantized kernels).
    static func tinyLlamaQ8() throws -> LanguageModel {
        try ModelRegistry.loadModel(modelFixtures.appendingPathComponent("tiny-llama-q8_0.gguf"))
    }

    /// SmolLM2-135M-Instruct from the store; skips the test when it is not pulled, and in debug builds (minutes
    /// there) unless LLMTUNE_SLOW_TESTS=1. Run with `swift test -c release -Xswiftc -enable-testing`.
    static func smolLM2() throws -> LoadedModel {
        #if DEBUG
        if ProcessInfo.processInfo.environment["LLMTUNE_SLOW_TESTS"] != "1" {
            throw XCTSkip("SmolLM2 evaluation tests run in release builds (or set LLMTUNE_SLOW_TESTS=1)")
        }
        #endif
        guard let url = try? ModelStore().resolve("smollm2-135m-instruct") else {
            throw XCTSkip("smollm2-135m-instruct is not pulled (llmtune pull smollm2)")
        }
        return try ModelRegistry.load(url)
    }

    /// log p(tokens[i] | tokens[..<i]) for i in 1..<count, from one full forward pass (the reference).
    static func directLogprobs(_ model: LanguageModel, _ tokens: [Int]) -> [Double] {
        let logp = Autograd.noGrad { model.logits(tokens).logSoftmax().contiguous() }   // (T, V)
        let V = model.vocabularySize
        return (1..<tokens.count).map { Double(logp.pointer[($0 - 1) * V + tokens[$0]]) }
    }
}

/// Deterministic pseudo-random token lists.
struct TokenSource {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
    mutating func tokens(_ count: Int, vocabulary: Int = 256) -> [Int] { (0..<count).map { _ in next(vocabulary) } }
}

/// One token per UTF-8 byte (ids 0...255), BOS 1, EOS 2: a tokenizer for the 256-token tiny model.
final class ByteTokenizer: Tokenizer, @unchecked Sendable {
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] { (addSpecialTokens ? [1] : []) + text.utf8.map { Int($0) } }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        String(decoding: ids.filter { $0 >= 0 && $0 < 256 }.map { UInt8($0) }, as: UTF8.self)
    }
    var vocabularySize: Int { 256 }
    var bosTokenId: Int? { 1 }
    var eosTokenIds: [Int] { [2] }
    var padTokenId: Int? { nil }
    var unknownTokenId: Int? { nil }
    func token(for id: Int) -> String? { id >= 0 && id < 256 ? String(UnicodeScalar(UInt8(id))) : nil }
    func id(for token: String) -> Int? { token.utf8.count == 1 ? Int(token.utf8.first!) : nil }
    func isSpecialToken(_ id: Int) -> Bool { false }
    func pieceBytes(for id: Int) -> [UInt8] { id >= 0 && id < 256 ? [UInt8(id)] : [] }
    var chatTemplateSource: String? { nil }
}
