// Checkpoint access for model construction. Every layer names its own keys through a scoped loader
// (like candle's VarBuilder::pp): `loader.scoped("self_attn").linear("q_proj", ...)` reads
// "model.layers.3.self_attn.q_proj.weight" and checks its shape, naming the key in any error.
// Names are always Hugging Face names; a GGUF source translates them to GGUF names.
import LLMTuneKernels
import LLMTuneTensor

/// Where weights come from: a GGUF file, a safetensors checkpoint, or (in tests) memory.
public protocol WeightSource: AnyObject {
    /// For error messages: the file or folder.
    var sourceDescription: String { get }
    /// Shape in PyTorch order (e.g. (out, in) for a linear weight), nil when absent.
    func shape(of name: String) -> [Int]?
    /// A 2-D weight, kept in its stored encoding (quantized blocks, f16, bf16 or f32).
    func matrix(_ name: String) throws -> QuantizedMatrix
    /// Any tensor converted to fp32 (norm weights, biases).
    func floats(_ name: String) throws -> [Float]
}

/// A position in the checkpoint's key tree.
public struct WeightLoader {
    public let source: WeightSource
    public let prefix: String

    public init(source: WeightSource, prefix: String = "") {
        self.source = source
        self.prefix = prefix
    }

    /// The loader for a child module: `scoped("mlp")` under "model.layers.0" reads "model.layers.0.mlp.*".
    public func scoped(_ name: String) -> WeightLoader {
        WeightLoader(source: source, prefix: key(name))
    }

    public func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

    public func has(_ name: String) -> Bool { source.shape(of: key(name)) != nil }

    /// A linear layer `name` with weight (out, in) and optional bias (out).
    public func linear(_ name: String, inFeatures: Int, outFeatures: Int, bias: Bool) throws -> Linear {
        let weight = try matrix(name + ".weight", rows: outFeatures, columns: inFeatures)
        let b = bias ? try vector(name + ".bias", count: outFeatures) : nil
        return Linear(path: key(name), weight: .quantized(weight), bias: b)
    }

    /// The output head "lm_head": its own weight when the checkpoint has one and embeddings are not tied,
    /// otherwise the token embedding matrix `embedding` (vocabulary, hidden) read as a linear layer.
    public func outputHead(tied: Bool, embedding: QuantizedMatrix, hiddenSize: Int, vocabularySize: Int) throws -> Linear {
        if !tied, has("lm_head.weight") {
            return try linear("lm_head", inFeatures: hiddenSize, outFeatures: vocabularySize, bias: false)
        }
        return Linear(path: "lm_head", weight: .quantized(embedding), bias: nil)
    }

    /// A 2-D weight with the expected shape (rows, columns).
    public func matrix(_ name: String, rows: Int, columns: Int) throws -> QuantizedMatrix {
        let k = key(name)
        try expectShape(k, [rows, columns])
        let m = try source.matrix(k)
        guard m.rows == rows, m.columns == columns else {
            throw ModelError.shapeMismatch(name: k, expected: [rows, columns], found: [m.rows, m.columns],
                                           file: source.sourceDescription)
        }
        return m
    }

    /// A 1-D fp32 tensor (norm weight, bias) of `count` elements.
    public func vector(_ name: String, count: Int) throws -> Tensor {
        let k = key(name)
        try expectShape(k, [count])
        let values = try source.floats(k)
        return Tensor(shape: [count], data: values)
    }

    private func expectShape(_ k: String, _ expected: [Int]) throws {
        guard let found = source.shape(of: k) else {
            throw ModelError.missingWeight(name: k, file: source.sourceDescription,
                                           hint: "The checkpoint does not match its configuration or architecture.")
        }
        // A GGUF stores 1-D tensors as-is; a (n, 1) or (1, n) vector is still a vector.
        let squeezed = found.filter { $0 != 1 }
        guard found == expected || squeezed == expected.filter({ $0 != 1 }) else {
            throw ModelError.shapeMismatch(name: k, expected: expected, found: found, file: source.sourceDescription)
        }
    }
}
