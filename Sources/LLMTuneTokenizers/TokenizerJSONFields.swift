// The fields of tokenizer.json and tokenizer_config.json that every loader reads the same way (byte-level BPE:
// TokenizerJSONLoader.swift, WordPiece: WordPieceLoader.swift, SentencePiece-style BPE: SentencePieceLoaders.swift):
// `added_tokens`, the vocabulary by id, `model.merges`, special tokens named in the config, `chat_template`.
// Reference: HF tokenizers `tokenizer/serialization.rs` and `added_vocabulary.rs` (AddedToken fields), transformers
// `tokenization_utils_base.py` (tokenizer_config.json special tokens as a string or an AddedToken object).

enum TokenizerJSONFields {
    /// The `added_tokens` list of tokenizer.json (empty when absent).
    static func addedTokens(_ root: JSONValue, source: String) throws -> [AddedToken] {
        var addedTokens: [AddedToken] = []
        for (index, entry) in (root["added_tokens"]?.array ?? []).enumerated() {
            guard let id = entry["id"]?.int, let content = entry["content"]?.string else {
                throw TokenizerError.invalidValue(key: "added_tokens[\(index)]", source: source,
                                                  message: "needs an integer id and a string content")
            }
            addedTokens.append(AddedToken(
                id: id, content: content, special: entry["special"]?.bool ?? false,
                singleWord: entry["single_word"]?.bool ?? false, leftStrip: entry["lstrip"]?.bool ?? false,
                rightStrip: entry["rstrip"]?.bool ?? false, normalized: entry["normalized"]?.bool ?? false))
        }
        return addedTokens
    }

    /// The string of every id: `model.vocab` entries, then added tokens for ids the vocabulary leaves empty.
    /// Ids must be non-negative and below ten million; ids nobody names are empty strings (holes).
    static func tokensById(vocab: [String: JSONValue], addedTokens: [AddedToken], source: String) throws -> [String] {
        var maxId = -1
        for (token, value) in vocab {
            guard let id = value.int, id >= 0 else {
                throw TokenizerError.invalidValue(key: "model.vocab[\(token.debugDescription)]", source: source,
                                                  message: "ids must be non-negative integers")
            }
            maxId = max(maxId, id)
        }
        for added in addedTokens {
            guard added.id >= 0 else {
                throw TokenizerError.invalidValue(key: "added_tokens", source: source, message: "negative id")
            }
            maxId = max(maxId, added.id)
        }
        guard maxId < 10_000_000 else {
            throw TokenizerError.invalidValue(key: "model.vocab", source: source, message: "id \(maxId) is implausible")
        }
        var tokens = [String](repeating: "", count: maxId + 1)
        for (token, value) in vocab {
            if let id = value.int { tokens[id] = token }
        }
        for added in addedTokens where tokens[added.id].isEmpty { tokens[added.id] = added.content }
        return tokens
    }

    /// `model.merges` in rank order: "left right" strings (older files) or [left, right] pairs.
    static func merges(_ model: JSONValue, source: String) throws -> [(String, String)] {
        var merges: [(String, String)] = []
        let mergeList = model["merges"]?.array ?? []
        merges.reserveCapacity(mergeList.count)
        for (rank, entry) in mergeList.enumerated() {
            if let pair = entry.array, pair.count == 2, let left = pair[0].string, let right = pair[1].string {
                merges.append((left, right))
            } else if let text = entry.string, let pair = BPETokenizer.splitMerge(text) {
                merges.append(pair)
            } else {
                throw TokenizerError.invalidValue(key: "model.merges[\(rank)]", source: source,
                                                  message: "expected \"left right\" or [left, right]")
            }
        }
        return merges
    }

    /// Id lookup by token text: an added token's id first, else the vocabulary's.
    static func idLookup(vocab: [String: JSONValue], addedTokens: [AddedToken]) -> (String) -> Int? {
        { name in addedTokens.first(where: { $0.content == name })?.id ?? vocab[name]?.int }
    }

    /// The id of the special token tokenizer_config.json names under `key` (a string, or an object with
    /// "content"), nil when absent or not in the vocabulary.
    static func configTokenId(_ config: JSONValue?, _ key: String, idOf: (String) -> Int?) -> Int? {
        guard let value = config?[key] else { return nil }
        return (value.string ?? value["content"]?.string).flatMap(idOf)
    }

    /// tokenizer_config.json's `chat_template`: a string, or a list of {name, template} (the one named
    /// "default", else the first).
    static func chatTemplate(_ config: JSONValue?) -> String? {
        guard let template = config?["chat_template"] else { return nil }
        if let text = template.string { return text }
        guard let list = template.array else { return nil }
        return (list.first { $0["name"]?.string == "default" } ?? list.first)?["template"]?.string
    }
}
