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
