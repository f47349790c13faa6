// Id <-> string lookup of a vocabulary, as every tokenizer kind answers `token(for:)` and `id(for:)`
// (BPETokenizer, WordPieceTokenizer, SentencePieceTokenizer). Reference: HF tokenizers `Model::id_to_token` /
// `token_to_id`; each kind adds its added tokens to the id lookup in its own way.

/// The string of every id and the id of every string.
struct VocabularyLookup: Sendable {
    /// The string `token(for:)` shows for each id ("" for holes).
    let strings: [String]
    /// String -> id: the first id of each non-empty vocabulary string, plus what the tokenizer adds.
    var idOfToken: [String: Int]

    /// - Parameters:
    ///   - strings: shown by `token(for:)`.
    ///   - keys: the strings ids are looked up by (`strings` when nil); the first id of a repeated key wins.
    init(strings: [String], keys: [String]? = nil) {
        self.strings = strings
        let keys = keys ?? strings
        var idOfToken: [String: Int] = [:]
        idOfToken.reserveCapacity(keys.count)
        for (id, token) in keys.enumerated() where !token.isEmpty && idOfToken[token] == nil { idOfToken[token] = id }
        self.idOfToken = idOfToken
    }

    /// The string of `id`; nil outside the vocabulary and for holes.
    func token(for id: Int) -> String? {
        guard id >= 0 && id < strings.count, !strings[id].isEmpty else { return nil }
        return strings[id]
    }

    /// The id of `token`, nil if absent.
    func id(for token: String) -> Int? { idOfToken[token] }
}
