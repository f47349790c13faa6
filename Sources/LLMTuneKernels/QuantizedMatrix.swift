// A frozen weight matrix kept in its on-disk GGUF / safetensors encoding (quantized blocks, f16, bf16
// or f32), multiplied by dequantizing block by block on the fly in fp32 arithmetic.

/// A row-major matrix [rows, columns] whose rows are stored in a GGML encoding. Row r starts at
/// `data + r * rowBytes`. `owner` keeps the memory (usually a memory-mapped file) alive.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    public let owner: AnyObject?

    public var rowBytes: Int { columns / type.blockSize * type.blockBytes }
    public var byteCount: Int { rows * rowBytes }

    /// `columns` must be a multiple of the type's block size (checked by the loaders, which throw).
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer, owner: AnyObject?) {
        precondition(type.isSupportedWeight, "unsupported weight type \(type)")
        precondition(columns % type.blockSize == 0, "columns \(columns) not a multiple of \(type.blockSize)")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
        self.owner = owner
    }
}

// MARK: - Interface used by the tensor layer (kernels in Quantization/)

extension QuantizedMatrix {
    /// Writes rows `range` as fp32 into `out` (row-major, `range.count * columns` floats), bitwise equal
    /// to ggml's dequantize_row_* and to the `gguf` package.
    public func dequantizeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        if range.isEmpty || columns == 0 { return }
        withCodec(type, DequantizeRows(w: self, range: range, out: out, parallel: true))
    }

    /// out[m, rows] = x[m, columns] · Wᵀ  (the forward of a linear layer without bias).
    public func matmul(_ x: UnsafePointer<Float>, rows m: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(m >= 0, "negative row count \(m)")
        if m == 0 || rows == 0 { return }
        if columns == 0 {
            out.initialize(repeating: 0, count: m * rows)
        } else if m <= QuantizedMatmul.fusedMaximumRows {
            withCodec(type, FusedForward(w: self, x: x, m: m, out: out))
        } else {
            panelMatmul(x, rows: m, into: out)
        }
    }

    /// dx[m, columns] = dy[m, rows] · W  (the input gradient of a linear layer).
    public func matmulTransposed(_ dy: UnsafePointer<Float>, rows m: Int, into dx: UnsafeMutablePointer<Float>) {
        precondition(m >= 0, "negative row count \(m)")
        if m == 0 || columns == 0 { return }
        if m <= QuantizedMatmul.fusedMaximumRows {
            withCodec(type, FusedTransposed(w: self, dy: dy, m: m, dx: dx))
        } else {
            panelMatmulTransposed(dy, rows: m, into: dx)
        }
    }
}
