// Typed access to GGUF metadata and tensors: metadata values by expected type (nil when absent, a
// FormatError naming the key and the found type when the type differs), tensors widened to fp32, and
// weight matrices handed out zero-copy as QuantizedMatrix.

import LLMTuneKernels

extension GGUFFile {
    /// The raw metadata value for `key`, or nil.
    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    /// A string value; nil when absent.
    public func string(_ key: String) throws -> String? {
        guard let v = metadata[key] else { return nil }
        guard case .string(let s) = v else { throw mismatch(key, expected: "string", found: v) }
        return s
    }

    /// Any integer value (uint8...int64) as Int; nil when absent.
    public func int(_ key: String) throws -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.int else { throw mismatch(key, expected: "an integer that fits in Int", found: v) }
        return i
    }

    /// A float32 / float64 value (or an integer, converted) as Float; nil when absent.
    public func float(_ key: String) throws -> Float? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.double else { throw mismatch(key, expected: "a number", found: v) }
        return Float(d)
    }

    /// A bool value; nil when absent.
    public func bool(_ key: String) throws -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard case .bool(let b) = v else { throw mismatch(key, expected: "bool", found: v) }
        return b
    }

    /// An array value of any element type; nil when absent.
    public func array(_ key: String) throws -> [GGUFValue]? {
        guard let v = metadata[key] else { return nil }
        guard case .array(let a) = v else { throw mismatch(key, expected: "array", found: v) }
        return a
    }

    /// An array of strings; nil when absent.
    public func stringArray(_ key: String) throws -> [String]? {
        guard let a = try array(key) else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard case .string(let s) = e else { throw mismatch(key, expected: "array of string", found: .array(a)) }
            out.append(s)
        }
        return out
    }

    /// An array of numbers (float or integer elements) as Float; nil when absent.
    public func floatArray(_ key: String) throws -> [Float]? {
        guard let a = try array(key) else { return nil }
        var out: [Float] = []
        out.reserveCapacity(a.count)
        for e in a {
            switch e {
            case .float32(let f): out.append(f)
            case .bool, .string, .array: throw mismatch(key, expected: "array of numbers", found: .array(a))
            default: out.append(Float(e.double ?? 0))
            }
        }
        return out
    }

    /// An array of integers as Int; nil when absent.
    public func intArray(_ key: String) throws -> [Int]? {
        guard let a = try array(key) else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let i = e.int else { throw mismatch(key, expected: "array of integers", found: .array(a)) }
            out.append(i)
        }
        return out
    }

    private func mismatch(_ key: String, expected: String, found: GGUFValue) -> FormatError {
        var text = found.typeName
        if case .array = found {} else { text += " " + found.shortDescription }
        return .metadataTypeMismatch(file: name, key: key, expected: expected, found: text)
    }

    // MARK: - Tensors

    /// The tensor named `name`, or `FormatError.tensorNotFound`.
    public func requireTensor(named name: String) throws -> GGUFTensorInfo {
        guard let t = tensor(named: name) else { throw FormatError.tensorNotFound(file: self.name, tensor: name) }
        return t
    }

    /// All elements of an F32, F16 or BF16 tensor of any rank as fp32, in storage order (ne[0] fastest).
    public func floats(named name: String) throws -> [Float] {
        let t = try requireTensor(named: name)
        let encoding: FloatEncoding
        switch t.type {
        case .f32: encoding = .f32
        case .f16: encoding = .f16
        case .bf16: encoding = .bf16
        default:
            throw FormatError.unsupportedConversion(file: self.name, tensor: name, from: "\(t.type)",
                                                    to: "fp32 values (only F32, F16 and BF16 are widened here)")
        }
        return widenToFloats(data(for: t), count: t.elementCount, encoding: encoding)
    }

    /// A 2-D weight tensor (ne[0] = columns, ne[1] = rows; trailing dimensions of 1 are allowed) as a
    /// zero-copy QuantizedMatrix whose owner is the mapping.
    public func quantizedMatrix(named name: String) throws -> QuantizedMatrix {
        let t = try requireTensor(named: name)
        let dims = t.dimensions
        guard dims.count >= 2, dims.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw FormatError.unsupportedConversion(file: self.name, tensor: name,
                from: "a tensor with dimensions \(dims)", to: "a matrix (2 dimensions: columns, rows)")
        }
        guard t.type.isSupportedWeight else {
            throw FormatError.unsupportedConversion(file: self.name, tensor: name, from: "\(t.type)",
                                                    to: "a weight matrix (type not supported by the kernels)")
        }
        return matrix(type: t.type, rows: dims[1], columns: dims[0], data: data(for: t), byteCount: t.byteCount,
                      owner: file)
    }
}

/// A QuantizedMatrix over `data`, copied to aligned memory when `data` is not aligned to the element
/// (f32: 4 bytes, everything else: 2 bytes, ggml's fp16 fields) so that kernels may load it directly.
func matrix(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer, byteCount: Int,
            owner: AnyObject) -> QuantizedMatrix {
    let needed = type == .f32 ? 4 : 2
    if Int(bitPattern: data) % needed == 0 {
        return QuantizedMatrix(type: type, rows: rows, columns: columns, data: data, owner: owner)
    }
    let copy = AlignedCopy(copying: data, count: byteCount)
    return QuantizedMatrix(type: type, rows: rows, columns: columns, data: UnsafeRawPointer(copy.pointer), owner: copy)
}
