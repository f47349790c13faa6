// Incremental detokenization for streaming generation: token bytes are accumulated and only complete
// UTF-8 is emitted, so a character split across tokens (emoji, CJK in byte-level BPE) is never shown
// half-decoded. Reference: llama.cpp `common_token_to_piece` + its UTF-8 hold-back in the server,
// HF `TextStreamer` (which waits while the text ends in U+FFFD).

/// Turns ids into text one at a time, holding back an incomplete trailing UTF-8 sequence.
///
/// The concatenation of everything `append` and `finish` return equals
/// `tokenizer.decode(ids, skipSpecialTokens:)` of all ids, for byte-level tokenizers.
public struct StreamingDecoder {
    public let tokenizer: any Tokenizer
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Bytes received but not yet emitted (at most 3: a partial character).
    public var pendingByteCount: Int { pending.count }

    /// Adds one token and returns the text that became complete ("" while a character is incomplete).
    public mutating func append(_ id: Int) -> String {
        if skipSpecialTokens && tokenizer.isSpecialToken(id) { return "" }
        pending.append(contentsOf: tokenizer.pieceBytes(for: id))
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Adds several tokens.
    public mutating func append<Ids: Sequence>(contentsOf ids: Ids) -> String where Ids.Element == Int {
        var text = ""
        for id in ids { text += append(id) }
        return text
    }

    /// Emits what is left (an incomplete character becomes U+FFFD, as in `decode`) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the prefix of `bytes` that can be decoded now: everything except a trailing sequence
    /// that is a valid but incomplete UTF-8 character. Cutting at that character's lead byte is safe:
    /// a lead byte always ends the previous (possibly invalid) sequence, so decoding the two parts
    /// separately gives the same text as decoding them together.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var start = n - 1
        // Find the last lead byte among the final 4 bytes.
        while start >= 0 && start >= n - 4 && (bytes[start] & 0xC0) == 0x80 { start -= 1 }
        guard start >= 0 && start >= n - 4 else { return n }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return n  // ASCII or an invalid lead: nothing to wait for
        }
        let have = n - start
        if have >= needed { return n }
        // Is the partial sequence a valid prefix so far? (second byte ranges per RFC 3629)
        if have >= 2 {
            let second = bytes[start + 1]
            let valid: Bool
            switch lead {
            case 0xE0: valid = (0xA0...0xBF).contains(second)
            case 0xED: valid = (0x80...0x9F).contains(second)
            case 0xF0: valid = (0x90...0xBF).contains(second)
            case 0xF4: valid = (0x80...0x8F).contains(second)
            default: valid = (0x80...0xBF).contains(second)
            }
            if !valid { return n }
        }
        return start
    }
}
