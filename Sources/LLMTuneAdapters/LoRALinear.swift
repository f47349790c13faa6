// The LoRA layer: y = base(x) + s · ((dropout(x) · Aᵀ) · Bᵀ), with the base linear layer frozen as loaded
// (fp32, f16/bf16 or quantized GGUF blocks: QLoRA). Reference: peft/tuners/lora/layer.py (Linear.forward),
// Hu et al. 2021. Gradients (shared/NOTES.md, "LoRA gradients without weight gradients"): with u = x Aᵀ,
// dB = s dyᵀ u, dA = s (dy B)ᵀ x, dx = dy W + s (dy B) A. The two skinny products are ordinary `linear` ops on
// dense A (r, in) and B (out, r); the base is a `linear` on a frozen weight, which never produces a weight
// gradient. No (out, in)-sized temporary exists in forward or backward.
import LLMTuneModels
import LLMTuneTensor

/// A linear layer with a trainable low-rank update. Put in the model in place of the `Linear` it wraps.
public final class LoRALinear: LinearLayer {
    /// The frozen layer being adapted.
    public let base: Linear
    /// (r, in), trainable.
    public let a: Tensor
    /// (out, r), trainable.
    public let b: Tensor
    /// The factor s applied to B·A (alpha / r, alpha / sqrt(r) with rsLoRA, or mlx-lm's `scale`).
    public var scale: Float
    /// Dropout probability applied to the adapter's input while `isTraining`.
    public var dropout: Float
    /// Training mode enables dropout.
    public var isTraining: Bool = false
    private var generator: SeededGenerator

    /// Wraps `base` with A (r, in) and B (out, r); both are marked `requiresGrad`.
    public init(base: Linear, a: Tensor, b: Tensor, scale: Float, dropout: Float = 0, dropoutSeed: UInt64 = 0) {
        precondition(a.rank == 2 && b.rank == 2 && a.shape[0] == b.shape[1], "LoRA A \(a.shape) and B \(b.shape)")
        precondition(a.shape[1] == base.inFeatures && b.shape[0] == base.outFeatures,
                     "LoRA A \(a.shape), B \(b.shape) for a (\(base.outFeatures), \(base.inFeatures)) layer")
        self.base = base
        self.a = a
        self.b = b
        self.scale = scale
        self.dropout = dropout
        a.requiresGrad = true
        b.requiresGrad = true
        generator = SeededGenerator(seed: dropoutSeed)
    }

    public var path: String { base.path }
    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }
    /// The rank r.
    public var rank: Int { a.shape[0] }

    /// Restarts the dropout mask stream (the trainer reseeds per step and layer so that a resumed run draws the
    /// same masks).
    public func reseedDropout(_ seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = base(x)                                                       // (..., out)
        let input = isTraining && dropout > 0 ? x.dropout(dropout, using: &generator) : x
        let u = input.linear(.dense(a), bias: nil).scaled(by: scale)          // (..., r)
        return y + u.linear(.dense(b), bias: nil)                             // (..., out)
    }

    /// The update s·B·A as a dense (out, in) matrix, in the base weight's row order (for merging).
    public func delta() -> Tensor {
        Autograd.noGrad { b.detached().matmul(a.detached()).scaled(by: scale) }   // (out, in)
    }
}

/// Mixes several integers into one well-spread seed (splitmix64 finaliser over each word).
func mixSeed(_ words: UInt64...) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for w in words {
        h ^= w &+ 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)
        var z = h
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        h = z ^ (z >> 31)
    }
    return h
}
