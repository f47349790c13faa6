// The parts the three tokenizer kinds share: the heap merge loop (PairMerge.swift), the added-token split and
// decode filter (AddedVocabulary.swift), and the tokenizer.json / GGUF fields every loader reads
// (TokenizerJSONFields.swift, GGUFTokenizerFields.swift). Expected values are worked out by hand from the
// references named in those files (HF tokenizers merge order and added-token split, llama.cpp's special ids).

import XCTest
@testable import LLMTuneTokenizers
import LLMTuneFormats

/// Symbols whose merges come from a small table keyed by (left id, right id).
private struct TableSymbols: MergeableSymbols {
    /// (left, right) -> (rank, merged id).
    let table: [Int32: [Int32: (rank: UInt64, merged: Int32)]]
    var ids: [Int32]

    func pairValue(_ left: Int, _ right: Int) -> UInt64 {
        guard let entry = table[ids[left]]?[ids[right]] else { return .max }
        return entry.rank << 32 | UInt64(entry.merged)
    }

    mutating func merge(_ left: Int, _ right: Int, into merged: Int32) { ids[left] = merged }

    /// Runs the shared loop and returns the surviving ids in order.
    static func merged(_ ids: [Int32], _ table: [Int32: [Int32: (rank: UInt64, merged: Int32)]]) -> [Int32] {
        var symbols = TableSymbols(table: table, ids: ids)
        let next = mergeAdjacentPairs(&symbols, count: ids.count)
        var out: [Int32] = []
        var k = ids.isEmpty ? -1 : 0
        while k >= 0 {
            out.append(symbols.ids[k])
            k = next[k]
        }
        return out
    }
}

final class SharedPartsTests: XCTestCase {
    // Ids: a 0, b 1, c 2, ab 3, bc 4, abc 5, aa 6, aaaa 7.
    private let table: [Int32: [Int32: (rank: UInt64, merged: Int32)]] = [
        0: [1: (1, 3), 4: (2, 5), 0: (3, 6)],   // a+b -> ab (rank 1), a+bc -> abc (2), a+a -> aa (3)
        1: [2: (0, 4)],                          // b+c -> bc (rank 0)
        6: [6: (4, 7)],                          // aa+aa -> aaaa (4)
    ]

    func testMergeLoopOrder() {
        // Lowest rank first: b+c (0) before a+b (1), then a+bc.
        XCTAssertEqual(TableSymbols.merged([0, 1, 2], table), [5])
        // Two a+b merges; b+a does not merge.
        XCTAssertEqual(TableSymbols.merged([0, 1, 0, 1], table), [3, 3])
        // Leftmost first among equal ranks: "aaa" -> aa a, not a aa; "aaaa" -> aa aa -> aaaa.
        XCTAssertEqual(TableSymbols.merged([0, 0, 0], table), [6, 0])
        XCTAssertEqual(TableSymbols.merged([0, 0, 0, 0], table), [7])
        // A merge result that makes a new pair with its left neighbour (stale entries skipped on the way).
        XCTAssertEqual(TableSymbols.merged([2, 0, 1, 2], table), [2, 5])
        XCTAssertEqual(TableSymbols.merged([2], table), [2])
        XCTAssertEqual(TableSymbols.merged([], table), [])
    }

    // MARK: AddedVocabulary

    private func vocabulary() throws -> AddedVocabulary {
        try AddedVocabulary([AddedToken(id: 5, content: "<s>", special: true),
                             AddedToken(id: 6, content: "Hello", special: false, normalized: true)],
                            vocabularySize: 8, normalizer: LowercaseNormalizer(), source: "test")
    }

    /// Ids with each text piece the model would see as -1000 - its length, and the pieces.
    private func encode(_ added: AddedVocabulary, _ text: String, parseSpecial: Bool) -> ([Int], [String]) {
        var pieces: [String] = []
        var ids: [Int] = []
        added.encode(text, normalizer: LowercaseNormalizer(), parseSpecial: parseSpecial, into: &ids) { bytes, ids in
            pieces.append(String(decoding: bytes, as: UTF8.self))
            ids.append(-1000 - bytes.count)
        }
        return (ids, pieces)
    }

    func testAddedVocabularySplitsRawThenNormalized() throws {
        let added = try vocabulary()
        // "<s>" is found in the raw text; "Hello" (normalized) only matches "hello" after lowercasing.
        let (ids, pieces) = encode(added, "A<s>HELLO there", parseSpecial: true)
        XCTAssertEqual(pieces, ["a", " there"])
        XCTAssertEqual(ids, [-1001, 5, 6, -1006])
        // Special tokens not parsed: "<s>" stays text (and is lowercased with it).
        let (plainIds, plainPieces) = encode(added, "A<s>HELLO", parseSpecial: false)
        XCTAssertEqual(plainPieces, ["a<s>"])
        XCTAssertEqual(plainIds, [-1004, 6])
        XCTAssertEqual(added.normalizedPieces("A<s>HELLO there", normalizer: LowercaseNormalizer()),
                       ["a", "hello there"])
    }

    func testAddedVocabularyDecodeFilterAndIdCheck() throws {
        let added = try vocabulary()
        XCTAssertTrue(added.isSpecial(5))
        XCTAssertFalse(added.isSpecial(6))
        XCTAssertFalse(added.isSpecial(8))
        XCTAssertFalse(added.isSpecial(-1))
        let pieces: [[UInt8]] = (0..<8).map { [UInt8(0x30 + $0)] }
        XCTAssertEqual(added.joinedBytes([1, 5, -1, 8, 6], skipSpecialTokens: false, pieceBytes: pieces), [0x31, 0x35, 0x36])
        XCTAssertEqual(added.joinedBytes([1, 5, -1, 8, 6], skipSpecialTokens: true, pieceBytes: pieces), [0x31, 0x36])
        XCTAssertThrowsError(try AddedVocabulary([AddedToken(id: 8, content: "<x>", special: true)], vocabularySize: 8,
                                                 normalizer: nil, source: "test")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidValue(
                key: "added_tokens", source: "test", message: "token \"<x>\" has id 8 outside the vocabulary (size 8)"))
        }
    }

    // MARK: tokenizer.json fields

    func testTokenizerJSONFields() throws {
        let root = try JSONValue.parse("""
            {"added_tokens": [{"id": 3, "content": "<s>", "special": true, "lstrip": true},
                              {"id": 1, "content": "b2"}],
             "model": {"vocab": {"a": 0, "b": 1}, "merges": ["a b", ["b", "a"]]}}
            """, source: "t.json")
        let added = try TokenizerJSONFields.addedTokens(root, source: "t.json")
        XCTAssertEqual(added, [AddedToken(id: 3, content: "<s>", special: true, leftStrip: true),
                               AddedToken(id: 1, content: "b2", special: false)])
        let vocab = try XCTUnwrap(root["model"]?["vocab"]?.object)
        // Id 2 is a hole; the added token fills id 3 but not id 1, which the vocabulary names.
        XCTAssertEqual(try TokenizerJSONFields.tokensById(vocab: vocab, addedTokens: added, source: "t.json"),
                       ["a", "b", "", "<s>"])
        let merges = try TokenizerJSONFields.merges(try XCTUnwrap(root["model"]), source: "t.json")
        XCTAssertEqual(merges.map { "\($0.0)|\($0.1)" }, ["a|b", "b|a"])
        let idOf = TokenizerJSONFields.idLookup(vocab: vocab, addedTokens: added)
        XCTAssertEqual(idOf("b2"), 1)
        XCTAssertEqual(idOf("<s>"), 3)
        XCTAssertNil(idOf("c"))

        let config = try JSONValue.parse("""
            {"bos_token": "<s>", "eos_token": {"content": "b"}, "pad_token": "zz",
             "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}
            """, source: "c.json")
        XCTAssertEqual(TokenizerJSONFields.configTokenId(config, "bos_token", idOf: idOf), 3)
        XCTAssertEqual(TokenizerJSONFields.configTokenId(config, "eos_token", idOf: idOf), 1)
        XCTAssertNil(TokenizerJSONFields.configTokenId(config, "pad_token", idOf: idOf))
        XCTAssertNil(TokenizerJSONFields.configTokenId(nil, "bos_token", idOf: idOf))
        XCTAssertEqual(TokenizerJSONFields.chatTemplate(config), "D")
        XCTAssertEqual(TokenizerJSONFields.chatTemplate(try JSONValue.parse(#"{"chat_template": "S"}"#, source: "c")), "S")
        XCTAssertNil(TokenizerJSONFields.chatTemplate(nil))
    }

    func testTokenizerJSONFieldErrors() throws {
        let badAdded = try JSONValue.parse(#"{"added_tokens": [{"id": 0, "content": "x"}, {"content": "y"}]}"#,
                                           source: "t.json")
        XCTAssertThrowsError(try TokenizerJSONFields.addedTokens(badAdded, source: "t.json")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidValue(key: "added_tokens[1]", source: "t.json",
                                                                message: "needs an integer id and a string content"))
        }
        XCTAssertThrowsError(try TokenizerJSONFields.tokensById(vocab: ["a": .number(-2)], addedTokens: [],
                                                                source: "t.json")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidValue(key: "model.vocab[\"a\"]", source: "t.json",
                                                                message: "ids must be non-negative integers"))
        }
        // A negative added-token id is an error for every loader (SentencePiece's loader used to trap on it).
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": true},"#
            + #" "added_tokens": [{"id": -1, "content": "<x>"}]}"#
        XCTAssertThrowsError(try SentencePieceTokenizer.load(tokenizerJSON: Array(json.utf8), tokenizerConfig: nil,
                                                             source: "t.json")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidValue(key: "added_tokens", source: "t.json", message: "negative id"))
        }
    }

    // MARK: GGUF fields

    func testGGUFFields() throws {
        let metadata: [String: GGUFValue] = [
            "tokenizer.ggml.tokens": .array(["a", "<|im_end|>", "<eos>", "<|eot_id|>"].map { .string($0) }),
            "tokenizer.ggml.token_type": .array([.int32(1), .int32(3), .int32(3), .int32(9)]),
            "tokenizer.ggml.eos_token_id": .uint32(2),
            "tokenizer.ggml.bos_token_id": .int32(-1),
            "tokenizer.ggml.padding_token_id": .uint32(UInt32.max),
            "tokenizer.ggml.unknown_token_id": .uint32(4),
        ]
        let tokens = try GGUFTokenizerFields.tokens(metadata, source: "m.gguf")
        XCTAssertEqual(tokens.count, 4)
        let types = try GGUFTokenizerFields.tokenTypes(metadata, count: 4, source: "m.gguf")
        XCTAssertEqual(types, [.normal, .control, .control, .undefined])
        func id(_ key: String) throws -> Int? {
            try GGUFTokenizerFields.tokenId(metadata, "tokenizer.ggml." + key, vocabularySize: 4, source: "m.gguf")
        }
        XCTAssertEqual(try id("eos_token_id"), 2)
        XCTAssertNil(try id("bos_token_id"))       // -1: none
        XCTAssertNil(try id("padding_token_id"))   // UINT32_MAX: none
        XCTAssertNil(try id("eot_token_id"))       // absent
        XCTAssertThrowsError(try id("unknown_token_id")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidValue(key: "tokenizer.ggml.unknown_token_id", source: "m.gguf",
                                                                message: "id 4 outside the vocabulary (4 tokens)"))
        }
        // EOS first, then end-of-turn control tokens; "<|eot_id|>" has an undefined type, so it is not added.
        XCTAssertEqual(GGUFTokenizerFields.endOfGenerationIds(eos: 2, eot: nil, eom: 2, tokens: tokens, types: types),
                       [2, 1])
        XCTAssertThrowsError(try GGUFTokenizerFields.tokenTypes(metadata, count: 5, source: "m.gguf")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidValue(key: "tokenizer.ggml.token_type", source: "m.gguf",
                                                                message: "4 types for 5 tokens"))
        }
    }
}
