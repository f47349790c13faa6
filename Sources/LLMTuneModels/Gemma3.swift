// Gemma 3 (text): "Gemma 3 Technical Report" (Gemma Team, Google DeepMind, 2025).
// Reference implementation: transformers models/gemma3/modeling_gemma3.py (Gemma3ForCausalLM); llama.cpp
// src/models/gemma3.cpp for the GGUF conventions.
//
// Decoder block with norms before AND after each sub-layer:
//   h = x + PostAttnNorm(Attn(InputNorm(x)));  y = h + PostFFNorm(MLP(PreFFNorm(h)))
// MLP = down(gelu_tanh(gate(x)) * up(x)). Attention: grouped-query heads, RMSNorm of every query and key head
// (q_norm / k_norm) before rotate-half RoPE, scale query_pre_attn_scalar^-0.5. Local layers see a sliding window
// and use rope base 1e4; global layers (every 6th by default) see everything and use rope base 1e6.
// Embeddings are multiplied by sqrt(hidden) in fp32 (HF casts its normalizer to the weight dtype, fp32 when it runs
// in fp32; llama.cpp scales by sqrtf(n_embd)); a bf16 run of HF would use bf16(sqrt(640)) = 25.25 instead) and tied
// to the output head. The 262k-row embedding stays in its stored encoding (e.g. Q6_K / Q8_0): lookups
// dequantize single rows and the head multiplies the quantized matrix directly.
//
// Norm weights: HF stores w and multiplies by (1 + w); llama.cpp's convert_hf_to_gguf.py adds 1 to every
// `*norm.weight` when writing a GGUF (transformers' GGUF loader subtracts it again), so a GGUF source is used
// as stored (offset 0) and a Hugging Face source with offset 1. GGUF Gemma Q/K rows are not permuted.
import Foundation
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneTensor

// MARK: - Attention

final class Gemma3Attention {
    var qProj, kProj, vProj, oProj: LinearLayer
    let queryNorm, keyNorm: Tensor   // (D)
    let heads, kvHeads, headDim: Int
    let rotary: RotaryTable
    let window: Int?
    let scale: Float
    let eps: Float
    let normOffset: Float

    init(_ w: WeightLoader, _ c: Gemma3Configuration, sliding: Bool, rotary: RotaryTable, normOffset: Float) throws {
        let (C, H, KVH, D) = (c.hiddenSize, c.headCount, c.kvHeadCount, c.headDim)
        qProj = try w.linear("q_proj", inFeatures: C, outFeatures: H * D, bias: c.attentionBias)
        kProj = try w.linear("k_proj", inFeatures: C, outFeatures: KVH * D, bias: c.attentionBias)
        vProj = try w.linear("v_proj", inFeatures: C, outFeatures: KVH * D, bias: c.attentionBias)
        oProj = try w.linear("o_proj", inFeatures: H * D, outFeatures: C, bias: c.attentionBias)
        queryNorm = try w.vector("q_norm.weight", count: D)
        keyNorm = try w.vector("k_norm.weight", count: D)
        (heads, kvHeads, headDim) = (H, KVH, D)
        self.rotary = rotary
        window = sliding ? c.slidingWindow : nil
        scale = 1 / c.queryPreAttentionScalar.squareRoot()
        eps = c.rmsNormEps
        self.normOffset = normOffset
    }

    func callAsFunction(_ x: Tensor, layer: Int, cache: KVCache?) -> Tensor {
        let (B, T) = (x.shape[0], x.shape[1])
        let start = cache?.length ?? 0
        let q = qProj(x).reshaped([B, T, heads, headDim])                         // (B, T, H, D)
            .rmsNorm(weight: queryNorm, eps: eps, weightOffset: normOffset)
            .rotary(rotary, positionOffset: start, layout: .halves)
        var k = kProj(x).reshaped([B, T, kvHeads, headDim])                       // (B, T, KVH, D)
            .rmsNorm(weight: keyNorm, eps: eps, weightOffset: normOffset)
            .rotary(rotary, positionOffset: start, layout: .halves)
        var v = vProj(x).reshaped([B, T, kvHeads, headDim])                       // (B, T, KVH, D)
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }  // (B, S, KVH, D)
        let S = k.shape[1]
        let y = Tensor.attention(query: q, key: k, value: v, scale: scale, causalOffset: S - T,
                                 window: window)                                // (B, T, H, D)
        return oProj(y.reshaped([B, T, heads * headDim]))                       // (B, T, C)
    }
}

// MARK: - MLP

final class Gemma3MLP {
    var gateProj, upProj, downProj: LinearLayer

    init(_ w: WeightLoader, _ c: Gemma3Configuration) throws {
        gateProj = try w.linear("gate_proj", inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: false)
        upProj = try w.linear("up_proj", inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: false)
        downProj = try w.linear("down_proj", inFeatures: c.intermediateSize, outFeatures: c.hiddenSize, bias: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        downProj(gateProj(x).gelu(.tanh) * upProj(x))   // (B, T, F) -> (B, T, C)
    }
}

// MARK: - Block

final class Gemma3Block {
    let inputNorm, postAttentionNorm, preFeedForwardNorm, postFeedForwardNorm: Tensor   // (C)
    let attention: Gemma3Attention
    let mlp: Gemma3MLP
    let eps: Float
    let normOffset: Float

    init(_ w: WeightLoader, _ c: Gemma3Configuration, sliding: Bool, rotary: RotaryTable, normOffset: Float) throws {
        inputNorm = try w.vector("input_layernorm.weight", count: c.hiddenSize)
        postAttentionNorm = try w.vector("post_attention_layernorm.weight", count: c.hiddenSize)
        preFeedForwardNorm = try w.vector("pre_feedforward_layernorm.weight", count: c.hiddenSize)
        postFeedForwardNorm = try w.vector("post_feedforward_layernorm.weight", count: c.hiddenSize)
        attention = try Gemma3Attention(w.scoped("self_attn"), c, sliding: sliding, rotary: rotary,
                                        normOffset: normOffset)
        mlp = try Gemma3MLP(w.scoped("mlp"), c)
        eps = c.rmsNormEps
        self.normOffset = normOffset
    }

    private func norm(_ x: Tensor, _ w: Tensor) -> Tensor { x.rmsNorm(weight: w, eps: eps, weightOffset: normOffset) }

    func callAsFunction(_ x: Tensor, layer: Int, cache: KVCache?) -> Tensor {
        let h = x + norm(attention(norm(x, inputNorm), layer: layer, cache: cache), postAttentionNorm)
        return h + norm(mlp(norm(h, preFeedForwardNorm)), postFeedForwardNorm)
    }
}

// MARK: - Model

public final class Gemma3Model: LanguageModel {
    public let configuration: Gemma3Configuration
    /// Added to every norm weight: 1 for Hugging Face checkpoints (which store w of (1 + w)), 0 for GGUF files.
    public let normWeightOffset: Float
    let embedding: LinearWeight   // (V, C)
    let embeddingScale: Float
    let blocks: [Gemma3Block]
    let norm: Tensor              // (C)
    var lmHead: LinearLayer       // (V, C); the embedding itself when tied

    /// Builds the model from Hugging Face names under `weights` ("model.*", "lm_head.*").
    /// - Parameter normWeightOffset: 1 when norm weights are stored as in HF checkpoints, 0 for llama.cpp GGUF.
    public init(configuration c: Gemma3Configuration, weights: WeightLoader, normWeightOffset: Float) throws {
        try c.validate(file: weights.source.sourceDescription)
        configuration = c
        self.normWeightOffset = normWeightOffset
        let model = weights.scoped("model")
        let embed = try model.matrix("embed_tokens.weight", rows: c.vocabularySize, columns: c.hiddenSize)
        embedding = .quantized(embed)
        embeddingScale = Float(Double(c.hiddenSize).squareRoot())
        let globalFrequencies = RotaryTable.inverseFrequencies(dimension: c.headDim, base: c.globalRopeTheta)
            .map { $0 / c.globalRopeScaling }
        let globalRotary = RotaryTable(inverseFrequencies: globalFrequencies, maxPositions: c.contextLength)
        let needsLocal = c.slidingLayers.contains(true)
        let localRotary = needsLocal
            ? RotaryTable(dimension: c.headDim, base: c.localRopeTheta, maxPositions: c.contextLength) : globalRotary
        blocks = try (0..<c.layerCount).map { i in
            let sliding = c.slidingLayers[i]
            return try Gemma3Block(model.scoped("layers.\(i)"), c, sliding: sliding,
                                   rotary: sliding ? localRotary : globalRotary, normOffset: normWeightOffset)
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
    /// Gemma GGUF files keep Hugging Face's Q/K row order (rotate-half).
    public var permutedRotaryRows: PermutedRotaryRows? { nil }

    public func makeCache(batch: Int, capacity: Int) -> KVCache {
        KVCache(layers: configuration.layerCount, batch: batch, capacity: capacity,
                kvHeads: configuration.kvHeadCount, headDim: configuration.headDim)
    }

    public func forward(tokens: [Int], batch: Int, cache: KVCache?, lastOnly: Bool) -> Tensor {
        let T = tokens.count / batch
        var h = Tensor.embedding(embedding, ids: tokens, shape: [batch, T]).scaled(by: embeddingScale)  // (B, T, C)
        for (i, block) in blocks.enumerated() {
            h = block(h, layer: i, cache: cache)
        }
        cache?.advance(by: T)
        if lastOnly && T > 1 { h = h.slice(dim: 1, range: (T - 1)..<T) }    // (B, 1, C)
        return lmHead(h.rmsNorm(weight: norm, eps: configuration.rmsNormEps, weightOffset: normWeightOffset))  // (B, T, V)
    }

    /// The blocks' linear layers, in module order, for adapters.
    static let linearSlots: [LinearSlot<Gemma3Block>] = [
        \Gemma3Block.attention.qProj, \Gemma3Block.attention.kProj, \Gemma3Block.attention.vProj,
        \Gemma3Block.attention.oProj, \Gemma3Block.mlp.gateProj, \Gemma3Block.mlp.upProj,
        \Gemma3Block.mlp.downProj,
    ]

    public var linearLayers: [LinearLayer] { LLMTuneModels.linearLayers(of: blocks, slots: Self.linearSlots) }

    @discardableResult
    public func replaceLinear(_ layer: LinearLayer) -> Bool {
        LLMTuneModels.replaceLinear(layer, in: blocks, slots: Self.linearSlots)
    }
}

// MARK: - Registry entry

extension Architecture {
    /// Gemma 3 text models: config.json `gemma3_text` (or `gemma3` with a text_config), GGUF `gemma3`.
    public static let gemma3 = Architecture(
        names: ["gemma3_text", "gemma3"],
        fromConfig: { data, weights in
            let file = weights.source.sourceDescription + "/config.json"
            let config = try Gemma3Configuration(configJSON: data, file: file)
            // A multimodal "gemma3" checkpoint keeps the text model under language_model.
            for prefix in ["model.language_model", "language_model"]
            where weights.has(prefix + ".embed_tokens.weight") || weights.has(prefix + ".model.embed_tokens.weight") {
                return try Gemma3Model(configuration: config,
                                       weights: PrefixedWeightSource.loader(weights.source, textPrefix: prefix),
                                       normWeightOffset: 1)
            }
            return try Gemma3Model(configuration: config, weights: weights, normWeightOffset: 1)
        },
        fromGGUF: { file, weights in
            let tokens = file.metadata["tokenizer.ggml.tokens"]?.array?.count
            let config = try Gemma3Configuration(gguf: file.metadata, tokenCount: tokens,
                                                 hasOutputWeight: file.tensor(named: "output.weight") != nil,
                                                 file: weights.source.sourceDescription)
            return try Gemma3Model(configuration: config, weights: weights, normWeightOffset: 0)
        },
        ggufName: Gemma3Configuration.ggufName
    )
}

/// Renames "model.X" to the text model's place inside a multimodal Gemma-3 checkpoint
/// ("model.language_model.X" in transformers 5, "language_model.model.X" before).
final class PrefixedWeightSource: WeightSource {
    let base: WeightSource
    let textPrefix: String

    init(base: WeightSource, textPrefix: String) {
        self.base = base
        self.textPrefix = textPrefix
    }

    static func loader(_ base: WeightSource, textPrefix: String) -> WeightLoader {
        WeightLoader(source: PrefixedWeightSource(base: base, textPrefix: textPrefix))
    }

    private func rename(_ name: String) -> String {
        guard name.hasPrefix("model.") else { return name }   // lm_head stays at the top
        let rest = name.dropFirst("model.".count)
        let direct = textPrefix + "." + rest
        if base.shape(of: direct) != nil { return direct }
        return textPrefix + ".model." + rest
    }

    var sourceDescription: String { base.sourceDescription }
    func shape(of name: String) -> [Int]? { base.shape(of: rename(name)) }
    func matrix(_ name: String) throws -> QuantizedMatrix { try base.matrix(rename(name)) }
    func floats(_ name: String) throws -> [Float] { try base.floats(rename(name)) }
}
