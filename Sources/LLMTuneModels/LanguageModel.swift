// What every causal language model offers the layers above (generation, scoring, training, adapters).
import LLMTuneTensor

/// A decoder-only language model.
public protocol LanguageModel: AnyObject {
    /// The checkpoint's architecture key (`model_type` / `general.architecture`), e.g. "llama".
    var architecture: String { get }
    var vocabularySize: Int { get }
    /// The longest sequence the model was trained for.
    var contextLength: Int { get }
    var hiddenSize: Int { get }
    var layerCount: Int { get }

    /// A cache for `batch` sequences of up to `capacity` tokens.
    func makeCache(batch: Int, capacity: Int) -> KVCache

    /// Runs `tokens` (B, T), row-major, continuing after the cache's content when a cache is given.
    /// Returns logits (B, T, V), or (B, 1, V) for the last position only when `lastOnly`.
    func forward(tokens: [Int], batch: Int, cache: KVCache?, lastOnly: Bool) -> Tensor

    /// Non-nil when the q_proj / k_proj rows are stored in llama.cpp's permuted order (GGUF `llama` files, rotated
    /// with interleaved pairs). Anything that leaves the process in Hugging Face naming (a PEFT adapter's lora_B for
    /// q_proj/k_proj, an exported model) must un-permute those rows first.
    var permutedRotaryRows: PermutedRotaryRows? { get }

    /// Every linear layer, in module order (adapters choose their targets from these by path).
    var linearLayers: [LinearLayer] { get }
    /// Puts `layer` in place of the linear layer with the same path. Returns false if no layer has that path.
    @discardableResult func replaceLinear(_ layer: LinearLayer) -> Bool
}

extension LanguageModel {
    /// Logits for every position of one sequence: (T, V).
    public func logits(_ tokens: [Int]) -> Tensor {
        forward(tokens: tokens, batch: 1, cache: nil, lastOnly: false).reshaped([tokens.count, vocabularySize])
    }
}

/// The head layout needed to undo llama.cpp's Q/K row permutation: within each head of `headDim` rows, GGUF row
/// 2i is HF row i and GGUF row 2i+1 is HF row i + headDim/2.
public struct PermutedRotaryRows: Sendable, Equatable {
    public var queryHeads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    public init(queryHeads: Int, keyValueHeads: Int, headDim: Int) {
        self.queryHeads = queryHeads
        self.keyValueHeads = keyValueHeads
        self.headDim = headDim
    }
}
