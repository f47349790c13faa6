// The WordPiece tokenizer (BERT, MiniLM, sentence-transformers encoders): the HF tokenizers pipeline
// added tokens -> normalizer (BertNormalizer) -> pre-tokenizer (BertPreTokenizer) -> WordPiece -> post-processor
// ([CLS] ... [SEP]), and the WordPiece decoder. Reference: HF tokenizers `models/wordpiece/mod.rs`
// (greedy longest-match-first with the "##" continuing prefix; a word longer than max_input_chars_per_word,
// or with any part missing from the vocabulary, becomes [UNK]) and `decoders/wordpiece.rs`.
// Loader: WordPieceLoader.swift. Shared with the other kinds: AddedVocabulary.swift, VocabularyLookup.swift.

/// A WordPiece tokenizer.
public final class WordPieceTokenizer: Tokenizer, @unchecked Sendable {
    /// Everything a loader provides.
    public struct Configuration {
        /// Vocabulary string of every id. Empty for holes.
        public var tokens: [String]
        public var addedTokens: [AddedToken]
        public var normalizer: Normalizer?
        public var preTokenizer: PreTokenizer?
        public var postProcessor: PostProcessor?
        /// nil joins token strings with spaces.
        public var decoder: TokenDecoder?
        /// The id words that cannot be encoded become (must exist).
        public var unknownTokenId: Int
        public var continuingSubwordPrefix: String
        public var maximumInputCharactersPerWord: Int
        public var bosTokenId: Int?
        public var eosTokenIds: [Int]
        public var padTokenId: Int?
        public var source: String

        public init(tokens: [String], addedTokens: [AddedToken] = [], normalizer: Normalizer? = BertNormalizer(),
                    preTokenizer: PreTokenizer? = BertPreTokenizer(), postProcessor: PostProcessor? = nil,
                    decoder: TokenDecoder? = WordPieceDecoder(), unknownTokenId: Int,
                    continuingSubwordPrefix: String = "##", maximumInputCharactersPerWord: Int = 100,
                    bosTokenId: Int? = nil, eosTokenIds: [Int] = [], padTokenId: Int? = nil,
                    source: String = "tokenizer") {
            self.tokens = tokens
            self.addedTokens = addedTokens
            self.normalizer = normalizer
            self.preTokenizer = preTokenizer
            self.postProcessor = postProcessor
            self.decoder = decoder
            self.unknownTokenId = unknownTokenId
            self.continuingSubwordPrefix = continuingSubwordPrefix
            self.maximumInputCharactersPerWord = maximumInputCharactersPerWord
            self.bosTokenId = bosTokenId
            self.eosTokenIds = eosTokenIds
            self.padTokenId = padTokenId
            self.source = source
        }
    }

    public let normalizer: Normalizer?
    public let preTokenizer: PreTokenizer?
    public let postProcessor: PostProcessor?
    public let decoder: TokenDecoder?
    public let addedTokens: [AddedToken]
    public let continuingSubwordPrefix: String
    public let maximumInputCharactersPerWord: Int
    private let addedVocabulary: AddedVocabulary
    private let vocabulary: VocabularyLookup

    public let vocabularySize: Int
    public let bosTokenId: Int?
    public let eosTokenIds: [Int]
    public let padTokenId: Int?
    public var unknownTokenId: Int? { unknownId }
    private let unknownId: Int
    public var chatTemplateSource: String? { nil }

    public init(configuration c: Configuration) throws {
        guard !c.tokens.isEmpty else {
            throw TokenizerError.invalidValue(key: "model.vocab", source: c.source, message: "the vocabulary is empty")
        }
        guard c.unknownTokenId >= 0 && c.unknownTokenId < c.tokens.count else {
            throw TokenizerError.invalidValue(key: "model.unk_token", source: c.source,
                                              message: "id \(c.unknownTokenId) is outside the vocabulary")
        }
        guard c.maximumInputCharactersPerWord > 0 else {
            throw TokenizerError.invalidValue(key: "model.max_input_chars_per_word", source: c.source,
                                              message: "must be positive")
        }
        addedVocabulary = try AddedVocabulary(c.addedTokens, vocabularySize: c.tokens.count, normalizer: c.normalizer,
                                              source: c.source)
        vocabularySize = c.tokens.count
        vocabulary = VocabularyLookup(strings: c.tokens)

        normalizer = c.normalizer
        preTokenizer = c.preTokenizer
        postProcessor = c.postProcessor
        decoder = c.decoder
        addedTokens = c.addedTokens
        continuingSubwordPrefix = c.continuingSubwordPrefix
        maximumInputCharactersPerWord = c.maximumInputCharactersPerWord
        unknownId = c.unknownTokenId
        bosTokenId = c.bosTokenId
        eosTokenIds = c.eosTokenIds
        padTokenId = c.padTokenId
    }

    // MARK: Encoding

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        addedVocabulary.encode(text, normalizer: normalizer, parseSpecial: true, into: &ids) { bytes, ids in
            encodePreTokenized(bytes, into: &ids)
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    private func encodePreTokenized(_ bytes: [UInt8], into ids: inout [Int]) {
        guard !bytes.isEmpty else { return }
        var text = PreTokenizedText(bytes: bytes, pieces: [0..<bytes.count])
        preTokenizer?.preTokenize(&text)
        for piece in text.pieces { encodeWord(text.bytes[piece], into: &ids) }
    }

    /// Greedy longest-match-first WordPiece of one word (UTF-8 bytes of whole code points).
    func encodeWord(_ word: ArraySlice<UInt8>, into ids: inout [Int]) {
        guard !word.isEmpty else { return }
        // Code point boundaries (byte offsets from word.startIndex), the end included.
        var boundaries: [Int] = []
        boundaries.reserveCapacity(word.count + 1)
        var offset = 0
        for byte in word {
            if (byte & 0xC0) != 0x80 { boundaries.append(offset) }
            offset += 1
        }
        boundaries.append(word.count)
        let characterCount = boundaries.count - 1
        if characterCount > maximumInputCharactersPerWord {
            ids.append(unknownId)
            return
        }
        let base = word.startIndex
        let prefix = Array(continuingSubwordPrefix.utf8)
        var pieces: [Int] = []
        var start = 0   // index into boundaries
        while start < characterCount {
            var end = characterCount
            var found: Int?
            while end > start {
                var candidate = start > 0 ? prefix : []
                candidate.append(contentsOf: word[(base + boundaries[start])..<(base + boundaries[end])])
                if let id = vocabulary.idOfToken[String(decoding: candidate, as: UTF8.self)] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unknownId)
                return
            }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }

    /// The words of `text` after added-token splitting, normalization and pre-tokenization (for inspection).
    public func preTokenize(_ text: String) -> [String] {
        addedVocabulary.normalizedPieces(text, normalizer: normalizer).flatMap { piece in
            var pre = PreTokenizedText(piece)
            preTokenizer?.preTokenize(&pre)
            return pre.strings
        }
    }

    // MARK: Decoding

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        addedVocabulary.forEachDecoded(ids, skipSpecialTokens: skipSpecialTokens) { id in
            if let token = vocabulary.token(for: id) { tokens.append(token) }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    public func token(for id: Int) -> String? { vocabulary.token(for: id) }

    public func id(for token: String) -> Int? { vocabulary.id(for: token) }

    public func isSpecialToken(_ id: Int) -> Bool { addedVocabulary.isSpecial(id) }

    /// The token's text without its continuing-subword prefix ("##ing" -> "ing").
    public func pieceBytes(for id: Int) -> [UInt8] {
        guard let token = token(for: id) else { return [] }
        let prefix = continuingSubwordPrefix.utf8
        if !prefix.isEmpty && token.utf8.starts(with: prefix) && token.utf8.count > prefix.count {
            return Array(token.utf8.dropFirst(continuingSubwordPrefix.utf8.count))
        }
        return Array(token.utf8)
    }
}

/// HF `WordPiece` decoder: a token that starts with `prefix` is glued to the previous one (prefix removed),
/// any other token after the first gets a leading space; with `cleanup`, spaces before punctuation and
/// English contractions are removed (per token, as HF does).
public struct WordPieceDecoder: TokenDecoder {
    public var prefix: String
    public var cleanup: Bool

    public init(prefix: String = "##", cleanup: Bool = true) {
        self.prefix = prefix
        self.cleanup = cleanup
    }

    public func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            var out = token
            if index != 0 {
                if !prefix.isEmpty && out.utf8.starts(with: prefix.utf8) {
                    // Byte-wise: "#" + an emoji modifier is one Character, so String.hasPrefix would miss it.
                    out = String(decoding: out.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                } else {
                    out = " " + out
                }
            }
            return cleanup ? Self.cleanUp(out) : out
        }
    }

    /// HF `decoders::wordpiece::cleanup`.
    static func cleanUp(_ text: String) -> String {
        var s = text
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                           (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            s = replacingLiteral(s, from, to)
        }
        return s
    }
}
