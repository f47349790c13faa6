// Dequantization of every supported GGML type, bitwise against gguf.quants.dequantize (== ggml).
import XCTest
@testable import LLMTuneKernels

final class QuantizationDequantizeTests: XCTestCase {
    private func check(_ c: QuantFixtureCase, file: StaticString = #filePath, line: UInt = #line) throws {
        let type = try XCTUnwrap(GGMLType(name: c.type), c.type)
        let raw = try QuantFixtures.bytes(c.raw)
        let expected = try QuantFixtures.floats(c.floats)
        XCTAssertEqual(raw.count, c.rows * (try XCTUnwrap(type.byteCount(elements: c.columns))), c.raw)
        XCTAssertEqual(expected.count, c.rows * c.columns, c.floats)
        try raw.withUnsafeBytes { buffer in
            let w = QuantizedMatrix(type: type, rows: c.rows, columns: c.columns,
                                    data: try XCTUnwrap(buffer.baseAddress), owner: nil)
            let got = w.dequantizedArray()
            var mismatches = 0
            for i in 0..<expected.count where got[i].bitPattern != expected[i].bitPattern {
                if mismatches < 5 {
                    XCTFail("\(c.type) \(c.raw) element \(i): got \(got[i]), expected \(expected[i])",
                            file: file, line: line)
                }
                mismatches += 1
            }
            XCTAssertEqual(mismatches, 0, "\(c.type): \(mismatches) of \(expected.count) differ", file: file, line: line)

            // A sub-range of rows lands at the start of the output.
            if c.rows > 1 {
                var part = [Float](repeating: .nan, count: c.columns)
                part.withUnsafeMutableBufferPointer { w.dequantizeRows(1..<2, into: $0.baseAddress!) }
                XCTAssertEqual(part.map(\.bitPattern), expected[c.columns..<(2 * c.columns)].map(\.bitPattern),
                               "\(c.type) row 1", file: file, line: line)
            }
        }
    }

    func testEverySupportedTypeMatchesTheOracleBitwise() throws {
        let manifest = try QuantFixtures.manifest()
        let covered = Set(manifest.dequantize.compactMap { GGMLType(name: $0.type) })
        let supported = Set(GGMLType.allCases.filter(\.isSupportedWeight))
        XCTAssertEqual(covered, supported, "fixtures must cover every supported weight type")
        for c in manifest.dequantize { try check(c) }
    }

    func testRealSmolLM2TensorsMatchTheOracleBitwise() throws {
        let manifest = try QuantFixtures.manifest()
        XCTAssertEqual(Set(manifest.real.map(\.type)), ["Q4_1", "Q8_0"], "real fixtures missing")
        for c in manifest.real { try check(c) }
    }

    func testLargeRangeDequantizesInParallelToTheSameValues() {
        // Enough weights to take the parallel path, with an odd thread count.
        var rng = SeededGenerator(seed: 7)
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for type in [GGMLType.q4_1, .q6_K, .bf16] {
            let m = RandomEncodedMatrix(type, rows: 300, columns: 512, rng: &rng)
            Parallel.threads = 1
            let serial = m.matrix.dequantizedArray()
            Parallel.threads = 3
            let parallel = m.matrix.dequantizedArray()
            XCTAssertEqual(serial.map(\.bitPattern), parallel.map(\.bitPattern), "\(type)")
            XCTAssertFalse(serial.contains { !$0.isFinite }, "\(type)")
        }
    }
}
