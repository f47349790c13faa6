// Normalizers: text rewrites applied before pre-tokenization (HF tokenizers `normalizers/`). A protocol
// plus a factory keyed by tokenizer.json's "type".

import Foundation

/// A normalizer.
public protocol Normalizer: Sendable {
    func normalize(_ text: String) -> String
}

/// Unicode normalization forms.
public struct UnicodeNormalizer: Normalizer {
    public enum Form: String, Sendable { case nfc = "NFC", nfd = "NFD", nfkc = "NFKC", nfkd = "NFKD" }

    public var form: Form

    public init(_ form: Form) {
        self.form = form
    }

    public func normalize(_ text: String) -> String {
        // ASCII is invariant under every form.
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        switch form {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        }
    }
}

/// Unicode lowercase mapping.
public struct LowercaseNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: String) -> String { text.lowercased() }
}

/// Removes leading and/or trailing White_Space.
public struct StripNormalizer: Normalizer {
    public var left: Bool
    public var right: Bool

    public init(left: Bool, right: Bool) {
        self.left = left
        self.right = right
    }

    public func normalize(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        if left { while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() } }
        if right { while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() } }
        return String(scalars)
    }
}

/// Replaces every occurrence of a literal string.
public struct ReplaceNormalizer: Normalizer {
    public var pattern: String
    public var content: String

    public init(pattern: String, content: String) {
        self.pattern = pattern
        self.content = content
    }

    public func normalize(_ text: String) -> String {
        replacingLiteral(text, pattern, content)
    }
}

/// Prepends a string to non-empty text.
public struct PrependNormalizer: Normalizer {
    public var prefix: String

    public init(prefix: String) {
        self.prefix = prefix
    }

    public func normalize(_ text: String) -> String { text.isEmpty ? text : prefix + text }
}

/// Several normalizers applied in order.
public struct SequenceNormalizer: Normalizer {
    public var normalizers: [Normalizer]

    public init(_ normalizers: [Normalizer]) {
        self.normalizers = normalizers
    }

    public func normalize(_ text: String) -> String {
        normalizers.reduce(text) { $1.normalize($0) }
    }
}

/// Replaces every occurrence of `pattern` (byte-wise, non-overlapping, left to right).
func replacingLiteral(_ text: String, _ pattern: String, _ replacement: String) -> String {
    let source = Array(text.utf8)
    let target = Array(pattern.utf8)
    guard !target.isEmpty, source.count >= target.count else { return text }
    var out: [UInt8] = []
    out.reserveCapacity(source.count)
    var i = 0
    while i < source.count {
        if i + target.count <= source.count && source[i] == target[0]
            && source[i..<(i + target.count)].elementsEqual(target) {
            out.append(contentsOf: replacement.utf8)
            i += target.count
        } else {
            out.append(source[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Builds normalizers from tokenizer.json.
public enum NormalizerFactory {
    /// The normalizer described by `json`, nil for JSON null.
    public static func make(_ json: JSONValue, source: String) throws -> Normalizer? {
        if json.isNull { return nil }
        guard let type = json["type"]?.string else {
            throw TokenizerError.missingKey(key: "normalizer.type", source: source)
        }
        switch type {
        case "NFC": return UnicodeNormalizer(.nfc)
        case "NFD": return UnicodeNormalizer(.nfd)
        case "NFKC": return UnicodeNormalizer(.nfkc)
        case "NFKD": return UnicodeNormalizer(.nfkd)
        case "Lowercase": return LowercaseNormalizer()
        case "Strip":
            return StripNormalizer(left: json["strip_left"]?.bool ?? true, right: json["strip_right"]?.bool ?? true)
        case "Prepend":
            return PrependNormalizer(prefix: json["prepend"]?.string ?? "")
        case "Replace":
            guard let pattern = json["pattern"]?["String"]?.string else {
                throw TokenizerError.unsupportedComponent(kind: "normalizer", type: "Replace (regex)", source: source,
                                                          hint: "Only literal Replace patterns are supported.")
            }
            return ReplaceNormalizer(pattern: pattern, content: json["content"]?.string ?? "")
        case "Sequence":
            guard let list = json["normalizers"]?.array else {
                throw TokenizerError.missingKey(key: "normalizer.normalizers", source: source)
            }
            return SequenceNormalizer(try list.compactMap { try make($0, source: source) })
        default:
            throw TokenizerError.unsupportedComponent(
                kind: "normalizer", type: type, source: source,
                hint: "Supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace (literal), Sequence.")
        }
    }
}
