// Shared helpers of the quantization tests: the golden fixtures written by
// Fixtures/quant/make_quant_fixtures.py (gguf.quants as the oracle), a seeded generator, and random
// valid encoded matrices.
import Foundation
import XCTest
@testable import LLMTuneKernels

/// One case of Fixtures/quant/manifest.json.
struct QuantFixtureCase: Decodable {
    let type: String
    let rows: Int
    let columns: Int
    let raw: String
    let floats: String
    let name: String?
}

struct QuantFixtureManifest: Decodable {
    let dequantize: [QuantFixtureCase]
    let quantize: [QuantFixtureCase]
    let real: [QuantFixtureCase]
}

enum QuantFixtures {
    static func folder() throws -> URL {
        let root = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return root.appendingPathComponent("quant")
    }

    static func manifest() throws -> QuantFixtureManifest {
        let data = try Data(contentsOf: folder().appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(QuantFixtureManifest.self, from: data)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: folder().appendingPathComponent(name)))
    }

    static func floats(_ name: String) throws -> [Float] {
        let b = try bytes(name)
        XCTAssertEqual(b.count % 4, 0, name)
        return (0..<(b.count / 4)).map { i in
            Float(bitPattern: UInt32(b[4 * i]) | UInt32(b[4 * i + 1]) << 8
                  | UInt32(b[4 * i + 2]) << 16 | UInt32(b[4 * i + 3]) << 24)
        }
    }
}

/// SplitMix64: a small deterministic generator for test data.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// A random valid encoded matrix that owns its bytes.
final class RandomEncodedMatrix {
    let bytes: UnsafeMutableRawPointer
    let matrix: QuantizedMatrix

    /// Byte offsets of the fp16 scale fields in one block (ggml-common.h).
    static func halfFields(_ type: GGMLType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0: return [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q6_K: return [208]
        default: return []
        }
    }

    init(_ type: GGMLType, rows: Int, columns: Int, rng: inout SeededGenerator) {
        let rowBytes = columns / type.blockSize * type.blockBytes
        let count = rows * rowBytes
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, count), alignment: 64)
        self.bytes = bytes
        switch type {
        case .f32, .f16, .bf16:
            let values = (0..<(rows * columns)).map { _ in Float.random(in: -2...2, using: &rng) }
            values.withUnsafeBufferPointer { Quantizer.quantizeRow(type, $0.baseAddress!, count: values.count,
                                                                   into: bytes) }
        default:
            for i in 0..<count { bytes.storeBytes(of: UInt8.random(in: 0...255, using: &rng), toByteOffset: i,
                                                  as: UInt8.self) }
            let blocks = rows * columns / type.blockSize
            for b in 0..<blocks {
                for off in Self.halfFields(type) {
                    let v = Float.random(in: 0.001...0.1, using: &rng) * (Bool.random(using: &rng) ? 1 : -1)
                    bytes.storeBytes(of: Float16(v).bitPattern, toByteOffset: b * type.blockBytes + off,
                                     as: UInt16.self)
                }
            }
        }
        matrix = QuantizedMatrix(type: type, rows: rows, columns: columns, data: UnsafeRawPointer(bytes),
                                 owner: nil)
    }

    deinit { bytes.deallocate() }
}

extension QuantizedMatrix {
    /// All rows as fp32 (row-major).
    func dequantizedArray() -> [Float] {
        var out = [Float](repeating: .nan, count: rows * columns)
        out.withUnsafeMutableBufferPointer { dequantizeRows(0..<rows, into: $0.baseAddress!) }
        return out
    }
}
