// Encoders (F32, F16, BF16, Q8_0, Q4_0, Q4_1), byte for byte against gguf.quants.quantize (== ggml's
// quantize_row_*_ref), and their round trip through the decoders.
import XCTest
@testable import LLMTuneKernels

final class QuantizationQuantizerTests: XCTestCase {
    func testEncodersMatchTheOracleBytes() throws {
        let manifest = try QuantFixtures.manifest()
        XCTAssertEqual(Set(manifest.quantize.map(\.type)), ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1"])
        for c in manifest.quantize {
            let type = try XCTUnwrap(GGMLType(name: c.type))
            XCTAssertTrue(Quantizer.canQuantize(type))
            let x = try QuantFixtures.floats(c.floats)
            let expected = try QuantFixtures.bytes(c.raw)
            let rowBytes = try XCTUnwrap(type.byteCount(elements: c.columns))
            XCTAssertEqual(expected.count, c.rows * rowBytes)
            var got = [UInt8](repeating: 0xAA, count: c.rows * rowBytes)
            x.withUnsafeBufferPointer { xs in
                got.withUnsafeMutableBytes { out in
                    for r in 0..<c.rows {
                        Quantizer.quantizeRow(type, xs.baseAddress! + r * c.columns, count: c.columns,
                                              into: out.baseAddress! + r * rowBytes)
                    }
                }
            }
            let differing = (0..<expected.count).filter { got[$0] != expected[$0] }
            XCTAssertEqual(differing.count, 0, "\(c.type): bytes \(differing.prefix(8)) differ")
        }
    }

    func testRoundTripErrorIsWithinHalfAStep() {
        var rng = SeededGenerator(seed: 11)
        let x = (0..<256).map { _ in Float.random(in: -3...3, using: &rng) }
        for type in [GGMLType.q8_0, .q4_0, .q4_1, .f16, .bf16, .f32] {
            var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
            x.withUnsafeBufferPointer { xs in
                bytes.withUnsafeMutableBytes { Quantizer.quantizeRow(type, xs.baseAddress!, count: x.count,
                                                                     into: $0.baseAddress!) }
            }
            let y: [Float] = bytes.withUnsafeBytes {
                QuantizedMatrix(type: type, rows: 1, columns: x.count, data: $0.baseAddress!, owner: nil)
                    .dequantizedArray()
            }
            for b in 0..<(x.count / 32) {
                let block = x[(32 * b)..<(32 * b + 32)]
                let range = block.max()! - block.min()!
                let amax = block.map(abs).max()!
                // Half a quantization step, plus the fp16 rounding of the scale.
                let step: Float
                switch type {
                case .q8_0: step = amax / 127
                case .q4_0: step = amax / 8 * 2  // q clamps at 15: the top of the range may lose a step
                case .q4_1: step = range / 15
                default: step = amax * 0.008
                }
                for j in 32 * b..<(32 * b + 32) {
                    XCTAssertLessThanOrEqual(abs(y[j] - x[j]), 0.5 * step + amax * 2e-3,
                                             "\(type) element \(j)")
                }
            }
        }
    }

    func testBFloat16RoundsToNearestEvenAndKeepsNaN() {
        XCTAssertEqual(Quantizer.bfloat16Bits(1.0), 0x3f80)
        XCTAssertEqual(Quantizer.bfloat16Bits(Float(bitPattern: 0x3f80_8000)), 0x3f80)  // tie -> even
        XCTAssertEqual(Quantizer.bfloat16Bits(Float(bitPattern: 0x3f81_8000)), 0x3f82)  // tie -> even (up)
        XCTAssertEqual(Quantizer.bfloat16Bits(Float(bitPattern: 0x3f80_8001)), 0x3f81)
        XCTAssertEqual(Quantizer.bfloat16Bits(.nan) & 0x7fc0, 0x7fc0)
    }

    func testNonFiniteInputDoesNotCrash() {
        let x = [Float](repeating: 1, count: 31) + [.nan]
        for type in [GGMLType.q8_0, .q4_0, .q4_1] {
            var bytes = [UInt8](repeating: 0, count: type.blockBytes)
            x.withUnsafeBufferPointer { xs in
                bytes.withUnsafeMutableBytes { Quantizer.quantizeRow(type, xs.baseAddress!, count: 32,
                                                                     into: $0.baseAddress!) }
            }
        }
        XCTAssertFalse(Quantizer.canQuantize(.q4_K))
    }
}
