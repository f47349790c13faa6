// Gradient checkpointing (activation recomputation): Chen et al. 2016, "Training Deep Nets with Sublinear
// Memory Cost"; PyTorch torch.utils.checkpoint (non-reentrant variant in spirit). The forward pass runs the
// segment without recording, so none of its intermediate activations stay alive; the backward pass runs the
// segment again with recording on, over detached copies of its inputs, and back-propagates through that
// fresh local graph. Memory: only the segment's inputs and output are kept; cost: one extra forward.

extension Tensor {
    /// Runs `body(inputs)` without keeping its intermediate tensors for autograd; during `backward()` the body
    /// is run a second time with recording on and its gradient flows to `inputs` and to every tensor with
    /// `requiresGrad` that `body` captures (adapter parameters inside a transformer block, for example).
    ///
    /// `body` must compute the same values when run again: it may not depend on state it changes itself
    /// (a dropout generator advanced by the first run must be restored, or the mask derived from a fixed seed).
    /// When recording is off (`Autograd.noGrad`) this is simply `body(inputs)`. When recording is on the output
    /// is always recorded (even if no input requires a gradient) because captured parameters may need one.
    public static func checkpoint(_ inputs: [Tensor], _ body: @escaping ([Tensor]) -> Tensor) -> Tensor {
        guard Autograd.isEnabled else { return body(inputs) }
        let out = Autograd.noGrad { body(inputs) }
        // A body that hands back one of its inputs (or any tensor already in a graph) has nothing to save:
        // recording on that tensor would overwrite its own node, so run it plainly.
        if out.node != nil || out.requiresGrad || inputs.contains(where: { $0 === out }) {
            return body(inputs)
        }
        out.record("checkpoint", inputs) { g in
            // Fresh leaves sharing the inputs' storage: the recomputed graph ends at them.
            let leaves = inputs.map { input -> Tensor in
                let leaf = input.detached()
                leaf.requiresGrad = input.requiresGrad
                return leaf
            }
            let previous = Autograd.isEnabled
            Autograd.isEnabled = true
            let recomputed = body(leaves)
            Autograd.isEnabled = previous
            precondition(recomputed.shape == g.shape,
                         "checkpoint: body gave shape \(recomputed.shape) on recomputation, \(g.shape) before")
            if recomputed.requiresGrad { recomputed.backward(gradient: g) }
            // Leaf gradients are tensors made by that backward pass (never views of g), as a node must return.
            return leaves.map { $0.requiresGrad ? $0.grad : nil }
        }
        return out
    }
}
