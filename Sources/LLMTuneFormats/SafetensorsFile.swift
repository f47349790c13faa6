// safetensors reader. Reference: huggingface/safetensors (safetensors/src/tensor.rs, read_metadata and
// Metadata::validate). Layout:
//   uint64 little-endian N | N bytes of UTF-8 JSON (padded with spaces) | data
//   JSON: {"__metadata__": {string: string}?, name: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}
//   with b..<e relative to the start of the data. The file is memory-mapped; data is not copied.
// Checked like the reference except that gaps between tensors and trailing bytes are tolerated.

import Foundation
import LLMTuneKernels

/// One tensor of a safetensors file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. "model.layers.0.self_attn.q_proj.weight".
    public let name: String
    /// The element type.
    public let dtype: SafetensorsDType
    /// The shape, row-major (slowest-varying first), as in PyTorch.
    public let shape: [Int]
    /// The data's byte range, relative to the start of the data section.
    public let dataOffsets: Range<Int>

    /// The product of the shape (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of data.
    public var byteCount: Int { dataOffsets.count }
}

/// A safetensors file, memory-mapped, with its header parsed and checked.
public struct SafetensorsFile: Sendable {
    /// The mapped bytes; the owner of every pointer this file hands out.
    public let file: MappedFile
    /// The `__metadata__` entries (empty when absent).
    public let metadata: [String: String]
    /// The tensors in data order.
    public let tensors: [SafetensorsTensorInfo]
    /// The absolute byte offset of the data section (8 + header length).
    public let dataOffset: Int
    private let index: [String: Int]

    /// The reference implementation's limit on the header size.
    public static let maximumHeaderSize = 100_000_000

    /// The file's path, for messages.
    public var name: String { file.name }

    /// Maps and parses the safetensors file at `url`. Throws `FormatError` for anything malformed.
    public init(url: URL) throws {
        try self.init(file: MappedFile(url: url))
    }

    /// Parses an already mapped (or in-memory) file.
    public init(file: MappedFile) throws {
        self.file = file
        let name = file.name
        var r = ByteReader(file)
        let length = try r.u64("the header length")
        guard length <= UInt64(Self.maximumHeaderSize) else {
            throw FormatError.invalidHeader(file: name, key: nil, offset: 0,
                reason: "header length \(length) is absurd (limit \(Self.maximumHeaderSize) bytes); not a safetensors file?")
        }
        let headerLength = Int(length)
        try r.need(headerLength, "the JSON header")
        dataOffset = 8 + headerLength
        let dataSize = file.count - dataOffset

        let json = Data(bytes: file.base + 8, count: headerLength)
        guard json.first == UInt8(ascii: "{") else {
            throw FormatError.invalidHeader(file: name, key: nil, offset: 8, reason: "the JSON header does not start with '{'")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw FormatError.invalidHeader(file: name, key: nil, offset: 8, reason: "invalid JSON header (\(error.localizedDescription))")
        }
        guard let entries = object as? [String: Any] else {
            throw FormatError.invalidHeader(file: name, key: nil, offset: 8, reason: "the JSON header is not an object")
        }

        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensorInfo] = []
        tensors.reserveCapacity(entries.count)
        for (key, value) in entries {
            if key == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw FormatError.invalidHeader(file: name, key: key, offset: nil, reason: "not an object of strings")
                }
                for (k, v) in dict {
                    guard let s = v as? String else {
                        throw FormatError.invalidHeader(file: name, key: "__metadata__.\(k)", offset: nil,
                                                        reason: "metadata values must be strings")
                    }
                    metadata[k] = s
                }
                continue
            }
            tensors.append(try Self.parseTensor(name: key, value, dataSize: dataSize, file: name))
        }
        tensors.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var previous: SafetensorsTensorInfo?
        for t in tensors where !t.dataOffsets.isEmpty {
            if let p = previous, p.dataOffsets.upperBound > t.dataOffsets.lowerBound {
                throw FormatError.invalidTensor(file: name, tensor: t.name,
                    reason: "data_offsets \(t.dataOffsets) overlap tensor '\(p.name)' (\(p.dataOffsets))")
            }
            previous = t
        }
        self.metadata = metadata
        self.tensors = tensors
        index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// The tensor named `name`, or nil.
    public func tensor(named name: String) -> SafetensorsTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// The tensor named `name`, or `FormatError.tensorNotFound`.
    public func requireTensor(named name: String) throws -> SafetensorsTensorInfo {
        guard let t = tensor(named: name) else { throw FormatError.tensorNotFound(file: self.name, tensor: name) }
        return t
    }

    /// The first byte of `tensor`'s data inside the mapping (valid while `file` lives).
    /// `tensor` must come from this file.
    public func data(for tensor: SafetensorsTensorInfo) -> UnsafeRawPointer {
        precondition(tensor.dataOffsets.upperBound <= file.count - dataOffset, "tensor '\(tensor.name)' is not from \(name)")
        return file.base + dataOffset + tensor.dataOffsets.lowerBound
    }

    /// The bytes of `tensor`'s data inside the mapping. `tensor` must come from this file.
    public func bytes(for tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data(for: tensor), count: tensor.byteCount)
    }

    /// All elements of an F32, F16 or BF16 tensor of any rank as fp32, row-major.
    public func floats(named name: String) throws -> [Float] {
        let t = try requireTensor(named: name)
        guard let encoding = t.dtype.floatEncoding else {
            throw FormatError.unsupportedConversion(file: self.name, tensor: name, from: "\(t.dtype)",
                                                    to: "fp32 values (only F32, F16 and BF16 are widened)")
        }
        return widenToFloats(data(for: t), count: t.elementCount, encoding: encoding)
    }

    /// A 2-D F32, F16 or BF16 tensor [rows, columns] as a zero-copy QuantizedMatrix (GGML type .f32,
    /// .f16 or .bf16) whose owner is the mapping (or an aligned copy when the data is misaligned).
    public func quantizedMatrix(named name: String) throws -> QuantizedMatrix {
        let t = try requireTensor(named: name)
        guard t.shape.count == 2 else {
            throw FormatError.unsupportedConversion(file: self.name, tensor: name, from: "a tensor of shape \(t.shape)",
                                                    to: "a matrix (2 dimensions: rows, columns)")
        }
        guard let type = t.dtype.ggmlType else {
            throw FormatError.unsupportedConversion(file: self.name, tensor: name, from: "\(t.dtype)",
                                                    to: "a weight matrix (F32, F16 or BF16)")
        }
        return matrix(type: type, rows: t.shape[0], columns: t.shape[1], data: data(for: t), byteCount: t.byteCount,
                      owner: file)
    }

    // MARK: - Header parsing

    private static func parseTensor(name: String, _ value: Any, dataSize: Int, file: String) throws -> SafetensorsTensorInfo {
        func bad(_ reason: String) -> FormatError { .invalidTensor(file: file, tensor: name, reason: reason) }
        guard let entry = value as? [String: Any] else { throw bad("header entry is not an object") }
        guard let dtypeName = entry["dtype"] as? String else { throw bad("missing or non-string \"dtype\"") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw FormatError.unknownTensorType(file: file, tensor: name, type: "dtype \"\(dtypeName)\"", offset: nil)
        }
        guard let shapeValues = entry["shape"] as? [Any] else { throw bad("missing or non-array \"shape\"") }
        var shape: [Int] = []
        var elements = 1
        for v in shapeValues {
            guard let d = jsonInteger(v), d >= 0 else { throw bad("shape \(shapeValues) is not a list of non-negative integers") }
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw bad("element count of shape \(shapeValues) overflows") }
            elements = p
            shape.append(d)
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = jsonInteger(offsets[0]), let end = jsonInteger(offsets[1]), begin >= 0, begin <= end else {
            throw bad("\"data_offsets\" \(entry["data_offsets"] ?? "missing") is not [begin, end] with 0 <= begin <= end")
        }
        guard end <= dataSize else {
            throw bad("data_offsets [\(begin), \(end)] run past the end of the data (\(dataSize) bytes)")
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes == end - begin else {
            throw bad("dtype \(dtype) and shape \(shape) need \(overflow ? "too many" : "\(bytes)") bytes but data_offsets span \(end - begin)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }
}

/// A JSON integer (not a bool, not a number with a fraction or exponent) that fits in Int.
func jsonInteger(_ value: Any) -> Int? {
    guard let n = value as? NSNumber else { return nil }
    let kind = String(cString: n.objCType)
    guard ["i", "l", "q", "s", "I", "L", "Q", "S"].contains(kind) else { return nil }
    return value as? Int
}
