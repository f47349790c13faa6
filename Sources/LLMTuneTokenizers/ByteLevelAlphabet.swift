// The byte-level alphabet of GPT-2 BPE: every byte maps to a printable code point so that a vocabulary
// can be stored as text. Reference: openai/gpt-2 encoder.py `bytes_to_unicode`, HF tokenizers
// `pre_tokenizers/byte_level.rs`.

/// GPT-2's byte <-> code point table.
///
/// The printable bytes `!`...`~`, `¡`...`¬`, `®`...`ÿ` map to themselves; the other 68 bytes map to
/// U+0100, U+0101, ... in byte order (so the space 0x20 is `Ġ` U+0120 and the newline 0x0A is `Ċ` U+010A).
public enum ByteLevelAlphabet {
    /// Code point of each byte.
    public static let scalarOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// Byte of each code point below 324 (-1 for code points outside the alphabet).
    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in scalarOfByte.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The byte-level text of raw bytes (e.g. " hi" -> "Ġhi").
    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var text = String.UnicodeScalarView()
        for byte in bytes {
            if let scalar = Unicode.Scalar(scalarOfByte[Int(byte)]) { text.append(scalar) }
        }
        return String(text)
    }

    /// The raw bytes of a byte-level string, or nil if it holds a code point outside the alphabet.
    public static func decode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = Int(scalar.value)
            guard value < byteOfScalar.count else { return nil }
            let byte = byteOfScalar[value]
            guard byte >= 0 else { return nil }
            bytes.append(UInt8(byte))
        }
        return bytes
    }

    /// HF's ByteLevel decoder rule for one token: its byte-level bytes, or its UTF-8 when it is not
    /// byte-level text (e.g. an added token containing a space).
    public static func decodeOrRaw(_ text: String) -> [UInt8] {
        decode(text) ?? Array(text.utf8)
    }
}
