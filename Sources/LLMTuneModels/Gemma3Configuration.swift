// Gemma-3 text configuration: Hugging Face `Gemma3TextConfig` (config.json, model_type "gemma3_text", or the
// `text_config` of a "gemma3" checkpoint) and the `gemma3.*` keys of a llama.cpp GGUF file.
// Reference: transformers models/gemma3/configuration_gemma3.py; llama.cpp src/llama-model.cpp (LLM_ARCH_GEMMA3:
// sliding-window pattern 6, local rope base 10000, attention scale 1/sqrt(head_dim) except for the 27B model).
import Foundation
import LLMTuneFormats

public struct Gemma3Configuration: Sendable {
    public var modelType: String
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var rmsNormEps: Float
    /// Rope base of the global (full-attention) layers, e.g. 1e6.
    public var globalRopeTheta: Float
    /// Linear rope scaling factor of the global layers (1 = none).
    public var globalRopeScaling: Float
    /// Rope base of the local (sliding-window) layers, e.g. 1e4.
    public var localRopeTheta: Float
    public var contextLength: Int
    /// Keys visible to a query on a local layer, itself included.
    public var slidingWindow: Int
    /// Per layer: true for a sliding-window (local) layer, false for a global one.
    public var slidingLayers: [Bool]
    /// Attention scores are scaled by queryPreAttentionScalar^-0.5.
    public var queryPreAttentionScalar: Float
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool

    public init(modelType: String, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int, headDim: Int, vocabularySize: Int, rmsNormEps: Float, globalRopeTheta: Float,
                globalRopeScaling: Float = 1, localRopeTheta: Float, contextLength: Int, slidingWindow: Int,
                slidingLayers: [Bool], queryPreAttentionScalar: Float, tieWordEmbeddings: Bool = true,
                attentionBias: Bool = false) {
        self.modelType = modelType
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabularySize = vocabularySize
        self.rmsNormEps = rmsNormEps
        self.globalRopeTheta = globalRopeTheta
        self.globalRopeScaling = globalRopeScaling
        self.localRopeTheta = localRopeTheta
        self.contextLength = contextLength
        self.slidingWindow = slidingWindow
        self.slidingLayers = slidingLayers
        self.queryPreAttentionScalar = queryPreAttentionScalar
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias
    }

    /// HF's default layer pattern: every `pattern`-th layer is global.
    public static func slidingLayers(count: Int, pattern: Int) -> [Bool] {
        (0..<count).map { pattern <= 0 ? true : ($0 + 1) % pattern != 0 }
    }

    /// Checks the numbers fit together, naming the offending key.
    func validate(file: String) throws {
        let check = ConfigurationCheck(file: file)
        try check.decoderShape(hidden: hiddenSize, intermediate: intermediateSize, layers: layerCount,
                               heads: headCount, kvHeads: kvHeadCount, headDim: headDim,
                               vocabulary: vocabularySize, context: contextLength)
        try check.require(slidingWindow > 0, "sliding_window", "must be positive, found \(slidingWindow)")
        try check.require(slidingLayers.count == layerCount, "layer_types",
                          "has \(slidingLayers.count) entries for \(layerCount) layers")
        try check.require(queryPreAttentionScalar > 0, "query_pre_attn_scalar", "must be positive")
        try check.require(globalRopeScaling > 0, "rope_scaling.factor", "must be positive")
    }
}

// MARK: - config.json

extension Gemma3Configuration {
    private struct RopeEntry: Decodable {
        var ropeTheta: Float?
        var ropeType: String?
        var type: String?
        var factor: Float?
        enum CodingKeys: String, CodingKey { case ropeTheta = "rope_theta", ropeType = "rope_type", type, factor }
        var kind: String { ropeType ?? type ?? "default" }
    }

    private enum Keys: String, CodingKey {
        case modelType = "model_type", textConfig = "text_config"
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads", kvHeadCount = "num_key_value_heads", headDim = "head_dim"
        case vocabularySize = "vocab_size", rmsNormEps = "rms_norm_eps", contextLength = "max_position_embeddings"
        case ropeTheta = "rope_theta", ropeLocalBaseFreq = "rope_local_base_freq", ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters", slidingWindow = "sliding_window", layerTypes = "layer_types"
        case slidingWindowPattern = "sliding_window_pattern", privatePattern = "_sliding_window_pattern"
        case queryPreAttnScalar = "query_pre_attn_scalar", tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias", hiddenActivation = "hidden_activation", hiddenAct = "hidden_act"
        case finalLogitSoftcapping = "final_logit_softcapping", attnLogitSoftcapping = "attn_logit_softcapping"
        case bidirectional = "use_bidirectional_attention"
    }

    /// Reads a Hugging Face config.json ("gemma3_text", or "gemma3" with a `text_config`); defaults are resolved
    /// here and only here (transformers' Gemma3TextConfig defaults).
    public init(configJSON data: Data, file: String) throws {
        struct Root: Decodable {
            let body: Gemma3Configuration
            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: Keys.self)
                let outerType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "gemma3_text"
                if c.contains(.textConfig) {
                    let inner = try c.nestedContainer(keyedBy: Keys.self, forKey: .textConfig)
                    let outerTie = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
                    body = try Gemma3Configuration(container: inner, modelType: outerType, tie: outerTie)
                } else {
                    body = try Gemma3Configuration(container: c, modelType: outerType, tie: nil)
                }
            }
        }
        do {
            self = try JSONDecoder().decode(Root.self, from: data).body
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError.invalidConfig(key: "(file)", file: file, problem: "\(error)")
        }
        try validate(file: file)
    }

    private init(container c: KeyedDecodingContainer<Keys>, modelType: String, tie: Bool?) throws {
        let file = "config.json"
        self.modelType = modelType
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 2304
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 9216
        layerCount = try c.decodeIfPresent(Int.self, forKey: .layerCount) ?? 26
        headCount = try c.decodeIfPresent(Int.self, forKey: .headCount) ?? 8
        kvHeadCount = try c.decodeIfPresent(Int.self, forKey: .kvHeadCount) ?? 4
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? 256
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? 262_208
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? 131_072
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow) ?? 4096
        queryPreAttentionScalar = try c.decodeIfPresent(Float.self, forKey: .queryPreAttnScalar) ?? 256
        tieWordEmbeddings = try tie ?? c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false

        let activation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation)
            ?? c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu_pytorch_tanh"
        guard ["gelu_pytorch_tanh", "gelu_tanh", "gelu_new", "gelu_fast"].contains(activation) else {
            throw ModelError.invalidConfig(key: "hidden_activation", file: file,
                                           problem: "'\(activation)' is not supported (Gemma-3 uses gelu_pytorch_tanh)")
        }
        for key in [Keys.finalLogitSoftcapping, .attnLogitSoftcapping] {
            if let cap = try c.decodeIfPresent(Float.self, forKey: key) {
                throw ModelError.invalidConfig(key: key.rawValue, file: file,
                                               problem: "logit soft-capping (\(cap)) is not supported yet; "
                                                + "Gemma-3 checkpoints set it to null")
            }
        }
        if try c.decodeIfPresent(Bool.self, forKey: .bidirectional) == true {
            throw ModelError.invalidConfig(key: "use_bidirectional_attention", file: file,
                                           problem: "bidirectional (encoder) Gemma-3 is not supported")
        }

        // Layer pattern: explicit layer_types, else every sliding_window_pattern-th layer is global.
        if let types = try c.decodeIfPresent([String].self, forKey: .layerTypes) {
            slidingLayers = try types.map {
                switch $0 {
                case "sliding_attention": return true
                case "full_attention": return false
                default:
                    throw ModelError.invalidConfig(key: "layer_types", file: file, problem: "unknown layer type '\($0)'")
                }
            }
        } else {
            let pattern = try c.decodeIfPresent(Int.self, forKey: .slidingWindowPattern)
                ?? c.decodeIfPresent(Int.self, forKey: .privatePattern) ?? 6
            slidingLayers = Gemma3Configuration.slidingLayers(count: layerCount, pattern: pattern)
        }

        // Rope: transformers 5 keeps one entry per layer type in rope_parameters; older files use rope_theta,
        // rope_local_base_freq and rope_scaling (which applies to the global layers only).
        var global = RopeEntry(ropeTheta: nil, ropeType: nil, type: nil, factor: nil)
        var local = global
        if let perType = try? c.decodeIfPresent([String: RopeEntry].self, forKey: .ropeParameters) {
            global = perType["full_attention"] ?? global
            local = perType["sliding_attention"] ?? local
        } else if let flat = try? c.decodeIfPresent(RopeEntry.self, forKey: .ropeParameters) {
            global = flat
        }
        if let scaling = try c.decodeIfPresent(RopeEntry.self, forKey: .ropeScaling) {
            global.ropeType = scaling.kind
            global.factor = scaling.factor
        }
        globalRopeTheta = try global.ropeTheta ?? c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 1_000_000
        localRopeTheta = try local.ropeTheta ?? c.decodeIfPresent(Float.self, forKey: .ropeLocalBaseFreq) ?? 10_000
        globalRopeScaling = 1
        for (entry, name) in [(global, "full_attention"), (local, "sliding_attention")] {
            switch entry.kind {
            case "default": break
            case "linear" where name == "full_attention": globalRopeScaling = entry.factor ?? 1
            default:
                throw ModelError.invalidConfig(key: "rope_parameters.\(name)", file: file,
                                               problem: "rope type '\(entry.kind)' is not supported (default, linear)")
            }
        }
    }
}

// MARK: - GGUF

extension Gemma3Configuration {
    /// Reads the `gemma3.*` keys of a GGUF file, with llama.cpp's fixed choices for what the file does not hold.
    public init(gguf metadata: [String: GGUFValue], tokenCount: Int?, hasOutputWeight: Bool, file: String) throws {
        let arch = metadata["general.architecture"]?.string ?? "gemma3"
        func int(_ key: String) throws -> Int {
            guard let v = metadata["\(arch).\(key)"]?.int else {
                throw ModelError.invalidConfig(key: "\(arch).\(key)", file: file, problem: "missing or not an integer")
            }
            return v
        }
        func float(_ key: String) -> Float? { metadata["\(arch).\(key)"]?.double.map { Float($0) } }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let layers = try int("block_count")
        let headDim = (try? int("attention.key_length")) ?? hidden / heads
        guard let vocab = (try? int("vocab_size")) ?? tokenCount else {
            throw ModelError.invalidConfig(key: "\(arch).vocab_size", file: file,
                                           problem: "missing, and the file has no tokenizer.ggml.tokens either")
        }
        // llama.cpp: every 6th layer is global unless the file lists the pattern (int or per-layer bools).
        var sliding = Gemma3Configuration.slidingLayers(count: layers, pattern: 6)
        if let pattern = metadata["\(arch).attention.sliding_window_pattern"] {
            if let n = pattern.int {
                sliding = Gemma3Configuration.slidingLayers(count: layers, pattern: n)
            } else if let list = pattern.array {
                sliding = list.map { $0.bool ?? false }
            }
        }
        var scaling: Float = 1
        if let kind = metadata["\(arch).rope.scaling.type"]?.string, kind != "none" {
            guard kind == "linear", let factor = float("rope.scaling.factor") else {
                throw ModelError.invalidConfig(key: "\(arch).rope.scaling.type", file: file,
                                               problem: "rope scaling '\(kind)' is not supported (linear only)")
            }
            scaling = factor
        }
        if let cap = float("final_logit_softcapping") ?? float("attn_logit_softcapping") {
            throw ModelError.invalidConfig(key: "\(arch).*_logit_softcapping", file: file,
                                           problem: "logit soft-capping (\(cap)) is not supported yet")
        }
        // llama.cpp (LLM_TYPE_27B, 62 layers) scales by 1/sqrt(hidden / heads), every other size by 1/sqrt(head_dim).
        let scalar = layers == 62 ? Float(hidden / heads) : Float(headDim)
        self.init(modelType: arch, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
                  layerCount: layers, headCount: heads, kvHeadCount: (try? int("attention.head_count_kv")) ?? heads,
                  headDim: headDim, vocabularySize: vocab,
                  rmsNormEps: float("attention.layer_norm_rms_epsilon") ?? 1e-6,
                  globalRopeTheta: float("rope.freq_base") ?? 1_000_000, globalRopeScaling: scaling,
                  localRopeTheta: 10_000, contextLength: try int("context_length"),
                  slidingWindow: (try? int("attention.sliding_window")) ?? 4096, slidingLayers: sliding,
                  queryPreAttentionScalar: scalar, tieWordEmbeddings: !hasOutputWeight)
        try validate(file: file)
    }

    /// Hugging Face name -> llama.cpp GGUF name for Gemma-3 tensors (nil when there is no counterpart).
    public static func ggufName(_ name: String) -> String? {
        GGUFTensorNames.name(name, layerModules: ggufLayerModules)
    }

    /// Per-layer module path -> GGUF short name.
    static let ggufLayerModules: [String: String] = [
        "input_layernorm": "attn_norm", "post_attention_layernorm": "post_attention_norm",
        "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
        "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    ]
}
