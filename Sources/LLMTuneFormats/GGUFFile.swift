// GGUF reader, versions 2 and 3 (little-endian). Reference: the GGUF specification, ggml/docs/gguf.md,
// and ggml/src/gguf.cpp for the validity checks. Layout:
//   magic "GGUF" | uint32 version | uint64 tensor_count | uint64 metadata_kv_count
//   metadata_kv_count × (string key, uint32 value_type, value)
//   tensor_count × (string name, uint32 n_dims, uint64 ne[n_dims], uint32 ggml_type, uint64 offset)
//   padding to `general.alignment` (default 32) | tensor data (offsets relative to its start)
// The file is memory-mapped; tensor data is never copied unless asked for.

import Foundation
import LLMTuneKernels

/// One tensor of a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. "blk.0.attn_q.weight".
    public let name: String
    /// The dimensions as stored, fastest-varying first: ne[0] is the number of columns of a matrix.
    public let dimensions: [Int]
    /// The element encoding.
    public let type: GGMLType
    /// Byte offset of the data, relative to the start of the file's aligned data section.
    public let offset: Int
    /// Bytes of data.
    public let byteCount: Int

    /// The product of the dimensions.
    public var elementCount: Int { dimensions.reduce(1, *) }
    /// The dimensions in row-major (numpy / PyTorch) order, slowest-varying first.
    public var shape: [Int] { dimensions.reversed() }
}

/// A GGUF file, memory-mapped, with its metadata parsed and its tensors described.
public struct GGUFFile: Sendable {
    /// The mapped bytes; the owner of every pointer this file hands out.
    public let file: MappedFile
    /// The GGUF version (2 or 3).
    public let version: UInt32
    /// All metadata values by key.
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order.
    public let metadataKeys: [String]
    /// The tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data alignment: `general.alignment`, or 32 when absent.
    public let alignment: Int
    /// The absolute byte offset of the data section in the file.
    public let dataOffset: Int
    private let tensorIndex: [String: Int]

    /// The file's path, for messages.
    public var name: String { file.name }

    /// Deepest nesting of arrays inside arrays that is accepted (ggml itself writes none).
    static let maximumArrayDepth = 8
    /// ggml's GGML_MAX_DIMS.
    public static let maximumDimensions = 4

    /// Maps and parses the GGUF file at `url`. Throws `FormatError` for anything malformed.
    public init(url: URL) throws {
        try self.init(file: MappedFile(url: url))
    }

    /// Parses an already mapped (or in-memory) file.
    public init(file: MappedFile) throws {
        self.file = file
        let name = file.name
        var r = ByteReader(file)

        // Header.
        try r.need(4, "the GGUF magic")
        let magic = [UInt8](UnsafeRawBufferPointer(start: file.base, count: 4))
        guard magic == Array("GGUF".utf8) else {
            throw FormatError.badMagic(file: name, expected: "GGUF", found: Self.describeMagic(magic))
        }
        _ = try r.u32("the magic")
        version = try r.u32("the version")
        guard version == 2 || version == 3 else { throw FormatError.unsupportedVersion(file: name, version: version) }
        let tensorCountAt = r.offset
        let tensorCountRaw = try r.u64("the tensor count")
        let keyCountAt = r.offset
        let keyCountRaw = try r.u64("the metadata key count")
        // A key takes at least 13 bytes (8-byte length, 4-byte type, 1-byte value); a tensor info 24.
        guard keyCountRaw <= UInt64(r.remaining / 13) else {
            throw FormatError.implausibleCount(file: name, what: "the metadata key count", count: keyCountRaw,
                                               offset: keyCountAt)
        }
        guard tensorCountRaw <= UInt64(r.remaining / 24) else {
            throw FormatError.implausibleCount(file: name, what: "the tensor count", count: tensorCountRaw,
                                               offset: tensorCountAt)
        }

        // Metadata.
        var metadata: [String: GGUFValue] = [:]
        metadata.reserveCapacity(Int(keyCountRaw))
        var keys: [String] = []
        keys.reserveCapacity(Int(keyCountRaw))
        for i in 0..<Int(keyCountRaw) {
            let keyAt = r.offset
            let key = try r.string("metadata key #\(i)")
            let typeAt = r.offset
            let rawType = try r.u32("the value type of key '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw FormatError.unknownValueType(file: name, key: key, type: rawType, offset: typeAt)
            }
            let value = try Self.readValue(&r, type: type, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw FormatError.invalidHeader(file: name, key: key, offset: keyAt, reason: "duplicate metadata key")
            }
            keys.append(key)
        }
        self.metadata = metadata
        metadataKeys = keys

        // Alignment.
        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.int, a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
                throw FormatError.invalidHeader(file: name, key: "general.alignment", offset: nil,
                                                reason: "alignment \(value.typeName) \(value.shortDescription) is not a power of two")
            }
            alignment = a
        }
        self.alignment = alignment

        // Tensor infos.
        guard tensorCountRaw <= UInt64(r.remaining / 24) else {
            throw FormatError.implausibleCount(file: name, what: "the tensor count", count: tensorCountRaw,
                                               offset: tensorCountAt)
        }
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(Int(tensorCountRaw))
        var index: [String: Int] = [:]
        index.reserveCapacity(Int(tensorCountRaw))
        for i in 0..<Int(tensorCountRaw) {
            let info = try Self.readTensorInfo(&r, number: i)
            guard index.updateValue(tensors.count, forKey: info.name) == nil else {
                throw FormatError.invalidTensor(file: name, tensor: info.name, reason: "duplicate tensor name")
            }
            tensors.append(info)
        }
        self.tensors = tensors
        tensorIndex = index

        // Data section: starts at the next multiple of the alignment.
        let (padded, overflow) = r.offset.addingReportingOverflow(alignment - 1)
        guard !overflow else {
            throw FormatError.invalidHeader(file: name, key: nil, offset: r.offset, reason: "data offset overflows")
        }
        dataOffset = padded / alignment * alignment
        let dataSize = max(file.count - dataOffset, 0)
        try Self.validateLayout(tensors, dataSize: dataSize, alignment: alignment, dataOffset: dataOffset, file: name)
    }

    /// The tensor named `name`, or nil.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The first byte of `tensor`'s data inside the mapping (valid while `file` lives).
    /// `tensor` must come from this file.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        let dataSize = max(file.count - dataOffset, 0)
        precondition(tensor.offset >= 0 && tensor.byteCount >= 0 && tensor.offset <= dataSize
                     && tensor.byteCount <= dataSize - tensor.offset,
                     "tensor '\(tensor.name)' is not from \(name)")
        return file.base + min(dataOffset + tensor.offset, file.count)
    }

    /// The bytes of `tensor`'s data inside the mapping. `tensor` must come from this file.
    public func bytes(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data(for: tensor), count: tensor.byteCount)
    }

    // MARK: - Parsing helpers

    private static func readValue(_ r: inout ByteReader, type: GGUFValueType, key: String,
                                  depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.load(UInt8.self, "the value of key '\(key)'"))
        case .int8: return .int8(try r.load(Int8.self, "the value of key '\(key)'"))
        case .uint16: return .uint16(try r.load(UInt16.self, "the value of key '\(key)'"))
        case .int16: return .int16(try r.load(Int16.self, "the value of key '\(key)'"))
        case .uint32: return .uint32(try r.load(UInt32.self, "the value of key '\(key)'"))
        case .int32: return .int32(try r.load(Int32.self, "the value of key '\(key)'"))
        case .uint64: return .uint64(try r.load(UInt64.self, "the value of key '\(key)'"))
        case .int64: return .int64(try r.load(Int64.self, "the value of key '\(key)'"))
        case .float32: return .float32(Float(bitPattern: try r.load(UInt32.self, "the value of key '\(key)'")))
        case .float64: return .float64(Double(bitPattern: try r.load(UInt64.self, "the value of key '\(key)'")))
        case .bool:
            let at = r.offset
            let b = try r.load(UInt8.self, "the value of key '\(key)'")
            guard b <= 1 else {
                throw FormatError.invalidHeader(file: r.name, key: key, offset: at, reason: "bool value \(b) is not 0 or 1")
            }
            return .bool(b == 1)
        case .string: return .string(try r.string("the value of key '\(key)'"))
        case .array: return .array(try readArray(&r, key: key, depth: depth))
        }
    }

    private static func readArray(_ r: inout ByteReader, key: String, depth: Int) throws -> [GGUFValue] {
        let typeAt = r.offset
        guard depth < maximumArrayDepth else {
            throw FormatError.invalidHeader(file: r.name, key: key, offset: typeAt,
                                            reason: "arrays nested more than \(maximumArrayDepth) deep")
        }
        let rawType = try r.u32("the element type of array '\(key)'")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw FormatError.unknownValueType(file: r.name, key: key, type: rawType, offset: typeAt)
        }
        let n = try r.count("the element count of array '\(key)'", minimumSize: type.minimumSize)
        var out: [GGUFValue] = []
        out.reserveCapacity(n)
        switch type {
        case .string:
            for _ in 0..<n { out.append(.string(try r.string("an element of array '\(key)'"))) }
        case .array:
            for _ in 0..<n { out.append(.array(try readArray(&r, key: key, depth: depth + 1))) }
        default:
            // Fixed-size elements: the count check above guarantees they all fit.
            for _ in 0..<n { out.append(try readValue(&r, type: type, key: key, depth: depth)) }
        }
        return out
    }

    private static func readTensorInfo(_ r: inout ByteReader, number: Int) throws -> GGUFTensorInfo {
        let file = r.name
        let name = try r.string("the name of tensor #\(number)")
        let dimsAt = r.offset
        let n = try r.u32("the dimension count of tensor '\(name)'")
        guard n <= maximumDimensions else {
            throw FormatError.invalidTensor(file: file, tensor: name,
                                            reason: "\(n) dimensions at byte \(dimsAt) (at most \(maximumDimensions))")
        }
        var dims: [Int] = []
        var elements = 1
        for d in 0..<Int(n) {
            let at = r.offset
            let raw = try r.u64("dimension \(d) of tensor '\(name)'")
            guard raw <= UInt64(Int64.max) else {
                throw FormatError.invalidTensor(file: file, tensor: name,
                                                reason: "dimension \(d) is \(raw) at byte \(at), too large")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
            guard !overflow else {
                throw FormatError.invalidTensor(file: file, tensor: name,
                                                reason: "element count overflows (dimensions so far \(dims + [Int(raw)]))")
            }
            elements = product
            dims.append(Int(raw))
        }
        let typeAt = r.offset
        let rawType = try r.u32("the type of tensor '\(name)'")
        guard let type = GGMLType(rawValue: rawType) else {
            throw FormatError.unknownTensorType(file: file, tensor: name, type: ggmlTypeName(rawType), offset: typeAt)
        }
        let offsetAt = r.offset
        let rawOffset = try r.u64("the data offset of tensor '\(name)'")
        guard rawOffset <= UInt64(Int64.max) else {
            throw FormatError.invalidTensor(file: file, tensor: name,
                                            reason: "data offset \(rawOffset) at byte \(offsetAt) is too large")
        }
        let columns = dims.first ?? 1
        guard columns % type.blockSize == 0 else {
            throw FormatError.invalidTensor(file: file, tensor: name,
                reason: "first dimension \(columns) is not a multiple of \(type)'s block size \(type.blockSize)")
        }
        guard let bytes = type.byteCount(elements: elements) else {
            throw FormatError.invalidTensor(file: file, tensor: name,
                                            reason: "byte size of \(elements) \(type) elements overflows")
        }
        return GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(rawOffset), byteCount: bytes)
    }

    /// Offsets aligned, every tensor inside the data section, no two tensors overlapping.
    private static func validateLayout(_ tensors: [GGUFTensorInfo], dataSize: Int, alignment: Int,
                                       dataOffset: Int, file: String) throws {
        for t in tensors {
            guard t.offset % alignment == 0 else {
                throw FormatError.invalidTensor(file: file, tensor: t.name,
                    reason: "data offset \(t.offset) is not a multiple of the alignment \(alignment)")
            }
            guard t.offset <= dataSize, t.byteCount <= dataSize - t.offset else {
                let end = t.offset.addingReportingOverflow(t.byteCount)
                let endText = end.overflow ? "overflows" : "\(end.partialValue)"
                throw FormatError.invalidTensor(file: file, tensor: t.name,
                    reason: "data bytes \(t.offset)..<\(endText) (absolute \(dataOffset) + offset) run past the "
                        + "end of the data section (\(dataSize) bytes)")
            }
        }
        let order = tensors.indices.filter { tensors[$0].byteCount > 0 }.sorted { tensors[$0].offset < tensors[$1].offset }
        for (a, b) in zip(order, order.dropFirst()) where tensors[a].offset + tensors[a].byteCount > tensors[b].offset {
            throw FormatError.invalidTensor(file: file, tensor: tensors[b].name,
                reason: "data at offset \(tensors[b].offset) overlaps tensor '\(tensors[a].name)' "
                    + "(\(tensors[a].offset)..<\(tensors[a].offset + tensors[a].byteCount))")
        }
    }

    private static func describeMagic(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
        let text = String(decoding: bytes.map { (32...126).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
        return "\(hex) \"\(text)\""
    }

    /// ggml's name for a type number, including the types LLMTune does not implement.
    static func ggmlTypeName(_ raw: UInt32) -> String {
        if let t = GGMLType(rawValue: raw) { return "\(t) (\(raw))" }
        let others: [UInt32: String] = [
            4: "Q4_2 (removed)", 5: "Q4_3 (removed)", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
            20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 29: "IQ1_M", 31: "Q4_0_4_4 (removed)",
            32: "Q4_0_4_8 (removed)", 33: "Q4_0_8_8 (removed)", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return others[raw].map { "\($0) (type number \(raw))" } ?? "type number \(raw) (unknown to ggml)"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
