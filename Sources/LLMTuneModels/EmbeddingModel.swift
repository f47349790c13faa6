// Sentence embeddings: the encoder protocol (BERT and its kind, which are not causal language models), the
// sentence-transformers pipeline around it (truncate -> encoder -> pooling -> optional L2 normalisation, as
// declared by the checkpoint's modules.json, 1_Pooling/config.json and sentence_bert_config.json), and loading.
// Reference: sentence-transformers models/Transformer.py, Pooling.py, Normalize.py.
import Foundation
import LLMTuneFormats
import LLMTuneTensor
import LLMTuneTokenizers

/// A bidirectional encoder that maps token ids to contextual hidden states.
public protocol EmbeddingModel: AnyObject {
    /// The checkpoint's `model_type`, e.g. "bert".
    var architecture: String { get }
    var vocabularySize: Int { get }
    /// Width of the hidden states (and of mean-pooled embeddings).
    var hiddenSize: Int { get }
    var layerCount: Int { get }
    /// The longest sequence the position table covers.
    var maximumPositions: Int { get }
    /// Number of token types (segments) the model knows.
    var tokenTypeCount: Int { get }

    /// Last hidden states (B, T, C) of B right-padded sequences: `tokens` and `tokenTypes` (nil: all 0) are (B, T)
    /// row-major and sequence b is valid on its first `lengths[b]` positions (the others are padding, which no
    /// valid position attends to). Ids must be in range (checked by `SentenceEmbedder`).
    func hiddenStates(tokens: [Int], tokenTypes: [Int]?, lengths: [Int]) -> Tensor

    /// Every linear layer, in module order (adapters choose their targets from these by path).
    var linearLayers: [LinearLayer] { get }
    /// Puts `layer` in place of the linear layer with the same path. Returns false if no layer has that path.
    @discardableResult func replaceLinear(_ layer: LinearLayer) -> Bool
}

/// How token states become one sentence vector (sentence-transformers `Pooling` modes).
public enum EmbeddingPooling: String, Sendable, Codable {
    /// Average over non-padding tokens.
    case mean
    /// The first token's state ([CLS]).
    case cls
    /// Element-wise maximum over non-padding tokens.
    case max
    /// Sum over non-padding tokens divided by √length.
    case meanSquareRootLength = "mean_sqrt_len_tokens"
}

/// Tokenizer + encoder + pooling + normalisation: text in, sentence embeddings out.
public final class SentenceEmbedder {
    public let model: EmbeddingModel
    public let tokenizer: Tokenizer
    public let pooling: EmbeddingPooling
    /// L2-normalise each embedding (sentence-transformers `Normalize` module).
    public let normalize: Bool
    /// Longest token sequence, special tokens included; longer inputs are truncated (keeping the final [SEP]).
    public let maximumLength: Int

    public init(model: EmbeddingModel, tokenizer: Tokenizer, pooling: EmbeddingPooling = .mean,
                normalize: Bool = true, maximumLength: Int? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.normalize = normalize
        self.maximumLength = Swift.max(2, Swift.min(maximumLength ?? model.maximumPositions, model.maximumPositions))
    }

    /// Width of the embeddings.
    public var dimensions: Int { model.hiddenSize }

    /// Token ids of `text` as the encoder sees them: with special tokens, truncated to `maximumLength`.
    public func tokenize(_ text: String) -> [Int] {
        var ids = tokenizer.encode(text, addSpecialTokens: true)
        if ids.count > maximumLength, let last = ids.last {
            ids = Array(ids[0..<(maximumLength - 1)]) + [last]   // [CLS] a b ... [SEP]: keep the closing token
        }
        return ids
    }

    /// One embedding per text, in order. Texts are encoded in batches of similar length.
    public func embed(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        try embed(tokenSequences: texts.map(tokenize), batchSize: batchSize)
    }

    /// One embedding per token sequence (already tokenized with special tokens), in order.
    public func embed(tokenSequences: [[Int]], batchSize: Int = 32) throws -> [[Float]] {
        for (index, ids) in tokenSequences.enumerated() {
            guard !ids.isEmpty else {
                throw ModelError.invalidConfig(key: "input \(index)", file: "(embedding input)",
                                               problem: "an empty token sequence cannot be embedded")
            }
            guard ids.count <= model.maximumPositions else {
                throw ModelError.contextOverflow(tokens: ids.count, context: model.maximumPositions)
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= model.vocabularySize }) {
                throw ModelError.invalidConfig(key: "input \(index)", file: "(embedding input)",
                                               problem: "token id \(bad) is outside the model's vocabulary of "
                                                   + "\(model.vocabularySize); the tokenizer does not match the model")
            }
        }
        var out = [[Float]](repeating: [], count: tokenSequences.count)
        // Longest first, so that each batch pads little (sentence-transformers does the same).
        let order = tokenSequences.indices.sorted { tokenSequences[$0].count > tokenSequences[$1].count }
        let size = Swift.max(1, batchSize)
        for start in stride(from: 0, to: order.count, by: size) {
            let members = Array(order[start..<Swift.min(order.count, start + size)])
            let embeddings = embedBatch(members.map { tokenSequences[$0] })
            for (i, index) in members.enumerated() { out[index] = embeddings[i] }
        }
        return out
    }

    private func embedBatch(_ sequences: [[Int]]) -> [[Float]] {
        let B = sequences.count
        let T = sequences.map(\.count).max() ?? 0
        let pad = tokenizer.padTokenId.flatMap { $0 < model.vocabularySize ? $0 : nil } ?? 0
        var tokens = [Int](repeating: pad, count: B * T)
        for (b, ids) in sequences.enumerated() {
            for (t, id) in ids.enumerated() { tokens[b * T + t] = id }
        }
        let hidden = Autograd.noGrad {
            model.hiddenStates(tokens: tokens, tokenTypes: nil, lengths: sequences.map(\.count)).contiguous()
        }                                                                                  // (B, T, C)
        let C = model.hiddenSize
        let h = hidden.pointer
        return sequences.enumerated().map { b, ids in
            let n = ids.count
            var v = [Float](repeating: 0, count: C)
            switch pooling {
            case .cls:
                for c in 0..<C { v[c] = h[b * T * C + c] }
            case .max:
                for c in 0..<C { v[c] = -.infinity }
                for t in 0..<n {
                    for c in 0..<C { v[c] = Swift.max(v[c], h[(b * T + t) * C + c]) }
                }
            case .mean, .meanSquareRootLength:
                for t in 0..<n {
                    for c in 0..<C { v[c] += h[(b * T + t) * C + c] }
                }
                let divisor = pooling == .mean ? Float(n) : Float(n).squareRoot()
                for c in 0..<C { v[c] /= divisor }
            }
            if normalize {
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let scale = 1 / Swift.max(norm, 1e-12)
                for c in 0..<C { v[c] *= scale }
            }
            return v
        }
    }

    /// Cosine similarity of two vectors of the same length (0 when either is zero).
    public static func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "cosine of vectors of lengths \(a.count) and \(b.count)")
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in a.indices {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        let denominator = (na * nb).squareRoot()
        return denominator > 0 ? dot / denominator : 0
    }
}

// MARK: - Loading

/// Builds encoder models from Hugging Face folders (config.json + safetensors + tokenizer.json).
public enum EmbeddingModelLoader {
    /// Encoder architectures by `model_type`.
    nonisolated(unsafe) public static var architectures: [String: (_ configJSON: Data, _ weights: WeightLoader) throws
        -> EmbeddingModel] = [
        "bert": { data, weights in
            let file = weights.source.sourceDescription + "/config.json"
            let config: BertConfiguration
            do {
                config = try JSONDecoder().decode(BertConfiguration.self, from: data)
            } catch let e as ModelError {
                throw e
            } catch {
                throw ModelError.invalidConfig(key: "(file)", file: file, problem: "\(error)")
            }
            return try BertModel(configuration: config, weights: weights)
        },
    ]

    /// The encoder of a folder, without its tokenizer.
    public static func loadModel(_ url: URL, options: LoadOptions = LoadOptions()) throws -> EmbeddingModel {
        if ModelRegistry.isGGUF(url) {
            throw ModelError.invalidConfig(key: "(path)", file: url.path,
                                           problem: "embedding models load from a Hugging Face folder (config.json + "
                                               + "model.safetensors + tokenizer.json), not a single file; use an "
                                               + "encoder such as all-minilm-l6-v2")
        }
        let configURL = url.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw ModelError.notAModel(path: url.path)
        }
        let type = try ModelRegistry.modelType(data, file: configURL.path)
        guard let build = architectures[type] else {
            throw ModelError.unknownArchitecture(type, file: configURL.path, known: architectures.keys.sorted())
        }
        let checkpoint = try SafetensorsCheckpoint(directory: url)
        let source = SafetensorsWeightSource(checkpoint: checkpoint, path: url.path, dequantize: options.dequantize)
        return try build(data, WeightLoader(source: source))
    }

    /// The encoder of a folder and its tokenizer.
    public static func load(_ url: URL, options: LoadOptions = LoadOptions()) throws -> (EmbeddingModel, Tokenizer) {
        let model = try loadModel(url, options: options)
        return (model, try AutoTokenizer.load(directory: url))
    }

    /// The full sentence-transformers pipeline of a folder. Without modules.json: mean pooling, L2-normalised.
    public static func loadEmbedder(_ url: URL, options: LoadOptions = LoadOptions()) throws -> SentenceEmbedder {
        let (model, tokenizer) = try load(url, options: options)
        let pipeline = try SentenceTransformersPipeline(folder: url)
        return SentenceEmbedder(model: model, tokenizer: tokenizer, pooling: pipeline.pooling,
                                normalize: pipeline.normalize, maximumLength: pipeline.maximumLength)
    }
}

/// What a sentence-transformers folder declares around its encoder.
struct SentenceTransformersPipeline {
    var pooling: EmbeddingPooling = .mean
    var normalize = true
    var maximumLength: Int?

    init(folder: URL) throws {
        let modulesURL = folder.appendingPathComponent("modules.json")
        guard let modulesData = FileManager.default.contents(atPath: modulesURL.path) else { return }
        let modules = try Self.json(modulesData, file: modulesURL.path) as? [[String: Any]] ?? []
        normalize = false
        for module in modules {
            let type = module["type"] as? String ?? ""
            let path = module["path"] as? String ?? ""
            switch type.split(separator: ".").last.map(String.init) ?? "" {
            case "Transformer":
                let configURL = folder.appendingPathComponent(path).appendingPathComponent("sentence_bert_config.json")
                if let data = FileManager.default.contents(atPath: configURL.path),
                   let config = try Self.json(data, file: configURL.path) as? [String: Any] {
                    maximumLength = config["max_seq_length"] as? Int
                }
            case "Pooling":
                let configURL = folder.appendingPathComponent(path).appendingPathComponent("config.json")
                guard let data = FileManager.default.contents(atPath: configURL.path),
                      let config = try Self.json(data, file: configURL.path) as? [String: Any] else {
                    throw ModelError.invalidConfig(key: "Pooling", file: configURL.path, problem: "missing or not an object")
                }
                pooling = try Self.pooling(config, file: configURL.path)
            case "Normalize":
                normalize = true
            default:
                throw ModelError.invalidConfig(key: "modules[\(module["idx"] ?? "?")].type", file: modulesURL.path,
                                               problem: "module '\(type)' is not supported "
                                                   + "(Transformer, Pooling, Normalize)")
            }
        }
    }

    static func json(_ data: Data, file: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ModelError.invalidConfig(key: "(file)", file: file, problem: "not valid JSON: \(error)")
        }
    }

    /// Exactly one mode: the old boolean flags or the newer "pooling_mode" string.
    static func pooling(_ config: [String: Any], file: String) throws -> EmbeddingPooling {
        if let mode = config["pooling_mode"] as? String {
            let known: [String: EmbeddingPooling] = ["mean": .mean, "cls": .cls, "max": .max,
                                                     "mean_sqrt_len_tokens": .meanSquareRootLength]
            guard let p = known[mode] else {
                throw ModelError.invalidConfig(key: "pooling_mode", file: file, problem: "'\(mode)' is not supported")
            }
            return p
        }
        let flags: [(String, EmbeddingPooling)] = [("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls),
                                                   ("pooling_mode_max_tokens", .max),
                                                   ("pooling_mode_mean_sqrt_len_tokens", .meanSquareRootLength)]
        let on = flags.filter { config[$0.0] as? Bool == true }
        guard on.count == 1 else {
            throw ModelError.invalidConfig(key: "pooling_mode_*", file: file,
                                           problem: "exactly one pooling mode must be true, found "
                                               + "\(on.map(\.0)); concatenated modes are not supported")
        }
        for other in ["pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"] where config[other] as? Bool == true {
            throw ModelError.invalidConfig(key: other, file: file, problem: "this pooling mode is not supported")
        }
        return on[0].1
    }
}
