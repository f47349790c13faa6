// The JSON reader and the loaders' errors: what a user can get wrong is reported with where and what.

import Foundation
import XCTest
@testable import LLMTuneTokenizers
import LLMTuneFormats

final class LoaderErrorTests: XCTestCase {
    func testJSONReader() throws {
        let value = try JSONValue.parse(#"{"a": [1, -2.5e1, true, null], "s": "x\"\u00e9\ud83d\ude00\n", "e": {}}"#,
                                        source: "t")
        XCTAssertEqual(value["a"], .array([.number(1), .number(-25), .bool(true), .null]))
        XCTAssertEqual(value["s"]?.string, "x\"é😀\n")
        XCTAssertEqual(value["e"], .object([:]))
        XCTAssertEqual(value["a"]?.array?.first?.int, 1)
        XCTAssertEqual(try JSONValue.parse(#""\ud800x""#, source: "t").string, "\u{FFFD}x")  // lone surrogate
    }

    func testJSONErrorsCarryOffsets() {
        XCTAssertThrowsError(try JSONValue.parse(#"{"a": [1, 2}"#, source: "bad.json")) { error in
            XCTAssertEqual(error as? TokenizerError,
                           .invalidJSON(source: "bad.json", offset: 11, message: "expected ',' or ']' in an array"))
        }
        XCTAssertThrowsError(try JSONValue.parse("{\"a\": tru}", source: "bad.json"))
        XCTAssertThrowsError(try JSONValue.parse("[1] x", source: "bad.json"))
        XCTAssertThrowsError(try JSONValue.parse("\"abc", source: "bad.json"))
    }

    func testTokenizerJSONErrors() {
        func load(_ json: String) throws -> BPETokenizer {
            try BPETokenizer.load(tokenizerJSON: Array(json.utf8), tokenizerConfig: nil, source: "m/tokenizer.json")
        }
        XCTAssertThrowsError(try load("{}")) { error in
            XCTAssertEqual(error as? TokenizerError, .missingKey(key: "model", source: "m/tokenizer.json"))
        }
        XCTAssertThrowsError(try load(#"{"model": {"type": "WordPiece", "vocab": {}}}"#)) { error in
            XCTAssertTrue("\(error)".contains("WordPiece"))
        }
        let metaspace = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "#
            + #""pre_tokenizer": {"type": "Metaspace", "replacement": "▁"}}"#
        XCTAssertThrowsError(try load(metaspace)) { error in
            XCTAssertTrue("\(error)".contains("Metaspace"), "\(error)")
        }
        let badMerge = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}, "#
            + #""pre_tokenizer": {"type": "ByteLevel"}}"#
        XCTAssertThrowsError(try load(badMerge)) { error in
            XCTAssertTrue("\(error)".contains("model.merges[0]"), "\(error)")
        }
        XCTAssertThrowsError(try BPETokenizer.load(directory: URL(fileURLWithPath: "/nonexistent/model"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/model/tokenizer.json"), "\(error)")
        }
    }

    func testLoadFromTokenizerFile() throws {
        let file = try Fixtures.url("tiny_smollm").appendingPathComponent("tokenizer.json")
        let tokenizer = try BPETokenizer.load(directory: file)
        XCTAssertEqual(tokenizer.bosTokenId, tokenizer.id(for: "<|im_start|>"))  // the sibling config was read
    }

    func testGGUFErrors() {
        XCTAssertThrowsError(try BPETokenizer.load(ggufMetadata: [:], source: "m.gguf")) { error in
            XCTAssertEqual(error as? TokenizerError, .missingKey(key: "tokenizer.ggml.model", source: "m.gguf"))
        }
        XCTAssertThrowsError(try BPETokenizer.load(ggufMetadata: ["tokenizer.ggml.model": .string("llama")],
                                                   source: "gemma.gguf")) { error in
            XCTAssertTrue("\(error)".contains("SentencePiece"), "\(error)")
        }
        let base: [String: GGUFValue] = [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.tokens": .array([.string("a"), .string("b")]),
            "tokenizer.ggml.merges": .array([]),
        ]
        var unknownPre = base
        unknownPre["tokenizer.ggml.pre"] = .string("mystery")
        XCTAssertThrowsError(try BPETokenizer.load(ggufMetadata: unknownPre, source: "m.gguf")) { error in
            XCTAssertTrue("\(error)".contains("mystery") && "\(error)".contains("smollm"), "\(error)")
        }
        var badTypes = base
        badTypes["tokenizer.ggml.token_type"] = .array([.int32(1)])
        XCTAssertThrowsError(try BPETokenizer.load(ggufMetadata: badTypes, source: "m.gguf")) { error in
            XCTAssertTrue("\(error)".contains("1 types for 2 tokens"), "\(error)")
        }
        var badBOS = base
        badBOS["tokenizer.ggml.bos_token_id"] = .uint32(7)
        XCTAssertThrowsError(try BPETokenizer.load(ggufMetadata: badBOS, source: "m.gguf")) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.ggml.bos_token_id"), "\(error)")
        }
    }
}
