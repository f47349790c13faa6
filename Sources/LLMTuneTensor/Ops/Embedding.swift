// Embedding lookup: rows of a (V, D) table gathered by token id. Quantized tables are dequantized row by
// row (QuantizedMatrix.dequantizeRows); a dense table that requires gradients gets a scatter-add gradient.

import LLMTuneKernels

extension Tensor {
    /// Rows `ids` of `table` (V, D), shaped (shape..., D). `ids.count` must equal the product of `shape`
    /// and every id must lie in 0..<V (callers validate user data first).
    public static func embedding(_ table: LinearWeight, ids: [Int], shape: [Int]) -> Tensor {
        let V = table.outFeatures, D = table.inFeatures
        precondition(ids.count == shape.reduce(1, *), "embedding: \(ids.count) ids for shape \(shape)")
        for id in ids { precondition(id >= 0 && id < V, "embedding: id \(id) outside vocabulary of \(V)") }
        let out = Tensor(uninitialized: shape + [D])   // (shape..., D)
        let o = out.pointer
        switch table {
        case .dense(let w):
            precondition(w.rank == 2, "embedding table must be (V, D), got \(w.shape)")
            let base = UnsafePointer(w.storage.base + w.offset)
            let rowStride = w.strides[0], columnStride = w.strides[1]
            ids.withUnsafeBufferPointer { idp in
                Parallel.forRanges(ids.count, minimum: minimumRows(rowLength: D)) { range in
                    for i in range {
                        let row = base + idp[i] * rowStride
                        if columnStride == 1 {
                            (o + i * D).update(from: row, count: D)
                        } else {
                            for j in 0..<D { o[i * D + j] = row[j * columnStride] }
                        }
                    }
                }
            }
        case .quantized(let q):
            ids.withUnsafeBufferPointer { idp in
                Parallel.forRanges(ids.count, minimum: minimumRows(rowLength: D)) { range in
                    for i in range { q.dequantizeRows(idp[i]..<(idp[i] + 1), into: o + i * D) }
                }
            }
        }
        if case .dense(let w) = table, Autograd.records(w) {
            out.record("embedding", [w]) { g in
                let g = g.contiguousData
                let dw = Tensor(zeros: [V, D])   // (V, D)
                let gp = UnsafePointer(g.pointer), dp = dw.pointer
                // Serial scatter-add: repeated ids must not race.
                for (i, id) in ids.enumerated() { axpy(1, gp + i * D, dp + id * D, D) }
                return [dw]
            }
        }
        return out
    }

}
