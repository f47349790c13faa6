// SentencePiece-style BPE against HF tokenizers: a tiny Gemma-style vocabulary (always; as tokenizer.json and as
// GGUF metadata) and the real Gemma-3-270M GGUF (when pulled). Goldens: tools/reference/gemma3_tokenizer_goldens.py.

import Foundation
import XCTest
@testable import LLMTuneTokenizers
import LLMTuneFormats

struct SentencePieceGolden: Decodable {
    struct Case: Decodable {
        var text: String
        var ids: [Int]
        var decoded_skip_special: String
    }
    var vocabulary_size: Int
    var bos_token_id: Int?
    var cases: [Case]
}

func gemma3GGUFURL() -> URL? {
    let manager = FileManager.default
    if let path = ProcessInfo.processInfo.environment["LLMTUNE_GEMMA3_GGUF"], manager.fileExists(atPath: path) {
        return URL(fileURLWithPath: path)
    }
    let cache = manager.homeDirectoryForCurrentUser.appendingPathComponent(".cache/llmtune/models/gemma3-270m")
    guard let names = try? manager.contentsOfDirectory(atPath: cache.path),
          let name = names.sorted().first(where: { $0.hasSuffix(".gguf") }) else { return nil }
    return cache.appendingPathComponent(name)
}

final class SentencePieceTokenizerTests: XCTestCase {
    private func check(_ tokenizer: Tokenizer, _ golden: SentencePieceGolden, _ label: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(tokenizer.vocabularySize, golden.vocabulary_size, file: file, line: line)
        var failures = 0
        for c in golden.cases {
            let ids = tokenizer.encode(c.text, addSpecialTokens: true)
            if ids != c.ids { failures += 1 }
            XCTAssertEqual(ids, c.ids, "\(label): \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(c.ids, skipSpecialTokens: true), c.decoded_skip_special,
                           "\(label) decode: \(c.text.debugDescription)", file: file, line: line)
        }
        XCTAssertEqual(failures, 0, "\(label): \(failures) of \(golden.cases.count) texts differ", file: file, line: line)
    }

    func testTinyGemmaFromTokenizerJSON() throws {
        let golden = try Fixtures.decode(SentencePieceGolden.self, "sentencepiece/tiny_golden.json")
        let url = try Fixtures.url("sentencepiece/tiny_gemma")
        let tokenizer = try SentencePieceTokenizer.load(directory: url)
        check(tokenizer, golden, "tokenizer.json")
        XCTAssertEqual(tokenizer.bosTokenId, tokenizer.id(for: "<bos>"))
        XCTAssertTrue(tokenizer.addsBOSToken)
        XCTAssertTrue(try AutoTokenizer.load(directory: url) is SentencePieceTokenizer)
    }

    func testTinyGemmaFromGGUFMetadata() throws {
        let golden = try Fixtures.decode(SentencePieceGolden.self, "sentencepiece/tiny_golden.json")
        let metadata = try TestGGUFMetadataReader.read(try Fixtures.url("sentencepiece/tiny_gemma.gguf"))
        let tokenizer = try SentencePieceTokenizer.load(ggufMetadata: metadata, source: "tiny_gemma.gguf")
        check(tokenizer, golden, "GGUF")
        let auto = try AutoTokenizer.load(ggufMetadata: metadata, source: "tiny_gemma.gguf")
        XCTAssertEqual(auto.encode("Hello, world!"), tokenizer.encode("Hello, world!"))
        XCTAssertTrue(tokenizer.isSpecialToken(tokenizer.id(for: "<start_of_turn>") ?? -1))
        XCTAssertEqual(tokenizer.eosTokenIds.first, tokenizer.id(for: "<eos>"))
        XCTAssertTrue(tokenizer.eosTokenIds.contains(tokenizer.id(for: "<end_of_turn>") ?? -1))
    }

    /// Llama-2 / Mistral spellings: prefix space from a Prepend normalizer or a Metaspace pre-tokenizer, Strip decoder.
    func testPrependAndMetaspaceVariantsFromTokenizerJSON() throws {
        let goldens = try Fixtures.decode([String: SentencePieceGolden].self, "sentencepiece/variants_golden.json")
        for name in ["tiny_llama2", "tiny_metaspace"] {
            let url = try Fixtures.url("sentencepiece/\(name)")
            let tokenizer = try AutoTokenizer.load(directory: url)
            XCTAssertTrue(tokenizer is SentencePieceTokenizer, name)
            check(tokenizer, try XCTUnwrap(goldens[name]), name)
        }
    }

    /// llama.cpp's add_space_prefix equals HF's Prepend normalizer, except where HF uses a "▁▁" run piece: the GGUF
    /// spells those runs with real spaces as user-defined tokens, matched in the raw text before the prefix is added,
    /// so "▁" + "▁" can never merge there (transformers respells them; llama.cpp does not).
    func testGGUFSpacePrefixMatchesPrependNormalizer() throws {
        let goldens = try Fixtures.decode([String: SentencePieceGolden].self, "sentencepiece/variants_golden.json")
        let golden = try XCTUnwrap(goldens["tiny_llama2"])
        let metadata = try TestGGUFMetadataReader.read(try Fixtures.url("sentencepiece/tiny_prefix.gguf"))
        let tokenizer = try SentencePieceTokenizer.load(ggufMetadata: metadata, source: "tiny_prefix.gguf")
        var compared = 0
        let spaceRuns = Set((0..<tokenizer.vocabularySize).filter {
            guard let piece = tokenizer.token(for: $0) else { return false }
            return piece.count > 1 && piece.allSatisfy { $0 == " " }
        })
        for c in golden.cases where !c.ids.contains(where: spaceRuns.contains) {
            XCTAssertEqual(tokenizer.encode(c.text), c.ids, c.text.debugDescription)
            XCTAssertEqual(tokenizer.decode(c.ids, skipSpecialTokens: true), c.decoded_skip_special)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 20)
    }

    /// Characters outside the vocabulary become their UTF-8 bytes as <0xNN> tokens, and decode back.
    func testByteFallbackRoundTrip() throws {
        let metadata = try TestGGUFMetadataReader.read(try Fixtures.url("sentencepiece/tiny_gemma.gguf"))
        let tokenizer = try SentencePieceTokenizer.load(ggufMetadata: metadata, source: "tiny_gemma.gguf")
        let text = "ꙮ"   // U+A66E, E3 99 AE, not in the tiny vocabulary
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        XCTAssertEqual(ids, ["<0xEA>", "<0x99>", "<0xAE>"].compactMap { tokenizer.id(for: $0) })
        XCTAssertEqual(tokenizer.decode(ids), text)
        XCTAssertEqual(tokenizer.pieces(for: ids).map(\.token), ["<0xEA>", "<0x99>", "<0xAE>"])
        // Special tokens are text when not parsed.
        let plain = tokenizer.encode("<eos>", addSpecialTokens: false, parseSpecialTokens: false)
        XCTAssertFalse(plain.contains(tokenizer.id(for: "<eos>")!))
        XCTAssertEqual(tokenizer.decode(plain), "<eos>")
    }

    func testMalformedMetadataThrows() {
        XCTAssertThrowsError(try SentencePieceTokenizer.load(ggufMetadata: ["tokenizer.ggml.model": .string("gpt2")],
                                                             source: "m.gguf")) { error in
            XCTAssertTrue("\(error)".contains("AutoTokenizer"), "\(error)")
        }
        let bad: [String: GGUFValue] = [
            "tokenizer.ggml.model": .string("llama"),
            "tokenizer.ggml.tokens": .array([.string("a"), .string("b")]),
            "tokenizer.ggml.scores": .array([.float32(0)]),
        ]
        XCTAssertThrowsError(try SentencePieceTokenizer.load(ggufMetadata: bad, source: "m.gguf")) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.ggml.scores"), "\(error)")
        }
    }

    /// The real Gemma-3 vocabulary (262,144 pieces) against transformers' tokenizer of the same GGUF.
    func testRealGemma3MatchesTransformers() throws {
        guard let url = gemma3GGUFURL() else { throw XCTSkip("Gemma-3-270M not pulled (llmtune pull gemma3-270m)") }
        let golden = try Fixtures.decode(SentencePieceGolden.self, "sentencepiece/gemma3_golden.json")
        let metadata = try TestGGUFMetadataReader.read(url)
        let tokenizer = try AutoTokenizer.load(ggufMetadata: metadata, source: url.lastPathComponent)
        XCTAssertTrue(tokenizer is SentencePieceTokenizer)
        XCTAssertEqual(tokenizer.bosTokenId, golden.bos_token_id)
        check(tokenizer, golden, "gemma3")
        XCTAssertEqual(tokenizer.eosTokenIds, [1, 106])   // <eos>, then <end_of_turn>
        // The built-in Gemma chat template renders "<bos>" itself; its ids equal transformers' for the same text.
        let turn = try XCTUnwrap(golden.cases.first { $0.text.hasPrefix("<start_of_turn>user") })
        let chat = ChatTemplate.gemma.encode([ChatMessage(role: "user", content: "What is 2+2?")], tokenizer: tokenizer,
                                             addGenerationPrompt: true)
        XCTAssertEqual(chat, turn.ids)
    }
}
