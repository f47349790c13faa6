// Sum and mean reductions (whole tensor or one dimension) and sumToShape, the reduction that undoes
// broadcasting in backward passes. Row sums and column sums of contiguous data take SIMD fast paths.

import LLMTuneKernels

extension Tensor {
    /// The sum of all elements, shape [].
    public func sum() -> Tensor {
        let out = Tensor.scalar(Float(totalSum()))
        if Autograd.records(self) {
            let inputShape = shape
            out.record("sum", [self]) { g in [Tensor(shape: inputShape, filling: g.item())] }
        }
        return out
    }

    /// The mean of all elements, shape [].
    public func mean() -> Tensor {
        let n = Float(Swift.max(1, count))
        let out = Tensor.scalar(Float(totalSum() / Double(n)))
        if Autograd.records(self) {
            let inputShape = shape
            out.record("mean", [self]) { g in [Tensor(shape: inputShape, filling: g.item() / n)] }
        }
        return out
    }

    /// Sum along `dim`; the dimension is kept with size 1 when `keepDim`, else removed.
    public func sum(dim: Int, keepDim: Bool) -> Tensor {
        let d = axis(dim)
        var kept = shape
        kept[d] = 1
        let reduced = reduceSum(toKeptShape: kept)
        var outShape = kept
        if !keepDim { outShape.remove(at: d) }
        let out = Tensor(storage: reduced.storage, shape: outShape, strides: Tensor.rowMajorStrides(outShape),
                         offset: 0)
        if Autograd.records(self) {
            let inputShape = shape
            out.record("sumDim", [self]) { g in [g.reshaped(kept).expandedView(to: inputShape).contiguousCopy()] }
        }
        return out
    }

    /// Mean along `dim`; the dimension is kept with size 1 when `keepDim`, else removed.
    public func mean(dim: Int, keepDim: Bool) -> Tensor {
        sum(dim: dim, keepDim: keepDim).scaled(by: 1 / Float(Swift.max(1, shape[axis(dim)])))
    }

    /// Sums a broadcast gradient back to `target` (the shape of the operand that was broadcast).
    func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        precondition(lead >= 0, "cannot reduce \(shape) to \(target)")
        let kept = (0..<rank).map { d -> Int in
            if d < lead { return 1 }
            return target[d - lead] == 1 ? 1 : shape[d]
        }
        return reduceSum(toKeptShape: kept).reshaped(target)
    }

    /// Σ of all elements in Double (SIMD partial sums per chunk).
    private func totalSum() -> Double {
        let x = contiguousData
        let p = UnsafePointer(x.pointer)
        let n = x.count
        let chunk = 1 << 16
        let chunks = (n + chunk - 1) / chunk
        var partial = [Double](repeating: 0, count: Swift.max(1, chunks))
        partial.withUnsafeMutableBufferPointer { parts in
            let out = parts.baseAddress!
            Parallel.forEach(chunks) { c in
                let lo = c * chunk
                out[c] = Double(rowSum(p + lo, Swift.min(chunk, n - lo)))
            }
        }
        return partial.reduce(0, +)
    }

    /// Sum over the dimensions where `kept` is 1 and `shape` is not; output has shape `kept` (same rank).
    func reduceSum(toKeptShape kept: [Int]) -> Tensor {
        precondition(kept.count == rank)
        let out = Tensor(zeros: kept)
        let reducedMask = (0..<rank).map { kept[$0] != shape[$0] }
        let x = contiguousData
        let src = UnsafePointer(x.pointer)
        let o = out.pointer
        // Split the contiguous data as (prefix dims) x (suffix dims) when the reduced dims are a prefix or a suffix.
        let firstKept = reducedMask.firstIndex(of: false) ?? rank
        let lastKept = reducedMask.lastIndex(of: false) ?? -1
        let reducedIsPrefix = !reducedMask[firstKept...].contains(true)
        let reducedIsSuffix = !reducedMask[..<(lastKept + 1)].contains(true)
        if out.count == 1 {
            o[0] = Float(x.totalSum())
        } else if reducedIsPrefix {
            // Column sums: (R, C) -> (C).
            let C = kept.reduce(1, *)
            let R = C == 0 ? 0 : count / C
            Parallel.forRanges(C, minimum: 256) { cols in
                for r in 0..<R { axpyRange(1, src + r * C, o, cols) }
            }
        } else if reducedIsSuffix {
            // Row sums: (K, R) -> (K).
            let K = kept.reduce(1, *)
            let R = K == 0 ? 0 : count / K
            Parallel.forRanges(K, minimum: minimumRows(rowLength: R)) { rows in
                for k in rows { o[k] = rowSum(src + k * R, R) }
            }
        } else {
            // General: each output element sums its block of reduced indices.
            let keptDims = (0..<rank).filter { !reducedMask[$0] }
            let reducedDims = (0..<rank).filter { reducedMask[$0] }
            let blockLoop = StridedLoop(shape: reducedDims.map { x.shape[$0] }, strides: [reducedDims.map { x.strides[$0] }])
            let keptLoop = StridedLoop(shape: keptDims.map { x.shape[$0] }, strides: [keptDims.map { x.strides[$0] }])
            let keptInnerStride = keptLoop.innerStrides[0]
            let innerStride = blockLoop.innerStrides[0]
            Parallel.forRanges(out.count, minimum: minimumRows(rowLength: count / Swift.max(1, out.count))) { range in
                for k in range {
                    let base = src + keptLoop.offset(row: k / keptLoop.inner, operand: 0)
                        + (k % keptLoop.inner) * keptInnerStride
                    var acc: Float = 0
                    for row in 0..<blockLoop.rows {
                        let p = base + blockLoop.offset(row: row, operand: 0)
                        if innerStride == 1 {
                            acc += rowSum(p, blockLoop.inner)
                        } else {
                            for i in 0..<blockLoop.inner { acc += p[i * innerStride] }
                        }
                    }
                    o[k] = acc
                }
            }
        }
        return out
    }
}

/// y[cols] += s * x[cols].
@inline(__always) func axpyRange(_ s: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                 _ cols: Range<Int>) {
    axpy(s, x + cols.lowerBound, y + cols.lowerBound, cols.count)
}
