// Pre-tokenizers: split normalized text into pieces that BPE encodes independently. A protocol plus a
// factory keyed by tokenizer.json's "type" (HF tokenizers `pre_tokenizers/`, swift-transformers
// `PreTokenizer.swift`). Pieces are byte ranges over the UTF-8 text; the byte-level mapping itself is
// done by the BPE model on raw bytes.

/// Text being pre-tokenized: UTF-8 bytes and the pieces found so far (ascending, non-overlapping).
public struct PreTokenizedText: Sendable {
    public var bytes: [UInt8]
    public var pieces: [Range<Int>]

    /// One piece covering the whole text (none for an empty text).
    public init(_ text: String) {
        bytes = Array(text.utf8)
        pieces = bytes.isEmpty ? [] : [0..<bytes.count]
    }

    public init(bytes: [UInt8], pieces: [Range<Int>]) {
        self.bytes = bytes
        self.pieces = pieces
    }

    /// The pieces as strings.
    public var strings: [String] { pieces.map { String(decoding: bytes[$0], as: UTF8.self) } }
}

/// A pre-tokenizer.
public protocol PreTokenizer: Sendable {
    /// Refines `text.pieces` (and may rewrite `text.bytes`, e.g. to add a prefix space).
    func preTokenize(_ text: inout PreTokenizedText)
    /// Whether this pre-tokenizer (or one it contains) is ByteLevel: byte-level BPE needs one.
    var isByteLevel: Bool { get }
}

extension PreTokenizer {
    public var isByteLevel: Bool { false }

    /// Pre-tokenizes a string (for inspection and tests).
    public func preTokenize(_ text: String) -> [String] {
        var pre = PreTokenizedText(text)
        preTokenize(&pre)
        return pre.strings
    }
}

/// How a split treats the matches of its pattern (HF `SplitDelimiterBehavior`).
public enum SplitBehavior: String, Sendable {
    case removed, isolated, mergedWithPrevious, mergedWithNext, contiguous

    init?(json: String) {
        switch json.lowercased() {
        case "removed": self = .removed
        case "isolated": self = .isolated
        case "mergedwithprevious", "merged_with_previous": self = .mergedWithPrevious
        case "mergedwithnext", "merged_with_next": self = .mergedWithNext
        case "contiguous": self = .contiguous
        default: return nil
        }
    }

    /// Splits `piece` given the matches inside it (HF `NormalizedString::split`).
    func split(_ piece: Range<Int>, matches: [Range<Int>], invert: Bool, into out: inout [Range<Int>]) {
        // Matches and the gaps between them, in order.
        var parts: [(range: Range<Int>, isMatch: Bool)] = []
        var cursor = piece.lowerBound
        for match in matches {
            if match.lowerBound > cursor { parts.append((cursor..<match.lowerBound, invert)) }
            if !match.isEmpty { parts.append((match, !invert)) }
            cursor = match.upperBound
        }
        if cursor < piece.upperBound { parts.append((cursor..<piece.upperBound, invert)) }

        var result: [Range<Int>] = []
        switch self {
        case .isolated:
            result = parts.map(\.range)
        case .removed:
            result = parts.filter { !$0.isMatch }.map(\.range)
        case .mergedWithPrevious:
            var previousMatch = false
            for part in parts {
                if part.isMatch && !previousMatch, let last = result.last {
                    result[result.count - 1] = last.lowerBound..<part.range.upperBound
                } else {
                    result.append(part.range)
                }
                previousMatch = part.isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            var reversed: [Range<Int>] = []
            for part in parts.reversed() {
                if part.isMatch && !previousMatch, let last = reversed.last {
                    reversed[reversed.count - 1] = part.range.lowerBound..<last.upperBound
                } else {
                    reversed.append(part.range)
                }
                previousMatch = part.isMatch
            }
            result = reversed.reversed()
        case .contiguous:
            var previousMatch = false
            for part in parts {
                if part.isMatch == previousMatch, let last = result.last {
                    result[result.count - 1] = last.lowerBound..<part.range.upperBound
                } else {
                    result.append(part.range)
                }
                previousMatch = part.isMatch
            }
        }
        out.append(contentsOf: result.filter { !$0.isEmpty })
    }
}

/// Splits every piece on the matches of a scanner.
private func splitPieces(_ text: inout PreTokenizedText, scanner: PatternScanner, behavior: SplitBehavior,
                         invert: Bool) {
    var out: [Range<Int>] = []
    out.reserveCapacity(text.pieces.count * 2)
    var matches: [Range<Int>] = []
    text.bytes.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return }
        for piece in text.pieces {
            matches.removeAll(keepingCapacity: true)
            scanner.appendMatches(base, piece, to: &matches)
            if behavior == .isolated && !invert {
                // Fast path: matches plus gaps.
                var cursor = piece.lowerBound
                for match in matches where !match.isEmpty {
                    if match.lowerBound > cursor { out.append(cursor..<match.lowerBound) }
                    out.append(match)
                    cursor = match.upperBound
                }
                if cursor < piece.upperBound { out.append(cursor..<piece.upperBound) }
            } else {
                behavior.split(piece, matches: matches, invert: invert, into: &out)
            }
        }
    }
    text.pieces = out
}

/// GPT-2's ByteLevel pre-tokenizer: optionally a space before every piece that lacks one, then (with
/// `useRegex`) the GPT-2 pattern. Marks the tokenizer as byte-level.
public struct ByteLevelPreTokenizer: PreTokenizer {
    public var addPrefixSpace: Bool
    public var useRegex: Bool

    public init(addPrefixSpace: Bool = false, useRegex: Bool = true) {
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
    }

    public var isByteLevel: Bool { true }

    public func preTokenize(_ text: inout PreTokenizedText) {
        if addPrefixSpace && text.pieces.contains(where: { text.bytes[$0.lowerBound] != 0x20 }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.bytes.count + text.pieces.count)
            var pieces: [Range<Int>] = []
            pieces.reserveCapacity(text.pieces.count)
            for piece in text.pieces {
                let start = bytes.count
                if text.bytes[piece.lowerBound] != 0x20 { bytes.append(0x20) }
                bytes.append(contentsOf: text.bytes[piece])
                pieces.append(start..<bytes.count)
            }
            text = PreTokenizedText(bytes: bytes, pieces: pieces)
        }
        if useRegex {
            splitPieces(&text, scanner: GPT2PatternScanner(), behavior: .isolated, invert: false)
        }
    }
}

/// HF `Split`: a regex (one of the patterns with a scanner) or a literal string, with a behavior.
public struct SplitPreTokenizer: PreTokenizer {
    let scanner: PatternScanner
    public let behavior: SplitBehavior
    public let invert: Bool

    /// A split on a regex; throws when the regex has no hand-written scanner.
    public init(regex: String, behavior: SplitBehavior = .isolated, invert: Bool = false,
                source: String = "pre-tokenizer") throws {
        guard let scanner = PretokenizerPattern.scanner(for: regex) else {
            throw TokenizerError.unsupportedPattern(pattern: regex, source: source)
        }
        self.scanner = scanner
        self.behavior = behavior
        self.invert = invert
    }

    /// A split on a literal string.
    public init(literal: String, behavior: SplitBehavior = .isolated, invert: Bool = false) {
        scanner = LiteralScanner(literal: Array(literal.utf8))
        self.behavior = behavior
        self.invert = invert
    }

    init(scanner: PatternScanner, behavior: SplitBehavior = .isolated, invert: Bool = false) {
        self.scanner = scanner
        self.behavior = behavior
        self.invert = invert
    }

    public func preTokenize(_ text: inout PreTokenizedText) {
        splitPieces(&text, scanner: scanner, behavior: behavior, invert: invert)
    }
}

/// HF `Digits`: numbers (\p{N}) split from the rest, one by one with `individualDigits`.
public struct DigitsPreTokenizer: PreTokenizer {
    public var individualDigits: Bool

    public init(individualDigits: Bool) {
        self.individualDigits = individualDigits
    }

    public func preTokenize(_ text: inout PreTokenizedText) {
        let scanner = ClassRunScanner(kind: .numbers, minLength: 1, maxLength: individualDigits ? 1 : .max)
        splitPieces(&text, scanner: scanner, behavior: .isolated, invert: false)
    }
}

/// Several pre-tokenizers applied in order.
public struct SequencePreTokenizer: PreTokenizer {
    public var preTokenizers: [PreTokenizer]

    public init(_ preTokenizers: [PreTokenizer]) {
        self.preTokenizers = preTokenizers
    }

    public var isByteLevel: Bool { preTokenizers.contains { $0.isByteLevel } }

    public func preTokenize(_ text: inout PreTokenizedText) {
        for preTokenizer in preTokenizers { preTokenizer.preTokenize(&text) }
    }
}

/// Builds pre-tokenizers from tokenizer.json.
public enum PreTokenizerFactory {
    /// The pre-tokenizer described by `json` (an object with a "type").
    public static func make(_ json: JSONValue, source: String) throws -> PreTokenizer {
        guard let type = json["type"]?.string else {
            throw TokenizerError.missingKey(key: "pre_tokenizer.type", source: source)
        }
        switch type {
        case "ByteLevel":
            return ByteLevelPreTokenizer(addPrefixSpace: json["add_prefix_space"]?.bool ?? true,
                                         useRegex: json["use_regex"]?.bool ?? true)
        case "Split":
            let behaviorName = json["behavior"]?.string ?? "Isolated"
            guard let behavior = SplitBehavior(json: behaviorName) else {
                throw TokenizerError.invalidValue(key: "pre_tokenizer.behavior", source: source,
                                                  message: "unknown split behavior '\(behaviorName)'")
            }
            let invert = json["invert"]?.bool ?? false
            if let regex = json["pattern"]?["Regex"]?.string {
                return try SplitPreTokenizer(regex: regex, behavior: behavior, invert: invert, source: source)
            }
            if let literal = json["pattern"]?["String"]?.string {
                return SplitPreTokenizer(literal: literal, behavior: behavior, invert: invert)
            }
            throw TokenizerError.missingKey(key: "pre_tokenizer.pattern", source: source)
        case "Digits":
            return DigitsPreTokenizer(individualDigits: json["individual_digits"]?.bool ?? false)
        case "Sequence":
            guard let list = json["pretokenizers"]?.array else {
                throw TokenizerError.missingKey(key: "pre_tokenizer.pretokenizers", source: source)
            }
            return SequencePreTokenizer(try list.map { try make($0, source: source) })
        default:
            throw TokenizerError.unsupportedComponent(
                kind: "pre-tokenizer", type: type, source: source,
                hint: "Supported: ByteLevel, Split, Digits, Sequence (byte-level BPE tokenizers).")
        }
    }
}
