// safetensors reader, checkpoint and writer against files written by the reference `safetensors` package
// (Fixtures/make_safetensors_fixture.py), plus malformed headers.

import Foundation
import XCTest
import LLMTuneKernels
@testable import LLMTuneFormats

final class SafetensorsTests: XCTestCase {
    func testReadsReferenceFixture() throws {
        let st = try SafetensorsFile(url: Fixtures.url("st_fixture.safetensors"))
        let expected = try XCTUnwrap(Fixtures.json("st_fixture_expected.json") as? [String: Any])
        XCTAssertEqual(st.dataOffset, 8 + (expected["header_length"] as? Int ?? -1))
        XCTAssertEqual(st.metadata, ["format": "pt", "note": "LLMTune fixture ünïcode"])
        let tensors = try XCTUnwrap(expected["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(Set(st.tensors.map(\.name)), Set(tensors.keys))
        for (name, e) in tensors {
            let t = try XCTUnwrap(st.tensor(named: name))
            XCTAssertEqual(t.dtype.rawValue, e["dtype"] as? String, name)
            XCTAssertEqual(t.shape, e["shape"] as? [Int], name)
            let offsets = try XCTUnwrap(e["data_offsets"] as? [Int])
            XCTAssertEqual(t.dataOffsets, offsets[0]..<offsets[1], name)
            XCTAssertEqual([UInt8](st.bytes(for: t)), hexBytes(try XCTUnwrap(e["hex"] as? String)), name)
            if let floats = e["floats"] as? [Double] {
                XCTAssertEqual(try st.floats(named: name), floats.map(Float.init), name)
            }
        }
        XCTAssertEqual(st.tensor(named: "scalar.f32")?.elementCount, 1)
        XCTAssertEqual(try st.floats(named: "scalar.f32"), [0.75])
        XCTAssertEqual(try st.floats(named: "empty.f32"), [])
        let ids = try XCTUnwrap(st.tensor(named: "ids.i64"))
        let values = (0..<4).map { st.data(for: ids).loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }
        XCTAssertEqual(values, [1, -2, 1 << 40, 7])

        let m = try st.quantizedMatrix(named: "weight.bf16")
        XCTAssertEqual(m.type, .bf16)
        XCTAssertEqual([m.rows, m.columns], [4, 2])
        XCTAssertTrue(m.owner === st.file)
        let f = try st.quantizedMatrix(named: "weight.f32")
        XCTAssertEqual([f.rows, f.columns], [3, 4])
        var out = [Float](repeating: 0, count: 12)
        f.dequantizeRows(0..<3, into: &out)
        XCTAssertEqual(out, try st.floats(named: "weight.f32"))

        let path = Fixtures.url("st_fixture.safetensors").path
        assertFormatError(try st.floats(named: "ids.i32"), contains: [path, "'ids.i32'", "I32"])
        assertFormatError(try st.quantizedMatrix(named: "vector.f64"), contains: ["'vector.f64'", "[3]"])
        assertFormatError(try st.quantizedMatrix(named: "ids.i64"), contains: ["'ids.i64'", "I64"])
        assertFormatError(try st.floats(named: "nope"), contains: [path, "'nope'"])
    }

    func testShardedCheckpoint() throws {
        let dir = Fixtures.url("sharded")
        let ckpt = try SafetensorsCheckpoint(directory: dir)
        let expected = try XCTUnwrap(Fixtures.json("sharded_expected.json") as? [String: [String: Any]])
        XCTAssertEqual(ckpt.shards.count, 2)
        XCTAssertEqual(ckpt.tensorNames, expected.keys.sorted())
        XCTAssertEqual(ckpt.totalSize, 12 * 4 + 9 * 2 + 3 * 2 + 12 * 4)
        for (name, e) in expected {
            let found = try XCTUnwrap(ckpt.tensor(named: name))
            XCTAssertTrue(found.file.name.hasSuffix(try XCTUnwrap(e["file"] as? String)), name)
            XCTAssertEqual(found.info.shape, e["shape"] as? [Int])
            XCTAssertEqual(try ckpt.floats(named: name), (e["floats"] as? [Double] ?? []).map(Float.init), name)
        }
        let q = try ckpt.quantizedMatrix(named: "model.layers.0.self_attn.q_proj.weight")
        XCTAssertEqual(q.type, .bf16)
        assertFormatError(try ckpt.floats(named: "missing.weight"), contains: [dir.path, "'missing.weight'"])
    }

    func testCheckpointErrors() throws {
        let dir = try temporaryDirectory(self)
        assertFormatError(try SafetensorsCheckpoint(directory: dir), contains: [dir.path, "model.safetensors"])
        assertFormatError(try SafetensorsCheckpoint(directory: dir.appendingPathComponent("nope")), contains: ["nope"])

        // Single-file checkpoint.
        try SafetensorsWriter.write(tensors: [("a", .f32, [1], [0, 0, 128, 63])], to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try SafetensorsCheckpoint(directory: dir).floats(named: "a"), [1])

        // An index naming a tensor its shard lacks, or a shard outside the directory.
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        try Data(#"{"weight_map": {"b": "model.safetensors"}}"#.utf8).write(to: index)
        assertFormatError(try SafetensorsCheckpoint(directory: dir), contains: [index.path, "weight_map.b", "does not contain"])
        try Data(#"{"weight_map": {"a": "../x.safetensors"}}"#.utf8).write(to: index)
        assertFormatError(try SafetensorsCheckpoint(directory: dir), contains: ["weight_map.a", "plain file name"])
        try Data(#"{"weight_map": {"a": "missing.safetensors"}}"#.utf8).write(to: index)
        assertFormatError(try SafetensorsCheckpoint(directory: dir), contains: ["missing.safetensors", "no such file"])
        try Data("{not json".utf8).write(to: index)
        assertFormatError(try SafetensorsCheckpoint(directory: dir), contains: [index.path, "invalid JSON"])
    }

    func testWriterMatchesReferenceBytes() throws {
        // Re-encode the reference fixture's tensors: the output must be byte-identical.
        let reference = try SafetensorsFile(url: Fixtures.url("st_fixture.safetensors"))
        let tensors: [SafetensorsWriter.Tensor] = reference.tensors.reversed().map {
            ($0.name, $0.dtype, $0.shape, [UInt8](reference.bytes(for: $0)))
        }
        let url = try temporaryDirectory(self).appendingPathComponent("copy.safetensors")
        try SafetensorsWriter.write(tensors: tensors, metadata: reference.metadata, to: url)
        XCTAssertEqual(try Data(contentsOf: url), try Data(contentsOf: Fixtures.url("st_fixture.safetensors")))
    }

    func testRoundTripAndWriterErrors() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("out.safetensors")
        let f32: [Float] = [1, -2, 3.5, 0.125, 7, 8]
        let bf16: [UInt16] = [0x3F80, 0xC000, 0x4049]           // 1, -2, 3.140625
        try SafetensorsWriter.write(tensors: [
            ("b", .u8, [3], [1, 2, 3]),
            ("name with \"quotes\"\n", .bf16, [3], bf16.withUnsafeBytes { [UInt8]($0) }),
            ("a", .f32, [2, 3], f32.withUnsafeBytes { [UInt8]($0) }),
        ], metadata: ["format": "pt", "weird\tkey": "v\\al\"ue"], to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0)
        let st = try SafetensorsFile(url: url)
        XCTAssertEqual(st.metadata, ["format": "pt", "weird\tkey": "v\\al\"ue"])
        XCTAssertEqual(st.tensors.map(\.name), ["a", "name with \"quotes\"\n", "b"], "largest dtype first")
        XCTAssertEqual(try st.floats(named: "a"), f32)
        XCTAssertEqual(try st.floats(named: "name with \"quotes\"\n"), [1, -2, 3.140625])
        XCTAssertEqual([UInt8](st.bytes(for: try XCTUnwrap(st.tensor(named: "b")))), [1, 2, 3])

        assertFormatError(try SafetensorsWriter.write(tensors: [("x", .f16, [2, 2], [0, 0])], to: url),
                          contains: [url.path, "'x'", "2 bytes given, 8 expected"])
        assertFormatError(try SafetensorsWriter.write(tensors: [("x", .u8, [1], [0]), ("x", .u8, [1], [0])], to: url),
                          contains: ["'x'", "duplicate"])
        assertFormatError(try SafetensorsWriter.write(tensors: [("x", .u8, [-1], [])], to: url), contains: ["negative"])
        XCTAssertEqual(try SafetensorsFile(url: url).tensors.count, 3, "failed writes leave the old file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.safetensors"])

        if let export = ProcessInfo.processInfo.environment["LLMTUNE_FORMATS_EXPORT_DIR"] {
            try FileManager.default.copyItem(at: url, to: URL(fileURLWithPath: export).appendingPathComponent("llmtune_written.safetensors"))
        }
    }

    /// A safetensors file with the given JSON header (padded) and `data` bytes.
    private func make(_ json: String, data: [UInt8] = [], name: String = "h.safetensors") throws -> SafetensorsFile {
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        return try SafetensorsFile(file: MappedFile(copying: bytes + header + data, name: name))
    }

    func testMisalignedMatrixIsCopiedToAlignedMemory() throws {
        // "w" starts one byte into the data: the matrix must not point at a misaligned Float.
        let value: [Float] = [2.5, -4]
        let st = try make(#"{"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"F32","shape":[1,2],"data_offsets":[1,9]}}"#,
                          data: [7] + value.withUnsafeBytes { [UInt8]($0) })
        let m = try st.quantizedMatrix(named: "w")
        XCTAssertEqual(Int(bitPattern: m.data) % 4, 0)
        XCTAssertFalse(m.owner === st.file)
        var out: [Float] = [0, 0]
        m.dequantizeRows(0..<1, into: &out)
        XCTAssertEqual(out, value)
        XCTAssertEqual(try st.floats(named: "w"), value)
    }

    func testMalformedHeaders() throws {
        XCTAssertEqual(try make(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]).tensors.count, 1)
        var huge: [UInt8] = []
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { huge += $0 }
        assertFormatError(try SafetensorsFile(file: MappedFile(copying: huge + [1, 2], name: "big.st")),
                          contains: ["big.st", "1099511627776", "absurd"])
        var past: [UInt8] = []
        withUnsafeBytes(of: UInt64(100).littleEndian) { past += $0 }
        assertFormatError(try SafetensorsFile(file: MappedFile(copying: past + Array("{}".utf8), name: "p.st")),
                          contains: ["p.st", "JSON header", "byte 8"])
        assertFormatError(try SafetensorsFile(file: MappedFile(copying: [1, 0, 0], name: "tiny.st")),
                          contains: ["tiny.st", "header length"])
        assertFormatError(try make(#"{"a": [1,"#), contains: ["h.safetensors", "invalid JSON"])
        assertFormatError(try make(#"["a"]"#), contains: ["does not start with '{'"])
        assertFormatError(try make(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]),
                          contains: ["'a'", "[0, 8]", "past the end"])
        assertFormatError(try make(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 8)),
                          contains: ["'a'", "need 8 bytes", "span 4"])
        assertFormatError(try make(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#,
                                   data: [UInt8](repeating: 0, count: 8)), contains: ["'b'", "overlap", "'a'"])
        assertFormatError(try make(#"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}"#, data: [0]),
                          contains: ["'a'", "dtype \"Q9\""]) {
            if case .unknownTensorType = $0 { return true } else { return false }
        }
        assertFormatError(try make(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                          contains: ["'a'", "overflows"])
        assertFormatError(try make(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                          contains: ["'a'", "shape"])
        assertFormatError(try make(#"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                          contains: ["'a'", "shape"])
        assertFormatError(try make(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
                          contains: ["'a'", "data_offsets"])
        assertFormatError(try make(#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), contains: ["'a'", "dtype"])
        assertFormatError(try make(#"{"__metadata__":{"k":1}}"#), contains: ["__metadata__.k", "strings"])
    }
}
