// The byte-level BPE tokenizer (GPT-2, Llama-3, Qwen2, SmolLM2): the HF tokenizers pipeline
// added tokens -> normalizer -> pre-tokenizer -> BPE -> post-processor, and decoding through the
// byte-level alphabet. Loaders: TokenizerJSONLoader.swift (tokenizer.json), GGUFTokenizerLoader.swift.
// Shared with the other kinds: AddedVocabulary.swift (added-token split), VocabularyLookup.swift.

/// A byte-level BPE tokenizer.
public final class BPETokenizer: Tokenizer, @unchecked Sendable {
    /// Everything a loader provides.
    public struct Configuration {
        /// Vocabulary string of every id (byte-level form; added tokens by their content). Empty for holes.
        public var tokens: [String]
        /// Merge rules in rank order.
        public var merges: [(String, String)]
        /// Tokens matched verbatim in the text.
        public var addedTokens: [AddedToken]
        public var normalizer: Normalizer?
        /// Must contain a ByteLevel step (byte-level BPE).
        public var preTokenizer: PreTokenizer
        /// Applied when `addSpecialTokens` is true.
        public var postProcessor: PostProcessor?
        /// nil joins token strings with spaces (HF's behavior without a decoder).
        public var decoder: TokenDecoder?
        /// A word that is itself a token is not merged (Llama-3's `ignore_merges`).
        public var ignoreMerges: Bool
        public var bosTokenId: Int?
        public var eosTokenIds: [Int]
        public var padTokenId: Int?
        public var unknownTokenId: Int?
        public var chatTemplate: String?
        /// Ids whose decoded bytes are their vocabulary string's UTF-8 rather than byte-level text
        /// (llama.cpp's control and user-defined tokens).
        public var rawTextTokenIds: Set<Int>
        /// Names the origin in errors.
        public var source: String

        public init(tokens: [String], merges: [(String, String)], addedTokens: [AddedToken] = [],
                    normalizer: Normalizer? = nil, preTokenizer: PreTokenizer = ByteLevelPreTokenizer(),
                    postProcessor: PostProcessor? = nil, decoder: TokenDecoder? = ByteLevelDecoder(),
                    ignoreMerges: Bool = false, bosTokenId: Int? = nil, eosTokenIds: [Int] = [],
                    padTokenId: Int? = nil, unknownTokenId: Int? = nil, chatTemplate: String? = nil,
                    rawTextTokenIds: Set<Int> = [], source: String = "tokenizer") {
            self.tokens = tokens
            self.merges = merges
            self.addedTokens = addedTokens
            self.normalizer = normalizer
            self.preTokenizer = preTokenizer
            self.postProcessor = postProcessor
            self.decoder = decoder
            self.ignoreMerges = ignoreMerges
            self.bosTokenId = bosTokenId
            self.eosTokenIds = eosTokenIds
            self.padTokenId = padTokenId
            self.unknownTokenId = unknownTokenId
            self.chatTemplate = chatTemplate
            self.rawTextTokenIds = rawTextTokenIds
            self.source = source
        }
    }

    let model: BytePairModel
    public let normalizer: Normalizer?
    public let preTokenizer: PreTokenizer
    public let postProcessor: PostProcessor?
    public let decoder: TokenDecoder?
    /// The added tokens, in load order.
    public let addedTokens: [AddedToken]
    private let addedVocabulary: AddedVocabulary
    private let vocabulary: VocabularyLookup
    private let pieceByteTable: [[UInt8]]
    private let decodesAsBytes: Bool

    public let vocabularySize: Int
    public let bosTokenId: Int?
    public let eosTokenIds: [Int]
    public let padTokenId: Int?
    public let unknownTokenId: Int?
    public let chatTemplateSource: String?
    /// Number of merge rules ignored because a part or the result is missing from the vocabulary.
    public var skippedMergeCount: Int { model.skippedMerges }

    public init(configuration c: Configuration) throws {
        guard c.preTokenizer.isByteLevel else {
            throw TokenizerError.unsupportedComponent(
                kind: "pre-tokenizer", type: "without ByteLevel", source: c.source,
                hint: "Only byte-level BPE tokenizers (GPT-2, Llama-3, Qwen2, SmolLM) are supported here.")
        }
        guard !c.tokens.isEmpty else {
            throw TokenizerError.invalidValue(key: "vocab", source: c.source, message: "the vocabulary is empty")
        }
        vocabularySize = c.tokens.count
        // HF shows a normalized added token by its normalized content (id -> "hello" for "Hello").
        var displayed = c.tokens
        if let normalizer = c.normalizer {
            for added in c.addedTokens where added.normalized && added.id >= 0 && added.id < displayed.count {
                displayed[added.id] = normalizer.normalize(added.content)
            }
        }
        var vocabulary = VocabularyLookup(strings: displayed, keys: c.tokens)
        for added in c.addedTokens { vocabulary.idOfToken[added.content] = added.id }
        self.vocabulary = vocabulary

        addedVocabulary = try AddedVocabulary(c.addedTokens, vocabularySize: c.tokens.count, normalizer: c.normalizer,
                                              source: c.source)

        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(c.tokens.count)
        for (id, token) in displayed.enumerated() {
            pieces.append(c.rawTextTokenIds.contains(id) ? Array(token.utf8) : ByteLevelAlphabet.decodeOrRaw(token))
        }
        pieceByteTable = pieces

        model = BytePairModel(tokenBytes: pieces, idOfToken: vocabulary.idOfToken, merges: c.merges,
                              ignoreMerges: c.ignoreMerges, unknownId: c.unknownTokenId)

        normalizer = c.normalizer
        preTokenizer = c.preTokenizer
        postProcessor = c.postProcessor
        decoder = c.decoder
        addedTokens = c.addedTokens
        decodesAsBytes = c.decoder?.isPureByteLevel ?? false

        bosTokenId = c.bosTokenId
        eosTokenIds = c.eosTokenIds
        padTokenId = c.padTokenId
        unknownTokenId = c.unknownTokenId
        chatTemplateSource = c.chatTemplate
    }

    // MARK: Encoding

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        encode(text, addSpecialTokens: addSpecialTokens, parseSpecialTokens: true)
    }

    /// Encodes `text`. With `parseSpecialTokens` false, special tokens written in the text are encoded as
    /// plain text (llama.cpp's `parse_special = false`, HF's `split_special_tokens`); non-special added
    /// tokens are still matched.
    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecialTokens: Bool) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        addedVocabulary.encode(text, normalizer: normalizer, parseSpecial: parseSpecialTokens, into: &ids) {
            encodePreTokenized($0, into: &$1)
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    private func encodePreTokenized(_ bytes: [UInt8], into ids: inout [Int]) {
        guard !bytes.isEmpty else { return }
        var text = PreTokenizedText(bytes: bytes, pieces: [0..<bytes.count])
        preTokenizer.preTokenize(&text)
        text.bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for piece in text.pieces { model.encodeWord(base, piece, into: &ids) }
        }
    }

    /// The pre-tokenized pieces of `text` (after added-token splitting and normalization), for inspection.
    public func preTokenize(_ text: String) -> [String] {
        addedVocabulary.normalizedPieces(text, normalizer: normalizer).flatMap { preTokenizer.preTokenize($0) }
    }

    // MARK: Decoding

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        if decodesAsBytes {
            return String(decoding: addedVocabulary.joinedBytes(ids, skipSpecialTokens: skipSpecialTokens,
                                                                pieceBytes: pieceByteTable), as: UTF8.self)
        }
        var tokens: [String] = []
        addedVocabulary.forEachDecoded(ids, skipSpecialTokens: skipSpecialTokens) {
            tokens.append(vocabulary.strings[$0])
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    public func token(for id: Int) -> String? { vocabulary.token(for: id) }

    public func id(for token: String) -> Int? { vocabulary.id(for: token) }

    public func isSpecialToken(_ id: Int) -> Bool { addedVocabulary.isSpecial(id) }

    public func pieceBytes(for id: Int) -> [UInt8] {
        guard id >= 0 && id < vocabularySize else { return [] }
        return pieceByteTable[id]
    }

    /// Whether `encode(_, addSpecialTokens: true)` starts with the BOS token.
    public var addsBOSToken: Bool {
        guard let bosTokenId, let postProcessor else { return false }
        return postProcessor.process([]).first == bosTokenId
    }
}
