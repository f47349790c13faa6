// Corrupt files must load or throw, never crash: every truncation of the reference fixtures, and a few
// hundred seeded random byte flips of each. When a variant loads, everything it offers is exercised.

import Foundation
import XCTest
import LLMTuneKernels
@testable import LLMTuneFormats

final class CorruptionTests: XCTestCase {
    /// Variants per format; LLMTUNE_FUZZ_VARIANTS raises it for a longer local run.
    private let variants = Int(ProcessInfo.processInfo.environment["LLMTUNE_FUZZ_VARIANTS"] ?? "") ?? 500

    /// Parses `bytes` and touches every metadata accessor and tensor. Returns whether it loaded.
    @discardableResult
    private func exerciseGGUF(_ bytes: [UInt8]) -> Bool {
        guard let g = try? GGUFFile(file: MappedFile(copying: bytes, name: "corrupt.gguf")) else { return false }
        for key in g.metadataKeys {
            _ = try? g.string(key); _ = try? g.int(key); _ = try? g.float(key); _ = try? g.bool(key)
            _ = try? g.stringArray(key); _ = try? g.floatArray(key); _ = try? g.intArray(key)
        }
        for t in g.tensors {
            let raw = g.bytes(for: t)
            XCTAssertEqual(raw.count, t.byteCount)
            _ = raw.reduce(0) { $0 &+ $1 }
            _ = try? g.floats(named: t.name)
            if let m = try? g.quantizedMatrix(named: t.name), m.type == .f32 {
                var out = [Float](repeating: 0, count: m.rows * m.columns)
                m.dequantizeRows(0..<m.rows, into: &out)
            }
        }
        return true
    }

    @discardableResult
    private func exerciseSafetensors(_ bytes: [UInt8]) -> Bool {
        guard let s = try? SafetensorsFile(file: MappedFile(copying: bytes, name: "corrupt.safetensors")) else { return false }
        for t in s.tensors {
            XCTAssertEqual(s.bytes(for: t).count, t.byteCount)
            _ = try? s.floats(named: t.name)
            if let m = try? s.quantizedMatrix(named: t.name), m.type == .f32 {
                var out = [Float](repeating: 0, count: m.rows * m.columns)
                m.dequantizeRows(0..<m.rows, into: &out)
            }
        }
        return true
    }

    func testGGUFTruncatedAtEveryLength() throws {
        let bytes = try Fixtures.bytes("gguf_fixture.gguf")
        XCTAssertTrue(exerciseGGUF(bytes))
        var loaded = 0
        for n in 0..<bytes.count where exerciseGGUF(Array(bytes[..<n])) { loaded += 1 }
        // Only cuts inside the final tensor's trailing padding can still be complete files.
        XCTAssertEqual(loaded, 4, "cuts after the last tensor's data (476 of 480 data bytes used) load")
    }

    func testSafetensorsTruncatedAtEveryLength() throws {
        let bytes = try Fixtures.bytes("st_fixture.safetensors")
        XCTAssertTrue(exerciseSafetensors(bytes))
        for n in 0..<bytes.count {
            XCTAssertFalse(exerciseSafetensors(Array(bytes[..<n])), "a cut at \(n) of \(bytes.count) bytes loaded")
        }
    }

    func testGGUFRandomByteFlips() throws {
        let bytes = try Fixtures.bytes("gguf_fixture.gguf")
        let headerEnd = try GGUFFile(url: Fixtures.url("gguf_fixture.gguf")).dataOffset
        var rng = SeededGenerator(seed: 0x6767_7566)
        var loaded = 0
        for variant in 0..<variants {
            var b = bytes
            for _ in 0...(variant % 4) {
                // Mostly inside the header and infos, where a flip changes the structure.
                let i = Int.random(in: 0..<(variant % 5 == 0 ? b.count : headerEnd), using: &rng)
                b[i] = variant % 3 == 0 ? UInt8.random(in: 0...255, using: &rng) : b[i] ^ (1 << UInt8.random(in: 0...7, using: &rng))
            }
            if exerciseGGUF(b) { loaded += 1 }
        }
        print("\(loaded) of \(variants) corrupted variants loaded")
        XCTAssertGreaterThan(loaded, 0)
        XCTAssertLessThan(loaded, variants)
    }

    func testSafetensorsRandomByteFlips() throws {
        let bytes = try Fixtures.bytes("st_fixture.safetensors")
        var rng = SeededGenerator(seed: 0x5afe)
        var loaded = 0
        for variant in 0..<variants {
            var b = bytes
            for _ in 0...(variant % 3) {
                let i = Int.random(in: 0..<(variant % 5 == 0 ? b.count : 8 + 848), using: &rng)
                b[i] = variant % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : b[i] ^ (1 << UInt8.random(in: 0...7, using: &rng))
            }
            if exerciseSafetensors(b) { loaded += 1 }
        }
        print("\(loaded) of \(variants) corrupted variants loaded")
        XCTAssertGreaterThan(loaded, 0)
        XCTAssertLessThan(loaded, variants)
    }
}
