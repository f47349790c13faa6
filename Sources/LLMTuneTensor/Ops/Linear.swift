// Linear layers y = x Wᵀ + b over a dense (trainable or frozen) weight, or over a frozen weight kept in
// its quantized GGUF encoding (QuantizedMatrix). Quantized weights never get a gradient: backward only
// computes dx = dy W with QuantizedMatrix.matmulTransposed (see shared/NOTES.md, LoRA gradients).

import LLMTuneKernels

/// The weight of a linear layer, shape (outFeatures, inFeatures).
public enum LinearWeight {
    /// A float tensor (out, in); trained when it has `requiresGrad`.
    case dense(Tensor)
    /// A frozen matrix in a GGML encoding, rows = out, columns = in.
    case quantized(QuantizedMatrix)

    /// Output features (rows).
    public var outFeatures: Int {
        switch self {
        case .dense(let w): return w.shape[0]
        case .quantized(let q): return q.rows
        }
    }

    /// Input features (columns).
    public var inFeatures: Int {
        switch self {
        case .dense(let w): return w.shape[1]
        case .quantized(let q): return q.columns
        }
    }
}

extension Tensor {
    /// x (..., in) -> (..., out): x Wᵀ + bias. Dense weights get dW = dyᵀ x when they require gradients.
    public func linear(_ weight: LinearWeight, bias: Tensor?) -> Tensor {
        if case .dense(let w) = weight {
            precondition(w.rank == 2, "linear weight must be (out, in), got \(w.shape)")
        }
        let inF = weight.inFeatures, outF = weight.outFeatures
        precondition(rank >= 1 && shape[rank - 1] == inF, "linear: input \(shape) for weight (\(outF), \(inF))")
        if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) for \(outF) outputs") }
        let rowsShape = Array(shape.dropLast())
        let rows = rowsShape.reduce(1, *)
        let out = Tensor(uninitialized: rowsShape + [outF])   // (..., out)
        switch weight {
        case .dense(let w):
            let (xv, keep) = foldedMatrix()
            gemm(xv, w.matrixView(batch: 0).transposed, into: out.pointer, ldc: outF)
            withExtendedLifetime(keep) {}
        case .quantized(let q):
            let x = contiguousData
            q.matmul(x.pointer, rows: rows, into: out.pointer)
        }
        if let bias { addRowVector(out.pointer, rows: rows, bias.contiguousData.pointer, columns: outF) }

        var inputs: [Tensor] = [self]
        var denseWeight: Tensor? = nil
        if case .dense(let w) = weight { denseWeight = w; inputs.append(w) }
        if let bias { inputs.append(bias) }
        if Autograd.records(inputs) {
            // The input's data is kept only when a weight gradient needs it.
            let x: SavedActivation? = (denseWeight?.requiresGrad ?? false) ? SavedActivation(self) : nil
            let (xShape, xGrad) = (shape, requiresGrad)
            out.record("linear", inputs) { g in
                let g = g.contiguousData
                let gv = g.foldedMatrixView()!                       // (rows, out)
                var grads: [Tensor?] = []
                if xGrad {
                    let dx = Tensor(uninitialized: xShape)            // (..., in)
                    switch weight {
                    case .dense(let w): gemm(gv, w.matrixView(batch: 0), into: dx.pointer, ldc: inF)
                    case .quantized(let q): q.matmulTransposed(g.pointer, rows: rows, into: dx.pointer)
                    }
                    grads.append(dx)
                } else {
                    grads.append(nil)
                }
                if denseWeight != nil {
                    if let x {
                        let dw = Tensor(uninitialized: [outF, inF])   // (out, in) = dyᵀ x
                        let (xv, keep) = x.value().foldedMatrix()
                        gemm(gv.transposed, xv, into: dw.pointer, ldc: inF)
                        withExtendedLifetime(keep) {}
                        grads.append(dw)
                    } else {
                        grads.append(nil)
                    }
                }
                if let bias {
                    grads.append(bias.requiresGrad ? g.reshaped([rows, outF]).reduceSum(toKeptShape: [1, outF]).reshaped([outF]) : nil)
                }
                return grads
            }
        }
        return out
    }
}

/// out[r, :] += v for every row r of a (rows, columns) row-major matrix.
func addRowVector(_ out: UnsafeMutablePointer<Float>, rows: Int, _ v: UnsafePointer<Float>, columns: Int) {
    Parallel.forRanges(rows, minimum: minimumRows(rowLength: columns)) { range in
        for r in range { axpy(1, v, out + r * columns, columns) }
    }
}
