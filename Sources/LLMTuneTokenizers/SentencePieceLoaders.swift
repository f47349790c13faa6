// Loading a SentencePiece-style BPE tokenizer from GGUF metadata (tokenizer.ggml.model = "llama", llama.cpp's
// SPM vocabulary: tokens, scores, token types, add_bos / add_eos / add_space_prefix) and from tokenizer.json
// (model BPE with byte_fallback; normalizer Replace " " -> "▁" / Prepend "▁", or pre-tokenizer Metaspace;
// decoder Replace / ByteFallback / Fuse / Strip). Shared fields: GGUFTokenizerFields.swift, TokenizerJSONFields.swift.

import Foundation
import LLMTuneFormats

extension SentencePieceTokenizer {
    // MARK: GGUF

    /// Builds the tokenizer from GGUF metadata with `tokenizer.ggml.model` = "llama".
    public static func load(ggufMetadata metadata: [String: GGUFValue], source: String = "GGUF") throws
        -> SentencePieceTokenizer {
        guard let model = metadata["tokenizer.ggml.model"]?.string else {
            throw TokenizerError.missingKey(key: "tokenizer.ggml.model", source: source)
        }
        guard model == "llama" else {
            throw TokenizerError.unsupportedComponent(kind: "tokenizer.ggml.model", type: model, source: source,
                                                      hint: "SentencePieceTokenizer reads 'llama' vocabularies; "
                                                        + "use AutoTokenizer to pick the right kind.")
        }
        let pieces = try GGUFTokenizerFields.tokens(metadata, source: source)
        let V = pieces.count
        var scores = [Float](repeating: 0, count: V)
        if let values = metadata["tokenizer.ggml.scores"]?.array {
            guard values.count == V else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.scores", source: source,
                                                  message: "\(values.count) scores for \(V) tokens")
            }
            for (i, v) in values.enumerated() { scores[i] = Float(v.double ?? 0) }
        }
        let types = try GGUFTokenizerFields.tokenTypes(metadata, count: V, source: source)
        // llama.cpp matches control and unknown tokens (when parsing specials) and user-defined tokens (always)
        // verbatim in the raw text, before spaces are escaped.
        var added: [AddedToken] = []
        var byteIds: Set<Int> = []
        for (id, type) in types.enumerated() where !pieces[id].isEmpty {
            switch type {
            case .control, .unknown: added.append(AddedToken(id: id, content: pieces[id], special: true))
            case .userDefined: added.append(AddedToken(id: id, content: pieces[id], special: false))
            case .byte: byteIds.insert(id)
            default: break
            }
        }
        func validId(_ key: String) throws -> Int? {
            try GGUFTokenizerFields.tokenId(metadata, key, vocabularySize: V, source: source)
        }
        let bos = try validId("tokenizer.ggml.bos_token_id")
        let eosIds = GGUFTokenizerFields.endOfGenerationIds(
            eos: try validId("tokenizer.ggml.eos_token_id"), eot: try validId("tokenizer.ggml.eot_token_id"),
            eom: try validId("tokenizer.ggml.eom_token_id"), tokens: pieces, types: types)
        let spacePrefix = metadata["tokenizer.ggml.add_space_prefix"]?.bool ?? true
        return try SentencePieceTokenizer(configuration: Configuration(
            pieces: pieces, scores: scores, byteTokenIds: byteIds, addedTokens: added,
            spaceHandling: .replace(prefix: spacePrefix),
            addBOS: metadata["tokenizer.ggml.add_bos_token"]?.bool ?? true,
            addEOS: metadata["tokenizer.ggml.add_eos_token"]?.bool ?? false,
            decodeStripLeadingSpaces: spacePrefix ? 1 : 0, bosTokenId: bos, eosTokenIds: eosIds,
            padTokenId: try validId("tokenizer.ggml.padding_token_id"),
            unknownTokenId: try validId("tokenizer.ggml.unknown_token_id"),
            chatTemplate: metadata["tokenizer.chat_template"]?.string, source: source))
    }

    // MARK: tokenizer.json

    /// Loads `tokenizer.json` (+ `tokenizer_config.json` when present) from a folder or a tokenizer.json path.
    public static func load(directory: URL) throws -> SentencePieceTokenizer {
        let (tokenizer, config, source) = try AutoTokenizer.readTokenizerFiles(directory)
        return try load(tokenizerJSON: tokenizer, tokenizerConfig: config, source: source)
    }

    /// Builds the tokenizer from the bytes of tokenizer.json and tokenizer_config.json.
    public static func load(tokenizerJSON: [UInt8], tokenizerConfig: [UInt8]?, source: String = "tokenizer.json")
        throws -> SentencePieceTokenizer {
        let root = try JSONValue.parse(tokenizerJSON, source: source)
        let config = try tokenizerConfig.map { try JSONValue.parse($0, source: source + " (tokenizer_config.json)") }
        return try SentencePieceTokenizer(configuration: configuration(root: root, config: config, source: source))
    }

    static func configuration(root: JSONValue, config: JSONValue?, source: String) throws -> Configuration {
        guard let model = root["model"], model.object != nil else {
            throw TokenizerError.missingKey(key: "model", source: source)
        }
        let type = model["type"]?.string ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unsupportedComponent(kind: "model", type: type, source: source,
                                                      hint: "SentencePiece-style tokenizers here are BPE with byte_fallback.")
        }
        guard let vocab = model["vocab"]?.object else { throw TokenizerError.missingKey(key: "model.vocab", source: source) }
        // Every added token is matched in the raw text (SentencePieceTokenizer has no normalized added tokens).
        var added = try TokenizerJSONFields.addedTokens(root, source: source)
        for k in added.indices { added[k].normalized = false }
        let pieces = try TokenizerJSONFields.tokensById(vocab: vocab, addedTokens: added, source: source)
        guard !pieces.isEmpty else {
            throw TokenizerError.invalidValue(key: "model.vocab", source: source, message: "no plausible ids")
        }
        let merges = try TokenizerJSONFields.merges(model, source: source)

        // Spaces: a normalizer (Gemma: Replace; Llama-2: Prepend + Replace) or a Metaspace pre-tokenizer.
        let normalizer = try root["normalizer"].map { try NormalizerFactory.make($0, source: source) } ?? nil
        var spaces = SpaceHandling.replace(prefix: false)
        if let pre = root["pre_tokenizer"], !pre.isNull {
            spaces = try spaceHandling(pre, hasNormalizer: normalizer != nil, source: source) ?? spaces
        }
        var strip = 0
        if let decoder = root["decoder"], !decoder.isNull {
            let steps = decoder["type"]?.string == "Sequence" ? (decoder["decoders"]?.array ?? []) : [decoder]
            for step in steps where step["type"]?.string == "Strip" { strip = step["start"]?.int ?? 0 }
            for step in steps where step["type"]?.string == "Metaspace" {
                if (step["prepend_scheme"]?.string ?? "always") != "never" { strip = 1 }
            }
        }

        let idOf = TokenizerJSONFields.idLookup(vocab: vocab, addedTokens: added)
        func configTokenId(_ key: String) -> Int? { TokenizerJSONFields.configTokenId(config, key, idOf: idOf) }
        // BOS / EOS insertion from the post-processor (transformers v5 rule); else the config's add_bos_token.
        var addBOS = config?["add_bos_token"]?.bool ?? true
        var addEOS = config?["add_eos_token"]?.bool ?? false
        var bos = configTokenId("bos_token") ?? idOf("<bos>") ?? idOf("<s>")
        var eos = configTokenId("eos_token") ?? idOf("<eos>") ?? idOf("</s>")
        if let json = root["post_processor"], !json.isNull,
           let processor = try PostProcessorFactory.make(json, source: source, idOf: idOf) {
            let marked = processor.process([-1])
            let at = marked.firstIndex(of: -1) ?? 0
            addBOS = at > 0
            if at > 0 { bos = marked[0] }
            addEOS = at + 1 < marked.count
            if addEOS { eos = marked[at + 1] }
        }
        var eosIds = eos.map { [$0] } ?? []
        for a in added where a.special && BPETokenizer.endOfTurnNames.contains(a.content) && !eosIds.contains(a.id) {
            eosIds.append(a.id)
        }
        return Configuration(
            pieces: pieces, merges: merges, addedTokens: added, spaceHandling: spaces, normalizer: normalizer,
            addBOS: addBOS, addEOS: addEOS, decodeStripLeadingSpaces: strip, bosTokenId: bos, eosTokenIds: eosIds,
            padTokenId: configTokenId("pad_token") ?? idOf("<pad>"),
            unknownTokenId: model["unk_token"]?.string.flatMap(idOf) ?? configTokenId("unk_token"),
            chatTemplate: TokenizerJSONFields.chatTemplate(config), source: source)
    }

    /// The space handling a pre-tokenizer describes; nil when it leaves the text as the normalizer made it.
    private static func spaceHandling(_ json: JSONValue, hasNormalizer: Bool, source: String) throws -> SpaceHandling? {
        switch json["type"]?.string {
        case "Metaspace":
            let legacyPrefix = json["add_prefix_space"]?.bool
            let scheme = json["prepend_scheme"]?.string ?? (legacyPrefix == false ? "never" : "always")
            return .metaspace(prependScheme: scheme, split: json["split"]?.bool ?? true)
        case "Split" where hasNormalizer && json["pattern"]?["String"]?.string == " ":
            return nil   // GemmaTokenizer: splits on spaces the normalizer already replaced, a no-op
        case "Sequence":
            var result: SpaceHandling?
            for step in json["pretokenizers"]?.array ?? [] {
                if let s = try spaceHandling(step, hasNormalizer: hasNormalizer, source: source) { result = s }
            }
            return result
        default:
            throw TokenizerError.unsupportedComponent(
                kind: "pre-tokenizer", type: json["type"]?.string ?? "?", source: source,
                hint: "SentencePiece-style tokenizers support Metaspace, or a normalizer replacing spaces.")
        }
    }
}
