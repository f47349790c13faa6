// Gradient checkpointing (activation recomputation): Chen et al. 2016, "Training Deep Nets with Sublinear
// Memory Cost"; PyTorch torch.utils.checkpoint (non-reentrant variant in spirit, with its preserve_rng_state).
// The forward pass runs the segment without recording, so none of its intermediate activations stay alive;
// the backward pass runs the segment again with recording on, over detached copies of its inputs, and
// back-propagates through that fresh local graph. Memory: only the segment's inputs and output are kept;
// cost: one extra forward. Random draws inside the segment (dropout) go through `drawReplayable`, which keeps a
// copy of the generator at each draw during the first run and replays it during the recomputation.

extension Tensor {
    /// Runs `body(inputs)` without keeping its intermediate tensors for autograd; during `backward()` the body
    /// is run a second time with recording on and its gradient flows to `inputs` and to every tensor with
    /// `requiresGrad` that `body` captures (adapter parameters inside a transformer block, for example).
    ///
    /// `body` must compute the same values when run again. Random operations that draw through
    /// `SeededGenerator.drawReplayable` (dropout does) replay their first draws. Segments do not nest.
    /// When recording is off (`Autograd.noGrad`) this is simply `body(inputs)`. When recording is on the output
    /// is always recorded (even if no input requires a gradient) because captured parameters may need one.
    public static func checkpoint(_ inputs: [Tensor], _ body: @escaping ([Tensor]) -> Tensor) -> Tensor {
        guard Autograd.isEnabled else { return body(inputs) }
        let tape = RandomTape()
        let out = RandomTape.with(tape) { Autograd.noGrad { body(inputs) } }
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
            tape.rewind()
            let previous = Autograd.isEnabled
            Autograd.isEnabled = true
            let recomputed = RandomTape.with(tape) { body(leaves) }
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

/// The generator states seen by random draws inside one checkpointed segment, in order.
final class RandomTape {
    private var states: [SeededGenerator] = []
    private var cursor = 0
    private var replaying = false

    /// The tape of the segment being run, nil outside segments.
    nonisolated(unsafe) static var current: RandomTape?

    static func with<T>(_ tape: RandomTape, _ body: () -> T) -> T {
        let previous = current
        current = tape
        defer { current = previous }
        return body()
    }

    /// Switches from recording to replaying, from the first draw.
    func rewind() {
        replaying = true
        cursor = 0
    }

    /// First run: remembers `rng` and draws from it. Recomputation: draws from the remembered copy and
    /// leaves `rng` alone (the first run already advanced it).
    func draw<T>(_ rng: inout SeededGenerator, _ body: (inout SeededGenerator) -> T) -> T {
        if replaying, cursor < states.count {
            var copy = states[cursor]
            cursor += 1
            return body(&copy)
        }
        states.append(rng)
        return body(&rng)
    }
}

extension SeededGenerator {
    /// Runs a random operation's draws. Outside checkpointed segments this is `body(&self)`; inside one, the
    /// recomputation in the backward pass draws exactly the numbers of the first run (PyTorch's
    /// preserve_rng_state), so dropout masks agree between the two runs.
    public mutating func drawReplayable<T>(_ body: (inout SeededGenerator) -> T) -> T {
        guard let tape = RandomTape.current else { return body(&self) }
        return tape.draw(&self, body)
    }
}
