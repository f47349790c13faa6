// The tokenizer interface shared by every vocabulary kind. Reference: HF tokenizers' `Tokenizer`
// (encode / decode / id_to_token / token_to_id) and swift-transformers' `Tokenizer` protocol.

/// Text to token ids and back.
///
/// Implementations are immutable after loading and safe to use from several threads.
public protocol Tokenizer: AnyObject, Sendable {
    /// Token ids of `text`. Added / special tokens written in the text (e.g. `<|im_start|>`) map to their ids.
    /// `addSpecialTokens` applies the checkpoint's post-processing (e.g. a leading BOS for Llama-3).
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int]
    /// The text of `ids`. Byte-level pieces are joined as bytes first, so characters split across tokens
    /// decode correctly; invalid UTF-8 becomes U+FFFD. `skipSpecialTokens` drops special tokens.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// Number of ids (the largest id plus one).
    var vocabularySize: Int { get }
    /// Beginning-of-sequence token, if the checkpoint has one.
    var bosTokenId: Int? { get }
    /// Tokens that end generation: the checkpoint's EOS first, then end-of-turn tokens such as `<|im_end|>`.
    var eosTokenIds: [Int] { get }
    /// Padding token, if the checkpoint names one.
    var padTokenId: Int? { get }
    /// Unknown token, if the checkpoint names one.
    var unknownTokenId: Int? { get }
    /// The vocabulary string of `id` (byte-level form for BPE pieces, e.g. "Ġhello"), nil outside the vocabulary.
    func token(for id: Int) -> String?
    /// The id of a vocabulary string, nil if absent.
    func id(for token: String) -> Int?
    /// Whether `id` is a special (control) token, dropped by `decode(_:skipSpecialTokens: true)`.
    func isSpecialToken(_ id: Int) -> Bool
    /// The raw bytes `id` contributes to decoded text (empty outside the vocabulary).
    func pieceBytes(for id: Int) -> [UInt8]
    /// The checkpoint's own Jinja chat template, if it ships one.
    var chatTemplateSource: String? { get }
}

/// One token of an encoding, for display (`llmtune tokenize --json`).
public struct TokenPiece: Sendable, Equatable, Codable {
    /// Token id.
    public var id: Int
    /// Vocabulary string (byte-level form, e.g. "Ġworld").
    public var token: String
    /// The text this token decodes to on its own (U+FFFD where it holds part of a character).
    public var text: String
    /// Whether the token is special.
    public var special: Bool

    public init(id: Int, token: String, text: String, special: Bool) {
        self.id = id
        self.token = token
        self.text = text
        self.special = special
    }
}

extension Tokenizer {
    /// `encode(text, addSpecialTokens: true)`.
    public func encode(_ text: String) -> [Int] { encode(text, addSpecialTokens: true) }

    /// `decode(ids, skipSpecialTokens: false)`.
    public func decode(_ ids: [Int]) -> String { decode(ids, skipSpecialTokens: false) }

    /// Each id with its vocabulary string and its own decoded text.
    public func pieces(for ids: [Int]) -> [TokenPiece] {
        ids.map { id in
            TokenPiece(id: id, token: token(for: id) ?? "", text: String(decoding: pieceBytes(for: id), as: UTF8.self),
                       special: isSpecialToken(id))
        }
    }

    /// The vocabulary string of the BOS token, if any.
    public var bosToken: String? { bosTokenId.flatMap { token(for: $0) } }

    /// The vocabulary string of the primary EOS token, if any.
    public var eosToken: String? { eosTokenIds.first.flatMap { token(for: $0) } }
}
