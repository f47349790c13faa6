// Hand-written matchers for the regexes of byte-level BPE pre-tokenizers, over UTF-8 bytes.
// Each reproduces find-all / leftmost-first semantics of the regex it stands for (Oniguruma, as used by
// HF tokenizers), including the backtracking of `\s+(?!\S)`: a run of whitespace followed by a
// non-space gives back its last code point, which then starts the next piece (" world").
// References: openai/gpt-2 encoder.py (GPT-2 pattern), meta-llama/llama3 tokenizer.py (Llama-3 pattern),
// Qwen2 tokenizer.json, llama.cpp llama-vocab.cpp (`tokenizer.ggml.pre` -> regex list, incl. the
// DeepSeek-LLM code point sets, transcribed as numeric ranges).

/// A matcher for one regex: appends its matches in `p[range]`, ascending and non-overlapping.
protocol PatternScanner: Sendable {
    func appendMatches(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, to matches: inout [Range<Int>])
}

/// The regex sources with a scanner here, as they appear in tokenizer.json files and llama.cpp.
public enum PretokenizerPattern {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    public static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// Llama-3 (tiktoken cl100k style, digits in groups of up to three).
    public static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2: the Llama-3 pattern with single digits.
    public static let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// llama.cpp's spelling of the Llama-3 / Qwen2 patterns (case-insensitive group written out).
    static let llama3LlamaCpp = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2LlamaCpp = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for a regex source, nil when none is implemented.
    static func scanner(for pattern: String) -> PatternScanner? {
        let gpt2NoTail = String(gpt2.dropLast(4))  // llama.cpp writes it without the final `|\s+`
        switch pattern {
        case gpt2, gpt2NoTail:
            return GPT2PatternScanner()
        case llama3, llama3LlamaCpp:
            return Llama3PatternScanner(maxDigits: 3)
        case qwen2, qwen2LlamaCpp:
            return Llama3PatternScanner(maxDigits: 1)
        case #"\p{N}"#, #"\p{N}{1}"#:
            return ClassRunScanner(kind: .numbers, minLength: 1, maxLength: 1)
        case #"\p{N}+"#:
            return ClassRunScanner(kind: .numbers, minLength: 1, maxLength: .max)
        case #"\p{N}{1,3}"#:
            return ClassRunScanner(kind: .numbers, minLength: 1, maxLength: 3)
        case "[0-9][0-9][0-9]", "[0-9]{3}":
            return ClassRunScanner(kind: .asciiDigits, minLength: 3, maxLength: 3)
        case #"[\p{P}\$\+<=>\^~\|]+"#:
            return ClassRunScanner(kind: .punctuation(extra: "$+<=>^~|"), minLength: 1, maxLength: .max)
        case #"[\p{P}\$\+<=>\^~\|`]+"#:
            return ClassRunScanner(kind: .punctuation(extra: "$+<=>^~|`"), minLength: 1, maxLength: .max)
        default:
            return nil
        }
    }
}

/// End of the run of code points of class `cls` starting at `i`.
@inline(__always)
private func runEnd(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ cls: ScalarClass) -> Int {
    var j = i
    while j < end {
        let (value, length) = decodeScalar(p, j, end)
        if scalarClass(value) != cls { break }
        j += length
    }
    return j
}

/// Length of the contraction ('s 't 're 've 'm 'll 'd) at `i`, if any. `p[i]` is the apostrophe.
@inline(__always)
private func contractionLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, caseInsensitive: Bool) -> Int? {
    guard i + 1 < end else { return nil }
    let fold: UInt8 = caseInsensitive ? 0x20 : 0
    let c1 = p[i + 1] | (p[i + 1] >= 0x41 && p[i + 1] <= 0x5A ? fold : 0)
    switch c1 {
    case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
        return 2
    case UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "l"):
        guard i + 2 < end else { return nil }
        let c2 = p[i + 2] | (p[i + 2] >= 0x41 && p[i + 2] <= 0x5A ? fold : 0)
        if c1 == UInt8(ascii: "l") { return c2 == UInt8(ascii: "l") ? 3 : nil }
        return c2 == UInt8(ascii: "e") ? 3 : nil
    default:
        return nil
    }
}

/// Whitespace alternatives shared by both families, at a whitespace code point `start`:
/// `\s*[\r\n]+` (only when `newlineRule`), then `\s+(?!\S)`, then `\s+`. Returns the match end.
@inline(__always)
private func whitespaceMatchEnd(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, newlineRule: Bool) -> Int {
    var j = start
    var lastStart = start
    var lastNewlineEnd = -1
    while j < end {
        let (value, length) = decodeScalar(p, j, end)
        if scalarClass(value) != .whitespace { break }
        if value == 0x0A || value == 0x0D { lastNewlineEnd = j + length }
        lastStart = j
        j += length
    }
    if newlineRule && lastNewlineEnd >= 0 { return lastNewlineEnd }  // \s*[\r\n]+ (backtracks to the last newline)
    if j == end || lastStart == start { return j }  // \s+(?!\S) at the end, or \s+ for a single code point
    return lastStart  // \s+(?!\S): leave the last space for the next piece
}

/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
struct GPT2PatternScanner: PatternScanner {
    func appendMatches(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, to matches: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let start = i
            if p[i] == 0x27, let length = contractionLength(p, i, end, caseInsensitive: false) {
                i += length
                matches.append(start..<i)
                continue
            }
            let (value, length) = decodeScalar(p, i, end)
            let cls = scalarClass(value)
            if value == 0x20 && i + 1 < end {
                let (next, nextLength) = decodeScalar(p, i + 1, end)
                let nextClass = scalarClass(next)
                if nextClass != .whitespace {  // " ?" + a run of letters, numbers or others
                    i = runEnd(p, i + 1 + nextLength, end, nextClass)
                    matches.append(start..<i)
                    continue
                }
            }
            if cls != .whitespace {
                i = runEnd(p, i + length, end, cls)
            } else {
                i = whitespaceMatchEnd(p, i, end, newlineRule: false)
            }
            matches.append(start..<i)
        }
    }
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// (Llama-3 with maxDigits 3, Qwen2 with 1).
struct Llama3PatternScanner: PatternScanner {
    let maxDigits: Int

    func appendMatches(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, to matches: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let start = i
            if p[i] == 0x27, let length = contractionLength(p, i, end, caseInsensitive: true) {
                i += length
                matches.append(start..<i)
                continue
            }
            let (value, length) = decodeScalar(p, i, end)
            let cls = scalarClass(value)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if cls == .letter {
                i = runEnd(p, i + length, end, .letter)
                matches.append(start..<i)
                continue
            }
            if cls != .number && value != 0x0A && value != 0x0D && i + length < end {
                let (next, nextLength) = decodeScalar(p, i + length, end)
                if scalarClass(next) == .letter {
                    i = runEnd(p, i + length + nextLength, end, .letter)
                    matches.append(start..<i)
                    continue
                }
            }
            // \p{N}{1,maxDigits}
            if cls == .number {
                var j = i + length
                var count = 1
                while count < maxDigits && j < end {
                    let (digit, digitLength) = decodeScalar(p, j, end)
                    if scalarClass(digit) != .number { break }
                    j += digitLength
                    count += 1
                }
                i = j
                matches.append(start..<i)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            var otherEnd = -1
            if cls == .other {
                otherEnd = i + length
            } else if value == 0x20 && i + 1 < end {
                let (next, nextLength) = decodeScalar(p, i + 1, end)
                if scalarClass(next) == .other { otherEnd = i + 1 + nextLength }
            }
            if otherEnd >= 0 {
                var j = runEnd(p, otherEnd, end, .other)
                while j < end && (p[j] == 0x0A || p[j] == 0x0D) { j += 1 }
                i = j
                matches.append(start..<i)
                continue
            }
            // whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
            i = whitespaceMatchEnd(p, i, end, newlineRule: true)
            matches.append(start..<i)
        }
    }
}

/// Runs of one character class with a length range, e.g. `\p{N}`, `\p{N}{1,3}`, `[0-9][0-9][0-9]`.
struct ClassRunScanner: PatternScanner {
    enum Kind: Sendable {
        case numbers
        case asciiDigits
        /// Unicode punctuation plus the listed ASCII characters.
        case punctuation(extra: String)
    }

    let kind: Kind
    let minLength: Int
    let maxLength: Int
    private let extraASCII: [Bool]

    init(kind: Kind, minLength: Int, maxLength: Int) {
        self.kind = kind
        self.minLength = minLength
        self.maxLength = maxLength
        var extra = [Bool](repeating: false, count: 128)
        if case .punctuation(let characters) = kind {
            for byte in characters.utf8 where byte < 128 { extra[Int(byte)] = true }
        }
        extraASCII = extra
    }

    @inline(__always)
    private func accepts(_ value: UInt32) -> Bool {
        switch kind {
        case .numbers: return scalarClass(value) == .number
        case .asciiDigits: return value >= 0x30 && value <= 0x39
        case .punctuation: return (value < 128 && extraASCII[Int(value)]) || isPunctuation(value)
        }
    }

    func appendMatches(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, to matches: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let (value, length) = decodeScalar(p, i, end)
            guard accepts(value) else {
                i += length
                continue
            }
            var j = i + length
            var count = 1
            while count < maxLength && j < end {
                let (next, nextLength) = decodeScalar(p, j, end)
                if !accepts(next) { break }
                j += nextLength
                count += 1
            }
            if count >= minLength {
                matches.append(i..<j)
                i = j
            } else {
                i += length
            }
        }
    }
}

/// Every non-overlapping occurrence of a literal string.
struct LiteralScanner: PatternScanner {
    let literal: [UInt8]

    func appendMatches(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, to matches: inout [Range<Int>]) {
        let n = literal.count
        guard n > 0 else { return }
        var i = range.lowerBound
        while i + n <= range.upperBound {
            var equal = true
            for k in 0..<n where p[i + k] != literal[k] {
                equal = false
                break
            }
            if equal {
                matches.append(i..<(i + n))
                i += n
            } else {
                i += 1
            }
        }
    }
}

/// `\s?[set]+` (or `[set]{1,maxLength}` without the optional leading whitespace) for explicit code point
/// ranges, as in llama.cpp's DeepSeek chains.
struct CodePointSetScanner: PatternScanner {
    let ranges: [ClosedRange<UInt32>]
    let optionalLeadingWhitespace: Bool
    let maxLength: Int

    init(ranges: [ClosedRange<UInt32>], optionalLeadingWhitespace: Bool = false, maxLength: Int = .max) {
        self.ranges = ranges
        self.optionalLeadingWhitespace = optionalLeadingWhitespace
        self.maxLength = maxLength
    }

    @inline(__always)
    private func contains(_ value: UInt32) -> Bool {
        for range in ranges where range.contains(value) { return true }
        return false
    }

    func appendMatches(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, to matches: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let (value, length) = decodeScalar(p, i, end)
            var runStart = -1
            if contains(value) {
                runStart = i
            } else if optionalLeadingWhitespace && scalarClass(value) == .whitespace && i + length < end {
                let (next, _) = decodeScalar(p, i + length, end)
                if contains(next) { runStart = i + length }
            }
            guard runStart >= 0 else {
                i += length
                continue
            }
            var j = runStart
            var count = 0
            while j < end && count < maxLength {
                let (next, nextLength) = decodeScalar(p, j, end)
                if !contains(next) { break }
                j += nextLength
                count += 1
            }
            matches.append(i..<j)
            i = j
        }
    }
}

/// `\s+$`: the whitespace that ends the piece.
struct TrailingWhitespaceScanner: PatternScanner {
    func appendMatches(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, to matches: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        var runStart = -1
        while i < end {
            let (value, length) = decodeScalar(p, i, end)
            if scalarClass(value) == .whitespace {
                if runStart < 0 { runStart = i }
            } else {
                runStart = -1
            }
            i += length
        }
        if runStart >= 0 { matches.append(runStart..<end) }
    }
}

/// llama.cpp's DeepSeek-LLM character sets (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM).
enum DeepSeekSets {
    static let letters: [ClosedRange<UInt32>] = [
        0x41...0x5A, 0x61...0x7A, 0xB5...0xB5, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x1BA, 0x1BC...0x1BF,
        0x1C4...0x293, 0x295...0x2AF, 0x370...0x373, 0x376...0x377, 0x37B...0x37D, 0x37F...0x37F,
        0x386...0x386, 0x388...0x38A, 0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3F5, 0x3F7...0x481,
        0x48A...0x52F, 0x531...0x556, 0x10A0...0x10C5, 0x13A0...0x13F5, 0x13F8...0x13FD, 0x1C90...0x1CBA,
        0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77, 0x1D79...0x1D9A, 0x1E00...0x1F15, 0x1F18...0x1F1D,
        0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57, 0x1F59...0x1F59, 0x1F5B...0x1F5B, 0x1F5D...0x1F5D,
        0x1F5F...0x1F7D, 0x1F80...0x1FB4, 0x1FB6...0x1FBC, 0x1FBE...0x1FBE, 0x1FC2...0x1FC4, 0x1FC6...0x1FCC,
        0x1FD0...0x1FD3, 0x1FD6...0x1FDB, 0x1FE0...0x1FEC, 0x1FF2...0x1FF4, 0x1FF6...0x1FFC, 0x2102...0x2102,
        0x2107...0x2107, 0x210A...0x2113, 0x2115...0x2115, 0x2119...0x211D, 0x2124...0x2124, 0x2126...0x2126,
        0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134, 0x2139...0x2139, 0x213C...0x213F, 0x2145...0x2149,
        0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B, 0x2C7E...0x2CE4, 0x2CEB...0x2CEE, 0x2CF2...0x2CF3,
        0xA640...0xA66D, 0xA680...0xA69B, 0xA722...0xA76F, 0xA771...0xA787, 0xA78B...0xA78E, 0xAB70...0xABBF,
        0xFB00...0xFB06, 0xFB13...0xFB17, 0xFF21...0xFF3A, 0xFF41...0xFF5A, 0x10400...0x1044F,
        0x104B0...0x104D3, 0x104D8...0x104FB, 0x10C80...0x10CB2, 0x10CC0...0x10CF2, 0x118A0...0x118DF,
        0x1E900...0x1E943,
    ]
    static let punctuation: [ClosedRange<UInt32>] = [
        0x21...0x2F, 0x3A...0x7E, 0xFF01...0xFF0F, 0xFF1A...0xFF5E, 0x2018...0x201F, 0x3000...0x3002,
    ]
    static let cjk: [ClosedRange<UInt32>] = [0x4E00...0x9FA5, 0x800...0x4E00, 0xAC00...0xD7FF]
    static let newlines: [ClosedRange<UInt32>] = [0x0A...0x0A, 0x0D...0x0D]
}
