// The decoding interface shared by every GGML encoding, and the SIMD helpers its codecs use.
// A codec turns one block (32 or 256 quantized weights, or 32 plain floats) into runs of 16 fp32 weights
// with exactly ggml's arithmetic (ggml-quants.c dequantize_row_*), so that a decoded row is bitwise equal
// to ggml's and to the `gguf` package's. The kernels (dequantize, fused matmul) are generic over the codec
// and are specialised per type, so the per-run closure inlines into a straight SIMD loop.

/// One GGML block encoding, decoded 16 weights at a time in fp32.
protocol BlockCodec {
    /// Weights in one block: 32 or 256 for quantized blocks, 32 for plain float rows.
    static var elements: Int { get }
    /// Bytes of one block.
    static var bytes: Int { get }
    /// Calls `body(offset, w)` for each run of 16 weights of the block at `p`; offset = 0, 16, ... < elements.
    static func decode(_ p: UnsafeRawPointer, _ body: (Int, SIMD16<Float>) -> Void)
    /// Weight `i` of a partial block at `p` (plain float rows only, whose length need not be a multiple of 32).
    static func element(_ p: UnsafeRawPointer, _ i: Int) -> Float

    /// Whether the codec has a factored `blockDot` (faster than decoding for a single activation row).
    static var hasBlockDot: Bool { get }
    /// Adds the dot product of the block at `p` with x[0 ..< elements] to `acc` (whose lanes sum to it) and
    /// `s`, with the scales factored out of the inner products: Σ (d q + m) x = d Σ q x + m Σ x.
    /// `xsum[k]` is Σ x[32k ..< 32k + 32]. Rounding differs from decode-then-dot (not bitwise ggml).
    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float)
}

extension BlockCodec {
    static func element(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        preconditionFailure("quantized rows hold whole blocks")
    }

    static var hasBlockDot: Bool { false }

    static func blockDot(_ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                         _ acc: inout SIMD16<Float>, _ s: inout Float) {
        preconditionFailure("no factored dot")
    }
}

/// A computation generic over the codec, run for a runtime `GGMLType` by `withCodec`.
protocol CodecVisitor {
    associatedtype Result
    func visit<C: BlockCodec>(_ codec: C.Type) -> Result
}

/// Runs `visitor` with the codec of `type` (one of the supported weight types).
@inline(__always)
func withCodec<V: CodecVisitor>(_ type: GGMLType, _ visitor: V) -> V.Result {
    switch type {
    case .f32: return visitor.visit(F32Codec.self)
    case .f16: return visitor.visit(F16Codec.self)
    case .bf16: return visitor.visit(BF16Codec.self)
    case .q4_0: return visitor.visit(Q4_0Codec.self)
    case .q4_1: return visitor.visit(Q4_1Codec.self)
    case .q5_0: return visitor.visit(Q5_0Codec.self)
    case .q5_1: return visitor.visit(Q5_1Codec.self)
    case .q8_0: return visitor.visit(Q8_0Codec.self)
    case .q4_K: return visitor.visit(Q4_KCodec.self)
    case .q5_K: return visitor.visit(Q5_KCodec.self)
    case .q6_K: return visitor.visit(Q6_KCodec.self)
    default: preconditionFailure("no codec for \(type)")
    }
}

// MARK: - SIMD helpers

/// The fp16 value stored little-endian at `p + offset`, widened exactly to fp32.
@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// 16 bytes at `p + offset`.
@inline(__always)
func loadBytes16(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<UInt8> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
}

/// 16 floats at `p` (no alignment needed).
@inline(__always)
func loadFloats16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func storeFloats16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

// The conversions below are written lane by lane on purpose: the standard library's generic SIMD
// conversion initialisers are not inlined into the kernels (each becomes a call that spills every
// accumulator), while these loops become single vpmovzxbd / vcvtdq2ps / vcvtph2ps instructions.

/// Unsigned bytes to exact floats.
@inline(__always)
func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

/// Unsigned bytes minus `bias`, as exact floats (ggml's `(q & 0xF) - 8` style offsets).
@inline(__always)
func floats(_ v: SIMD16<UInt8>, minus bias: Int32) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(Int32(v[i]) &- bias) }
    return r
}

/// Unsigned bytes widened to 32-bit lanes.
@inline(__always)
func int32s(_ v: SIMD16<UInt8>) -> SIMD16<Int32> {
    var r = SIMD16<Int32>()
    for i in 0..<16 { r[i] = Int32(v[i]) }
    return r
}

/// 32-bit integers to floats (exact below 2^24).
@inline(__always)
func floats(_ v: SIMD16<Int32>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

/// Signed bytes to exact floats.
@inline(__always)
func floats(_ v: SIMD16<Int8>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

/// fp16 lanes widened exactly to fp32.
@inline(__always)
func floats(_ v: SIMD16<Float16>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

/// bf16 bit patterns widened exactly to fp32 (the high half of an fp32).
@inline(__always)
func floats(bfloat16 v: SIMD16<UInt16>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(bitPattern: UInt32(v[i]) << 16) }
    return r
}

/// Sum of the lanes by a balanced tree (faster than `sum()`, which adds lane after lane).
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}
