// Per-row kernels generic over the block codec: dequantize a row, dot a row with 1, 2 or 4 activation
// rows (the fused decode path), and accumulate a scaled row into gradient rows (the fused transposed path).
// Each is @inline(__always) so that the drivers specialise it per codec into one straight SIMD loop.
// The plain reference for all of them is `dequantizeRow` followed by GEMM.sgemmReference.

enum RowKernels {
    /// out[0 ..< columns] = the decoded row at `w`.
    @inline(__always)
    static func dequantizeRow<C: BlockCodec>(_ codec: C.Type, _ w: UnsafeRawPointer, columns: Int,
                                             _ out: UnsafeMutablePointer<Float>) {
        let nb = columns / C.elements
        var p = w
        var o = out
        for _ in 0..<nb {
            C.decode(p) { off, v in storeFloats16(v, o + off) }
            p += C.bytes
            o += C.elements
        }
        for i in 0..<(columns - nb * C.elements) { o[i] = C.element(p, i) }
    }

    /// sums[k] = Σ x[32k ..< 32k + 32] for k < columns / 32 (the `xsum` of `BlockCodec.blockDot`).
    @inline(__always)
    static func blockSums(_ x: UnsafePointer<Float>, columns: Int, _ sums: UnsafeMutablePointer<Float>) {
        for k in 0..<(columns / 32) {
            sums[k] = horizontalSum(loadFloats16(x + 32 * k) + loadFloats16(x + 32 * k + 16))
        }
    }

    /// The dot product of the row at `w` with x[0 ..< columns]; `xsum` from `blockSums(x)` when the
    /// codec `hasBlockDot`.
    @inline(__always)
    static func dot1<C: BlockCodec>(_ codec: C.Type, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>,
                                    xsum: UnsafePointer<Float>, columns: Int) -> Float {
        let nb = columns / C.elements
        if C.hasBlockDot {
            // Two blocks per step into independent accumulators, to hide the FMA latency.
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
            var s0: Float = 0, s1: Float = 0
            let E = C.elements, G = C.elements / 32
            var b = 0
            while b + 2 <= nb {
                C.blockDot(w + b * C.bytes, x + b * E, xsum + b * G, &a0, &s0)
                C.blockDot(w + (b + 1) * C.bytes, x + (b + 1) * E, xsum + (b + 1) * G, &a1, &s1)
                b += 2
            }
            if b < nb { C.blockDot(w + b * C.bytes, x + b * E, xsum + b * G, &a0, &s0) }
            return horizontalSum(a0 + a1) + (s0 + s1)
        }
        // Four independent accumulators (by run index mod 4) hide the FMA latency.
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var p = w
        var xp = x
        for _ in 0..<nb {
            C.decode(p) { off, v in
                let xv = loadFloats16(xp + off)
                switch off & 48 {
                case 0: a0 = a0.addingProduct(v, xv)
                case 16: a1 = a1.addingProduct(v, xv)
                case 32: a2 = a2.addingProduct(v, xv)
                default: a3 = a3.addingProduct(v, xv)
                }
            }
            p += C.bytes
            xp += C.elements
        }
        var s = horizontalSum((a0 + a1) + (a2 + a3))
        for i in 0..<(columns - nb * C.elements) { s += C.element(p, i) * xp[i] }
        return s
    }

    /// The dot products of the row at `w` with rows x0 and x1.
    @inline(__always)
    static func dot2<C: BlockCodec>(_ codec: C.Type, _ w: UnsafeRawPointer,
                                    _ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>,
                                    columns: Int) -> (Float, Float) {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), b0 = SIMD16<Float>(), b1 = SIMD16<Float>()
        let nb = columns / C.elements
        var p = w
        var j = 0
        for _ in 0..<nb {
            C.decode(p) { off, v in
                if off & 16 == 0 {
                    a0 = a0.addingProduct(v, loadFloats16(x0 + j + off))
                    b0 = b0.addingProduct(v, loadFloats16(x1 + j + off))
                } else {
                    a1 = a1.addingProduct(v, loadFloats16(x0 + j + off))
                    b1 = b1.addingProduct(v, loadFloats16(x1 + j + off))
                }
            }
            p += C.bytes
            j += C.elements
        }
        var s0 = horizontalSum(a0 + a1), s1 = horizontalSum(b0 + b1)
        for i in 0..<(columns - j) {
            let v = C.element(p, i)
            s0 += v * x0[j + i]
            s1 += v * x1[j + i]
        }
        return (s0, s1)
    }

    /// The dot products of the row at `w` with rows x[0], x[ldx], x[2 ldx], x[3 ldx].
    @inline(__always)
    static func dot4<C: BlockCodec>(_ codec: C.Type, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>,
                                    ldx: Int, columns: Int) -> SIMD4<Float> {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        let x0 = x, x1 = x + ldx, x2 = x + 2 * ldx, x3 = x + 3 * ldx
        let nb = columns / C.elements
        var p = w
        var j = 0
        for _ in 0..<nb {
            C.decode(p) { off, v in
                a0 = a0.addingProduct(v, loadFloats16(x0 + j + off))
                a1 = a1.addingProduct(v, loadFloats16(x1 + j + off))
                a2 = a2.addingProduct(v, loadFloats16(x2 + j + off))
                a3 = a3.addingProduct(v, loadFloats16(x3 + j + off))
            }
            p += C.bytes
            j += C.elements
        }
        var s = SIMD4<Float>(horizontalSum(a0), horizontalSum(a1), horizontalSum(a2), horizontalSum(a3))
        for i in 0..<(columns - j) {
            let v = C.element(p, i)
            s += v * SIMD4<Float>(x0[j + i], x1[j + i], x2[j + i], x3[j + i])
        }
        return s
    }

    /// For i in 0 ..< m: dx[i * ldd + c] += g[i * ldg] * W[c] for the columns c of blocks `blocks`
    /// of the row at `w` (a partial last block included when `blocks` reaches past the whole ones).
    @inline(__always)
    static func accumulate<C: BlockCodec>(_ codec: C.Type, _ w: UnsafeRawPointer, columns: Int,
                                          blocks: Range<Int>, m: Int,
                                          _ g: UnsafePointer<Float>, ldg: Int,
                                          _ dx: UnsafeMutablePointer<Float>, ldd: Int) {
        let nb = columns / C.elements
        if m == 1 {
            // The decode case: one coefficient, hoisted.
            let g0 = SIMD16<Float>(repeating: g[0])
            for b in blocks.lowerBound..<min(blocks.upperBound, nb) {
                let o = dx + b * C.elements
                C.decode(w + b * C.bytes) { off, v in
                    storeFloats16(loadFloats16(o + off).addingProduct(g0, v), o + off)
                }
            }
        } else {
            for b in blocks.lowerBound..<min(blocks.upperBound, nb) {
                let c0 = b * C.elements
                C.decode(w + b * C.bytes) { off, v in
                    for i in 0..<m {
                        let o = dx + i * ldd + c0 + off
                        storeFloats16(loadFloats16(o).addingProduct(SIMD16<Float>(repeating: g[i * ldg]), v), o)
                    }
                }
            }
        }
        if blocks.upperBound > nb {
            let p = w + nb * C.bytes
            let c0 = nb * C.elements
            for k in 0..<(columns - c0) {
                let v = C.element(p, k)
                for i in 0..<m { dx[i * ldd + c0 + k] += g[i * ldg] * v }
            }
        }
    }
}
