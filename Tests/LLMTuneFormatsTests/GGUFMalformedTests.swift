// Hand-made malformed GGUF files: each must give a typed FormatError naming the file, the key or tensor,
// the byte offset where it applies, and a hint.

import XCTest
@testable import LLMTuneFormats

final class GGUFMalformedTests: XCTestCase {
    /// A valid file with one key and one F32 tensor [4], used as the base of several cases.
    private func oneTensor(type: UInt32 = 0, dims: [UInt64] = [4], offset: UInt64 = 0, dataBytes: Int = 16) -> RawGGUF {
        var g = RawGGUF()
        g.header(tensors: 1, keys: 1)
        g.string("general.architecture"); g.u32(8); g.string("llama")
        g.tensorInfo("w", dims: dims, type: type, offset: offset)
        g.pad(to: 32)
        g.zeros(dataBytes)
        return g
    }

    func testValidBaseParses() throws {
        let g = try oneTensor().parse()
        XCTAssertEqual(g.tensors.first?.byteCount, 16)
        XCTAssertEqual(try g.floats(named: "w"), [0, 0, 0, 0])
    }

    func testBadMagicAndVersions() {
        var g = RawGGUF()
        g.bytes = Array("GGML".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16)
        assertFormatError(try g.parse(name: "x.gguf"), contains: ["x.gguf", "not a GGUF file", "\"GGML\""])
        var v1 = RawGGUF(); v1.header(version: 1, tensors: 0, keys: 0)
        assertFormatError(try v1.parse(), contains: ["unsupported GGUF version 1"])
        var big = RawGGUF(); big.header(version: 0x0300_0000, tensors: 0, keys: 0)
        assertFormatError(try big.parse(), contains: ["big-endian"])
        var v2 = RawGGUF(); v2.header(version: 2, tensors: 0, keys: 0)
        XCTAssertEqual(try v2.parse().version, 2)
    }

    func testLyingCounts() {
        var g = RawGGUF(); g.header(tensors: 1 << 60, keys: 0)
        assertFormatError(try g.parse(name: "c.gguf"), contains: ["c.gguf", "tensor count", "1152921504606846976", "byte 8"])
        var k = RawGGUF(); k.header(tensors: 0, keys: UInt64.max)
        assertFormatError(try k.parse(), contains: ["metadata key count", "byte 16"])

        var s = RawGGUF(); s.header(tensors: 0, keys: 1)
        s.u64(1 << 40); s.bytes += Array("abc".utf8); s.zeros(16)
        assertFormatError(try s.parse(), contains: ["metadata key #0", "1099511627776", "byte 24"])

        var v = RawGGUF(); v.header(tensors: 0, keys: 1)
        v.string("name"); v.u32(8); v.u64(100); v.bytes += Array("short".utf8)
        assertFormatError(try v.parse(), contains: ["key 'name'", "byte 40"])

        var a = RawGGUF(); a.header(tensors: 0, keys: 1)
        a.string("tokenizer.ggml.tokens"); a.u32(9); a.u32(8); a.u64(1 << 50)
        assertFormatError(try a.parse(), contains: ["element count of array 'tokenizer.ggml.tokens'", "1125899906842624"]) {
            if case .implausibleCount = $0 { return true } else { return false }
        }
    }

    func testUnknownTypes() {
        var v = RawGGUF(); v.header(tensors: 0, keys: 1)
        v.string("weird"); v.u32(13); v.u32(0)
        assertFormatError(try v.parse(), contains: ["'weird'", "unknown value type 13", "byte 37"])
        var e = RawGGUF(); e.header(tensors: 0, keys: 1)
        e.string("arr"); e.u32(9); e.u32(99); e.u64(0)
        assertFormatError(try e.parse(), contains: ["'arr'", "unknown value type 99"])
        assertFormatError(try oneTensor(type: 16).parse(), contains: ["tensor 'w'", "IQ2_XXS", "16"])
        assertFormatError(try oneTensor(type: 200).parse(), contains: ["tensor 'w'", "type number 200"]) {
            if case .unknownTensorType(_, "w", _, .some) = $0 { return true } else { return false }
        }
    }

    func testTensorLayoutErrors() {
        assertFormatError(try oneTensor(offset: 8).parse(), contains: ["'w'", "offset 8", "alignment 32"])
        assertFormatError(try oneTensor(offset: 32).parse(), contains: ["'w'", "past the end of the data section"])
        assertFormatError(try oneTensor(dataBytes: 15).parse(), contains: ["'w'", "past the end"])
        assertFormatError(try oneTensor(offset: 1 << 63).parse(), contains: ["'w'", "too large"])
        assertFormatError(try oneTensor(dims: [1 << 40, 1 << 40]).parse(), contains: ["'w'", "overflows"])
        assertFormatError(try oneTensor(dims: [1 << 62]).parse(), contains: ["'w'", "overflows"])
        assertFormatError(try oneTensor(dims: [1, 1, 1, 1, 4]).parse(), contains: ["'w'", "5 dimensions"])
        assertFormatError(try oneTensor(type: 8, dims: [31, 1], dataBytes: 34).parse(),
                          contains: ["'w'", "31", "block size 32"])

        var o = RawGGUF(); o.header(tensors: 2, keys: 0)
        o.tensorInfo("a", dims: [16], type: 0, offset: 0)
        o.tensorInfo("b", dims: [8], type: 0, offset: 32)
        o.pad(to: 32); o.zeros(96)
        assertFormatError(try o.parse(), contains: ["tensor 'b'", "overlaps tensor 'a'"])

        var d = RawGGUF(); d.header(tensors: 2, keys: 0)
        d.tensorInfo("a", dims: [8], type: 0, offset: 0)
        d.tensorInfo("a", dims: [8], type: 0, offset: 32)
        d.pad(to: 32); d.zeros(64)
        assertFormatError(try d.parse(), contains: ["'a'", "duplicate tensor name"])
    }

    func testMetadataErrors() throws {
        var dup = RawGGUF(); dup.header(tensors: 0, keys: 2)
        dup.string("k"); dup.u32(4); dup.u32(1)
        dup.string("k"); dup.u32(4); dup.u32(2)
        assertFormatError(try dup.parse(), contains: ["key 'k'", "duplicate"])

        var b = RawGGUF(); b.header(tensors: 0, keys: 1)
        b.string("flag"); b.u32(7); b.u8(2)
        assertFormatError(try b.parse(), contains: ["key 'flag'", "bool value 2"])

        var al = RawGGUF(); al.header(tensors: 0, keys: 1)
        al.string("general.alignment"); al.u32(4); al.u32(48)
        assertFormatError(try al.parse(), contains: ["general.alignment", "power of two"])

        var deep = RawGGUF(); deep.header(tensors: 0, keys: 1)
        deep.string("deep"); deep.u32(9)
        for _ in 0..<20 { deep.u32(9); deep.u64(1) }
        deep.u32(4); deep.u64(0)
        assertFormatError(try deep.parse(), contains: ["'deep'", "nested"])

        var a64 = RawGGUF(); a64.header(tensors: 1, keys: 1)
        a64.string("general.alignment"); a64.u32(4); a64.u32(64)
        a64.tensorInfo("w", dims: [4], type: 0, offset: 0)
        a64.pad(to: 64); a64.zeros(16)
        let g = try a64.parse()
        XCTAssertEqual(g.alignment, 64)
        XCTAssertEqual(g.dataOffset, 128)
    }

    func testTruncatedNamesFileItemAndOffset() throws {
        let bytes = try Fixtures.bytes("gguf_fixture.gguf")
        var cut = RawGGUF(); cut.bytes = Array(bytes[..<300])
        assertFormatError(try cut.parse(name: "cut.gguf"), contains: ["cut.gguf", "byte", "past the end"])
        var header = RawGGUF(); header.bytes = Array(bytes[..<10])
        assertFormatError(try header.parse(name: "h.gguf"), contains: ["h.gguf", "tensor count", "byte 8"]) {
            if case .truncated(_, 8, 8, _) = $0 { return true } else { return false }
        }
        // The data section cut short: the last tensor runs past the end.
        var data = RawGGUF(); data.bytes = Array(bytes.dropLast(40))
        assertFormatError(try data.parse(), contains: ["'q4_1_2d'", "past the end"])
    }

    func testManyTokenStringsLoadLinearly() throws {
        // 262,144 entries like Gemma-3's vocabulary: tokens, scores and token types.
        let n = 262_144
        var writer = GGUFWriter()
        writer.set("tokenizer.ggml.tokens", .array((0..<n).map { .string("tok\($0)") }))
        writer.set("tokenizer.ggml.scores", .array((0..<n).map { .float32(Float($0) * -0.5) }))
        writer.set("tokenizer.ggml.token_type", .array((0..<n).map { .int32(Int32($0 % 7)) }))
        let url = try temporaryDirectory(self).appendingPathComponent("vocab.gguf")
        try writer.write(to: url)
        let start = Date()
        let g = try GGUFFile(url: url)
        let tokens = try XCTUnwrap(try g.stringArray("tokenizer.ggml.tokens"))
        let scores = try XCTUnwrap(try g.floatArray("tokenizer.ggml.scores"))
        let types = try XCTUnwrap(try g.intArray("tokenizer.ggml.token_type"))
        print("262,144-token vocabulary read in \(String(format: "%.3f", Date().timeIntervalSince(start))) s (debug build)")
        XCTAssertEqual(tokens.count, n)
        XCTAssertEqual(tokens[123_456], "tok123456")
        XCTAssertEqual(scores[1001], -500.5)
        XCTAssertEqual(types[13], 6)
    }
}
