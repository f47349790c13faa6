// BERT's text clean-up and word splitting: HF tokenizers `normalizers/bert.rs` (BertNormalizer) and
// `pre_tokenizers/bert.rs` (BertPreTokenizer), which follow Google BERT's `BasicTokenizer`.
//
// BertNormalizer, in order: clean text (drop NUL, U+FFFD and control / format / unassigned / private-use
// code points; every whitespace becomes a space), put spaces around CJK ideographs, strip accents (NFD, then
// drop non-spacing marks; defaults to `lowercase` when unset), lowercase (per code point, full mapping:
// no context-dependent final sigma, as Rust's `char::to_lowercase`).
// BertPreTokenizer: split on whitespace (removed) and on punctuation (each punctuation character alone).

import Foundation

/// HF `BertNormalizer`.
public struct BertNormalizer: Normalizer {
    public var cleanText: Bool
    public var handleChineseCharacters: Bool
    /// nil follows `lowercase` (HF's default).
    public var stripAccents: Bool?
    public var lowercase: Bool

    public init(cleanText: Bool = true, handleChineseCharacters: Bool = true, stripAccents: Bool? = nil,
                lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseCharacters = handleChineseCharacters
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    public func normalize(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var ascii = true
        for s in text.unicodeScalars {
            let v = s.value
            if v >= 0x80 { ascii = false }
            if cleanText {
                if v == 0 || v == 0xFFFD || bertIsControl(s) { continue }
                if bertIsWhitespace(s) {
                    scalars.append(" ")
                    continue
                }
            }
            if handleChineseCharacters && bertIsChineseCharacter(v) {
                scalars.append(" ")
                scalars.append(s)
                scalars.append(" ")
                continue
            }
            scalars.append(s)
        }
        if ascii {
            // ASCII has no accents; lowercase bytes directly.
            guard lowercase else { return String(scalars) }
            var out = String.UnicodeScalarView()
            for s in scalars { out.append(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 32)! : s) }
            return String(out)
        }
        var result = String(scalars)
        if stripAccents ?? lowercase {
            var stripped = String.UnicodeScalarView()
            for s in result.decomposedStringWithCanonicalMapping.unicodeScalars
            where s.properties.generalCategory != .nonspacingMark {
                stripped.append(s)
            }
            result = String(stripped)
        }
        if lowercase {
            var lowered = String.UnicodeScalarView()
            for s in result.unicodeScalars {
                if s.value < 0x80 {
                    lowered.append(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 32)! : s)
                } else {
                    lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                }
            }
            result = String(lowered)
        }
        return result
    }
}

/// HF `BertPreTokenizer`: whitespace separates words and is dropped; each punctuation character is a word.
public struct BertPreTokenizer: PreTokenizer {
    public init() {}

    public func preTokenize(_ text: inout PreTokenizedText) {
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(text.pieces.count * 2)
        text.bytes.withUnsafeBufferPointer { buffer in
            guard let p = buffer.baseAddress else { return }
            for piece in text.pieces {
                var wordStart = piece.lowerBound
                var i = piece.lowerBound
                while i < piece.upperBound {
                    let (value, length) = decodeScalar(p, i, piece.upperBound)
                    let scalar = Unicode.Scalar(value) ?? " "
                    if bertIsWhitespace(scalar) {
                        if i > wordStart { pieces.append(wordStart..<i) }
                        wordStart = i + length
                    } else if bertIsPunctuation(scalar) {
                        if i > wordStart { pieces.append(wordStart..<i) }
                        pieces.append(i..<(i + length))
                        wordStart = i + length
                    }
                    i += length
                }
                if piece.upperBound > wordStart { pieces.append(wordStart..<piece.upperBound) }
            }
        }
        text.pieces = pieces
    }
}

// MARK: - Character classes (HF tokenizers `normalizers/bert.rs`, `pre_tokenizers/bert.rs`)

/// Tab, newline, carriage return, and every White_Space code point (Rust `char::is_whitespace`).
func bertIsWhitespace(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x20, 0x09, 0x0A, 0x0D: return true
    case 0..<0x80: return s.value == 0x0B || s.value == 0x0C
    default: return s.properties.isWhitespace
    }
}

/// Categories Cc, Cf, Cn, Co, Cs, except tab, newline and carriage return (counted as whitespace).
func bertIsControl(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x09, 0x0A, 0x0D: return false
    case 0x20..<0x7F: return false
    default:
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }
}

/// ASCII punctuation (including the symbols $ + < = > ^ ` | ~) or any Unicode P* category.
func bertIsPunctuation(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 {
        return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
            || (0x7B...0x7E).contains(v)
    }
    switch s.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
         .finalPunctuation, .otherPunctuation:
        return true
    default:
        return false
    }
}

/// The CJK ideograph blocks of HF's `is_chinese_char` (its ranges, verbatim, including Extension E from
/// U+2B920 rather than U+2B820).
func bertIsChineseCharacter(_ v: UInt32) -> Bool {
    switch v {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
         0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
        return true
    default:
        return false
    }
}
