// Decoders: vocabulary strings back to text (HF tokenizers `decoders/`, `decode_chain`). A protocol plus
// a factory keyed by tokenizer.json's "type".

/// A decoder: maps the token strings of a sequence to output strings, which are then concatenated.
public protocol TokenDecoder: Sendable {
    func decodeChain(_ tokens: [String]) -> [String]
    /// Whether this decoder is exactly byte-level (then decoding is a byte concatenation).
    var isPureByteLevel: Bool { get }
}

extension TokenDecoder {
    public var isPureByteLevel: Bool { false }
}

/// GPT-2 byte-level decoding: the bytes of all tokens joined, then read as UTF-8 (invalid -> U+FFFD).
public struct ByteLevelDecoder: TokenDecoder {
    public init() {}

    public var isPureByteLevel: Bool { true }

    public func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for token in tokens { bytes.append(contentsOf: ByteLevelAlphabet.decodeOrRaw(token)) }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// Replaces a literal string in every token.
public struct ReplaceDecoder: TokenDecoder {
    public var pattern: String
    public var content: String

    public init(pattern: String, content: String) {
        self.pattern = pattern
        self.content = content
    }

    public func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { replacingLiteral($0, pattern, content) }
    }
}

/// Removes up to `start` leading and `stop` trailing occurrences of a character from every token.
public struct StripDecoder: TokenDecoder {
    public var content: Character
    public var start: Int
    public var stop: Int

    public init(content: Character, start: Int, stop: Int) {
        self.content = content
        self.start = start
        self.stop = stop
    }

    public func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { token in
            var characters = Substring(token)
            var removed = 0
            while removed < start, characters.first == content {
                characters.removeFirst()
                removed += 1
            }
            removed = 0
            while removed < stop, characters.last == content {
                characters.removeLast()
                removed += 1
            }
            return String(characters)
        }
    }
}

/// Joins all tokens into one.
public struct FuseDecoder: TokenDecoder {
    public init() {}
    public func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Several decoders applied in order.
public struct SequenceDecoder: TokenDecoder {
    public var decoders: [TokenDecoder]

    public init(_ decoders: [TokenDecoder]) {
        self.decoders = decoders
    }

    public var isPureByteLevel: Bool { !decoders.isEmpty && decoders.allSatisfy { $0.isPureByteLevel } }

    public func decodeChain(_ tokens: [String]) -> [String] {
        decoders.reduce(tokens) { $1.decodeChain($0) }
    }
}

/// Builds decoders from tokenizer.json.
public enum DecoderFactory {
    /// The decoder described by `json`, nil for JSON null.
    public static func make(_ json: JSONValue, source: String) throws -> TokenDecoder? {
        if json.isNull { return nil }
        guard let type = json["type"]?.string else {
            throw TokenizerError.missingKey(key: "decoder.type", source: source)
        }
        switch type {
        case "ByteLevel":
            return ByteLevelDecoder()
        case "Replace":
            guard let pattern = json["pattern"]?["String"]?.string else {
                throw TokenizerError.unsupportedComponent(kind: "decoder", type: "Replace (regex)", source: source,
                                                          hint: "Only literal Replace patterns are supported.")
            }
            return ReplaceDecoder(pattern: pattern, content: json["content"]?.string ?? "")
        case "Strip":
            guard let content = json["content"]?.string, content.count == 1, let character = content.first else {
                throw TokenizerError.invalidValue(key: "decoder.content", source: source,
                                                  message: "Strip needs a single character")
            }
            return StripDecoder(content: character, start: json["start"]?.int ?? 0, stop: json["stop"]?.int ?? 0)
        case "Fuse":
            return FuseDecoder()
        case "Sequence":
            guard let list = json["decoders"]?.array else {
                throw TokenizerError.missingKey(key: "decoder.decoders", source: source)
            }
            return SequenceDecoder(try list.compactMap { try make($0, source: source) })
        default:
            throw TokenizerError.unsupportedComponent(
                kind: "decoder", type: type, source: source,
                hint: "Supported: ByteLevel, Replace, Strip, Fuse, Sequence (byte-level BPE tokenizers).")
        }
    }
}
