// Added and special tokens: found in the text before any other processing and never split by BPE.
// Reference: HF tokenizers `tokenizer/added_vocabulary.rs` (leftmost-longest matching; `single_word`,
// `lstrip`, `rstrip`, `normalized`, `special`), llama.cpp `tokenizer_st_partition`.

/// A token matched verbatim in the input text.
public struct AddedToken: Sendable, Equatable {
    /// Token id.
    public var id: Int
    /// The text that stands for this token.
    public var content: String
    /// Special (control) tokens are skipped by `decode(skipSpecialTokens: true)` and can be left unparsed.
    public var special: Bool
    /// Only match when not inside a word.
    public var singleWord: Bool
    /// Also consume the whitespace to its left.
    public var leftStrip: Bool
    /// Also consume the whitespace to its right.
    public var rightStrip: Bool
    /// Match against the normalized text (true) or the raw input (false).
    public var normalized: Bool

    public init(id: Int, content: String, special: Bool, singleWord: Bool = false, leftStrip: Bool = false,
                rightStrip: Bool = false, normalized: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.singleWord = singleWord
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
        self.normalized = normalized
    }
}

/// A piece of input after added-token splitting.
enum AddedTokenSegment: Equatable {
    case text(Range<Int>)
    case token(id: Int)
}

/// Leftmost-longest matcher over a set of added tokens (a byte trie).
struct AddedTokenMatcher: Sendable {
    private struct Node: Sendable {
        var children: [UInt8: Int32] = [:]
        var token: Int32 = -1  // index into `tokens`
    }

    let tokens: [AddedToken]
    private var nodes: [Node] = [Node()]
    private var isFirstByte = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { tokens.isEmpty }

    /// `patterns[k]` is the text matched for `tokens[k]` (its content, normalized for normalized tokens).
    init(tokens: [AddedToken], patterns: [String]) {
        self.tokens = tokens
        for (index, pattern) in patterns.enumerated() {
            let bytes = Array(pattern.utf8)
            guard let first = bytes.first else { continue }
            isFirstByte[Int(first)] = true
            var node = 0
            for byte in bytes {
                if let child = nodes[node].children[byte] {
                    node = Int(child)
                } else {
                    nodes.append(Node())
                    nodes[node].children[byte] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            if nodes[node].token < 0 { nodes[node].token = Int32(index) }  // first definition wins
        }
    }

    /// Splits `p` into text ranges and tokens. Special tokens are only matched when `parseSpecial`.
    func split(_ p: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [AddedTokenSegment] {
        let n = p.count
        guard n > 0 else { return [] }
        guard !isEmpty, let base = p.baseAddress else { return [.text(0..<n)] }
        var segments: [AddedTokenSegment] = []
        var textStart = 0
        var i = 0
        while i < n {
            guard isFirstByte[Int(p[i])] else {
                i += 1
                continue
            }
            // Longest token starting at i.
            var node = 0
            var matchEnd = -1
            var matchToken: Int32 = -1
            var j = i
            while j < n, let child = nodes[node].children[p[j]] {
                node = Int(child)
                j += 1
                let token = nodes[node].token
                if token >= 0 && (parseSpecial || !tokens[Int(token)].special) {
                    matchEnd = j
                    matchToken = token
                }
            }
            guard matchToken >= 0 else {
                i += 1
                continue
            }
            let token = tokens[Int(matchToken)]
            if token.singleWord {
                let startsClean = i == 0 || !isWordScalar(decodeScalar(base, previousScalarStart(base, i, 0), n).value)
                let endsClean = matchEnd == n || !isWordScalar(decodeScalar(base, matchEnd, n).value)
                if !(startsClean && endsClean) {
                    i += 1
                    continue
                }
            }
            var start = i
            var end = matchEnd
            if token.leftStrip {
                while start > textStart {
                    let previous = previousScalarStart(base, start, textStart)
                    if !isWhitespaceScalar(decodeScalar(base, previous, n).value) { break }
                    start = previous
                }
            }
            if token.rightStrip {
                while end < n {
                    let (value, length) = decodeScalar(base, end, n)
                    if !isWhitespaceScalar(value) { break }
                    end += length
                }
            }
            if start > textStart { segments.append(.text(textStart..<start)) }
            segments.append(.token(id: token.id))
            textStart = end
            i = end
        }
        if textStart < n { segments.append(.text(textStart..<n)) }
        return segments
    }
}

/// A "word" character for `single_word` (the `\w` of Rust's regex crate: alphabetic, marks, decimal
/// digits, connector punctuation such as `_`, join controls).
private func isWordScalar(_ value: UInt32) -> Bool {
    if value < 0x80 {
        return (value &- 0x61) < 26 || (value &- 0x41) < 26 || (value &- 0x30) < 10 || value == 0x5F
    }
    guard let scalar = Unicode.Scalar(value) else { return false }
    let properties = scalar.properties
    if properties.isAlphabetic || properties.isJoinControl { return true }
    switch properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
    default: return false
    }
}
