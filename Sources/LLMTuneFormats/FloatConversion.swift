// Widening of stored floating-point tensors (f32, IEEE f16, bfloat16) to fp32 arrays, reading the
// source with unaligned loads so that any byte position in a mapped file is safe.

/// The floating-point encodings that the format readers widen to fp32 themselves.
enum FloatEncoding {
    case f32, f16, bf16

    var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// `count` values of `encoding` starting at `source`, as fp32.
func widenToFloats(_ source: UnsafeRawPointer, count: Int, encoding: FloatEncoding) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { out, initialized in
        guard let o = out.baseAddress else { initialized = 0; return }
        switch encoding {
        case .f32:
            UnsafeMutableRawPointer(o).copyMemory(from: source, byteCount: count * 4)
        case .f16:
            for i in 0..<count {
                o[i] = floatFromHalf(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case .bf16:
            for i in 0..<count {
                o[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        }
        initialized = count
    }
}

/// IEEE 754 binary16 bits to Float (exact).
@inline(__always)
func floatFromHalf(_ bits: UInt16) -> Float {
    #if os(macOS) && arch(x86_64)
    // Float16 is unavailable here: decode by hand.
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = Int(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
    if exponent == 0 {
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    }
    return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
    #else
    return Float(Float16(bitPattern: bits))
    #endif
}
