// Loading a WordPiece tokenizer from HF files: tokenizer.json (model "WordPiece": vocab, unk_token,
// continuing_subword_prefix, max_input_chars_per_word; BertNormalizer, BertPreTokenizer, TemplateProcessing /
// BertProcessing, WordPiece decoder) and the optional tokenizer_config.json (special token names).
// tokenizer.json's `truncation` / `padding` settings are not applied by `encode` (callers such as the
// embedding pipeline truncate to their own maximum length). Shared fields: TokenizerJSONFields.swift.

import Foundation

extension WordPieceTokenizer {
    /// Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a checkpoint folder, or from the
    /// folder of a given tokenizer.json file.
    public static func load(directory: URL) throws -> WordPieceTokenizer {
        let (tokenizer, config, source) = try AutoTokenizer.readTokenizerFiles(directory)
        return try load(tokenizerJSON: tokenizer, tokenizerConfig: config, source: source)
    }

    /// Builds a tokenizer from the bytes of tokenizer.json and tokenizer_config.json.
    public static func load(tokenizerJSON: [UInt8], tokenizerConfig: [UInt8]?, source: String = "tokenizer.json")
        throws -> WordPieceTokenizer {
        let root = try JSONValue.parse(tokenizerJSON, source: source)
        let config = try tokenizerConfig.map { try JSONValue.parse($0, source: "tokenizer_config.json") }
        return try WordPieceTokenizer(configuration: configuration(root: root, config: config, source: source))
    }

    /// Whether a parsed tokenizer.json describes a WordPiece model.
    public static func isWordPiece(_ root: JSONValue) -> Bool { root["model"]?["type"]?.string == "WordPiece" }

    static func configuration(root: JSONValue, config: JSONValue?, source: String) throws -> Configuration {
        guard let model = root["model"], model.object != nil else {
            throw TokenizerError.missingKey(key: "model", source: source)
        }
        let type = model["type"]?.string ?? "(none)"
        guard type == "WordPiece" else {
            throw TokenizerError.unsupportedComponent(kind: "model", type: type, source: source,
                                                      hint: "This loader reads WordPiece models only.")
        }
        guard let vocab = model["vocab"]?.object else {
            throw TokenizerError.missingKey(key: "model.vocab", source: source)
        }
        let addedTokens = try TokenizerJSONFields.addedTokens(root, source: source)
        let tokens = try TokenizerJSONFields.tokensById(vocab: vocab, addedTokens: addedTokens, source: source)
        let idOf = TokenizerJSONFields.idLookup(vocab: vocab, addedTokens: addedTokens)

        let unknownName = model["unk_token"]?.string ?? "[UNK]"
        guard let unknownId = idOf(unknownName) else {
            throw TokenizerError.invalidValue(key: "model.unk_token", source: source,
                                              message: "'\(unknownName)' is not in the vocabulary")
        }
        let prefix = model["continuing_subword_prefix"]?.string ?? "##"
        let maxChars = model["max_input_chars_per_word"]?.int ?? 100

        let normalizer = try root["normalizer"].map { try makeNormalizer($0, source: source) } ?? nil
        let preTokenizer = try root["pre_tokenizer"].map { try makePreTokenizer($0, source: source) } ?? nil
        let postProcessor = try root["post_processor"].map {
            try PostProcessorFactory.make($0, source: source, idOf: idOf)
        } ?? nil
        let decoder = try root["decoder"].map { try makeDecoder($0, source: source) } ?? nil

        func configTokenId(_ key: String) -> Int? { TokenizerJSONFields.configTokenId(config, key, idOf: idOf) }
        // BOS: the special token the post-processor puts first ([CLS]); EOS only when the config names one.
        var bos = configTokenId("bos_token")
        if bos == nil, let postProcessor, let first = postProcessor.process([-1]).first, first != -1 { bos = first }
        let eos = configTokenId("eos_token").map { [$0] } ?? []
        let pad = configTokenId("pad_token") ?? root["padding"]?["pad_id"]?.int ?? idOf("[PAD]")
        return Configuration(
            tokens: tokens, addedTokens: addedTokens, normalizer: normalizer, preTokenizer: preTokenizer,
            postProcessor: postProcessor, decoder: decoder, unknownTokenId: unknownId,
            continuingSubwordPrefix: prefix, maximumInputCharactersPerWord: maxChars, bosTokenId: bos,
            eosTokenIds: eos, padTokenId: pad, source: source)
    }

    /// BertNormalizer here; the other kinds through the shared factory.
    static func makeNormalizer(_ json: JSONValue, source: String) throws -> Normalizer? {
        switch json["type"]?.string {
        case "BertNormalizer":
            return BertNormalizer(cleanText: json["clean_text"]?.bool ?? true,
                                  handleChineseCharacters: json["handle_chinese_chars"]?.bool ?? true,
                                  stripAccents: json["strip_accents"]?.bool,
                                  lowercase: json["lowercase"]?.bool ?? true)
        case "Sequence":
            guard let list = json["normalizers"]?.array else {
                throw TokenizerError.missingKey(key: "normalizer.normalizers", source: source)
            }
            return SequenceNormalizer(try list.compactMap { try makeNormalizer($0, source: source) })
        default:
            return try NormalizerFactory.make(json, source: source)
        }
    }

    /// BertPreTokenizer here; the other kinds through the shared factory.
    static func makePreTokenizer(_ json: JSONValue, source: String) throws -> PreTokenizer? {
        if json.isNull { return nil }
        switch json["type"]?.string {
        case "BertPreTokenizer":
            return BertPreTokenizer()
        case "Sequence":
            guard let list = json["pretokenizers"]?.array else {
                throw TokenizerError.missingKey(key: "pre_tokenizer.pretokenizers", source: source)
            }
            return SequencePreTokenizer(try list.compactMap { try makePreTokenizer($0, source: source) })
        default:
            return try PreTokenizerFactory.make(json, source: source)
        }
    }

    /// The WordPiece decoder here; the other kinds through the shared factory.
    static func makeDecoder(_ json: JSONValue, source: String) throws -> TokenDecoder? {
        switch json["type"]?.string {
        case "WordPiece":
            return WordPieceDecoder(prefix: json["prefix"]?.string ?? "##", cleanup: json["cleanup"]?.bool ?? true)
        default:
            return try DecoderFactory.make(json, source: source)
        }
    }
}
