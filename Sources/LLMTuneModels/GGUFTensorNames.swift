// Hugging Face tensor names -> llama.cpp GGUF tensor names, shared by the decoder families: the top-level
// tensors are the same everywhere, and per-layer modules map through each family's table
// ("model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"). Reference: llama.cpp
// gguf-py/gguf/tensor_mapping.py.

enum GGUFTensorNames {
    /// Embedding, final norm and output head.
    static let topLevel: [String: String] = [
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    ]

    /// The GGUF name of `name`, with `layerModules` mapping a layer's module path (e.g. "self_attn.q_proj") to
    /// its GGUF short name; nil when the name has no counterpart.
    static func name(_ name: String, layerModules: [String: String]) -> String? {
        if let n = topLevel[name] { return n }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
        let rest = parts[3]
        guard let dot = rest.lastIndex(of: ".") else { return nil }
        guard let short = layerModules[String(rest[..<dot])] else { return nil }
        return "blk.\(layer).\(short).\(rest[rest.index(after: dot)...])"
    }
}
