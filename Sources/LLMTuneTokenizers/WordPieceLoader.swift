// Loading a WordPiece tokenizer from HF files: tokenizer.json (model "WordPiece": vocab, unk_token,
// continuing_subword_prefix, max_input_chars_per_word; BertNormalizer, BertPreTokenizer, TemplateProcessing /
// BertProcessing, WordPiece decoder) and the optional tokenizer_config.json (special token names).
// tokenizer.json's `truncation` / `padding` settings are not applied by `encode` (callers such as the
// embedding pipeline truncate to their own maximum length).

import Foundation

extension WordPieceTokenizer {
    /// Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a checkpoint folder, or from the
    /// folder of a given tokenizer.json file.
    public static func load(directory: URL) throws -> WordPieceTokenizer {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory)
        let tokenizerURL = exists && !isDirectory.boolValue ? directory : directory.appendingPathComponent("tokenizer.json")
        let configURL = tokenizerURL.deletingLastPathComponent().appendingPathComponent("tokenizer_config.json")
        let tokenizerBytes = try BPETokenizer.readFile(tokenizerURL)
        let configBytes = FileManager.default.fileExists(atPath: configURL.path)
            ? try BPETokenizer.readFile(configURL) : nil
        return try load(tokenizerJSON: tokenizerBytes, tokenizerConfig: configBytes, source: tokenizerURL.path)
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
        var addedTokens: [AddedToken] = []
        for (index, entry) in (root["added_tokens"]?.array ?? []).enumerated() {
            guard let id = entry["id"]?.int, let content = entry["content"]?.string else {
                throw TokenizerError.invalidValue(key: "added_tokens[\(index)]", source: source,
                                                  message: "needs an integer id and a string content")
            }
            addedTokens.append(AddedToken(
                id: id, content: content, special: entry["special"]?.bool ?? false,
                singleWord: entry["single_word"]?.bool ?? false, leftStrip: entry["lstrip"]?.bool ?? false,
                rightStrip: entry["rstrip"]?.bool ?? false, normalized: entry["normalized"]?.bool ?? false))
        }
        var maxId = -1
        for (token, value) in vocab {
            guard let id = value.int, id >= 0 else {
                throw TokenizerError.invalidValue(key: "model.vocab[\(token.debugDescription)]", source: source,
                                                  message: "ids must be non-negative integers")
            }
            maxId = max(maxId, id)
        }
        for added in addedTokens {
            guard added.id >= 0 else {
                throw TokenizerError.invalidValue(key: "added_tokens", source: source, message: "negative id")
            }
            maxId = max(maxId, added.id)
        }
        guard maxId < 10_000_000 else {
            throw TokenizerError.invalidValue(key: "model.vocab", source: source, message: "id \(maxId) is implausible")
        }
        var tokens = [String](repeating: "", count: maxId + 1)
        for (token, value) in vocab {
            if let id = value.int { tokens[id] = token }
        }
        for added in addedTokens where tokens[added.id].isEmpty { tokens[added.id] = added.content }
        let idOf: (String) -> Int? = { name in
            addedTokens.first(where: { $0.content == name })?.id ?? vocab[name]?.int
        }

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

        func configTokenId(_ key: String) -> Int? {
            guard let value = config?[key] else { return nil }
            return (value.string ?? value["content"]?.string).flatMap(idOf)
        }
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
