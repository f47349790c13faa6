// safetensors element types. Reference: huggingface/safetensors, safetensors/src/tensor.rs (enum Dtype).

import LLMTuneKernels

/// The element type of a safetensors tensor, with the header's spelling as raw value.
public enum SafetensorsDType: String, CaseIterable, Sendable, CustomStringConvertible {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8"
    case f8E4M3 = "F8_E4M3", f8E5M2 = "F8_E5M2"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8E4M3, .f8E5M2: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    public var description: String { rawValue }

    /// The GGML encoding with the same bytes, for the float types the kernels multiply directly.
    public var ggmlType: GGMLType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }

    /// The position in the reference's `Dtype` declaration order; its writer lays tensors out by this,
    /// descending, which orders them by element size.
    var layoutRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 1
        case .i8: return 2
        case .f8E5M2: return 3
        case .f8E4M3: return 4
        case .i16: return 5
        case .u16: return 6
        case .f16: return 7
        case .bf16: return 8
        case .i32: return 9
        case .u32: return 10
        case .f32: return 11
        case .f64: return 12
        case .i64: return 13
        case .u64: return 14
        }
    }

    var floatEncoding: FloatEncoding? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }
}
