// Unicode classes used by the pre-tokenizer regexes (\p{L}, \p{N}, \s), evaluated on UTF-8 bytes.
// Definitions follow Oniguruma (which HF tokenizers uses): \p{L} = general category L*, \p{N} = N*,
// \s = the White_Space property (U+0009-000D, U+0020, U+0085, Zs, U+2028, U+2029).

/// The class of a code point, as the pre-tokenizer patterns see it.
@usableFromInline
enum ScalarClass: UInt8 {
    case letter = 0, number = 1, whitespace = 2, other = 3
}

/// Class of every BMP code point, built once (64 KiB). Code points above U+FFFF go through the slow path.
private let bmpClassTable: UnsafeMutablePointer<UInt8> = {
    let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x10000)
    for value in 0..<0x10000 { table[value] = slowClass(UInt32(value)).rawValue }
    return table
}()

private func slowClass(_ value: UInt32) -> ScalarClass {
    guard let scalar = Unicode.Scalar(value) else { return .other }  // surrogates
    let properties = scalar.properties
    if properties.isWhitespace { return .whitespace }
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return .other
    }
}

/// The class of a code point.
@inline(__always)
func scalarClass(_ value: UInt32) -> ScalarClass {
    if value < 0x80 {
        if (value &- 0x61) < 26 || (value &- 0x41) < 26 { return .letter }
        if (value &- 0x30) < 10 { return .number }
        if value == 0x20 || (value &- 0x09) < 5 { return .whitespace }
        return .other
    }
    if value < 0x10000 { return ScalarClass(rawValue: bmpClassTable[Int(value)]) ?? .other }
    return slowClass(value)
}

/// Whether a code point is Unicode punctuation (general category P*).
func isPunctuation(_ value: UInt32) -> Bool {
    guard let scalar = Unicode.Scalar(value) else { return false }
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
         .finalPunctuation, .otherPunctuation:
        return true
    default:
        return false
    }
}

/// Whether a code point is White_Space (Rust's `char::is_whitespace`).
@inline(__always)
func isWhitespaceScalar(_ value: UInt32) -> Bool { scalarClass(value) == .whitespace }

/// Decodes the code point starting at `i` of valid UTF-8 (bytes come from Swift strings, so they are valid).
/// Returns the value and the byte length.
@inline(__always)
func decodeScalar(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> (value: UInt32, length: Int) {
    let b0 = UInt32(p[i])
    if b0 < 0x80 { return (b0, 1) }
    let length = b0 < 0xE0 ? 2 : (b0 < 0xF0 ? 3 : 4)
    guard i + length <= end else { return (0xFFFD, 1) }  // truncated: cannot happen for valid input
    switch length {
    case 2:
        return (((b0 & 0x1F) << 6) | (UInt32(p[i + 1]) & 0x3F), 2)
    case 3:
        return (((b0 & 0x0F) << 12) | ((UInt32(p[i + 1]) & 0x3F) << 6) | (UInt32(p[i + 2]) & 0x3F), 3)
    default:
        return (((b0 & 0x07) << 18) | ((UInt32(p[i + 1]) & 0x3F) << 12) | ((UInt32(p[i + 2]) & 0x3F) << 6)
                | (UInt32(p[i + 3]) & 0x3F), 4)
    }
}

/// Start of the code point that ends just before `i` (i > start).
@inline(__always)
func previousScalarStart(_ p: UnsafePointer<UInt8>, _ i: Int, _ start: Int) -> Int {
    var j = i - 1
    while j > start && (p[j] & 0xC0) == 0x80 { j -= 1 }
    return j
}
