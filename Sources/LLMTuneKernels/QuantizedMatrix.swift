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
