// GPT-2. Paper: "Language Models are Unsupervised Multitask Learners" (Radford et al., 2019).
// Reference implementation: transformers models/gpt2/modeling_gpt2.py (GPT2LMHeadModel).
//
// Pre-LayerNorm decoder with learned absolute positions (wpe) and no rotary embedding:
//   h = x + c_proj(Attn(c_attn(LN_1(x)))); y = h + c_proj(gelu_new(c_fc(LN_2(h)))); logits = LN_f(y) wteᵀ.
// HF stores every projection as a Conv1D whose weight is (in, out); it is transposed once on load into the
// (out, in) layout of `Linear`. c_attn stays ONE fused (3C, C) layer, path "transformer.h.N.attn.c_attn", so
// PEFT GPT-2 adapters (target_modules ["c_attn"]) map 1:1.
import Foundation
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneTensor

// MARK: - Configuration

/// The keys of a GPT-2 config.json this implementation reads.
public struct GPT2Configuration: Codable, Sendable {
    public var modelType: String
    public var vocabularySize: Int
    /// n_positions: the number of learned position embeddings.
    public var contextLength: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// n_inner, 4 * n_embd when null.
    public var intermediateSize: Int
    public var layerNormEps: Float
    /// "gelu_new" (tanh approximation, the GPT-2 default) or "gelu" (erf).
    public var activation: String
    public var tieWordEmbeddings: Bool
    public var scaleAttentionWeights: Bool

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabularySize = "vocab_size"
        case contextLength = "n_positions"
        case hiddenSize = "n_embd"
        case layerCount = "n_layer"
        case headCount = "n_head"
        case intermediateSize = "n_inner"
        case layerNormEps = "layer_norm_epsilon"
        case activation = "activation_function"
        case tieWordEmbeddings = "tie_word_embeddings"
        case scaleAttentionWeights = "scale_attn_weights"
        case scaleByInverseLayer = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcast = "reorder_and_upcast_attn"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? "gpt2"
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? 1024
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 4 * hiddenSize
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-5
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? "gelu_new"
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        scaleAttentionWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionWeights) ?? true
        if try c.decodeIfPresent(Bool.self, forKey: .scaleByInverseLayer) == true {
            throw ModelError.invalidConfig(key: "scale_attn_by_inverse_layer_idx", file: "config.json",
                                           problem: "true is not supported (only GPT-2's default, false)")
        }
        // reorder_and_upcast_attn only changes the precision of PyTorch's computation: fp32 here anyway.
        _ = try c.decodeIfPresent(Bool.self, forKey: .reorderAndUpcast)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(activation, forKey: .activation)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(scaleAttentionWeights, forKey: .scaleAttentionWeights)
    }

    /// The GELU formula named by `activation_function`.
    func gelu(file: String) throws -> GELUApproximation {
        switch activation {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .tanh
        case "gelu": return .none
        default:
            throw ModelError.invalidConfig(key: "activation_function", file: file,
                                           problem: "'\(activation)' is not supported (gelu_new, gelu_pytorch_tanh, gelu)")
        }
    }

    func validate(file: String) throws {
        func require(_ ok: Bool, _ key: String, _ problem: String) throws {
            if !ok { throw ModelError.invalidConfig(key: key, file: file, problem: problem) }
        }
        try require(hiddenSize > 0, "n_embd", "must be positive, found \(hiddenSize)")
        try require(layerCount > 0, "n_layer", "must be positive, found \(layerCount)")
        try require(headCount > 0 && hiddenSize % headCount == 0, "n_head",
                    "\(headCount) must be positive and divide n_embd \(hiddenSize)")
        try require(vocabularySize > 0, "vocab_size", "must be positive, found \(vocabularySize)")
        try require(contextLength > 0, "n_positions", "must be positive, found \(contextLength)")
        try require(intermediateSize > 0, "n_inner", "must be positive, found \(intermediateSize)")
    }
}

// MARK: - Conv1D loading

extension WeightLoader {
    /// A HF `Conv1D` module `name` (weight (in, out), bias (out)) as a `Linear` with an (out, in) fp32 weight.
    func conv1D(_ name: String, inFeatures: Int, outFeatures: Int) throws -> Linear {
        let stored = try matrix(name + ".weight", rows: inFeatures, columns: outFeatures)   // (in, out)
        let rowMajor = OwnedFloats(count: inFeatures * outFeatures)
        stored.dequantizeRows(0..<inFeatures, into: rowMajor.pointer)
        let transposed = OwnedFloats(count: inFeatures * outFeatures)                       // (out, in)
        let s = rowMajor.pointer, d = transposed.pointer
        for i in 0..<inFeatures {
            for o in 0..<outFeatures { d[o * inFeatures + i] = s[i * outFeatures + o] }
        }
        let weight = QuantizedMatrix(type: .f32, rows: outFeatures, columns: inFeatures,
                                     data: UnsafeRawPointer(d), owner: transposed)
        let bias = try vector(name + ".bias", count: outFeatures)
        return Linear(path: key(name), weight: .quantized(weight), bias: bias)
    }

    /// LayerNorm weight and bias of module `name`.
    func layerNorm(_ name: String, count: Int) throws -> (weight: Tensor, bias: Tensor) {
        (try vector(name + ".weight", count: count), try vector(name + ".bias", count: count))
    }
}

// MARK: - Attention

final class GPT2Attention {
    var cAttn, cProj: LinearLayer
    let heads, headDim: Int
    let scale: Float

    init(_ w: WeightLoader, _ c: GPT2Configuration) throws {
        let C = c.hiddenSize
        cAttn = try w.conv1D("c_attn", inFeatures: C, outFeatures: 3 * C)
        cProj = try w.conv1D("c_proj", inFeatures: C, outFeatures: C)
        heads = c.headCount
        headDim = C / c.headCount
        scale = c.scaleAttentionWeights ? 1 / Float(headDim).squareRoot() : 1
    }

    func callAsFunction(_ x: Tensor, layer: Int, cache: KVCache?) -> Tensor {
        let (B, T, H, D) = (x.shape[0], x.shape[1], heads, headDim)
        let qkv = cAttn(x).reshaped([B, T, 3 * H, D])     // (B, T, 3H, D): q heads, then k heads, then v heads
        let q = qkv.slice(dim: 2, range: 0..<H)            // (B, T, H, D) strided views, last dim contiguous
        var k = qkv.slice(dim: 2, range: H..<(2 * H))
        var v = qkv.slice(dim: 2, range: (2 * H)..<(3 * H))
        if let cache { (k, v) = cache.append(layer: layer, key: k, value: v) }   // (B, S, H, D)
        let S = k.shape[1]
        let y = Tensor.attention(query: q, key: k, value: v, scale: scale, causalOffset: S - T, window: nil)
        return cProj(y.reshaped([B, T, H * D]))            // (B, T, C)
    }
}

// MARK: - MLP

final class GPT2MLP {
    var cFc, cProj: LinearLayer
    let gelu: GELUApproximation

    init(_ w: WeightLoader, _ c: GPT2Configuration, gelu: GELUApproximation) throws {
        cFc = try w.conv1D("c_fc", inFeatures: c.hiddenSize, outFeatures: c.intermediateSize)
        cProj = try w.conv1D("c_proj", inFeatures: c.intermediateSize, outFeatures: c.hiddenSize)
        self.gelu = gelu
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        cProj(cFc(x).gelu(gelu))   // (B, T, C) -> (B, T, 4C) -> (B, T, C)
    }
}

// MARK: - Block

final class GPT2Block {
    let ln1, ln2: (weight: Tensor, bias: Tensor)   // (C) each
    let attention: GPT2Attention
    let mlp: GPT2MLP
    let eps: Float

    init(_ w: WeightLoader, _ c: GPT2Configuration, gelu: GELUApproximation) throws {
        ln1 = try w.layerNorm("ln_1", count: c.hiddenSize)
        ln2 = try w.layerNorm("ln_2", count: c.hiddenSize)
        attention = try GPT2Attention(w.scoped("attn"), c)
        mlp = try GPT2MLP(w.scoped("mlp"), c, gelu: gelu)
        eps = c.layerNormEps
    }

    func callAsFunction(_ x: Tensor, layer: Int, cache: KVCache?) -> Tensor {
        let h = x + attention(x.layerNorm(weight: ln1.weight, bias: ln1.bias, eps: eps), layer: layer, cache: cache)
        return h + mlp(h.layerNorm(weight: ln2.weight, bias: ln2.bias, eps: eps))
    }
}

// MARK: - Model

/// GPT-2 (GPT2LMHeadModel) from a Hugging Face folder.
public final class GPT2Model: LanguageModel {
    public let configuration: GPT2Configuration
    let tokenEmbedding: LinearWeight      // wte (V, C)
    let positionEmbedding: LinearWeight   // wpe (P, C)
    let blocks: [GPT2Block]
    let finalNorm: (weight: Tensor, bias: Tensor)
    var lmHead: LinearLayer               // (V, C); wte itself when tied

    /// Loads HF names, with or without the "transformer." prefix (GPT2LMHeadModel vs. GPT2Model files).
    public init(configuration c: GPT2Configuration, weights: WeightLoader) throws {
        let file = weights.source.sourceDescription
        try c.validate(file: file)
        let gelu = try c.gelu(file: file + "/config.json")
        configuration = c
        let root = weights.has("transformer.wte.weight") ? weights.scoped("transformer") : weights
        let wte = try root.matrix("wte.weight", rows: c.vocabularySize, columns: c.hiddenSize)
        tokenEmbedding = .quantized(wte)
        positionEmbedding = .quantized(try root.matrix("wpe.weight", rows: c.contextLength, columns: c.hiddenSize))
        blocks = try (0..<c.layerCount).map { try GPT2Block(root.scoped("h.\($0)"), c, gelu: gelu) }
        finalNorm = try root.layerNorm("ln_f", count: c.hiddenSize)
        lmHead = try weights.outputHead(tied: c.tieWordEmbeddings, embedding: wte, hiddenSize: c.hiddenSize,
                                        vocabularySize: c.vocabularySize)
    }

    public var architecture: String { configuration.modelType }
    public var vocabularySize: Int { configuration.vocabularySize }
    public var contextLength: Int { configuration.contextLength }
    public var hiddenSize: Int { configuration.hiddenSize }
    public var layerCount: Int { configuration.layerCount }
    public var permutedRotaryRows: PermutedRotaryRows? { nil }

    public func makeCache(batch: Int, capacity: Int) -> KVCache {
        KVCache(layers: configuration.layerCount, batch: batch, capacity: capacity,
                kvHeads: configuration.headCount, headDim: configuration.hiddenSize / configuration.headCount)
    }

    /// Positions continue after the cache's content; callers keep the total within `contextLength`.
    public func forward(tokens: [Int], batch: Int, cache: KVCache?, lastOnly: Bool) -> Tensor {
        let T = tokens.count / batch
        let start = cache?.length ?? 0
        precondition(start + T <= contextLength, "GPT-2: \(start + T) positions exceed n_positions \(contextLength)")
        var positions = [Int](repeating: 0, count: batch * T)
        for b in 0..<batch {
            for t in 0..<T { positions[b * T + t] = start + t }
        }
        var h = Tensor.embedding(tokenEmbedding, ids: tokens, shape: [batch, T])            // (B, T, C)
            + Tensor.embedding(positionEmbedding, ids: positions, shape: [batch, T])        // (B, T, C)
        for (i, block) in blocks.enumerated() {
            h = block(h, layer: i, cache: cache)
        }
        cache?.advance(by: T)
        if lastOnly && T > 1 { h = h.slice(dim: 1, range: (T - 1)..<T) }                  // (B, 1, C)
        let normed = h.layerNorm(weight: finalNorm.weight, bias: finalNorm.bias, eps: configuration.layerNormEps)
        return lmHead(normed)                                                              // (B, T, V)
    }

    /// The blocks' linear layers, in module order, for adapters.
    static let linearSlots: [LinearSlot<GPT2Block>] = [
        \GPT2Block.attention.cAttn, \GPT2Block.attention.cProj, \GPT2Block.mlp.cFc, \GPT2Block.mlp.cProj,
    ]

    public var linearLayers: [LinearLayer] { LLMTuneModels.linearLayers(of: blocks, slots: Self.linearSlots) }

    @discardableResult
    public func replaceLinear(_ layer: LinearLayer) -> Bool {
        LLMTuneModels.replaceLinear(layer, in: blocks, slots: Self.linearSlots)
    }
}

// MARK: - Registry

extension Architecture {
    /// GPT-2 from a Hugging Face folder (config.json `model_type` "gpt2"). No GGUF loading yet.
    public static let gpt2 = Architecture(
        names: ["gpt2"],
        fromConfig: { data, weights in
            let file = weights.source.sourceDescription + "/config.json"
            let config: GPT2Configuration
            do {
                config = try JSONDecoder().decode(GPT2Configuration.self, from: data)
            } catch let e as ModelError {
                throw e
            } catch {
                throw ModelError.invalidConfig(key: "(file)", file: file, problem: "\(error)")
            }
            return try GPT2Model(configuration: config, weights: weights)
        },
        fromGGUF: { _, weights in
            throw ModelError.invalidConfig(key: "general.architecture", file: weights.source.sourceDescription,
                                           problem: "GPT-2 GGUF files are not supported yet; use the Hugging Face "
                                               + "folder (config.json + model.safetensors)")
        },
        ggufName: { _ in nil }
    )
}
