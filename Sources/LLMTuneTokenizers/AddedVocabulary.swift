// The added tokens of one tokenizer as its encoder and decoder use them (BPETokenizer, WordPieceTokenizer,
// SentencePieceTokenizer): the id check, which ids are special (dropped by `decode(skipSpecialTokens: true)`),
// and the split of the input around added tokens before the model sees it: tokens written in the raw text
// first, then, inside each text piece after normalization, the tokens marked `normalized`.
// Reference: HF tokenizers `tokenizer/added_vocabulary.rs` (`extract_and_normalize`: split on the
// non-normalized tokens, normalize the pieces, split them on the normalized tokens). Matching: AddedTokens.swift.

/// The added tokens of a tokenizer, ready for encoding and decoding.
struct AddedVocabulary: Sendable {
    /// Tokens matched in the raw text (`normalized` false).
    private let rawMatcher: AddedTokenMatcher
    /// Tokens matched in the normalized text, by their normalized content.
    private let normalizedMatcher: AddedTokenMatcher
    /// special[id] for every id of the vocabulary.
    private let specialFlags: [Bool]

    /// Checks that every id lies in the vocabulary (an `added_tokens` error naming the token otherwise).
    /// - Parameter normalizer: gives the text a `normalized` token is matched by.
    init(_ tokens: [AddedToken], vocabularySize: Int, normalizer: Normalizer?, source: String) throws {
        for added in tokens where added.id < 0 || added.id >= vocabularySize {
            throw TokenizerError.invalidValue(key: "added_tokens", source: source,
                                              message: "token \(added.content.debugDescription) has id \(added.id) "
                                                + "outside the vocabulary (size \(vocabularySize))")
        }
        var special = [Bool](repeating: false, count: vocabularySize)
        for added in tokens where added.special { special[added.id] = true }
        specialFlags = special
        let raw = tokens.filter { !$0.normalized }
        rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map(\.content))
        let normalizedTokens = tokens.filter(\.normalized)
        normalizedMatcher = AddedTokenMatcher(
            tokens: normalizedTokens,
            patterns: normalizedTokens.map { normalizer?.normalize($0.content) ?? $0.content })
    }

    /// Whether `id` is a special token (false outside the vocabulary).
    func isSpecial(_ id: Int) -> Bool { id >= 0 && id < specialFlags.count && specialFlags[id] }

    // MARK: Encoding

    /// Raw text split around the tokens matched in it; special tokens only when `parseSpecial`.
    func splitRaw(_ bytes: [UInt8], parseSpecial: Bool) -> [AddedTokenSegment] {
        bytes.withUnsafeBufferPointer { rawMatcher.split($0, parseSpecial: parseSpecial) }
    }

    /// Appends the ids of `text`: added tokens become their ids; each text piece between them is normalized,
    /// split on the normalized added tokens, and the remaining pieces (UTF-8) go to `encodeText`.
    func encode(_ text: String, normalizer: Normalizer?, parseSpecial: Bool, into ids: inout [Int],
                encodeText: ([UInt8], inout [Int]) -> Void) {
        let bytes = Array(text.utf8)
        for segment in splitRaw(bytes, parseSpecial: parseSpecial) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                if let normalizer {
                    let normalized = normalizer.normalize(String(decoding: bytes[range], as: UTF8.self))
                    encodeNormalized(Array(normalized.utf8), parseSpecial: parseSpecial, into: &ids, encodeText)
                } else {
                    encodeNormalized(Array(bytes[range]), parseSpecial: parseSpecial, into: &ids, encodeText)
                }
            }
        }
    }

    private func encodeNormalized(_ bytes: [UInt8], parseSpecial: Bool, into ids: inout [Int],
                                  _ encodeText: ([UInt8], inout [Int]) -> Void) {
        if normalizedMatcher.isEmpty {
            encodeText(bytes, &ids)
            return
        }
        let segments = bytes.withUnsafeBufferPointer { normalizedMatcher.split($0, parseSpecial: parseSpecial) }
        for segment in segments {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let range): encodeText(Array(bytes[range]), &ids)
            }
        }
    }

    /// The normalized text pieces between the added tokens of the raw `text` (special tokens parsed), for
    /// inspection (`preTokenize`).
    func normalizedPieces(_ text: String, normalizer: Normalizer?) -> [String] {
        let bytes = Array(text.utf8)
        var out: [String] = []
        for case .text(let range) in splitRaw(bytes, parseSpecial: true) {
            let piece = String(decoding: bytes[range], as: UTF8.self)
            out.append(normalizer?.normalize(piece) ?? piece)
        }
        return out
    }

    // MARK: Decoding

    /// Calls `body` with each id of `ids` that decoding keeps: ids inside the vocabulary, special ones only
    /// when not `skipSpecialTokens`.
    @inline(__always)
    func forEachDecoded(_ ids: [Int], skipSpecialTokens: Bool, _ body: (Int) -> Void) {
        for id in ids where id >= 0 && id < specialFlags.count {
            if skipSpecialTokens && specialFlags[id] { continue }
            body(id)
        }
    }

    /// The bytes of the ids decoding keeps, joined (`pieceBytes[id]` for each).
    func joinedBytes(_ ids: [Int], skipSpecialTokens: Bool, pieceBytes: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        forEachDecoded(ids, skipSpecialTokens: skipSpecialTokens) { bytes.append(contentsOf: pieceBytes[$0]) }
        return bytes
    }
}
