// SentencePiece-style BPE tokenizer (Gemma, Llama-2, Mistral v1): pieces spell spaces as U+2581 ("▁"), merges
// follow piece scores (GGUF) or merge ranks (tokenizer.json), characters outside the vocabulary fall back to
// byte tokens <0xNN>. Pipeline: added/special tokens -> per fragment: optional prefix space, normalizer
// (" " -> "▁"), optional Metaspace split -> merges (SentencePieceModel.swift) -> BOS/EOS.
// References: llama.cpp llama-vocab.cpp (LLAMA_VOCAB_TYPE_SPM tokenize / token_to_piece), HF tokenizers
// (BPE byte_fallback, normalizers Replace/Prepend, pre-tokenizer Metaspace, decoders Replace/ByteFallback/Fuse/
// Strip), transformers GemmaTokenizer. Loaders: SentencePieceLoaders.swift. Shared with the other kinds:
// AddedVocabulary.swift (every added token matched in the raw text here), VocabularyLookup.swift.

/// A SentencePiece-style BPE tokenizer with byte fallback.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    /// How the text of a fragment becomes the "▁"-spelled words that are merged.
    public enum SpaceHandling: Sendable, Equatable {
        /// Spaces become "▁"; with `prefix`, a "▁" is put before the first fragment and after every added token
        /// (llama.cpp's add_space_prefix). The fragment is one word (Gemma, llama.cpp).
        case replace(prefix: Bool)
        /// HF Metaspace: spaces become "▁", a prefix "▁" per `prependScheme` ("always", "first", "never"),
        /// and with `split` every "▁" starts a new word.
        case metaspace(prependScheme: String, split: Bool)
    }

    /// Everything a loader provides.
    public struct Configuration {
        /// Piece text of every id, as stored ("▁" for spaces; "<0x41>" for byte tokens). Empty for holes.
        public var pieces: [String]
        /// GGUF scores (higher merges first); nil when merges are given instead.
        public var scores: [Float]?
        /// tokenizer.json merges in rank order.
        public var merges: [(String, String)]?
        /// Ids of byte tokens <0xNN> (GGUF token type 6); found by name when empty.
        public var byteTokenIds: Set<Int>
        /// Tokens matched verbatim in the raw text (control, user-defined, added tokens).
        public var addedTokens: [AddedToken]
        public var spaceHandling: SpaceHandling
        /// Rewrites each text fragment before merging (e.g. HF's Replace " " -> "▁"), instead of `spaceHandling`'s
        /// own replacement when set.
        public var normalizer: Normalizer?
        public var addBOS: Bool
        public var addEOS: Bool
        /// Leading spaces removed from decoded text (HF decoder Strip start, llama.cpp with add_space_prefix).
        public var decodeStripLeadingSpaces: Int
        public var bosTokenId: Int?
        public var eosTokenIds: [Int]
        public var padTokenId: Int?
        public var unknownTokenId: Int?
        public var chatTemplate: String?
        /// Names the origin in errors.
        public var source: String

        public init(pieces: [String], scores: [Float]? = nil, merges: [(String, String)]? = nil,
                    byteTokenIds: Set<Int> = [], addedTokens: [AddedToken] = [],
                    spaceHandling: SpaceHandling = .replace(prefix: false), normalizer: Normalizer? = nil,
                    addBOS: Bool = true, addEOS: Bool = false, decodeStripLeadingSpaces: Int = 0,
                    bosTokenId: Int? = nil, eosTokenIds: [Int] = [], padTokenId: Int? = nil,
                    unknownTokenId: Int? = nil, chatTemplate: String? = nil, source: String = "tokenizer") {
            self.pieces = pieces
            self.scores = scores
            self.merges = merges
            self.byteTokenIds = byteTokenIds
            self.addedTokens = addedTokens
            self.spaceHandling = spaceHandling
            self.normalizer = normalizer
            self.addBOS = addBOS
            self.addEOS = addEOS
            self.decodeStripLeadingSpaces = decodeStripLeadingSpaces
            self.bosTokenId = bosTokenId
            self.eosTokenIds = eosTokenIds
            self.padTokenId = padTokenId
            self.unknownTokenId = unknownTokenId
            self.chatTemplate = chatTemplate
            self.source = source
        }
    }

    static let spaceSymbol = "\u{2581}"

    let model: SentencePieceModel
    private let vocabulary: VocabularyLookup
    private let pieceByteTable: [[UInt8]]
    /// Every added token is matched in the raw text.
    private let addedVocabulary: AddedVocabulary
    public let spaceHandling: SpaceHandling
    public let normalizer: Normalizer?
    /// Whether `encode(_:addSpecialTokens: true)` starts with BOS.
    public let addsBOSToken: Bool
    public let addsEOSToken: Bool
    private let stripLeadingSpaces: Int

    public let vocabularySize: Int
    public let bosTokenId: Int?
    public let eosTokenIds: [Int]
    public let padTokenId: Int?
    public let unknownTokenId: Int?
    public let chatTemplateSource: String?

    public init(configuration c: Configuration) throws {
        guard !c.pieces.isEmpty else {
            throw TokenizerError.invalidValue(key: "vocab", source: c.source, message: "the vocabulary is empty")
        }
        let V = c.pieces.count
        vocabularySize = V
        if let scores = c.scores, scores.count != V {
            throw TokenizerError.invalidValue(key: "scores", source: c.source,
                                              message: "\(scores.count) scores for \(V) pieces")
        }
        let rawAddedTokens = c.addedTokens.map { token in
            var token = token
            token.normalized = false
            return token
        }
        addedVocabulary = try AddedVocabulary(rawAddedTokens, vocabularySize: V, normalizer: nil, source: c.source)
        var vocabulary = VocabularyLookup(strings: c.pieces)
        for added in c.addedTokens where vocabulary.idOfToken[added.content] == nil {
            vocabulary.idOfToken[added.content] = added.id
        }
        self.vocabulary = vocabulary
        let idOfToken = vocabulary.idOfToken

        // Byte tokens.
        var byteIds = [Int32](repeating: -1, count: 256)
        var isByte = [Bool](repeating: false, count: V)
        for (id, piece) in c.pieces.enumerated() {
            guard let byte = Self.byteValue(piece), c.byteTokenIds.isEmpty || c.byteTokenIds.contains(id) else { continue }
            if byteIds[Int(byte)] < 0 { byteIds[Int(byte)] = Int32(id) }
            isByte[id] = true
        }

        // Decoded bytes of every id: byte tokens their byte, others their text with "▁" as a space.
        var table: [[UInt8]] = []
        table.reserveCapacity(V)
        for (id, piece) in c.pieces.enumerated() {
            if isByte[id], let byte = Self.byteValue(piece) {
                table.append([byte])
            } else {
                table.append(Array(replacingLiteral(piece, Self.spaceSymbol, " ").utf8))
            }
        }
        pieceByteTable = table

        // Merge priorities.
        var idOfPiece: [ByteString: Int32] = [:]
        idOfPiece.reserveCapacity(V)
        for (id, piece) in c.pieces.enumerated() where !piece.isEmpty && !isByte[id] {
            let key = ByteString(Array(piece.utf8))
            if idOfPiece[key] == nil { idOfPiece[key] = Int32(id) }
        }
        let priority: SentencePieceModel.Priority
        if let merges = c.merges {
            var table: [UInt64: UInt64] = [:]
            table.reserveCapacity(merges.count)
            for (rank, (left, right)) in merges.enumerated() {
                guard let l = idOfToken[left], let r = idOfToken[right], let m = idOfToken[left + right] else { continue }
                let key = UInt64(l) << 32 | UInt64(r)
                if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(m) }
            }
            priority = .pairs(table)
        } else if let scores = c.scores {
            // Higher score first, then lower id (transformers' GGUF Gemma conversion; llama.cpp breaks score ties
            // by position, which only differs for equal-score pieces competing for the same characters).
            let order = (0..<V).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            var rank = [Int32](repeating: Int32.max, count: V)
            for (r, id) in order.enumerated() where !isByte[id] { rank[id] = Int32(r) }
            priority = .pieces(rank: rank)
        } else {
            throw TokenizerError.missingKey(key: "scores or merges", source: c.source)
        }
        model = SentencePieceModel(idOfPiece: idOfPiece, priority: priority, byteTokenIds: byteIds,
                                   unknownId: c.unknownTokenId)

        spaceHandling = c.spaceHandling
        normalizer = c.normalizer
        addsBOSToken = c.addBOS && c.bosTokenId != nil
        addsEOSToken = c.addEOS && c.eosTokenIds.first != nil
        stripLeadingSpaces = c.decodeStripLeadingSpaces
        bosTokenId = c.bosTokenId
        eosTokenIds = c.eosTokenIds
        padTokenId = c.padTokenId
        unknownTokenId = c.unknownTokenId
        chatTemplateSource = c.chatTemplate
    }

    /// The byte of a "<0xNN>" piece.
    static func byteValue(_ piece: String) -> UInt8? {
        let u = Array(piece.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    // MARK: Encoding

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        encode(text, addSpecialTokens: addSpecialTokens, parseSpecialTokens: true)
    }

    /// Encodes `text`; with `parseSpecialTokens` false, special tokens written in the text are encoded as text.
    public func encode(_ text: String, addSpecialTokens: Bool, parseSpecialTokens: Bool) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        if addSpecialTokens && addsBOSToken, let bos = bosTokenId { ids.append(bos) }
        let bytes = Array(text.utf8)
        var previousWasToken = true
        var first = true
        for segment in addedVocabulary.splitRaw(bytes, parseSpecial: parseSpecialTokens) {
            switch segment {
            case .token(let id):
                ids.append(id)
                previousWasToken = true
            case .text(let range):
                encodeFragment(String(decoding: bytes[range], as: UTF8.self), afterToken: previousWasToken,
                               first: first, into: &ids)
                previousWasToken = false
            }
            first = false
        }
        if addSpecialTokens && addsEOSToken, let eos = eosTokenIds.first { ids.append(eos) }
        return ids
    }

    private func encodeFragment(_ text: String, afterToken: Bool, first: Bool, into ids: inout [Int]) {
        switch spaceHandling {
        case .replace(let prefix):
            var t = prefix && afterToken ? " " + text : text
            t = normalizer?.normalize(t) ?? replacingLiteral(t, " ", Self.spaceSymbol)
            model.encode(Array(t.utf8), into: &ids)
        case .metaspace(let scheme, let split):
            var t = normalizer?.normalize(text) ?? text
            t = replacingLiteral(t, " ", Self.spaceSymbol)
            if (scheme == "always" || (scheme == "first" && first)) && !t.hasPrefix(Self.spaceSymbol) {
                t = Self.spaceSymbol + t
            }
            let bytes = Array(t.utf8)
            guard split else {
                model.encode(bytes, into: &ids)
                return
            }
            // Every "▁" (E2 96 81) starts a word.
            var start = 0
            var i = 0
            while i < bytes.count {
                if i > start, i + 2 < bytes.count, bytes[i] == 0xE2, bytes[i + 1] == 0x96, bytes[i + 2] == 0x81 {
                    model.encode(Array(bytes[start..<i]), into: &ids)
                    start = i
                }
                i += 1
            }
            model.encode(Array(bytes[start..<bytes.count]), into: &ids)
        }
    }

    // MARK: Decoding

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        let bytes = addedVocabulary.joinedBytes(ids, skipSpecialTokens: skipSpecialTokens, pieceBytes: pieceByteTable)
        var strip = 0
        while strip < stripLeadingSpaces && strip < bytes.count && bytes[strip] == 0x20 { strip += 1 }
        return String(decoding: bytes[strip...], as: UTF8.self)
    }

    public func token(for id: Int) -> String? { vocabulary.token(for: id) }

    public func id(for token: String) -> Int? { vocabulary.id(for: token) }

    public func isSpecialToken(_ id: Int) -> Bool { addedVocabulary.isSpecial(id) }

    public func pieceBytes(for id: Int) -> [UInt8] {
        id >= 0 && id < vocabularySize ? pieceByteTable[id] : []
    }
}
