// Llama family: Llama 2/3, Mistral, Qwen2, SmolLM.
// Papers: "LLaMA: Open and Efficient Foundation Language Models" (Touvron et al., 2023);
// Mistral 7B (Jiang et al., 2023) for sliding-window attention; Qwen2 adds biases to Q, K and V.
// Reference implementation: transformers models/llama/modeling_llama.py (and mistral/, qwen2/).
//
// Pre-norm decoder: h = x + Attn(RMSNorm(x)); y = h + MLP(RMSNorm(h)); MLP = down(silu(gate(x)) * up(x)).
// Grouped-query attention with rotary position embeddings. A GGUF file stores Q/K rows permuted for
// llama.cpp's interleaved rotary pairs: we keep its layout and rotate interleaved pairs instead.
import Foundation
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneTensor

// MARK: - Configuration

public struct LlamaConfiguration: Codable, Sendable {
    public var modelType: String
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var contextLength: Int
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool
    public var slidingWindow: Int?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case kvHeadCount = "num_key_value_heads"
        case headDim = "head_dim"
        case vocabularySize = "vocab_size"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case contextLength = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias"
        case slidingWindow = "sliding_window"
        case useSlidingWindow = "use_sliding_window"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
    }

    private struct RopeParameters: Codable {
        var ropeTheta: Float?
        var ropeType: String?
        var type: String?
        enum CodingKeys: String, CodingKey {
            case ropeTheta = "rope_theta", ropeType = "rope_type", type
        }
    }

    public init(modelType: String, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int, headDim: Int, vocabularySize: Int, rmsNormEps: Float, ropeTheta: Float,
                contextLength: Int, tieWordEmbeddings: Bool, attentionBias: Bool, slidingWindow: Int?) {
        self.modelType = modelType
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabularySize = vocabularySize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.contextLength = contextLength
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias
        self.slidingWindow = slidingWindow
    }

    /// Reads a Hugging Face config.json; defaults are resolved here and only here.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decode(String.self, forKey: .modelType)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        kvHeadCount = try c.decodeIfPresent(Int.self, forKey: .kvHeadCount) ?? headCount
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? hiddenSize / headCount
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? 2048
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? (modelType == "qwen2")
        let window = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        let useWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? (modelType == "mistral")
        slidingWindow = useWindow ? window : nil
        // transformers 5 moves rope_theta into rope_parameters; older files keep it at the top level.
        let parameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        let scaling = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling)
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? parameters?.ropeTheta ?? 10000
        for p in [parameters, scaling].compactMap({ $0 }) {
            let kind = p.ropeType ?? p.type ?? "default"
            if kind != "default" {
                throw ModelError.invalidConfig(key: "rope_scaling", file: "config.json",
                                               problem: "rope type '\(kind)' is not supported yet (only 'default').")
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(kvHeadCount, forKey: .kvHeadCount)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(attentionBias, forKey: .attentionBias)
        try c.encodeIfPresent(slidingWindow, forKey: .slidingWindow)
    }

    /// Checks the numbers fit together, naming the offending key.
    func validate(file: String) throws {
        try ConfigurationCheck(file: file).decoderShape(
            hidden: hiddenSize, intermediate: intermediateSize, layers: layerCount, heads: headCount,
            kvHeads: kvHeadCount, headDim: headDim, vocabulary: vocabularySize, context: contextLength)
    }
}

// MARK: - Attention

final class LlamaAttention {
    var qProj, kProj, vProj, oProj: LinearLayer
    let heads, kvHeads, headDim: Int
    let rotary: RotaryTable
    let layout: RotaryLayout
    let window: Int?

    init(_ w: WeightLoader, _ c: LlamaConfiguration, rotary: RotaryTable, layout: RotaryLayout) throws {
        let (C, H, KVH, D) = (c.hiddenSize, c.headCount, c.kvHeadCount, c.headDim)
        qProj = try w.linear("q_proj", inFeatures: C, outFeatures: H * D, bias: c.attentionBias)
        kProj = try w.linear("k_proj", inFeatures: C, outFeatures: KVH * D, bias: c.attentionBias)
        vProj = try w.linear("v_proj", inFeatures: C, outFeatures: KVH * D, bias: c.attentionBias)
        oProj = try w.linear("o_proj", inFeatures: H * D, outFeatures: C, bias: false)
        (heads, kvHeads, headDim) = (H, KVH, D)
        self.rotary = rotary
        self.layout = layout
        window = c.slidingWindow
    }

    func callAsFunction(_ x: Tensor, layer: Int, cache: KVCache?) -> Tensor {
        let (B, T) = (x.shape[0], x.shape[1])
        let start = cache?.length ?? 0
        let q = qProj(x).reshaped([B, T, heads, headDim]).rotary(rotary, positionOffset: start, layout: layout)
        var k = kProj(x).reshaped([B, T, kvHeads, headDim]).rotary(rotary, positionOffset: start, layout: layout)
        var v = vProj(x).reshaped([B, T, kvHeads, headDim])
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }  // (B, S, KVH, D)
        let S = k.shape[1]
        let y = Tensor.attention(query: q, key: k, value: v, scale: 1 / Float(headDim).squareRoot(),
                                 causalOffset: S - T, window: window)          // (B, T, H, D)
        return oProj(y.reshaped([B, T, heads * headDim]))
    }
}

// MARK: - MLP

final class LlamaMLP {
    var gateProj, upProj, downProj: LinearLayer

    init(_ w: WeightLoader, _ c: LlamaConfiguration) throws {
        gateProj = try w.linear("gate_proj", inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: false)
        upProj = try w.linear("up_proj", inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: false)
        downProj = try w.linear("down_proj", inFeatures: c.intermediateSize, outFeatures: c.hiddenSize, bias: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        downProj(Tensor.swiglu(gate: gateProj(x), up: upProj(x)))
    }
}

// MARK: - Block

final class LlamaBlock {
    let inputNorm: Tensor          // (C)
    let postAttentionNorm: Tensor  // (C)
    let attention: LlamaAttention
    let mlp: LlamaMLP
    let eps: Float

    init(_ w: WeightLoader, _ c: LlamaConfiguration, rotary: RotaryTable, layout: RotaryLayout) throws {
        inputNorm = try w.vector("input_layernorm.weight", count: c.hiddenSize)
        postAttentionNorm = try w.vector("post_attention_layernorm.weight", count: c.hiddenSize)
        attention = try LlamaAttention(w.scoped("self_attn"), c, rotary: rotary, layout: layout)
        mlp = try LlamaMLP(w.scoped("mlp"), c)
        eps = c.rmsNormEps
    }

    func callAsFunction(_ x: Tensor, layer: Int, cache: KVCache?) -> Tensor {
        let h = x + attention(x.rmsNorm(weight: inputNorm, eps: eps), layer: layer, cache: cache)
        return h + mlp(h.rmsNorm(weight: postAttentionNorm, eps: eps))
    }
}

// MARK: - Model

public final class LlamaModel: OutputHeadModel {
    public let configuration: LlamaConfiguration
    let embedding: LinearWeight   // (V, C)
    let blocks: [LlamaBlock]
    let norm: Tensor              // (C)
    var lmHead: LinearLayer       // (V, C); the embedding itself when tied
    public let rotaryLayout: RotaryLayout
    /// Recompute each block's activations in the backward pass instead of keeping them (training only).
    public var gradientCheckpointing = false

    /// Loads from Hugging Face names; `rotaryLayout` is `.interleaved` for llama.cpp GGUF files.
    public init(configuration c: LlamaConfiguration, weights: WeightLoader, rotaryLayout: RotaryLayout) throws {
        try c.validate(file: weights.source.sourceDescription)
        configuration = c
        self.rotaryLayout = rotaryLayout
        let model = weights.scoped("model")
        let embed = try model.matrix("embed_tokens.weight", rows: c.vocabularySize, columns: c.hiddenSize)
        embedding = .quantized(embed)
        let rotary = RotaryTable(dimension: c.headDim, base: c.ropeTheta, maxPositions: c.contextLength)
        blocks = try (0..<c.layerCount).map {
            try LlamaBlock(model.scoped("layers.\($0)"), c, rotary: rotary, layout: rotaryLayout)
        }
        norm = try model.vector("norm.weight", count: c.hiddenSize)
        lmHead = try weights.outputHead(tied: c.tieWordEmbeddings, embedding: embed, hiddenSize: c.hiddenSize,
                                        vocabularySize: c.vocabularySize)
    }

    public var architecture: String { configuration.modelType }
    public var vocabularySize: Int { configuration.vocabularySize }
    public var contextLength: Int { configuration.contextLength }
    public var hiddenSize: Int { configuration.hiddenSize }
    public var layerCount: Int { configuration.layerCount }

    public var permutedRotaryRows: PermutedRotaryRows? {
        guard case .interleaved = rotaryLayout else { return nil }
        let c = configuration
        return PermutedRotaryRows(queryHeads: c.headCount, keyValueHeads: c.kvHeadCount, headDim: c.headDim)
    }

    public func makeCache(batch: Int, capacity: Int) -> KVCache {
        KVCache(layers: configuration.layerCount, batch: batch, capacity: capacity,
                kvHeads: configuration.kvHeadCount, headDim: configuration.headDim)
    }

    public func forward(tokens: [Int], batch: Int, cache: KVCache?, lastOnly: Bool) -> Tensor {
        lmHead(finalHidden(tokens: tokens, batch: batch, cache: cache, lastOnly: lastOnly))   // (B, T, V)
    }

    /// Final hidden states after the final norm, (B, T, C) (training: no cache).
    public func hiddenStates(tokens: [Int], batch: Int) -> Tensor {
        finalHidden(tokens: tokens, batch: batch, cache: nil, lastOnly: false)
    }

    /// The output head weight (V, C) when the head is a plain bias-free projection.
    public var outputWeight: LinearWeight? {
        guard let head = lmHead as? Linear, head.bias == nil else { return nil }
        return head.weight
    }

    /// Blocks and final norm: (B, T, C), or (B, 1, C) with `lastOnly`.
    func finalHidden(tokens: [Int], batch: Int, cache: KVCache?, lastOnly: Bool) -> Tensor {
        let T = tokens.count / batch
        var h = Tensor.embedding(embedding, ids: tokens, shape: [batch, T])   // (B, T, C)
        for (i, block) in blocks.enumerated() {
            if gradientCheckpointing && cache == nil && Autograd.isEnabled {
                h = Tensor.checkpoint([h]) { block($0[0], layer: i, cache: nil) }
            } else {
                h = block(h, layer: i, cache: cache)
            }
        }
        cache?.advance(by: T)
        if lastOnly && T > 1 { h = h.slice(dim: 1, range: (T - 1)..<T) }    // (B, 1, C)
        return h.rmsNorm(weight: norm, eps: configuration.rmsNormEps)   // (B, T, C)
    }

    /// The blocks' linear layers, in module order, for adapters.
    static let linearSlots: [LinearSlot<LlamaBlock>] = [
        \LlamaBlock.attention.qProj, \LlamaBlock.attention.kProj, \LlamaBlock.attention.vProj,
        \LlamaBlock.attention.oProj, \LlamaBlock.mlp.gateProj, \LlamaBlock.mlp.upProj, \LlamaBlock.mlp.downProj,
    ]

    public var linearLayers: [LinearLayer] { LLMTuneModels.linearLayers(of: blocks, slots: Self.linearSlots) }

    @discardableResult
    public func replaceLinear(_ layer: LinearLayer) -> Bool {
        LLMTuneModels.replaceLinear(layer, in: blocks, slots: Self.linearSlots)
    }
}

// MARK: - GGUF

extension LlamaConfiguration {
    /// Reads `<arch>.*` keys of a llama-family GGUF file.
    public init(gguf metadata: [String: GGUFValue], architecture arch: String, tokenCount: Int?,
                hasOutputWeight: Bool, file: String) throws {
        func int(_ key: String) throws -> Int {
            guard let v = metadata["\(arch).\(key)"]?.int else {
                throw ModelError.invalidConfig(key: "\(arch).\(key)", file: file, problem: "missing or not an integer")
            }
            return v
        }
        func float(_ key: String, _ fallback: Float) -> Float {
            metadata["\(arch).\(key)"]?.double.map { Float($0) } ?? fallback
        }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let kvHeads = (try? int("attention.head_count_kv")) ?? heads
        let headDim = (try? int("attention.key_length")) ?? hidden / heads
        guard let vocab = (try? int("vocab_size")) ?? tokenCount else {
            throw ModelError.invalidConfig(key: "\(arch).vocab_size", file: file,
                                           problem: "missing, and the file has no tokenizer.ggml.tokens either")
        }
        let window = try? int("attention.sliding_window")
        self.init(modelType: arch, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
                  layerCount: try int("block_count"), headCount: heads, kvHeadCount: kvHeads, headDim: headDim,
                  vocabularySize: vocab, rmsNormEps: float("attention.layer_norm_rms_epsilon", 1e-5),
                  ropeTheta: float("rope.freq_base", 10000), contextLength: try int("context_length"),
                  tieWordEmbeddings: !hasOutputWeight, attentionBias: arch == "qwen2", slidingWindow: window)
    }

    /// Hugging Face name -> GGUF name for llama-family tensors (nil when the name has no GGUF counterpart).
    public static func ggufName(_ name: String) -> String? {
        GGUFTensorNames.name(name, layerModules: ggufLayerModules)
    }

    /// Per-layer module path -> GGUF short name.
    static let ggufLayerModules: [String: String] = [
        "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    ]
}
