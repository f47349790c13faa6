// Golden tests against HF tokenizers on four tiny trained byte-level BPE tokenizers (SmolLM-style Digits +
// ByteLevel, Llama-3 Split regex + ignore_merges + BOS template, Qwen2 NFC + Split regex, RoBERTa-style
// prefix space + Lowercase/NFKC + lstrip / rstrip / single_word / normalized added tokens).

import Foundation
import XCTest
@testable import LLMTuneTokenizers
import LLMTuneFormats

final class TinyTokenizerGoldenTests: XCTestCase {
    static let names = ["tiny_smollm", "tiny_llama3", "tiny_qwen2", "tiny_roberta"]

    func goldens() throws -> [String: [GoldenCase]] {
        try Fixtures.decode([String: [GoldenCase]].self, "golden_tiny.json")
    }

    func testEncodeMatchesHFTokenizers() throws {
        let goldens = try goldens()
        for name in Self.names {
            let tokenizer = try Fixtures.tinyTokenizerWithoutConfig(name)
            let cases = try XCTUnwrap(goldens[name])
            XCTAssertGreaterThanOrEqual(cases.count, 40)
            for golden in cases {
                XCTAssertEqual(tokenizer.encode(golden.text, addSpecialTokens: true), golden.ids,
                               "\(name): \(golden.text.debugDescription)")
                XCTAssertEqual(tokenizer.encode(golden.text, addSpecialTokens: false), golden.ids_no_special,
                               "\(name) (no special): \(golden.text.debugDescription)")
            }
        }
    }

    func testTokenStringsMatchHFTokenizers() throws {
        let goldens = try goldens()
        for name in Self.names {
            let tokenizer = try Fixtures.tinyTokenizerWithoutConfig(name)
            for golden in try XCTUnwrap(goldens[name]) {
                let ids = try XCTUnwrap(golden.ids_no_special)
                XCTAssertEqual(ids.map { tokenizer.token(for: $0) ?? "?" }, golden.tokens,
                               "\(name): \(golden.text.debugDescription)")
                // HF shows a normalized added token by its normalized content but looks it up by its content.
                let normalizedAdded = Set(tokenizer.addedTokens.filter(\.normalized).map(\.id))
                for (id, token) in zip(ids, try XCTUnwrap(golden.tokens)) where !normalizedAdded.contains(id) {
                    XCTAssertEqual(tokenizer.id(for: token), id)
                }
            }
        }
        let roberta = try Fixtures.tinyTokenizerWithoutConfig("tiny_roberta")
        XCTAssertEqual(roberta.id(for: "Hello"), 483)
        XCTAssertNil(roberta.id(for: "hello"))
        XCTAssertEqual(roberta.token(for: 483), "hello")
    }

    func testDecodeMatchesHFTokenizers() throws {
        let goldens = try goldens()
        for name in Self.names {
            let tokenizer = try Fixtures.tinyTokenizerWithoutConfig(name)
            for golden in try XCTUnwrap(goldens[name]) {
                XCTAssertEqual(tokenizer.decode(golden.ids, skipSpecialTokens: false), golden.decoded,
                               "\(name): \(golden.text.debugDescription)")
                XCTAssertEqual(tokenizer.decode(golden.ids, skipSpecialTokens: true), golden.decoded_skip_special,
                               "\(name) (skip special): \(golden.text.debugDescription)")
            }
        }
    }

    /// With tokenizer_config.json, encoding matches transformers' AutoTokenizer (which ignores the config's
    /// add_bos_token / add_eos_token when a tokenizer.json is present: tiny_qwen2 sets add_eos_token).
    func testEncodeWithConfigMatchesTransformers() throws {
        let goldens = try goldens()
        for name in Self.names {
            let tokenizer = try Fixtures.tinyTokenizer(name)
            for golden in try XCTUnwrap(goldens[name]) {
                XCTAssertEqual(tokenizer.encode(golden.text), golden.hf_ids, "\(name): \(golden.text.debugDescription)")
            }
        }
    }

    func testSpecialTokenIdsFromConfig() throws {
        let smollm = try Fixtures.tinyTokenizer("tiny_smollm")
        XCTAssertEqual(smollm.bosTokenId, smollm.id(for: "<|im_start|>"))
        XCTAssertEqual(smollm.eosTokenIds.first, smollm.id(for: "<|im_end|>"))
        XCTAssertEqual(smollm.padTokenId, smollm.id(for: "<|im_end|>"))
        XCTAssertEqual(smollm.unknownTokenId, smollm.id(for: "<|endoftext|>"))
        XCTAssertTrue(smollm.eosTokenIds.contains(try XCTUnwrap(smollm.id(for: "<|endoftext|>"))))
        XCTAssertFalse(smollm.addsBOSToken)
        XCTAssertNotNil(smollm.chatTemplateSource)

        let llama = try Fixtures.tinyTokenizer("tiny_llama3")
        XCTAssertEqual(llama.bosTokenId, 0)
        XCTAssertTrue(llama.addsBOSToken)
        XCTAssertEqual(llama.eosTokenIds.first, llama.id(for: "<|eot_id|>"))

        // Without a config, BOS falls back to the template's leading special token.
        let bare = try Fixtures.tinyTokenizerWithoutConfig("tiny_llama3")
        XCTAssertEqual(bare.bosTokenId, 0)
        XCTAssertEqual(bare.token(for: 0), "<|begin_of_text|>")

        let roberta = try Fixtures.tinyTokenizer("tiny_roberta")
        XCTAssertEqual(roberta.encode("").count, 2)  // <s> </s>
        XCTAssertTrue(roberta.isSpecialToken(0))
        XCTAssertFalse(roberta.isSpecialToken(try XCTUnwrap(roberta.id(for: "<sep>"))))
    }

    func testParseSpecialTokensOff() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_smollm")
        let text = "<|im_start|>user"
        let parsed = tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: true)
        let literal = tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: false)
        XCTAssertEqual(parsed.first, tokenizer.id(for: "<|im_start|>"))
        XCTAssertFalse(literal.contains(try XCTUnwrap(tokenizer.id(for: "<|im_start|>"))))
        XCTAssertEqual(tokenizer.decode(literal), text)
    }

    /// The same vocabularies through the GGUF path (`tokenizer.ggml.*` as llama.cpp would store them).
    func testGGUFMetadataPathMatchesGoldens() throws {
        let goldens = try goldens()
        let setups: [(name: String, pre: String, addBOS: Bool?)] = [
            ("tiny_smollm", "smollm", false),
            ("tiny_llama3", "llama-bpe", nil),  // llama.cpp's default for llama-bpe: add BOS, ignore merges
            ("tiny_qwen2", "qwen2", false),
        ]
        for setup in setups {
            let reference = try Fixtures.tinyTokenizerWithoutConfig(setup.name)
            let merges = try mergesOfTokenizerJSON(Fixtures.url(setup.name).appendingPathComponent("tokenizer.json"))
            let bos = setup.name == "tiny_llama3" ? 0 : nil
            let metadata = ggufMetadata(from: reference, merges: merges, pre: setup.pre, bos: bos,
                                        eos: reference.id(for: "<|endoftext|>"), addBOS: setup.addBOS)
            let tokenizer = try BPETokenizer.load(ggufMetadata: metadata, source: setup.name)
            XCTAssertEqual(tokenizer.skippedMergeCount, 0)
            for golden in try XCTUnwrap(goldens[setup.name]) {
                // llama.cpp does not NFC-normalize (Qwen2's tokenizer.json does).
                if setup.name == "tiny_qwen2"
                    && Array(golden.text.precomposedStringWithCanonicalMapping.utf8) != Array(golden.text.utf8) {
                    continue
                }
                XCTAssertEqual(tokenizer.encode(golden.text, addSpecialTokens: true), golden.ids,
                               "\(setup.name) via GGUF: \(golden.text.debugDescription)")
                XCTAssertEqual(tokenizer.decode(golden.ids, skipSpecialTokens: true), golden.decoded_skip_special)
            }
        }
    }

    func testPreTokenizeInspection() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_smollm")
        XCTAssertEqual(tokenizer.preTokenize("x  12<|im_end|>ab"), ["x", "  ", "1", "2", "ab"])
        let pieces = tokenizer.pieces(for: tokenizer.encode("héllo", addSpecialTokens: false))
        XCTAssertEqual(pieces.map(\.text).joined(), "héllo")
        XCTAssertEqual(pieces.map(\.id), tokenizer.encode("héllo", addSpecialTokens: false))
    }
}
