// Activations that backward passes keep, or recompute. A linear layer's weight gradient needs its input
// x (dW = dyᵀ x): for LoRA's A matrices that input is an RMSNorm output or a SwiGLU product, one
// (tokens, width) float tensor per adapted projection and layer, most of a fine-tuning step's memory.
// Those outputs are cheap to recompute from values their own backward keeps anyway (the norm's input and
// 1/rms, the gate and up projections), so the producing op attaches a recipe and the consumer keeps the
// recipe instead of the values: the output's storage is freed after the forward pass and rebuilt, bit for
// bit (same kernel, same saved statistics), when backward reaches the consumer. The same idea as
// activation recomputation in unsloth / FlashAttention, applied to element-wise producers only.

/// How to rebuild a tensor's values from tensors its producer keeps for its own backward.
final class ActivationRecipe {
    let recompute: () -> Tensor

    init(_ recompute: @escaping () -> Tensor) {
        self.recompute = recompute
    }
}

/// What a backward closure keeps of an activation: the tensor, or only its recipe when it has one.
struct SavedActivation {
    private let tensor: Tensor?
    private let recipe: ActivationRecipe?

    init(_ tensor: Tensor) {
        if let recipe = tensor.recipe {
            self.recipe = recipe
            self.tensor = nil
        } else {
            self.recipe = nil
            self.tensor = tensor
        }
    }

    /// The activation's values (recomputed when only the recipe was kept).
    func value() -> Tensor {
        if let tensor { return tensor }
        return recipe!.recompute()
    }
}
