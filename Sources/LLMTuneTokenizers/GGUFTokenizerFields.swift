// The `tokenizer.ggml.*` metadata that both GGUF loaders read the same way (byte-level BPE: GGUFTokenizerLoader.swift,
// SentencePiece-style BPE: SentencePieceLoaders.swift): the token list, the token types, special token ids
// (-1 or UINT32_MAX mean none) and the ids that end generation.
// Reference: llama.cpp llama-vocab.cpp (`llama_vocab::impl::load`: special ids, the end-of-generation set).

import LLMTuneFormats

enum GGUFTokenizerFields {
    /// `tokenizer.ggml.tokens`: the string of every id.
    static func tokens(_ metadata: [String: GGUFValue], source: String) throws -> [String] {
        guard let tokenValues = metadata["tokenizer.ggml.tokens"]?.array else {
            throw TokenizerError.missingKey(key: "tokenizer.ggml.tokens", source: source)
        }
        var tokens: [String] = []
        tokens.reserveCapacity(tokenValues.count)
        for (index, value) in tokenValues.enumerated() {
            guard let text = value.string else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.tokens[\(index)]", source: source,
                                                  message: "expected a string")
            }
            tokens.append(text)
        }
        return tokens
    }

    /// `tokenizer.ggml.token_type` (all `.normal` when absent; unknown numbers become `.undefined`).
    static func tokenTypes(_ metadata: [String: GGUFValue], count: Int, source: String) throws -> [GGUFTokenType] {
        var types = [GGUFTokenType](repeating: .normal, count: count)
        if let typeValues = metadata["tokenizer.ggml.token_type"]?.array {
            guard typeValues.count == count else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.token_type", source: source,
                                                  message: "\(typeValues.count) types for \(count) tokens")
            }
            for (index, value) in typeValues.enumerated() {
                types[index] = value.int.flatMap(GGUFTokenType.init(rawValue:)) ?? .undefined
            }
        }
        return types
    }

    /// The token id stored under `key`; nil when absent, negative or UINT32_MAX (llama.cpp's "none").
    static func tokenId(_ metadata: [String: GGUFValue], _ key: String, vocabularySize: Int, source: String) throws
        -> Int? {
        guard let id = metadata[key]?.int else { return nil }
        guard id >= 0 && id < vocabularySize else {
            if id < 0 || id == Int(UInt32.max) { return nil }
            throw TokenizerError.invalidValue(key: key, source: source,
                                              message: "id \(id) outside the vocabulary (\(vocabularySize) tokens)")
        }
        return id
    }

    /// The ids that end generation: EOS, EOT, EOM (each once), then control and user-defined tokens named like an
    /// end of turn (`BPETokenizer.endOfTurnNames`).
    static func endOfGenerationIds(eos: Int?, eot: Int?, eom: Int?, tokens: [String], types: [GGUFTokenType]) -> [Int] {
        var ids: [Int] = []
        for id in [eos, eot, eom].compactMap({ $0 }) where !ids.contains(id) { ids.append(id) }
        for (id, type) in types.enumerated()
        where (type == .control || type == .userDefined) && BPETokenizer.endOfTurnNames.contains(tokens[id])
            && !ids.contains(id) {
            ids.append(id)
        }
        return ids
    }
}
