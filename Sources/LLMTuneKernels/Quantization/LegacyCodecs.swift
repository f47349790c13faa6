// The 32-weight block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
// Reference: ggml/src/ggml-common.h (block_q4_0 ...) and ggml-quants.c dequantize_row_q4_0 ... q8_0.
// Weight j (0..<16) of a 4/5-bit block is the low nibble of qs[j], weight j + 16 its high nibble;
// the fifth bit of weight j is bit j of the 32-bit qh field.

/// Bit j of a 32-bit word, for lanes j = base ..< base + 16, moved to bit 4 (value 0 or 16), in 32-bit
/// lanes (one variable shift; measured faster than byte-lane and scalar bit-spreading variants).
@inline(__always)
private func fifthBits(_ qh: UInt32, base: Int32) -> SIMD16<Int32> {
    let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) &+ base
    return ((SIMD16<Int32>(repeating: Int32(bitPattern: qh)) &>> lanes) & 1) &<< 4
}

/// block_q4_0: fp16 d, 16 B nibbles. w = d * (q - 8).
enum Q4_0Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 18 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        let q = loadBytes16(p, 2)
        body(0, d * floats(q & 0x0F, minus: 8))
        body(16, d * floats(q &>> 4, minus: 8))
    }

    static var hasBlockDot: Bool { true }

    @inline(__always)
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        let q = loadBytes16(p, 2)
        let t = (floats(q & 0x0F, minus: 8) * loadFloats16(x)).addingProduct(floats(q &>> 4, minus: 8),
                                                                              loadFloats16(x + 16))
        acc = acc.addingProduct(SIMD16<Float>(repeating: loadHalf(p, 0)), t)
    }
}

/// block_q4_1: fp16 d, fp16 m, 16 B nibbles. w = d * q + m.
enum Q4_1Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 20 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        let m = SIMD16<Float>(repeating: loadHalf(p, 2))
        let q = loadBytes16(p, 4)
        body(0, d * floats(q & 0x0F) + m)
        body(16, d * floats(q &>> 4) + m)
    }

    static var hasBlockDot: Bool { true }

    @inline(__always)
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        let q = loadBytes16(p, 4)
        let t = (floats(q & 0x0F) * loadFloats16(x)).addingProduct(floats(q &>> 4), loadFloats16(x + 16))
        acc = acc.addingProduct(SIMD16<Float>(repeating: loadHalf(p, 0)), t)
        s = s + loadHalf(p, 2) * xsum[0]
    }
}

/// block_q5_0: fp16 d, 32-bit qh, 16 B nibbles. w = d * (q - 16).
enum Q5_0Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 22 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let q = loadBytes16(p, 6)
        body(0, d * floats((int32s(q & 0x0F) | fifthBits(qh, base: 0)) &- 16))
        body(16, d * floats((int32s(q &>> 4) | fifthBits(qh, base: 16)) &- 16))
    }

    static var hasBlockDot: Bool { true }

    @inline(__always)
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let q = loadBytes16(p, 6)
        let q0 = floats((int32s(q & 0x0F) | fifthBits(qh, base: 0)) &- 16)
        let q1 = floats((int32s(q &>> 4) | fifthBits(qh, base: 16)) &- 16)
        let t = (q0 * loadFloats16(x)).addingProduct(q1, loadFloats16(x + 16))
        acc = acc.addingProduct(SIMD16<Float>(repeating: loadHalf(p, 0)), t)
    }
}

/// block_q5_1: fp16 d, fp16 m, 32-bit qh, 16 B nibbles. w = d * q + m.
enum Q5_1Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 24 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        let m = SIMD16<Float>(repeating: loadHalf(p, 2))
        let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let q = loadBytes16(p, 8)
        body(0, d * floats(int32s(q & 0x0F) | fifthBits(qh, base: 0)) + m)
        body(16, d * floats(int32s(q &>> 4) | fifthBits(qh, base: 16)) + m)
    }

    static var hasBlockDot: Bool { true }

    @inline(__always)
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let q = loadBytes16(p, 8)
        let q0 = floats(int32s(q & 0x0F) | fifthBits(qh, base: 0))
        let q1 = floats(int32s(q &>> 4) | fifthBits(qh, base: 16))
        let t = (q0 * loadFloats16(x)).addingProduct(q1, loadFloats16(x + 16))
        acc = acc.addingProduct(SIMD16<Float>(repeating: loadHalf(p, 0)), t)
        s = s + loadHalf(p, 2) * xsum[0]
    }
}

/// block_q8_0: fp16 d, 32 int8. w = q * d.
enum Q8_0Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 34 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        let d = SIMD16<Float>(repeating: loadHalf(p, 0))
        body(0, floats(p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)) * d)
        body(16, floats(p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)) * d)
    }

    static var hasBlockDot: Bool { true }

    @inline(__always)
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        let q0 = floats(p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self))
        let q1 = floats(p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self))
        let t = (q0 * loadFloats16(x)).addingProduct(q1, loadFloats16(x + 16))
        acc = acc.addingProduct(SIMD16<Float>(repeating: loadHalf(p, 0)), t)
    }
}
