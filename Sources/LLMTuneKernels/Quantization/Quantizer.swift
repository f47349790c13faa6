// Encoders from fp32 to GGML encodings, for the GGUF writer and model export.
// Reference: ggml/src/ggml-quants.c quantize_row_q4_0_ref / q4_1_ref / q8_0_ref, ggml-impl.h
// ggml_compute_fp32_to_bf16, and fp32 -> fp16 round-to-nearest-even (F16C). The `gguf` package's
// gguf.quants.quantize produces the same bytes (see QuantizationQuantizerTests).

/// Writes fp32 rows in a GGML encoding.
public enum Quantizer {
    /// Whether `quantizeRow` can write `type`.
    public static func canQuantize(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1: return true
        default: return false
        }
    }

    /// Encodes `count` floats from `src` as `type` into `type.byteCount(elements: count)` bytes at `into`.
    /// `type` must satisfy `canQuantize` and `count` must be a whole number of blocks (programmer errors).
    public static func quantizeRow(_ type: GGMLType, _ src: UnsafePointer<Float>, count: Int,
                                   into dst: UnsafeMutableRawPointer) {
        precondition(canQuantize(type), "no encoder for \(type)")
        precondition(count >= 0 && count % type.blockSize == 0,
                     "\(count) values is not a whole number of \(type) blocks of \(type.blockSize)")
        switch type {
        case .f32:
            dst.copyMemory(from: src, byteCount: 4 * count)
        case .f16:
            for i in 0..<count {
                dst.storeBytes(of: Float16(src[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
            }
        case .bf16:
            for i in 0..<count {
                dst.storeBytes(of: bfloat16Bits(src[i]), toByteOffset: 2 * i, as: UInt16.self)
            }
        case .q8_0:
            for b in 0..<(count / 32) { quantizeQ8_0(src + 32 * b, dst + 34 * b) }
        case .q4_0:
            for b in 0..<(count / 32) { quantizeQ4_0(src + 32 * b, dst + 18 * b) }
        case .q4_1:
            for b in 0..<(count / 32) { quantizeQ4_1(src + 32 * b, dst + 20 * b) }
        default:
            preconditionFailure("no encoder for \(type)")
        }
    }

    /// ggml_compute_fp32_to_bf16: round to nearest even; NaN stays a (quiet) NaN.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if u & 0x7fff_ffff > 0x7f80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 64 }
        return UInt16(truncatingIfNeeded: (UInt64(u) + 0x7fff + UInt64((u >> 16) & 1)) >> 16)
    }

    /// C's (int) cast of `v` clamped to lo...hi; NaN gives lo (inputs are floats the user supplied).
    private static func truncated(_ v: Float, _ lo: Int32, _ hi: Int32) -> Int32 {
        if !(v > Float(lo)) { return lo }
        if v >= Float(hi) { return hi }
        return Int32(v)
    }

    private static func storeHalf(_ v: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: Float16(v).bitPattern, toByteOffset: offset, as: UInt16.self)
    }

    /// quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x / d) (half away from zero).
    private static func quantizeQ8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        for j in 0..<32 {
            let q = (x[j] * id).rounded(.toNearestOrAwayFromZero)
            let v = q.isNaN ? 0 : Int8(max(-128, min(127, q)))
            y.storeBytes(of: v, toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// quantize_row_q4_0_ref: d = (the value of largest magnitude, first one on ties) / -8,
    /// q = min(15, (int)(x / d + 8.5)).
    private static func quantizeQ4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        var vmax: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            vmax = x[j]
        }
        let d = vmax / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        for j in 0..<16 {
            let q0 = truncated(x[j] * id + 8.5, 0, 15)
            let q1 = truncated(x[j + 16] * id + 8.5, 0, 15)
            y.storeBytes(of: UInt8(q0) | (UInt8(q1) << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// quantize_row_q4_1_ref: d = (max - min) / 15, m = min, q = min(15, (int)((x - min) / d + 0.5)).
    private static func quantizeQ4_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var lo = Float.greatestFiniteMagnitude
        var hi = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < lo { lo = x[j] }
            if x[j] > hi { hi = x[j] }
        }
        let d = (hi - lo) / 15
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, y, 0)
        storeHalf(lo, y, 2)
        for j in 0..<16 {
            let q0 = truncated((x[j] - lo) * id + 0.5, 0, 15)
            let q1 = truncated((x[j + 16] - lo) * id + 0.5, 0, 15)
            y.storeBytes(of: UInt8(q0) | (UInt8(q1) << 4), toByteOffset: 4 + j, as: UInt8.self)
        }
    }
}
