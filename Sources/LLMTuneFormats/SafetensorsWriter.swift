// safetensors writer. Reference: huggingface/safetensors (safetensors/src/tensor.rs, prepare and
// serialize): tensors ordered by dtype (the reference's Dtype order, which groups by element size,
// largest first), then by name, so every tensor's data is aligned to its element size; "__metadata__" first in the JSON header; the header padded with spaces to
// a multiple of 8 bytes. Written atomically (temporary file, fsync, rename).

import Foundation

/// Writes safetensors files.
public enum SafetensorsWriter {
    /// One tensor to write: its name, element type, row-major shape and raw little-endian bytes.
    public typealias Tensor = (name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8])

    /// Writes `tensors` and `metadata` to `url` atomically. Throws `FormatError.invalidWriterInput` for a
    /// duplicate or reserved name, a negative dimension, or a byte count that does not match dtype and
    /// shape, and `.writeFailed` for I/O errors.
    public static func write(tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let path = url.path
        var names = Set<String>()
        for t in tensors {
            guard t.name != "__metadata__", names.insert(t.name).inserted else {
                throw FormatError.invalidWriterInput(file: path, item: t.name, reason: "duplicate or reserved tensor name")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw FormatError.invalidWriterInput(file: path, item: t.name, reason: "negative dimension in shape \(t.shape)")
            }
            var bytes = t.dtype.byteSize
            for d in t.shape {
                let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
                guard !overflow else { throw FormatError.invalidWriterInput(file: path, item: t.name, reason: "size overflows") }
                bytes = p
            }
            guard bytes == t.bytes.count else {
                throw FormatError.invalidWriterInput(file: path, item: t.name,
                    reason: "\(t.bytes.count) bytes given, \(bytes) expected for \(t.dtype) \(t.shape)")
            }
        }
        let ordered = tensors.sorted {
            $0.dtype.layoutRank != $1.dtype.layoutRank ? $0.dtype.layoutRank > $1.dtype.layoutRank : $0.name < $1.name
        }

        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for t in ordered {
            if !first { json += "," }
            first = false
            let shape = t.shape.map(String.init).joined(separator: ",")
            json += "\(jsonString(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
            offset += t.bytes.count
        }
        json += "}"
        var header = Array(json.utf8)
        header.append(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

        try AtomicFileWriter.write(to: url) { sink in
            var length = ByteWriter()
            length.u64(UInt64(header.count))
            try sink.write(length.bytes)
            try sink.write(header)
            for t in ordered { try sink.write(t.bytes) }
        }
    }

    /// A JSON string literal for `s`.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
