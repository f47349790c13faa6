// tokenizer.json and tokenizer_config.json for a Hugging Face export of a GGUF model, rebuilt from the GGUF's
// `tokenizer.ggml.*` metadata (byte-level BPE only). The pre-tokenizer follows `tokenizer.ggml.pre` as llama.cpp
// reads it (src/llama-vocab.cpp) and as the original Hub tokenizer.json files spell it: smollm = Sequence[Digits
// (individual), ByteLevel]; llama-bpe / qwen2 = Split(regex) + ByteLevel without its own regex; GPT-2 style
// otherwise. Token types 3 (control) become special added tokens, 4 (user-defined) plain added tokens.
// Reference: huggingface/tokenizers (tokenizer.json schema), transformers' GGUF tokenizer converter.
import Foundation
import LLMTuneFormats

struct HuggingFaceTokenizerFiles {
    var tokenizer: [String: Any]
    var tokenizerConfig: [String: Any]
    var notes: [String] = []

    static let llama3Pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let qwen2Pattern = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

    init(ggufMetadata m: [String: GGUFValue], contextLength: Int) throws {
        func fail(_ problem: String) -> AdapterError { .exportFailed(what: "tokenizer.json", problem: problem) }
        guard m["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw fail("tokenizer.ggml.model '\(m["tokenizer.ggml.model"]?.string ?? "missing")' is not byte-level BPE (gpt2); "
                + "only those vocabularies can be exported yet")
        }
        guard let tokens = m["tokenizer.ggml.tokens"]?.array?.compactMap(\.string) else {
            throw fail("tokenizer.ggml.tokens is missing")
        }
        let types = m["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
        let merges = m["tokenizer.ggml.merges"]?.array?.compactMap(\.string) ?? []
        var vocab: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where vocab[t] == nil { vocab[t] = i }
        var added: [[String: Any]] = []
        for (i, type) in types.enumerated() where (type == 3 || type == 4) && i < tokens.count {
            added.append(["id": i, "content": tokens[i], "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": type != 3, "special": type == 3])
        }
        let byteLevel: (Bool) -> [String: Any] = { regex in
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": regex]
        }
        var notesFound: [String] = []
        let pre = m["tokenizer.ggml.pre"]?.string ?? "default"
        let preTokenizer: [String: Any]
        switch pre {
        case "smollm":
            preTokenizer = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel(true)]]
        case "llama3", "llama-v3", "llama-bpe", "falcon3":
            preTokenizer = Self.split(Self.llama3Pattern, then: byteLevel(false))
        case "qwen2":
            preTokenizer = Self.split(Self.qwen2Pattern, then: byteLevel(false))
        case "default", "gpt-2", "gpt2":
            preTokenizer = byteLevel(true)
        default:
            preTokenizer = byteLevel(true)
            notesFound.append("tokenizer.ggml.pre '\(pre)' is written as GPT-2's byte-level pre-tokenizer; check tokenization")
        }
        let addBOS = m["tokenizer.ggml.add_bos_token"]?.bool ?? false
        let bos = m["tokenizer.ggml.bos_token_id"]?.int.flatMap { $0 < tokens.count ? tokens[$0] : nil }
        let eos = m["tokenizer.ggml.eos_token_id"]?.int.flatMap { $0 < tokens.count ? tokens[$0] : nil }
        let unk = m["tokenizer.ggml.unknown_token_id"]?.int.flatMap { $0 < tokens.count ? tokens[$0] : nil }
        let pad = m["tokenizer.ggml.padding_token_id"]?.int.flatMap { $0 < tokens.count ? tokens[$0] : nil }
        var postProcessor: Any = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true]
        if addBOS, let bos, let bosID = m["tokenizer.ggml.bos_token_id"]?.int {
            postProcessor = [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": bos, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                "pair": [["SpecialToken": ["id": bos, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": bos, "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                "special_tokens": [bos: ["id": bos, "ids": [bosID], "tokens": [bos]]],
            ]
        }
        let null = NSNull()
        tokenizer = [
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": added, "normalizer": null,
            "pre_tokenizer": preTokenizer, "post_processor": postProcessor,
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                      "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges] as [String: Any],
        ]
        var config: [String: Any] = [
            "add_bos_token": addBOS, "add_eos_token": false, "add_prefix_space": false,
            "clean_up_tokenization_spaces": false, "model_max_length": contextLength, "tokenizer_class": "GPT2Tokenizer",
            "bos_token": bos ?? null, "eos_token": eos ?? null, "unk_token": unk ?? null,
        ]
        if let pad { config["pad_token"] = pad }
        if let template = m["tokenizer.chat_template"]?.string { config["chat_template"] = template }
        tokenizerConfig = config
        notes = notesFound
    }

    private static func split(_ pattern: String, then byteLevel: [String: Any]) -> [String: Any] {
        ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false], byteLevel]]
    }
}
