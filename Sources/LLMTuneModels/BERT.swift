// BERT encoder. Paper: "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
// (Devlin et al., 2019). Reference implementation: transformers models/bert/modeling_bert.py (BertModel, eager
// attention, absolute positions).
//
// Embeddings: LN(word[ids] + position[0..<T] + tokenType[types]). Post-LayerNorm encoder layers:
//   a = LN(x + dense(Attn(query(x), key(x), value(x)))); y = LN(a + output(gelu(intermediate(a)))).
// Attention is bidirectional; padding is handled by letting each sequence attend only to its own first
// `length` keys (HF's additive padding mask: padded query rows still see the valid keys, as here).
import Foundation
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneTensor

// MARK: - Configuration

/// The keys of a BERT config.json this implementation reads.
public struct BertConfiguration: Codable, Sendable {
    public var modelType: String
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    /// "gelu" (erf), "gelu_new" / "gelu_pytorch_tanh" (tanh) or "relu".
    public var activation: String
    public var maximumPositions: Int
    public var tokenTypeCount: Int
    public var layerNormEps: Float

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case activation = "hidden_act"
        case maximumPositions = "max_position_embeddings"
        case tokenTypeCount = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "bert"
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? "gelu"
        maximumPositions = try c.decodeIfPresent(Int.self, forKey: .maximumPositions) ?? 512
        tokenTypeCount = try c.decodeIfPresent(Int.self, forKey: .tokenTypeCount) ?? 2
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        let positions = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
        if positions != "absolute" {
            throw ModelError.invalidConfig(key: "position_embedding_type", file: "config.json",
                                           problem: "'\(positions)' is not supported (only 'absolute')")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(activation, forKey: .activation)
        try c.encode(maximumPositions, forKey: .maximumPositions)
        try c.encode(tokenTypeCount, forKey: .tokenTypeCount)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode("absolute", forKey: .positionEmbeddingType)
    }

    func validate(file: String) throws {
        func require(_ ok: Bool, _ key: String, _ problem: String) throws {
            if !ok { throw ModelError.invalidConfig(key: key, file: file, problem: problem) }
        }
        try require(hiddenSize > 0, "hidden_size", "must be positive, found \(hiddenSize)")
        try require(layerCount > 0, "num_hidden_layers", "must be positive, found \(layerCount)")
        try require(headCount > 0 && hiddenSize % headCount == 0, "num_attention_heads",
                    "\(headCount) must be positive and divide hidden_size \(hiddenSize)")
        try require(vocabularySize > 0, "vocab_size", "must be positive, found \(vocabularySize)")
        try require(maximumPositions > 0, "max_position_embeddings", "must be positive, found \(maximumPositions)")
        try require(tokenTypeCount > 0, "type_vocab_size", "must be positive, found \(tokenTypeCount)")
        try require(["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"].contains(activation), "hidden_act",
                    "'\(activation)' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)")
    }
}

/// A LayerNorm's parameters, read as `weight`/`bias` or, in old TF-converted files, `gamma`/`beta`.
struct BertLayerNorm {
    let weight: Tensor   // (C)
    let bias: Tensor     // (C)
    let eps: Float

    init(_ w: WeightLoader, count: Int, eps: Float) throws {
        let old = !w.has("weight") && w.has("gamma")
        weight = try w.vector(old ? "gamma" : "weight", count: count)
        bias = try w.vector(old ? "beta" : "bias", count: count)
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

// MARK: - Attention

final class BertAttention {
    var query, key, value, output: LinearLayer
    let outputNorm: BertLayerNorm
    let heads, headDim: Int

    init(_ w: WeightLoader, _ c: BertConfiguration) throws {
        let C = c.hiddenSize
        let s = w.scoped("self"), o = w.scoped("output")
        query = try s.linear("query", inFeatures: C, outFeatures: C, bias: true)
        key = try s.linear("key", inFeatures: C, outFeatures: C, bias: true)
        value = try s.linear("value", inFeatures: C, outFeatures: C, bias: true)
        output = try o.linear("dense", inFeatures: C, outFeatures: C, bias: true)
        outputNorm = try BertLayerNorm(o.scoped("LayerNorm"), count: C, eps: c.layerNormEps)
        heads = c.headCount
        headDim = C / c.headCount
    }

    /// x (B, T, C); sequence b attends to its keys 0..<lengths[b].
    func callAsFunction(_ x: Tensor, lengths: [Int]) -> Tensor {
        let (B, T, H, D) = (x.shape[0], x.shape[1], heads, headDim)
        let q = query(x).reshaped([B, T, H, D])
        let k = key(x).reshaped([B, T, H, D])
        let v = value(x).reshaped([B, T, H, D])
        let scale = 1 / Float(D).squareRoot()
        let context: Tensor                                                  // (B, T, H, D)
        if lengths.allSatisfy({ $0 == T }) {
            context = Tensor.attention(query: q, key: k, value: v, scale: scale, causalOffset: nil, window: nil)
        } else {
            context = Tensor.concat((0..<B).map { b in
                let n = lengths[b]
                return Tensor.attention(query: q.slice(dim: 0, range: b..<(b + 1)),
                                        key: k.slice(dim: 0, range: b..<(b + 1)).slice(dim: 1, range: 0..<n),
                                        value: v.slice(dim: 0, range: b..<(b + 1)).slice(dim: 1, range: 0..<n),
                                        scale: scale, causalOffset: nil, window: nil)   // (1, T, H, D)
            }, dim: 0)
        }
        return outputNorm(output(context.reshaped([B, T, H * D])) + x)     // (B, T, C)
    }
}

// MARK: - Layer (attention + feed-forward)

final class BertLayer {
    let attention: BertAttention
    var intermediate, output: LinearLayer
    let outputNorm: BertLayerNorm
    let activation: String

    init(_ w: WeightLoader, _ c: BertConfiguration) throws {
        attention = try BertAttention(w.scoped("attention"), c)
        intermediate = try w.scoped("intermediate").linear("dense", inFeatures: c.hiddenSize,
                                                            outFeatures: c.intermediateSize, bias: true)
        output = try w.scoped("output").linear("dense", inFeatures: c.intermediateSize, outFeatures: c.hiddenSize,
                                               bias: true)
        outputNorm = try BertLayerNorm(w.scoped("output").scoped("LayerNorm"), count: c.hiddenSize,
                                       eps: c.layerNormEps)
        activation = c.activation
    }

    func callAsFunction(_ x: Tensor, lengths: [Int]) -> Tensor {
        let a = attention(x, lengths: lengths)                               // (B, T, C)
        let i = intermediate(a)                                              // (B, T, I)
        let activated: Tensor
        switch activation {
        case "relu": activated = i.relu()
        case "gelu_new", "gelu_pytorch_tanh": activated = i.gelu(.tanh)
        default: activated = i.gelu(.none)
        }
        return outputNorm(output(activated) + a)                             // (B, T, C)
    }
}

// MARK: - Model

/// A BERT encoder (BertModel without its pooler) producing the last hidden states.
public final class BertModel: EmbeddingModel {
    public let configuration: BertConfiguration
    let wordEmbedding: LinearWeight        // (V, C)
    let positionEmbedding: LinearWeight    // (P, C)
    let tokenTypeEmbedding: LinearWeight   // (types, C)
    let embeddingNorm: BertLayerNorm
    let layers: [BertLayer]

    /// Loads HF names, with or without the "bert." prefix (BertModel vs. BertFor* files). The pooler, if
    /// present, is not loaded.
    public init(configuration c: BertConfiguration, weights: WeightLoader) throws {
        try c.validate(file: weights.source.sourceDescription + "/config.json")
        configuration = c
        let root = weights.has("bert.embeddings.word_embeddings.weight") ? weights.scoped("bert") : weights
        let e = root.scoped("embeddings")
        wordEmbedding = .quantized(try e.matrix("word_embeddings.weight", rows: c.vocabularySize, columns: c.hiddenSize))
        positionEmbedding = .quantized(try e.matrix("position_embeddings.weight", rows: c.maximumPositions,
                                                    columns: c.hiddenSize))
        tokenTypeEmbedding = .quantized(try e.matrix("token_type_embeddings.weight", rows: c.tokenTypeCount,
                                                     columns: c.hiddenSize))
        embeddingNorm = try BertLayerNorm(e.scoped("LayerNorm"), count: c.hiddenSize, eps: c.layerNormEps)
        layers = try (0..<c.layerCount).map { try BertLayer(root.scoped("encoder.layer.\($0)"), c) }
    }

    public var architecture: String { configuration.modelType }
    public var vocabularySize: Int { configuration.vocabularySize }
    public var hiddenSize: Int { configuration.hiddenSize }
    public var layerCount: Int { configuration.layerCount }
    public var maximumPositions: Int { configuration.maximumPositions }
    public var tokenTypeCount: Int { configuration.tokenTypeCount }

    public func hiddenStates(tokens: [Int], tokenTypes: [Int]?, lengths: [Int]) -> Tensor {
        let B = lengths.count
        precondition(B > 0 && tokens.count % B == 0, "BERT: \(tokens.count) tokens for \(B) sequences")
        let T = tokens.count / B
        precondition(T <= maximumPositions, "BERT: \(T) positions exceed max_position_embeddings \(maximumPositions)")
        precondition(lengths.allSatisfy { $0 > 0 && $0 <= T }, "BERT: lengths \(lengths) outside 1...\(T)")
        let types = tokenTypes ?? [Int](repeating: 0, count: tokens.count)
        precondition(types.count == tokens.count, "BERT: \(types.count) token types for \(tokens.count) tokens")
        var positions = [Int](repeating: 0, count: B * T)
        for b in 0..<B {
            for t in 0..<T { positions[b * T + t] = t }
        }
        let summed = Tensor.embedding(wordEmbedding, ids: tokens, shape: [B, T])          // (B, T, C)
            + Tensor.embedding(positionEmbedding, ids: positions, shape: [B, T])
            + Tensor.embedding(tokenTypeEmbedding, ids: types, shape: [B, T])
        var h = embeddingNorm(summed)
        for layer in layers { h = layer(h, lengths: lengths) }
        return h                                                                            // (B, T, C)
    }

    /// The blocks' linear layers, in module order, for adapters.
    static let linearSlots: [LinearSlot<BertLayer>] = [
        \BertLayer.attention.query, \BertLayer.attention.key, \BertLayer.attention.value,
        \BertLayer.attention.output, \BertLayer.intermediate, \BertLayer.output,
    ]

    public var linearLayers: [LinearLayer] { LLMTuneModels.linearLayers(of: layers, slots: Self.linearSlots) }

    @discardableResult
    public func replaceLinear(_ layer: LinearLayer) -> Bool {
        LLMTuneModels.replaceLinear(layer, in: layers, slots: Self.linearSlots)
    }
}
