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

// MARK: - Interface used by the tensor layer (stub implementations; the quantization kernels replace them)

extension QuantizedMatrix {
    /// Writes rows `range` as fp32 into `out` (row-major, `range.count * columns` floats).
    public func dequantizeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(type == .f32, "stub: only f32 until the quantization kernels land")
        let src = (data + range.lowerBound * rowBytes).assumingMemoryBound(to: Float.self)
        out.update(from: src, count: range.count * columns)
    }

    /// out[m, rows] = x[m, columns] · Wᵀ  (the forward of a linear layer without bias).
    public func matmul(_ x: UnsafePointer<Float>, rows m: Int, into out: UnsafeMutablePointer<Float>) {
        let w = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
        defer { w.deallocate() }
        dequantizeRows(0..<rows, into: w)
        GEMM.sgemm(transA: false, transB: true, m: m, n: rows, k: columns, alpha: 1, a: x, lda: columns,
                   b: w, ldb: columns, beta: 0, c: out, ldc: rows)
    }

    /// dx[m, columns] = dy[m, rows] · W  (the input gradient of a linear layer).
    public func matmulTransposed(_ dy: UnsafePointer<Float>, rows m: Int, into dx: UnsafeMutablePointer<Float>) {
        let w = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
        defer { w.deallocate() }
        dequantizeRows(0..<rows, into: w)
        GEMM.sgemm(transA: false, transB: false, m: m, n: columns, k: rows, alpha: 1, a: dy, lda: rows,
                   b: w, ldb: columns, beta: 0, c: dx, ldc: columns)
    }
}
