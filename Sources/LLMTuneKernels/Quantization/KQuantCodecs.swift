// The 256-weight "k-quant" super-blocks Q4_K, Q5_K, Q6_K.
// Reference: ggml/src/ggml-common.h (block_q4_K, block_q5_K, block_q6_K) and ggml-quants.c
// dequantize_row_q4_K / q5_K / q6_K, get_scale_min_k4.

/// The 6-bit scale and min of sub-block j (0..<8) packed in the 12 scale bytes at `s` (get_scale_min_k4).
@inline(__always)
private func scaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
    @inline(__always) func b(_ i: Int) -> UInt8 { s.load(fromByteOffset: i, as: UInt8.self) }
    if j < 4 {
        return (Float(b(j) & 63), Float(b(j + 4) & 63))
    }
    let sc = (b(j + 4) & 0x0F) | ((b(j - 4) >> 6) << 4)
    let m = (b(j + 4) >> 4) | ((b(j) >> 6) << 4)
    return (Float(sc), Float(m))
}

/// block_q4_K: fp16 d, fp16 dmin, 12 B packed scales/mins, 128 B nibbles. Eight sub-blocks of 32:
/// sub-block 2g holds the low nibbles of bytes 32g..<32g+32, sub-block 2g+1 their high nibbles.
/// w = (d * scale) * q - (dmin * min).
enum Q4_KCodec: BlockCodec {
    static var elements: Int { 256 }
    static var bytes: Int { 144 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = loadHalf(p, 0)
        let dmin = loadHalf(p, 2)
        let s = p + 4
        for g in 0..<4 {
            let (sc0, m0) = scaleMin(s, 2 * g)
            let (sc1, m1) = scaleMin(s, 2 * g + 1)
            let d0 = SIMD16<Float>(repeating: d * sc0), n0 = SIMD16<Float>(repeating: dmin * m0)
            let d1 = SIMD16<Float>(repeating: d * sc1), n1 = SIMD16<Float>(repeating: dmin * m1)
            let a = loadBytes16(p, 16 + 32 * g)
            let b = loadBytes16(p, 32 + 32 * g)
            body(64 * g, d0 * floats(a & 0x0F) - n0)
            body(64 * g + 16, d0 * floats(b & 0x0F) - n0)
            body(64 * g + 32, d1 * floats(a &>> 4) - n1)
            body(64 * g + 48, d1 * floats(b &>> 4) - n1)
        }
    }

    static var hasBlockDot: Bool { true }

    @inline(__always)
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        let d = loadHalf(p, 0)
        let dmin = loadHalf(p, 2)
        let sc = p + 4
        var mins: Float = 0
        for g in 0..<4 {
            let (sc0, m0) = scaleMin(sc, 2 * g)
            let (sc1, m1) = scaleMin(sc, 2 * g + 1)
            let a = loadBytes16(p, 16 + 32 * g)
            let b = loadBytes16(p, 32 + 32 * g)
            let xg = x + 64 * g
            let t0 = (floats(a & 0x0F) * loadFloats16(xg)).addingProduct(floats(b & 0x0F), loadFloats16(xg + 16))
            let t1 = (floats(a &>> 4) * loadFloats16(xg + 32)).addingProduct(floats(b &>> 4), loadFloats16(xg + 48))
            acc = acc.addingProduct(SIMD16<Float>(repeating: d * sc0), t0)
            acc = acc.addingProduct(SIMD16<Float>(repeating: d * sc1), t1)
            mins = mins + (m0 * xsum[2 * g] + m1 * xsum[2 * g + 1])
        }
        s = s - dmin * mins
    }
}

/// block_q5_K: fp16 d, fp16 dmin, 12 B packed scales/mins, 32 B high bits, 128 B nibbles.
/// As Q4_K, plus bit i of qh[l] as the fifth bit of weight l of sub-block i.
enum Q5_KCodec: BlockCodec {
    static var elements: Int { 256 }
    static var bytes: Int { 176 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = loadHalf(p, 0)
        let dmin = loadHalf(p, 2)
        let s = p + 4
        let h0 = loadBytes16(p, 16)
        let h1 = loadBytes16(p, 32)
        for g in 0..<4 {
            let (sc0, m0) = scaleMin(s, 2 * g)
            let (sc1, m1) = scaleMin(s, 2 * g + 1)
            let d0 = SIMD16<Float>(repeating: d * sc0), n0 = SIMD16<Float>(repeating: dmin * m0)
            let d1 = SIMD16<Float>(repeating: d * sc1), n1 = SIMD16<Float>(repeating: dmin * m1)
            let a = loadBytes16(p, 48 + 32 * g)
            let b = loadBytes16(p, 64 + 32 * g)
            let i0 = UInt8(2 * g), i1 = UInt8(2 * g + 1)
            body(64 * g, d0 * floats((a & 0x0F) | (((h0 &>> i0) & 1) &<< 4)) - n0)
            body(64 * g + 16, d0 * floats((b & 0x0F) | (((h1 &>> i0) & 1) &<< 4)) - n0)
            body(64 * g + 32, d1 * floats((a &>> 4) | (((h0 &>> i1) & 1) &<< 4)) - n1)
            body(64 * g + 48, d1 * floats((b &>> 4) | (((h1 &>> i1) & 1) &<< 4)) - n1)
        }
    }

    static var hasBlockDot: Bool { true }

    @inline(__always)
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        let d = loadHalf(p, 0)
        let dmin = loadHalf(p, 2)
        let sc = p + 4
        let h0 = loadBytes16(p, 16)
        let h1 = loadBytes16(p, 32)
        var mins: Float = 0
        for g in 0..<4 {
            let (sc0, m0) = scaleMin(sc, 2 * g)
            let (sc1, m1) = scaleMin(sc, 2 * g + 1)
            let a = loadBytes16(p, 48 + 32 * g)
            let b = loadBytes16(p, 64 + 32 * g)
            let i0 = UInt8(2 * g), i1 = UInt8(2 * g + 1)
            let xg = x + 64 * g
            let q00 = floats((a & 0x0F) | (((h0 &>> i0) & 1) &<< 4))
            let q01 = floats((b & 0x0F) | (((h1 &>> i0) & 1) &<< 4))
            let q10 = floats((a &>> 4) | (((h0 &>> i1) & 1) &<< 4))
            let q11 = floats((b &>> 4) | (((h1 &>> i1) & 1) &<< 4))
            let t0 = (q00 * loadFloats16(xg)).addingProduct(q01, loadFloats16(xg + 16))
            let t1 = (q10 * loadFloats16(xg + 32)).addingProduct(q11, loadFloats16(xg + 48))
            acc = acc.addingProduct(SIMD16<Float>(repeating: d * sc0), t0)
            acc = acc.addingProduct(SIMD16<Float>(repeating: d * sc1), t1)
            mins = mins + (m0 * xsum[2 * g] + m1 * xsum[2 * g + 1])
        }
        s = s - dmin * mins
    }
}

/// block_q6_K: 128 B low nibbles, 64 B high 2-bit pairs, 16 int8 scales, fp16 d (at byte 208).
/// Two halves of 128 weights; in half h, weight 32k + l (k < 4, l < 32) is the low (k < 2) or high
/// (k >= 2) nibble of ql[64h + 32(k % 2) + l], topped with bits 2k, 2k+1 of qh[32h + l]. Each run of
/// 16 weights c has its own scale: w = (d * scale[c]) * (q - 32).
enum Q6_KCodec: BlockCodec {
    static var elements: Int { 256 }
    static var bytes: Int { 210 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = loadHalf(p, 208)
        @inline(__always) func scale(_ c: Int) -> SIMD16<Float> {
            SIMD16<Float>(repeating: d * Float(p.load(fromByteOffset: 192 + c, as: Int8.self)))
        }
        for h in 0..<2 {
            let l0 = loadBytes16(p, 64 * h), l1 = loadBytes16(p, 64 * h + 16)
            let l2 = loadBytes16(p, 64 * h + 32), l3 = loadBytes16(p, 64 * h + 48)
            let q0 = loadBytes16(p, 128 + 32 * h), q1 = loadBytes16(p, 128 + 32 * h + 16)
            let c = 8 * h, o = 128 * h
            body(o, scale(c) * floats((l0 & 0x0F) | ((q0 & 3) &<< 4), minus: 32))
            body(o + 16, scale(c + 1) * floats((l1 & 0x0F) | ((q1 & 3) &<< 4), minus: 32))
            body(o + 32, scale(c + 2) * floats((l2 & 0x0F) | (((q0 &>> 2) & 3) &<< 4), minus: 32))
            body(o + 48, scale(c + 3) * floats((l3 & 0x0F) | (((q1 &>> 2) & 3) &<< 4), minus: 32))
            body(o + 64, scale(c + 4) * floats((l0 &>> 4) | (((q0 &>> 4) & 3) &<< 4), minus: 32))
            body(o + 80, scale(c + 5) * floats((l1 &>> 4) | (((q1 &>> 4) & 3) &<< 4), minus: 32))
            body(o + 96, scale(c + 6) * floats((l2 &>> 4) | ((q0 &>> 6) &<< 4), minus: 32))
            body(o + 112, scale(c + 7) * floats((l3 &>> 4) | ((q1 &>> 6) &<< 4), minus: 32))
        }
    }
}
