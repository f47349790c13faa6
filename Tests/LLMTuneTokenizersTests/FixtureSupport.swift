// Fixture access for the tokenizer tests. Fixtures are read with Foundation's JSONDecoder (independent
// of the library's own JSON reader); they were written by Fixtures/make_fixtures.py.

import Foundation
import XCTest
@testable import LLMTuneTokenizers
import LLMTuneFormats

enum Fixtures {
    static var folder: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw XCTSkip("Fixtures folder missing from the test bundle")
            }
            return url
        }
    }

    static func url(_ name: String) throws -> URL { try folder.appendingPathComponent(name) }

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url(name)))
    }

    static func tinyTokenizer(_ name: String) throws -> BPETokenizer {
        try BPETokenizer.load(directory: url(name))
    }

    /// tokenizer.json alone (no tokenizer_config.json).
    static func tinyTokenizerWithoutConfig(_ name: String) throws -> BPETokenizer {
        let bytes = [UInt8](try Data(contentsOf: url(name).appendingPathComponent("tokenizer.json")))
        return try BPETokenizer.load(tokenizerJSON: bytes, tokenizerConfig: nil, source: "\(name)/tokenizer.json")
    }
}

struct GoldenCase: Decodable {
    let text: String
    let ids: [Int]
    let ids_no_special: [Int]?
    let tokens: [String]?
    let decoded: String
    let decoded_skip_special: String
    let hf_ids: [Int]?
}

struct ChatCase: Decodable {
    struct Message: Decodable {
        let role: String
        let content: String
    }
    let template: String?
    let messages: [Message]
    let add_generation_prompt: Bool
    let text: String
    let ids: [Int]?

    var chatMessages: [ChatMessage] { messages.map { ChatMessage(role: $0.role, content: $0.content) } }
}

struct SmolLM2Golden: Decodable {
    let source: String
    let chat_template: String
    let vocabulary_size: Int
    let bos_token_id: Int
    let eos_token_id: Int
    let pad_token_id: Int
    let cases: [GoldenCase]
    let chats: [ChatCase]
}

struct ChatTemplateGolden: Decodable {
    struct Template: Decodable {
        let name: String
        let jinja: String
        let bos_token: String
        let eos_token: String
    }
    let templates: [Template]
    let renders: [ChatCase]
}

struct PreTokenizeGolden: Decodable {
    let texts: [String]
    let pieces: [String: [[String]]]
}

struct LossyDecodeCase: Decodable {
    let ids: [Int]
    let text: String
}

/// Builds the `tokenizer.ggml.*` metadata llama.cpp would read for a tokenizer.json tokenizer
/// (added special tokens -> control, other added tokens -> user-defined).
func ggufMetadata(from tokenizer: BPETokenizer, merges: [(String, String)], pre: String, bos: Int?, eos: Int?,
                  addBOS: Bool?) -> [String: GGUFValue] {
    var tokens: [GGUFValue] = []
    var types: [GGUFValue] = []
    for id in 0..<tokenizer.vocabularySize {
        tokens.append(.string(tokenizer.token(for: id) ?? ""))
        let added = tokenizer.addedTokens.first { $0.id == id }
        types.append(.int32(added == nil ? 1 : (added?.special == true ? 3 : 4)))
    }
    var metadata: [String: GGUFValue] = [
        "tokenizer.ggml.model": .string("gpt2"),
        "tokenizer.ggml.pre": .string(pre),
        "tokenizer.ggml.tokens": .array(tokens),
        "tokenizer.ggml.token_type": .array(types),
        "tokenizer.ggml.merges": .array(merges.map { .string($0.0 + " " + $0.1) }),
    ]
    if let bos { metadata["tokenizer.ggml.bos_token_id"] = .uint32(UInt32(bos)) }
    if let eos { metadata["tokenizer.ggml.eos_token_id"] = .uint32(UInt32(eos)) }
    if let addBOS { metadata["tokenizer.ggml.add_bos_token"] = .bool(addBOS) }
    return metadata
}

/// Merge rules of a tokenizer.json (read independently of the library's loader).
func mergesOfTokenizerJSON(_ url: URL) throws -> [(String, String)] {
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    guard let root = object as? [String: Any], let model = root["model"] as? [String: Any],
          let merges = model["merges"] as? [Any] else {
        throw XCTSkip("unexpected tokenizer.json layout")
    }
    return merges.compactMap { entry in
        if let pair = entry as? [String], pair.count == 2 { return (pair[0], pair[1]) }
        if let text = entry as? String, let space = text.dropFirst().firstIndex(of: " ") {
            return (String(text[..<space]), String(text[text.index(after: space)...]))
        }
        return nil
    }
}
