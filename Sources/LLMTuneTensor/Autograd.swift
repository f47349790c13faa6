// Reverse-mode automatic differentiation over a dynamic graph, as in micrograd / PyTorch autograd:
// every recorded operation output keeps a node with its inputs and a closure mapping the output's
// gradient to its inputs' gradients; backward() visits the graph in reverse topological order.

import LLMTuneKernels

/// Global switch for graph recording.
public enum Autograd {
    /// When false, operations record nothing (inference). Process-wide: do not train on one thread while
    /// running `noGrad` on another.
    nonisolated(unsafe) public static var isEnabled: Bool = true

    /// Runs `body` with recording switched off, restoring the previous state afterwards.
    public static func noGrad<T>(_ body: () throws -> T) rethrows -> T {
        let previous = isEnabled
        isEnabled = false
        defer { isEnabled = previous }
        return try body()
    }

    /// Whether an operation on these inputs must be recorded.
    @inline(__always)
    static func records(_ a: Tensor?, _ b: Tensor? = nil, _ c: Tensor? = nil) -> Bool {
        guard isEnabled else { return false }
        return (a?.requiresGrad ?? false) || (b?.requiresGrad ?? false) || (c?.requiresGrad ?? false)
    }

    @inline(__always)
    static func records(_ inputs: [Tensor]) -> Bool {
        isEnabled && inputs.contains { $0.requiresGrad }
    }
}

/// One recorded operation: its inputs and the map from the output gradient to the input gradients.
/// A closure returns one entry per input (nil where the input needs no gradient) and returns either fresh
/// tensors or views of the incoming gradient, never another saved tensor.
final class GradientNode {
    let name: String
    private(set) var inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]
    /// The storage-free stand-in of this node's output that consuming nodes keep (see `graphInput`).
    weak var standIn: Tensor?

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }

    /// Releases long chains without recursion: releasing a tensor releases its node, which releases its
    /// inputs, and so on, one stack frame group per graph level (a 50 000-deep graph overflowed the stack).
    /// Nodes of inputs that die with this node are detached first and released one at a time here.
    deinit {
        var pending: [GradientNode] = []
        harvest(into: &pending)
        while let node = pending.popLast() {
            node.harvest(into: &pending)
        }
    }

    /// Moves the nodes of inputs referenced only by this node into `pending`.
    private func harvest(into pending: inout [GradientNode]) {
        for i in inputs.indices where isKnownUniquelyReferenced(&inputs[i]) {
            if let node = inputs[i].node {
                inputs[i].node = nil
                pending.append(node)
            }
        }
    }
}

extension Tensor {
    /// What a consuming node keeps of this tensor: the tensor itself for a leaf (its `grad` is written), or,
    /// for a recorded output, one shared stand-in with the same shape, `requiresGrad` and node but no data.
    /// The graph then keeps no intermediate values alive: only backward closures keep the data they need
    /// (before, every intermediate output stayed alive until backward, ~2x the activation memory).
    var graphInput: Tensor {
        guard let node else { return self }
        if let s = node.standIn { return s }
        let s = Tensor(storage: Storage.empty, shape: shape, strides: strides, offset: 0)
        s.requiresGrad = requiresGrad
        s.node = node
        node.standIn = s
        return s
    }

    /// Attaches a node to this freshly computed output. Call only when `Autograd.records(...)` said so.
    func record(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) {
        node = GradientNode(name: name, inputs: inputs.map(\.graphInput), backward: backward)
        requiresGrad = true
    }

    /// Back-propagates from a tensor with one element (a loss), seeding its gradient with 1.
    public func backward() {
        precondition(count == 1, "backward() needs a single-element tensor, got shape \(shape)")
        backward(gradient: Tensor(shape: shape, filling: 1))
    }

    /// Back-propagates `gradient` (same shape as this tensor) and accumulates into `grad` of every leaf
    /// tensor with `requiresGrad` reachable from here. The graph is kept; calling again accumulates again.
    public func backward(gradient: Tensor) {
        precondition(gradient.shape == shape, "gradient shape \(gradient.shape) for tensor \(shape)")
        let order = topologicalOrder()
        Autograd.noGrad {
            var pending: [ObjectIdentifier: PendingGradient] = [:]
            pending[ObjectIdentifier(self)] = PendingGradient(tensor: gradient, owned: false)
            for t in order.reversed() {
                guard let g = pending.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                if let node = t.node {
                    let inputGrads = node.backward(g.tensor)
                    precondition(inputGrads.count == node.inputs.count, "\(node.name): wrong gradient count")
                    for (i, input) in node.inputs.enumerated() where input.requiresGrad {
                        guard let ig = inputGrads[i] else { continue }
                        precondition(ig.shape == input.shape,
                                     "\(node.name): gradient \(ig.shape) for input \(input.shape)")
                        // Fresh tensors are ours to add into; views of the incoming gradient, or a tensor
                        // handed to two inputs, are not.
                        var owned = !ig.sharesStorage(with: g.tensor)
                        for j in 0..<inputGrads.count where j != i && inputGrads[j] === ig { owned = false }
                        let key = ObjectIdentifier(input)
                        if var existing = pending[key] {
                            existing.add(ig)
                            pending[key] = existing
                        } else {
                            pending[key] = PendingGradient(tensor: ig, owned: owned)
                        }
                    }
                } else if t.requiresGrad {
                    t.accumulateLeafGradient(g)
                }
            }
        }
    }

    private func accumulateLeafGradient(_ g: PendingGradient) {
        if let existing = grad, existing.isContiguous, existing.shape == shape,
           existing.storage.ownsMemory {
            addInPlace(existing, g.tensor)
        } else if let existing = grad {
            grad = existing + g.tensor
        } else {
            grad = (g.owned && g.tensor.isContiguous) ? g.tensor : g.tensor.contiguousCopy()
        }
    }

    /// Tensors reachable through recorded nodes, each after all of its inputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded {
                order.append(t)
                continue
            }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            if let node = t.node {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        return order
    }
}

/// A gradient waiting for all contributions; `owned` means its storage may be updated in place.
struct PendingGradient {
    var tensor: Tensor
    var owned: Bool

    mutating func add(_ other: Tensor) {
        if owned && tensor.isContiguous {
            addInPlace(tensor, other)
        } else {
            tensor = tensor + other
            owned = true
        }
    }
}

/// target += source, element-wise over equal shapes (target contiguous).
func addInPlace(_ target: Tensor, _ source: Tensor) {
    precondition(target.shape == source.shape && target.isContiguous)
    let src = source.isContiguous ? source : source.contiguousCopy()
    let n = target.count
    let t = target.pointer
    let s = src.pointer
    Parallel.forRanges(n, minimum: minimumElementwiseWork) { r in
        var i = r.lowerBound
        while i + 16 <= r.upperBound {
            store16(t + i, load16(t + i) + load16(s + i))
            i += 16
        }
        while i < r.upperBound { t[i] += s[i]; i += 1 }
    }
}
