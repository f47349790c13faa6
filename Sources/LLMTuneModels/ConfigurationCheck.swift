// Checks every decoder configuration shares, each error naming the config key at fault.

struct ConfigurationCheck {
    /// Named in errors: the config.json or GGUF file.
    let file: String

    func require(_ ok: Bool, _ key: String, _ problem: String) throws {
        if !ok { throw ModelError.invalidConfig(key: key, file: file, problem: problem) }
    }

    /// The sizes of a decoder-only transformer fit together.
    func decoderShape(hidden: Int, intermediate: Int, layers: Int, heads: Int, kvHeads: Int, headDim: Int,
                      vocabulary: Int, context: Int) throws {
        try require(hidden > 0, "hidden_size", "must be positive, found \(hidden)")
        try require(intermediate > 0, "intermediate_size", "must be positive, found \(intermediate)")
        try require(layers > 0, "num_hidden_layers", "must be positive, found \(layers)")
        try require(heads > 0, "num_attention_heads", "must be positive, found \(heads)")
        try require(kvHeads > 0 && heads % kvHeads == 0, "num_key_value_heads",
                    "\(kvHeads) must divide num_attention_heads \(heads)")
        try require(headDim > 0 && headDim % 2 == 0, "head_dim", "must be positive and even, found \(headDim)")
        try require(vocabulary > 0, "vocab_size", "must be positive, found \(vocabulary)")
        try require(context > 0, "max_position_embeddings", "must be positive, found \(context)")
    }
}
