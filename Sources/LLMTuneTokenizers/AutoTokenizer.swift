// One entry point that picks the tokenizer kind a checkpoint describes (like transformers' AutoTokenizer):
// GGUF `tokenizer.ggml.model` ("gpt2" byte-level BPE, "llama" SentencePiece-style BPE) or tokenizer.json's
// model and pre-tokenizer (WordPiece -> WordPieceTokenizer; ByteLevel -> BPETokenizer; byte_fallback /
// Metaspace / "▁" normalizer -> SentencePieceTokenizer).

import Foundation
import LLMTuneFormats

/// Loads whichever tokenizer kind a checkpoint holds.
public enum AutoTokenizer {
    /// The tokenizer described by GGUF metadata.
    public static func load(ggufMetadata metadata: [String: GGUFValue], source: String = "GGUF") throws -> Tokenizer {
        if metadata["tokenizer.ggml.model"]?.string == "llama" {
            return try SentencePieceTokenizer.load(ggufMetadata: metadata, source: source)
        }
        return try BPETokenizer.load(ggufMetadata: metadata, source: source)
    }

    /// The tokenizer of a checkpoint folder (tokenizer.json + optional tokenizer_config.json) or tokenizer.json path.
    public static func load(directory: URL) throws -> Tokenizer {
        let (tokenizer, config, source) = try readTokenizerFiles(directory)
        let root = try JSONValue.parse(tokenizer, source: source)
        if WordPieceTokenizer.isWordPiece(root) {
            return try WordPieceTokenizer.load(tokenizerJSON: tokenizer, tokenizerConfig: config, source: source)
        }
        if isSentencePiece(root) {
            return try SentencePieceTokenizer.load(tokenizerJSON: tokenizer, tokenizerConfig: config, source: source)
        }
        return try BPETokenizer.load(tokenizerJSON: tokenizer, tokenizerConfig: config, source: source)
    }

    /// Whether a parsed tokenizer.json is a SentencePiece-style BPE (byte fallback, "▁" spaces, no ByteLevel).
    public static func isSentencePiece(_ root: JSONValue) -> Bool {
        guard root["model"]?["type"]?.string ?? "BPE" == "BPE" else { return false }
        if root["model"]?["byte_fallback"]?.bool == true { return true }
        func mentions(_ json: JSONValue?, _ type: String) -> Bool {
            guard let json, !json.isNull else { return false }
            if json["type"]?.string == type { return true }
            for key in ["pretokenizers", "normalizers", "decoders"] {
                if json[key]?.array?.contains(where: { mentions($0, type) }) == true { return true }
            }
            return false
        }
        return mentions(root["pre_tokenizer"], "Metaspace") || mentions(root["decoder"], "Metaspace")
    }

    /// tokenizer.json bytes, tokenizer_config.json bytes (when present) and the tokenizer.json path.
    static func readTokenizerFiles(_ url: URL) throws -> ([UInt8], [UInt8]?, String) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let tokenizerURL = exists && !isDirectory.boolValue ? url : url.appendingPathComponent("tokenizer.json")
        let configURL = tokenizerURL.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        let tokenizer = try BPETokenizer.readFile(tokenizerURL)
        let config = FileManager.default.fileExists(atPath: configURL.path) ? try BPETokenizer.readFile(configURL) : nil
        return (tokenizer, config, tokenizerURL.path)
    }
}
