// Fused output projection + cross-entropy: loss = mean over kept rows of -log softmax(h Wᵀ)[target],
// computed `chunk` rows at a time so the (N, V) logits and their gradient never exist whole (the
// "chunked / fused linear cross-entropy" of Liger-Kernel and Apple's Cut Cross-Entropy, CPU version).
// Forward keeps one log-sum-exp per row; backward recomputes each chunk's logits, forms
// (softmax - onehot) · scale and accumulates dh = dLogits · W (and dW = dLogitsᵀ · h for a trainable
// dense W). Same numbers as crossEntropy(linear(h, W)) up to GEMM summation order.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMTuneKernels

extension Tensor {
    /// hidden (N, C), weight (V, C) and N targets -> scalar mean of -log softmax(hidden Wᵀ)[target] over
    /// targets that are not `ignoreIndex`, without materialising more than `chunk` rows of logits.
    /// Equals `linear(weight, bias: nil).crossEntropy(targets:ignoreIndex:)`. A quantized (or frozen dense)
    /// W gets no gradient; a dense W with `requiresGrad` does.
    public func linearCrossEntropy(weight: LinearWeight, targets: [Int], ignoreIndex: Int = -100,
                                   chunk: Int = 256) -> Tensor {
        precondition(rank == 2, "linearCrossEntropy expects hidden (N, C), got \(shape)")
        precondition(chunk > 0, "linearCrossEntropy: chunk must be positive, got \(chunk)")
        let N = shape[0], C = shape[1], V = weight.outFeatures
        precondition(weight.inFeatures == C, "linearCrossEntropy: hidden \(shape) for weight (\(V), \(weight.inFeatures))")
        precondition(targets.count == N, "linearCrossEntropy: \(targets.count) targets for \(N) rows")
        for t in targets where t != ignoreIndex {
            precondition(t >= 0 && t < V, "linearCrossEntropy: target \(t) outside 0..<\(V)")
        }
        var denseWeight: Tensor? = nil
        if case .dense(let w) = weight {
            precondition(w.rank == 2, "linearCrossEntropy weight must be (V, C), got \(w.shape)")
            denseWeight = w
        }
        let used = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        let h = contiguousData                              // (N, C)
        let hp = UnsafePointer(h.pointer)
        let lse = Tensor(uninitialized: [N])                // (N)
        let losses = Tensor(zeros: [N])                     // (N)
        let lp = lse.pointer, np = losses.pointer
        let rowsPerChunk = Swift.min(chunk, Swift.max(1, N))

        /// zp[0..<n, :] = h[r0..<r0+n] Wᵀ   // (n, V)
        func projectChunk(_ r0: Int, _ n: Int, into zp: UnsafeMutablePointer<Float>) {
            switch weight {
            case .dense(let w):
                let hv = MatrixView(base: hp + r0 * C, rows: n, columns: C, rowStride: C, columnStride: 1)
                gemm(hv, w.matrixView(batch: 0).transposed, into: zp, ldc: V)
            case .quantized(let q):
                q.matmul(hp + r0 * C, rows: n, into: zp)
            }
        }

        let logits = Tensor(uninitialized: [rowsPerChunk, V])   // (chunk, V), reused per chunk
        let zp = logits.pointer
        targets.withUnsafeBufferPointer { tp in
            var r0 = 0
            while r0 < N {
                let n = Swift.min(rowsPerChunk, N - r0)
                projectChunk(r0, n, into: zp)
                Parallel.forRanges(n, minimum: minimumRows(rowLength: V)) { rows in
                    for i in rows where tp[r0 + i] != ignoreIndex {
                        let row = UnsafePointer(zp + i * V)
                        let m = rowMax(row, V)
                        lp[r0 + i] = m + logf(expSum(row, V, shift: m))
                        np[r0 + i] = lp[r0 + i] - row[tp[r0 + i]]
                    }
                }
                r0 += n
            }
        }
        var total = 0.0
        for r in 0..<N { total += Double(np[r]) }
        let out = Tensor.scalar(used == 0 ? 0 : Float(total / Double(used)))

        var inputs: [Tensor] = [self]
        if let w = denseWeight { inputs.append(w) }
        if Autograd.records(inputs) {
            let x = self
            out.record("linearCrossEntropy", inputs) { g in
                let scale = used == 0 ? 0 : g.item() / Float(used)
                let dh: Tensor? = x.requiresGrad ? Tensor(uninitialized: [N, C]) : nil   // (N, C)
                let dw: Tensor? = (denseWeight?.requiresGrad ?? false) ? Tensor(zeros: [V, C]) : nil   // (V, C)
                let dLogits = Tensor(uninitialized: [rowsPerChunk, V])   // (chunk, V), reused per chunk
                let zp = dLogits.pointer
                targets.withUnsafeBufferPointer { tp in
                    var r0 = 0
                    while r0 < N {
                        let n = Swift.min(rowsPerChunk, N - r0)
                        projectChunk(r0, n, into: zp)
                        // logits chunk -> dLogits in place: scale * exp(z - lse), minus scale at the target.
                        Parallel.forRanges(n, minimum: minimumRows(rowLength: V)) { rows in
                            for i in rows {
                                let d = zp + i * V
                                let t = tp[r0 + i]
                                if t == ignoreIndex {
                                    d.update(repeating: 0, count: V)
                                    continue
                                }
                                let l = lp[r0 + i]
                                let lv = Vec16(repeating: l), sv = Vec16(repeating: scale)
                                var j = 0
                                while j + 16 <= V { store16(d + j, exp16(load16(d + j) - lv) * sv); j += 16 }
                                while j < V { d[j] = expf(d[j] - l) * scale; j += 1 }
                                d[t] -= scale
                            }
                        }
                        let dv = MatrixView(base: zp, rows: n, columns: V, rowStride: V, columnStride: 1)
                        if let dh {
                            switch weight {
                            case .dense(let w): gemm(dv, w.matrixView(batch: 0), into: dh.pointer + r0 * C, ldc: C)
                            case .quantized(let q): q.matmulTransposed(zp, rows: n, into: dh.pointer + r0 * C)
                            }
                        }
                        if let dw {
                            let hv = MatrixView(base: hp + r0 * C, rows: n, columns: C, rowStride: C, columnStride: 1)
                            gemm(dv.transposed, hv, into: dw.pointer, ldc: C, beta: 1)   // (V, C) += dᵀ h
                        }
                        r0 += n
                    }
                }
                withExtendedLifetime((h, lse, dLogits)) {}
                var grads: [Tensor?] = [dh]
                if denseWeight != nil { grads.append(dw) }
                return grads
            }
        }
        withExtendedLifetime((h, logits)) {}
        return out
    }
}
