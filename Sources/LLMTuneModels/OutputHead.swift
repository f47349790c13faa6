// Models whose logits are a plain linear projection of their final hidden states. The trainer uses this to
// fuse the output projection with the cross-entropy (Tensor.linearCrossEntropy) so the (B·T, V) logits are
// never materialised whole.

import LLMTuneTensor

/// A language model that can stop before its output head.
public protocol OutputHeadModel: LanguageModel {
    /// Final hidden states after the final norm, (B, T, C), for `tokens` of B sequences of T tokens
    /// (no KV cache): `forward` equals these times `outputWeight`ᵀ.
    func hiddenStates(tokens: [Int], batch: Int) -> Tensor
    /// The output head weight (V, C), or nil when the head is not a plain bias-free projection (e.g. adapted),
    /// in which case callers use `forward`.
    var outputWeight: LinearWeight? { get }
}
