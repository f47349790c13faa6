// Strided iteration shared by the element-wise kernels: the joint layout of several operands over one
// logical shape is collapsed (size-1 dimensions dropped, mergeable neighbours fused) into rows of an
// innermost dimension, so that kernels run plain inner loops with per-operand strides.

import LLMTuneKernels

/// Iteration over a logical shape for several operands with their own element strides.
struct StridedLoop {
    /// Collapsed dimensions except the innermost.
    let outerShape: [Int]
    /// Per operand, strides of `outerShape`.
    let outerStrides: [[Int]]
    /// Length of the collapsed innermost dimension.
    let inner: Int
    /// Per operand, stride of the innermost dimension.
    let innerStrides: [Int]
    /// Number of rows (product of `outerShape`).
    let rows: Int

    init(shape: [Int], strides: [[Int]]) {
        // Walk from the innermost dimension outwards, fusing a dimension into the current group when
        // every operand steps over it exactly as a continuation of the group.
        var sizes: [Int] = []          // innermost group first
        var groups: [[Int]] = []       // per group, per operand stride
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            let ds = strides.map { $0[d] }
            if let lastSize = sizes.last, let last = groups.last,
               (0..<strides.count).allSatisfy({ ds[$0] == last[$0] * lastSize }) {
                sizes[sizes.count - 1] *= shape[d]
            } else {
                sizes.append(shape[d])
                groups.append(ds)
            }
        }
        if sizes.isEmpty {
            sizes = [shape.contains(0) ? 0 : 1]
            groups = [[Int](repeating: 0, count: strides.count)]
        }
        inner = sizes[0]
        innerStrides = groups[0]
        let outerCount = sizes.count - 1
        outerShape = (0..<outerCount).map { sizes[sizes.count - 1 - $0] }
        outerStrides = (0..<strides.count).map { k in (0..<outerCount).map { groups[sizes.count - 1 - $0][k] } }
        rows = shape.contains(0) ? 0 : outerShape.reduce(1, *)
    }

    /// Offset (in elements) of the first element of `row` for operand `k`.
    @inline(__always) func offset(row: Int, operand k: Int) -> Int {
        var r = row
        var o = 0
        let s = outerStrides[k]
        var d = outerShape.count - 1
        while d >= 0 {
            let n = outerShape[d]
            o += (r % n) * s[d]
            r /= n
            d -= 1
        }
        return o
    }

    /// Calls `body(row, columns)` over every row, in parallel: across rows, or across the columns of a
    /// single long row.
    func forEachSegment(_ body: (Int, Range<Int>) -> Void) {
        if rows == 0 || inner == 0 { return }
        if rows == 1 {
            Parallel.forRanges(inner, minimum: minimumElementwiseWork) { body(0, $0) }
        } else {
            Parallel.forRanges(rows, minimum: minimumRows(rowLength: inner)) { range in
                for row in range { body(row, 0..<inner) }
            }
        }
    }
}

extension Tensor {
    /// Strides that read this tensor as if it had `target` shape (numpy broadcasting: dimensions aligned
    /// from the right, size-1 or missing dimensions repeated with stride 0).
    func broadcastStrides(to target: [Int]) -> [Int] {
        precondition(target.count >= rank, "cannot broadcast \(shape) to \(target)")
        let lead = target.count - rank
        return (0..<target.count).map { d in
            if d < lead { return 0 }
            let n = shape[d - lead]
            precondition(n == target[d] || n == 1, "cannot broadcast \(shape) to \(target)")
            return n == 1 ? 0 : strides[d - lead]
        }
    }

    /// A read-only view repeating size-1 dimensions to `target` (stride 0). Not recorded by autograd.
    func expandedView(to target: [Int]) -> Tensor {
        Tensor(storage: storage, shape: target, strides: broadcastStrides(to: target), offset: offset)
    }

    /// Copies `source` (same shape, any layout) into this tensor's elements (any layout).
    func copyStrided(from source: Tensor) {
        precondition(source.shape == shape, "copy of \(source.shape) into \(shape)")
        let loop = StridedLoop(shape: shape, strides: [strides, source.strides])
        let dst = storage.base + offset
        let src = UnsafePointer(source.storage.base + source.offset)
        let sd = loop.innerStrides[0], ss = loop.innerStrides[1]
        loop.forEachSegment { row, cols in
            let d = dst + loop.offset(row: row, operand: 0) + cols.lowerBound * sd
            let s = src + loop.offset(row: row, operand: 1) + cols.lowerBound * ss
            let n = cols.count
            if sd == 1 && ss == 1 {
                d.update(from: s, count: n)
            } else if ss == 0 {
                let v = s[0]
                for i in 0..<n { d[i * sd] = v }
            } else {
                for i in 0..<n { d[i * sd] = s[i * ss] }
            }
        }
    }

    /// A contiguous copy, never recorded by autograd.
    func contiguousCopy() -> Tensor {
        let out = Tensor(uninitialized: shape)
        out.copyStrided(from: self)
        return out
    }

    /// This tensor if contiguous, else a contiguous copy; never recorded (for kernels' inputs).
    var contiguousData: Tensor { isContiguous ? self : contiguousCopy() }
}
