// Shape operations: reshape, transpose, permute and slice are views over the same storage (reshape copies
// only a non-contiguous source); contiguous and concat copy. Each records its backward for autograd.
// Reference: PyTorch view semantics; candle-core shape.rs / layout.rs.

extension Tensor {
    /// A contiguous tensor with the same elements: `self` when already contiguous, else a copy.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = contiguousCopy()
        if Autograd.records(self) {
            out.record("contiguous", [self]) { g in [g] }
        }
        return out
    }

    /// The same elements in a new shape (one dimension may be -1, inferred). A view when contiguous.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let resolved = resolveShape(newShape)
        let source = contiguousData
        let out = Tensor(storage: source.storage, shape: resolved, strides: Tensor.rowMajorStrides(resolved),
                         offset: source.offset)
        if Autograd.records(self) {
            let inputShape = shape
            out.record("reshape", [self]) { g in [g.reshaped(inputShape)] }
        }
        return out
    }

    private func resolveShape(_ newShape: [Int]) -> [Int] {
        let unknown = newShape.indices.filter { newShape[$0] == -1 }
        precondition(unknown.count <= 1, "more than one -1 in shape \(newShape)")
        precondition(newShape.allSatisfy { $0 >= -1 }, "invalid shape \(newShape)")
        var resolved = newShape
        if let u = unknown.first {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[u] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return resolved
    }

    /// A view with dimensions `a` and `b` swapped (negative dimensions count from the end).
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        let a = axis(a), b = axis(b)
        var order = Array(0..<rank)
        order.swapAt(a, b)
        return permuted(order)
    }

    /// A view whose dimension i is this tensor's dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "invalid permutation \(order) for \(shape)")
        let out = Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] },
                         offset: offset)
        if Autograd.records(self) {
            var inverse = [Int](repeating: 0, count: order.count)
            for (i, o) in order.enumerated() { inverse[o] = i }
            out.record("permute", [self]) { g in [g.permuted(inverse)] }
        }
        return out
    }

    /// A view of the indices `range` along `dim`.
    public func slice(dim: Int, range: Range<Int>) -> Tensor {
        let d = axis(dim)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[d],
                     "slice \(range) out of bounds for dimension \(d) of shape \(shape)")
        var newShape = shape
        newShape[d] = range.count
        let out = Tensor(storage: storage, shape: newShape, strides: strides,
                         offset: offset + range.lowerBound * strides[d])
        if Autograd.records(self) {
            let inputShape = shape
            out.record("slice", [self]) { g in
                let full = Tensor(zeros: inputShape)
                full.slice(dim: d, range: range).copyStrided(from: g)
                return [full]
            }
        }
        return out
    }

    /// Joins tensors along `dim`; all other dimensions must agree.
    public static func concat(_ parts: [Tensor], dim: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of no tensors")
        let first = parts[0]
        let d = first.axis(dim)
        for p in parts {
            precondition(p.rank == first.rank && (0..<first.rank).allSatisfy { $0 == d || p.shape[$0] == first.shape[$0] },
                         "concat along \(d): shapes \(parts.map { $0.shape }) disagree")
        }
        var shape = first.shape
        shape[d] = parts.reduce(0) { $0 + $1.shape[d] }
        let out = Tensor(uninitialized: shape)
        var start = 0
        var ranges: [Range<Int>] = []
        for p in parts {
            let r = start..<(start + p.shape[d])
            out.slice(dim: d, range: r).copyStrided(from: p)
            ranges.append(r)
            start = r.upperBound
        }
        if Autograd.records(parts) {
            out.record("concat", parts) { g in
                zip(parts, ranges).map { p, r in p.requiresGrad ? g.slice(dim: d, range: r) : nil }
            }
        }
        return out
    }

    /// Overwrites this tensor's elements (any layout, e.g. a slice of a KV cache) with `source`'s.
    /// Outside autograd: nothing is recorded. Never call it on a borrowed (memory-mapped) tensor.
    public func copyElements(from source: Tensor) {
        precondition(storage.ownsMemory, "copyElements into a borrowed, read-only tensor")
        copyStrided(from: source)
    }
}
