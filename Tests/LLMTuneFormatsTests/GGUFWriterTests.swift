// GGUF writer: round trip through the reader, writer input errors, atomic replacement.
// Fixtures/check_llmtune_gguf.py reads the file of `testRoundTrip` with the reference reader
// (gguf.GGUFReader); set LLMTUNE_FORMATS_EXPORT_DIR to have the test leave a copy there.

import Foundation
import XCTest
import LLMTuneKernels
@testable import LLMTuneFormats

final class GGUFWriterTests: XCTestCase {
    /// The file checked by Fixtures/check_llmtune_gguf.py: keep both in step.
    static func sampleWriter() -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.alignment", .uint32(64))
        w.set("t.u8", .uint8(255)); w.set("t.i8", .int8(-128))
        w.set("t.u16", .uint16(65535)); w.set("t.i16", .int16(-32768))
        w.set("t.u32", .uint32(4_294_967_295)); w.set("t.i32", .int32(-7))
        w.set("t.u64", .uint64(UInt64.max)); w.set("t.i64", .int64(Int64.min))
        w.set("t.f32", .float32(-2.5)); w.set("t.f64", .float64(1e-300))
        w.set("t.bool", .bool(true))
        w.set("t.str", .string("héllo \"world\"\n"))
        w.set("t.strs", .array([.string("<s>"), .string("Ġa"), .string("")]))
        w.set("t.floats", .array([.float32(0.25), .float32(-1)]))
        w.set("t.nested", .array([.array([.uint8(1)]), .array([.uint8(2), .uint8(3)])]))
        w.set("t.empty", .array([]))
        w.addTensor(name: "matrix", dimensions: [3, 2], floats: [1, 2, 3, 4, 5, 6])      // (2, 3)
        var q8 = [UInt8](repeating: 0, count: 2 * 34)                                    // 2 Q8_0 blocks
        for i in q8.indices { q8[i] = UInt8(truncatingIfNeeded: i * 37 + 11) }
        w.addTensor(name: "quant", dimensions: [32, 2], type: .q8_0, bytes: q8)
        let half: [Float16] = [1, -2, 0.5, 65504]
        w.addTensor(name: "half", dimensions: [4], type: .f16, bytes: half.withUnsafeBytes { [UInt8]($0) })
        w.addTensor(name: "nothing", dimensions: [32, 0], type: .q4_0, bytes: [])
        return w
    }

    func testRoundTrip() throws {
        let writer = Self.sampleWriter()
        let url = try temporaryDirectory(self).appendingPathComponent("round.gguf")
        try writer.write(to: url)
        let g = try GGUFFile(url: url)
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.alignment, 64)
        XCTAssertEqual(g.dataOffset % 64, 0)
        XCTAssertEqual(g.metadataKeys, writer.metadataKeys)
        XCTAssertEqual(g.metadata, writer.metadata)
        XCTAssertEqual(g.tensors.map(\.name), ["matrix", "quant", "half", "nothing"])
        for (t, written) in zip(g.tensors, writer.tensors) {
            XCTAssertEqual(t.dimensions, written.dimensions)
            XCTAssertEqual(t.type, written.type)
            XCTAssertEqual(t.offset % 64, 0, t.name)
            XCTAssertEqual([UInt8](g.bytes(for: t)), written.bytes, t.name)
        }
        XCTAssertEqual(g.tensors.map(\.offset), [0, 64, 192, 256], "24, 68, 8, 0 bytes, each padded to 64")
        XCTAssertEqual(try g.floats(named: "matrix"), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try g.floats(named: "half"), [1, -2, 0.5, 65504])
        let m = try g.quantizedMatrix(named: "matrix")
        XCTAssertEqual([m.rows, m.columns], [2, 3])
        XCTAssertEqual(try g.int("t.u32"), 4_294_967_295)

        // Leaves a copy for Fixtures/check_llmtune_gguf.py when asked to.
        if let dir = ProcessInfo.processInfo.environment["LLMTUNE_FORMATS_EXPORT_DIR"] {
            try writer.write(to: URL(fileURLWithPath: dir).appendingPathComponent("llmtune_written.gguf"))
        }
    }

    func testDefaultAlignmentAndByteLayout() throws {
        var w = GGUFWriter()
        w.set("k", .uint32(7))
        w.addTensor(name: "v", dimensions: [2], floats: [1.5, -1])
        let url = try temporaryDirectory(self).appendingPathComponent("small.gguf")
        try w.write(to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        var expected = RawGGUF()
        expected.header(tensors: 1, keys: 1)
        expected.string("k"); expected.u32(4); expected.u32(7)
        expected.tensorInfo("v", dims: [2], type: 0, offset: 0)
        expected.pad(to: 32)
        expected.bytes += [0, 0, 0xC0, 0x3F, 0, 0, 0x80, 0xBF]
        expected.pad(to: 32)
        XCTAssertEqual(bytes, expected.bytes)
    }

    func testWriterInputErrors() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.gguf")
        var size = GGUFWriter(); size.addTensor(name: "w", dimensions: [32, 2], type: .q8_0, bytes: [1, 2, 3])
        assertFormatError(try size.write(to: url), contains: [url.path, "'w'", "3 bytes given, 68 expected"])
        var block = GGUFWriter(); block.addTensor(name: "w", dimensions: [30], type: .q4_0, bytes: [])
        assertFormatError(try block.write(to: url), contains: ["'w'", "block size 32"])
        var dup = GGUFWriter()
        dup.addTensor(name: "w", dimensions: [1], floats: [1]); dup.addTensor(name: "w", dimensions: [1], floats: [2])
        assertFormatError(try dup.write(to: url), contains: ["'w'", "duplicate"])
        var mixed = GGUFWriter(); mixed.set("arr", .array([.uint8(1), .string("x")]))
        assertFormatError(try mixed.write(to: url), contains: ["'arr'", "homogeneous"])
        var align = GGUFWriter(); align.set("general.alignment", .uint32(24))
        assertFormatError(try align.write(to: url), contains: ["general.alignment", "power of two"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))

        let nowhere = dir.appendingPathComponent("no/such/dir/x.gguf")
        assertFormatError(try GGUFWriter().write(to: nowhere), contains: [nowhere.path, "does not exist"]) {
            if case .writeFailed = $0 { return true } else { return false }
        }
    }

    func testAtomicReplaceLeavesNoTemporaryFiles() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("model.gguf")
        var first = GGUFWriter(); first.set("n", .uint32(1))
        try first.write(to: url)
        // A failing write keeps the old file intact.
        var bad = GGUFWriter(); bad.addTensor(name: "w", dimensions: [2], type: .f32, bytes: [0])
        XCTAssertThrowsError(try bad.write(to: url))
        XCTAssertEqual(try GGUFFile(url: url).int("n"), 1)
        var second = GGUFWriter(); second.set("n", .uint32(2))
        try second.write(to: url)
        XCTAssertEqual(try GGUFFile(url: url).int("n"), 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.gguf"])
    }
}
