// Plain float rows (F32, F16, BF16) seen as 32-weight "blocks", so the quantized kernels serve them too;
// a row whose length is not a multiple of 32 ends in a partial block read weight by weight (`element`).
// References: ggml.c ggml_fp16_to_fp32 / ggml-impl.h ggml_compute_bf16_to_fp32 (bf16 = high half of fp32).

enum F32Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 128 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        body(0, p.loadUnaligned(as: SIMD16<Float>.self))
        body(16, p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
    }

    @inline(__always)
    static func element(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        p.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
    }
}

enum F16Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 64 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        body(0, floats(p.loadUnaligned(as: SIMD16<Float16>.self)))
        body(16, floats(p.loadUnaligned(fromByteOffset: 32, as: SIMD16<Float16>.self)))
    }

    @inline(__always)
    static func element(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        loadHalf(p, 2 * i)
    }
}

enum BF16Codec: BlockCodec {
    static var elements: Int { 32 }
    static var bytes: Int { 64 }

    @inline(__always)
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void) {
        body(0, floats(bfloat16: p.loadUnaligned(as: SIMD16<UInt16>.self)))
        body(16, floats(bfloat16: p.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt16>.self)))
    }

    @inline(__always)
    static func element(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
    }
}
