// Loading a byte-level BPE tokenizer from HF files: tokenizer.json (the pipeline and vocabulary, as
// written by HF tokenizers) and the optional tokenizer_config.json (special token names, chat template).
// Like transformers v5, the post-processor of tokenizer.json decides BOS/EOS insertion: the config's
// `add_bos_token` / `add_eos_token` are ignored when a tokenizer.json is present. Fields read the same way by
// every loader: TokenizerJSONFields.swift.

import Foundation

extension BPETokenizer {
    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` from a checkpoint folder
    /// (or from the folder of a given tokenizer.json file).
    public static func load(directory: URL) throws -> BPETokenizer {
        let (tokenizer, config, source) = try AutoTokenizer.readTokenizerFiles(directory)
        return try load(tokenizerJSON: tokenizer, tokenizerConfig: config, source: source)
    }

    /// Builds a tokenizer from the bytes of tokenizer.json and tokenizer_config.json.
    public static func load(tokenizerJSON: [UInt8], tokenizerConfig: [UInt8]?, source: String = "tokenizer.json")
        throws -> BPETokenizer {
        let root = try JSONValue.parse(tokenizerJSON, source: source)
        let configSource = source.hasSuffix("tokenizer.json")
            ? String(source.dropLast("tokenizer.json".count)) + "tokenizer_config.json" : "tokenizer_config.json"
        let config = try tokenizerConfig.map { try JSONValue.parse($0, source: configSource) }
        return try BPETokenizer(configuration: configuration(root: root, config: config, source: source))
    }

    static func readFile(_ url: URL) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw TokenizerError.fileNotReadable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// The configuration described by a parsed tokenizer.json (+ config).
    static func configuration(root: JSONValue, config: JSONValue?, source: String) throws -> Configuration {
        guard root.object != nil else {
            throw TokenizerError.invalidValue(key: "(root)", source: source, message: "expected a JSON object")
        }
        guard let model = root["model"], model.object != nil else {
            throw TokenizerError.missingKey(key: "model", source: source)
        }
        let modelType = model["type"]?.string ?? "BPE"
        guard modelType == "BPE" else {
            throw TokenizerError.unsupportedComponent(
                kind: "model", type: modelType, source: source,
                hint: "This loader reads BPE models; WordPiece loads with TokenizerLoader (Unigram, WordLevel: not supported).")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = model[key]?.string, !affix.isEmpty {
                throw TokenizerError.unsupportedComponent(kind: "BPE option", type: "\(key)=\(affix)", source: source,
                                                          hint: "Byte-level BPE does not use subword affixes.")
            }
        }
        guard let vocab = model["vocab"]?.object else {
            throw TokenizerError.missingKey(key: "model.vocab", source: source)
        }

        let addedTokens = try TokenizerJSONFields.addedTokens(root, source: source)
        let tokens = try TokenizerJSONFields.tokensById(vocab: vocab, addedTokens: addedTokens, source: source)
        let merges = try TokenizerJSONFields.merges(model, source: source)
        let idOf = TokenizerJSONFields.idLookup(vocab: vocab, addedTokens: addedTokens)
        let normalizer = try root["normalizer"].map { try NormalizerFactory.make($0, source: source) } ?? nil
        guard let preJSON = root["pre_tokenizer"], !preJSON.isNull else {
            throw TokenizerError.unsupportedComponent(kind: "pre-tokenizer", type: "null", source: source,
                                                      hint: "Byte-level BPE needs a ByteLevel pre-tokenizer.")
        }
        let preTokenizer = try PreTokenizerFactory.make(preJSON, source: source)
        let postProcessor = try root["post_processor"].map {
            try PostProcessorFactory.make($0, source: source, idOf: idOf)
        } ?? nil
        let decoder = try root["decoder"].map { try DecoderFactory.make($0, source: source) } ?? nil

        // Special token names come from tokenizer_config.json.
        func configTokenId(_ key: String) -> Int? { TokenizerJSONFields.configTokenId(config, key, idOf: idOf) }
        let unknownId = model["unk_token"]?.string.flatMap(idOf) ?? configTokenId("unk_token")
        var bos = configTokenId("bos_token")
        if bos == nil, config?["bos_token"] == nil, let postProcessor {
            // No config: the special token the post-processor puts first, if any.
            let marked = postProcessor.process([-1])
            if let first = marked.first, first != -1 { bos = first }
        }
        var eos: [Int] = []
        if let id = configTokenId("eos_token") { eos.append(id) }
        for added in addedTokens where added.special && endOfTurnNames.contains(added.content) && !eos.contains(added.id) {
            eos.append(added.id)
        }
        return Configuration(
            tokens: tokens, merges: merges, addedTokens: addedTokens, normalizer: normalizer,
            preTokenizer: preTokenizer, postProcessor: postProcessor, decoder: decoder,
            ignoreMerges: model["ignore_merges"]?.bool ?? false, bosTokenId: bos, eosTokenIds: eos,
            padTokenId: configTokenId("pad_token"), unknownTokenId: unknownId,
            chatTemplate: TokenizerJSONFields.chatTemplate(config),
            source: source)
    }

    /// "left right" -> (left, right), splitting at the first space after the first character (as llama.cpp).
    static func splitMerge(_ text: String) -> (String, String)? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, let space = bytes.dropFirst().firstIndex(of: 0x20) else { return nil }
        return (String(decoding: bytes[..<space], as: UTF8.self), String(decoding: bytes[(space + 1)...], as: UTF8.self))
    }

    /// Special tokens that end a turn in common chat formats; they stop generation along with EOS
    /// (llama.cpp's end-of-generation list).
    static let endOfTurnNames: Set<String> = [
        "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "<|EOT|>",
    ]
}
