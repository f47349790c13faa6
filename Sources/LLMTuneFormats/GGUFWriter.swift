// GGUF writer, version 3. Reference: the GGUF specification, ggml/docs/gguf.md, and the layout the
// `gguf` Python package's GGUFWriter produces: header, metadata in insertion order, tensor infos, zero
// padding to the alignment, then each tensor's data padded to the alignment. Written atomically.

import Foundation
import LLMTuneKernels

/// Collects metadata and tensors, then writes one GGUF v3 file.
///
/// The data alignment is `general.alignment` when that key is set (an integer power of two), else 32.
/// Array values must be homogeneous; an empty array is written with element type uint8.
public struct GGUFWriter {
    /// One tensor to write.
    public struct Tensor {
        /// The tensor's name.
        public var name: String
        /// Dimensions fastest-varying first (ne[0] = columns), as GGUF stores them.
        public var dimensions: [Int]
        /// The element encoding of `bytes`.
        public var type: GGMLType
        /// The encoded data: exactly `type.byteCount(elements: product of dimensions)` bytes.
        public var bytes: [UInt8]
    }

    /// The metadata keys in the order they will be written.
    public private(set) var metadataKeys: [String] = []
    /// The metadata values by key.
    public private(set) var metadata: [String: GGUFValue] = [:]
    /// The tensors in the order they will be written.
    public private(set) var tensors: [Tensor] = []

    public init() {}

    /// Sets `key` to `value`. A new key goes last; an existing key keeps its place.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if metadata.updateValue(value, forKey: key) == nil { metadataKeys.append(key) }
    }

    /// Adds a tensor given as its encoded bytes. Checked when the file is written.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType, bytes: [UInt8]) {
        tensors.append(Tensor(name: name, dimensions: dimensions, type: type, bytes: bytes))
    }

    /// Adds an F32 tensor. `dimensions` fastest-varying first.
    public mutating func addTensor(name: String, dimensions: [Int], floats: [Float]) {
        let bytes = floats.withUnsafeBytes { [UInt8]($0) }
        addTensor(name: name, dimensions: dimensions, type: .f32, bytes: bytes)
    }

    /// Writes the file atomically (temporary file, fsync, rename). Throws `FormatError.invalidWriterInput`
    /// for values that cannot be encoded and `.writeFailed` for I/O errors.
    public func write(to url: URL) throws {
        let path = url.path
        let alignment = try resolvedAlignment(path)

        var header = ByteWriter()
        header.bytes.append(contentsOf: Array("GGUF".utf8))
        header.u32(3)
        header.u64(UInt64(tensors.count))
        header.u64(UInt64(metadataKeys.count))
        for key in metadataKeys {
            guard let value = metadata[key] else { continue }
            header.string(key)
            header.u32(value.valueType.rawValue)
            try encode(value, key: key, into: &header, path: path, depth: 0)
        }

        // Tensor infos, with each tensor's data placed at the next aligned offset.
        var offsets: [Int] = []
        var cursor = 0
        var names = Set<String>()
        for t in tensors {
            try validate(t, path: path)
            guard names.insert(t.name).inserted else {
                throw FormatError.invalidWriterInput(file: path, item: t.name, reason: "duplicate tensor name")
            }
            offsets.append(cursor)
            header.string(t.name)
            header.u32(UInt32(t.dimensions.count))
            for d in t.dimensions { header.u64(UInt64(d)) }
            header.u32(t.type.rawValue)
            header.u64(UInt64(cursor))
            cursor = Self.align(cursor + t.bytes.count, alignment)
        }

        try AtomicFileWriter.write(to: url) { sink in
            try sink.write(header.bytes)
            try sink.writeZeros(Self.align(header.bytes.count, alignment) - header.bytes.count)
            for t in tensors {
                try sink.write(t.bytes)
                try sink.writeZeros(Self.align(t.bytes.count, alignment) - t.bytes.count)
            }
        }
    }

    // MARK: - Helpers

    private static func align(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }

    private func resolvedAlignment(_ path: String) throws -> Int {
        guard let v = metadata["general.alignment"] else { return 32 }
        guard let a = v.int, a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
            throw FormatError.invalidWriterInput(file: path, item: "general.alignment",
                                                 reason: "\(v.typeName) \(v.shortDescription) is not a power of two")
        }
        return a
    }

    private func validate(_ t: Tensor, path: String) throws {
        guard t.dimensions.count <= GGUFFile.maximumDimensions, t.dimensions.allSatisfy({ $0 >= 0 }) else {
            throw FormatError.invalidWriterInput(file: path, item: t.name,
                reason: "dimensions \(t.dimensions): at most \(GGUFFile.maximumDimensions), none negative")
        }
        var elements = 1
        for d in t.dimensions {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw FormatError.invalidWriterInput(file: path, item: t.name, reason: "element count overflows")
            }
            elements = p
        }
        guard (t.dimensions.first ?? 1) % t.type.blockSize == 0, let expected = t.type.byteCount(elements: elements) else {
            throw FormatError.invalidWriterInput(file: path, item: t.name,
                reason: "first dimension \(t.dimensions.first ?? 1) is not a multiple of \(t.type)'s block size \(t.type.blockSize)")
        }
        guard expected == t.bytes.count else {
            throw FormatError.invalidWriterInput(file: path, item: t.name,
                reason: "\(t.bytes.count) bytes given, \(expected) expected for \(t.type) \(t.dimensions)")
        }
    }

    private func encode(_ value: GGUFValue, key: String, into w: inout ByteWriter, path: String, depth: Int) throws {
        switch value {
        case .uint8(let v): w.bytes.append(v)
        case .int8(let v): w.bytes.append(UInt8(bitPattern: v))
        case .uint16(let v): w.int(v)
        case .int16(let v): w.int(v)
        case .uint32(let v): w.int(v)
        case .int32(let v): w.int(v)
        case .uint64(let v): w.int(v)
        case .int64(let v): w.int(v)
        case .float32(let v): w.int(v.bitPattern)
        case .float64(let v): w.int(v.bitPattern)
        case .bool(let v): w.bytes.append(v ? 1 : 0)
        case .string(let s): w.string(s)
        case .array(let elements):
            guard depth < GGUFFile.maximumArrayDepth else {
                throw FormatError.invalidWriterInput(file: path, item: key, reason: "arrays nested too deep")
            }
            let type = elements.first?.valueType ?? .uint8
            guard elements.allSatisfy({ $0.valueType == type }) else {
                throw FormatError.invalidWriterInput(file: path, item: key,
                    reason: "array elements of different types (\(type) and others); GGUF arrays are homogeneous")
            }
            w.u32(type.rawValue)
            w.u64(UInt64(elements.count))
            for e in elements { try encode(e, key: key, into: &w, path: path, depth: depth + 1) }
        }
    }
}

/// Little-endian byte output into an array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func int<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u64(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
}
