// Loading a byte-level BPE tokenizer from GGUF metadata (`tokenizer.ggml.*`), reproducing llama.cpp's
// llama-vocab.cpp: `tokenizer.ggml.pre` selects the regex list, defaults for add_bos / ignore_merges
// per pre-tokenizer, token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
// The metadata arrives as a plain dictionary so that this layer does not depend on the GGUF reader.
// Fields read the same way by the SentencePiece loader: GGUFTokenizerFields.swift.

import LLMTuneFormats

/// GGUF token types (`tokenizer.ggml.token_type`).
public enum GGUFTokenType: Int, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

extension BPETokenizer {
    /// The pre-tokenizer names (`tokenizer.ggml.pre`) understood here, grouped as llama.cpp groups them.
    public static let supportedGGUFPreTokenizers: [String] = [
        "default", "gpt-2", "gpt2", "phi-2", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es",
        "jina-v2-de", "jina-v2-code", "gigachat", "mpt", "olmo", "jais", "exaone4", "trillion",
        "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe",
        "qwen2", "stablelm2", "megrez", "hunyuan",
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b",
        "falcon", "deepseek-llm",
    ]

    /// Builds a tokenizer from GGUF metadata (`general.*` keys are ignored; `tokenizer.ggml.*` are read).
    /// - Parameter source: names the file in errors.
    public static func load(ggufMetadata metadata: [String: GGUFValue], source: String = "GGUF") throws -> BPETokenizer {
        func string(_ key: String) -> String? { metadata[key]?.string }

        guard let model = string("tokenizer.ggml.model") else {
            throw TokenizerError.missingKey(key: "tokenizer.ggml.model", source: source)
        }
        guard model == "gpt2" else {
            throw TokenizerError.unsupportedComponent(
                kind: "tokenizer.ggml.model", type: model, source: source,
                hint: "BPETokenizer reads byte-level ('gpt2') vocabularies; load 'llama' (SentencePiece) ones with "
                    + "SentencePieceTokenizer.load(ggufMetadata:) or AutoTokenizer.")
        }
        let tokens = try GGUFTokenizerFields.tokens(metadata, source: source)
        guard let mergeValues = metadata["tokenizer.ggml.merges"]?.array else {
            throw TokenizerError.missingKey(key: "tokenizer.ggml.merges", source: source)
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeValues.count)
        for (index, value) in mergeValues.enumerated() {
            guard let text = value.string, let pair = splitMerge(text) else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.merges[\(index)]", source: source,
                                                  message: "expected \"left right\"")
            }
            merges.append(pair)
        }
        let types = try GGUFTokenizerFields.tokenTypes(metadata, count: tokens.count, source: source)

        // Pre-tokenizer and per-family defaults (llama-vocab.cpp).
        let pre = string("tokenizer.ggml.pre") ?? "default"
        let (preTokenizer, defaultAddBOS, ignoreMerges) = try ggufPreTokenizer(pre, source: source)

        // Added tokens: control and unknown tokens are special, user-defined tokens are matched as text too.
        var addedTokens: [AddedToken] = []
        var rawText: Set<Int> = []
        for (id, type) in types.enumerated() where !tokens[id].isEmpty {
            switch type {
            case .control, .unknown:
                addedTokens.append(AddedToken(id: id, content: tokens[id], special: true))
                rawText.insert(id)
            case .userDefined:
                addedTokens.append(AddedToken(id: id, content: tokens[id], special: false))
                rawText.insert(id)
            default:
                break
            }
        }

        func validId(_ key: String) throws -> Int? {
            try GGUFTokenizerFields.tokenId(metadata, key, vocabularySize: tokens.count, source: source)
        }
        let bos = try validId("tokenizer.ggml.bos_token_id")
        let eos = try validId("tokenizer.ggml.eos_token_id")
        let eot = try validId("tokenizer.ggml.eot_token_id")
        let eom = try validId("tokenizer.ggml.eom_token_id")
        let pad = try validId("tokenizer.ggml.padding_token_id")
        let unknown = try validId("tokenizer.ggml.unknown_token_id")
        let addBOS = metadata["tokenizer.ggml.add_bos_token"]?.bool ?? defaultAddBOS
        let addEOS = metadata["tokenizer.ggml.add_eos_token"]?.bool ?? false

        let eosIds = GGUFTokenizerFields.endOfGenerationIds(eos: eos, eot: eot, eom: eom, tokens: tokens, types: types)

        var postProcessor: PostProcessor?
        if (addBOS && bos != nil) || (addEOS && eos != nil) {
            postProcessor = TemplateProcessor(bos: addBOS ? bos : nil, eos: addEOS ? eos : nil)
        }
        return try BPETokenizer(configuration: Configuration(
            tokens: tokens, merges: merges, addedTokens: addedTokens, normalizer: nil, preTokenizer: preTokenizer,
            postProcessor: postProcessor, decoder: ByteLevelDecoder(), ignoreMerges: ignoreMerges,
            bosTokenId: bos, eosTokenIds: eosIds, padTokenId: pad, unknownTokenId: unknown,
            chatTemplate: string("tokenizer.chat_template"), rawTextTokenIds: rawText, source: source))
    }

    /// llama.cpp's pre-tokenizer for a `tokenizer.ggml.pre` name: the regex chain (each regex splits the
    /// pieces of the previous one, keeping matches and gaps), the default `add_bos`, and `ignore_merges`.
    static func ggufPreTokenizer(_ name: String, source: String) throws
        -> (preTokenizer: PreTokenizer, addBOS: Bool, ignoreMerges: Bool) {
        func chain(_ scanners: [PatternScanner]) -> PreTokenizer {
            SequencePreTokenizer(scanners.map { SplitPreTokenizer(scanner: $0) }
                                 + [ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false)])
        }
        let gpt2 = GPT2PatternScanner()
        let digits = ClassRunScanner(kind: .numbers, minLength: 1, maxLength: 1)
        switch name {
        case "default":
            return (chain([ClassRunScanner(kind: .punctuation(extra: "$+<=>^~|"), minLength: 1, maxLength: .max), gpt2,
                           ClassRunScanner(kind: .numbers, minLength: 1, maxLength: .max),
                           ClassRunScanner(kind: .asciiDigits, minLength: 3, maxLength: 3)]), false, false)
        case "gpt-2", "gpt2", "phi-2", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es", "jina-v2-de",
             "jina-v2-code", "gigachat", "mpt", "olmo", "jais", "exaone4", "trillion":
            return (chain([gpt2]), false, false)
        case "llama3", "llama-v3", "llama-bpe", "falcon3":
            return (chain([Llama3PatternScanner(maxDigits: 3)]), true, true)
        case "dbrx", "smaug-bpe":
            return (chain([Llama3PatternScanner(maxDigits: 3)]), false, false)
        case "qwen2", "stablelm2", "megrez", "hunyuan":
            return (chain([Llama3PatternScanner(maxDigits: 1)]), false, false)
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            return (chain([digits, gpt2]), false, false)
        case "falcon":
            return (chain([ClassRunScanner(kind: .punctuation(extra: "$+<=>^~|`"), minLength: 1, maxLength: .max), gpt2,
                           ClassRunScanner(kind: .asciiDigits, minLength: 3, maxLength: 3)]), false, false)
        case "deepseek-llm":
            return (chain([CodePointSetScanner(ranges: DeepSeekSets.newlines, maxLength: 1),
                           CodePointSetScanner(ranges: DeepSeekSets.letters, optionalLeadingWhitespace: true),
                           CodePointSetScanner(ranges: DeepSeekSets.punctuation, optionalLeadingWhitespace: true),
                           TrailingWhitespaceScanner(),
                           CodePointSetScanner(ranges: DeepSeekSets.cjk),
                           ClassRunScanner(kind: .numbers, minLength: 1, maxLength: .max)]), false, false)
        default:
            throw TokenizerError.unsupportedComponent(
                kind: "tokenizer.ggml.pre", type: name, source: source,
                hint: "Supported: \(supportedGGUFPreTokenizers.joined(separator: ", ")).")
        }
    }
}
