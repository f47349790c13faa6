// Decoding: lossy UTF-8 against HF (Fixtures/lossy_decodes.json) and the streaming decoder.

import Foundation
import XCTest
@testable import LLMTuneTokenizers

final class DecodingTests: XCTestCase {
    func testLossyDecodeMatchesHF() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_smollm")
        let cases = try Fixtures.decode([LossyDecodeCase].self, "lossy_decodes.json")
        XCTAssertGreaterThan(cases.filter { $0.text.unicodeScalars.contains("\u{FFFD}") }.count, 20)
        for item in cases {
            XCTAssertEqual(Array(tokenizer.decode(item.ids).utf8), Array(item.text.utf8), "\(item.ids)")
        }
    }

    func testByteLevelAlphabet() {
        XCTAssertEqual(ByteLevelAlphabet.encode(Array(" hi\n".utf8)), "Ġhi\u{10A}")
        XCTAssertEqual(ByteLevelAlphabet.decode("Ġhi\u{10A}"), Array(" hi\n".utf8))
        XCTAssertNil(ByteLevelAlphabet.decode("a b"))  // a real space is not in the alphabet
        XCTAssertEqual(ByteLevelAlphabet.decodeOrRaw("a b"), Array("a b".utf8))
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(ByteLevelAlphabet.decode(ByteLevelAlphabet.encode(all)), all)
        XCTAssertEqual(Set(ByteLevelAlphabet.scalarOfByte).count, 256)
        XCTAssertEqual(ByteLevelAlphabet.scalarOfByte.max(), 323)
    }

    /// Id by id, the streaming decoder emits exactly the full decode and never half a character.
    func testStreamingEqualsFullDecode() throws {
        let goldens = try Fixtures.decode([String: [GoldenCase]].self, "golden_tiny.json")
        for name in TinyTokenizerGoldenTests.names {
            let tokenizer = try Fixtures.tinyTokenizerWithoutConfig(name)
            for golden in try XCTUnwrap(goldens[name]) {
                for skip in [false, true] {
                    var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: skip)
                    var text = ""
                    for id in golden.ids {
                        let chunk = decoder.append(id)
                        XCTAssertFalse(chunk.unicodeScalars.contains("\u{FFFD}"))
                        XCTAssertLessThanOrEqual(decoder.pendingByteCount, 3)
                        text += chunk
                    }
                    text += decoder.finish()
                    XCTAssertEqual(Array(text.utf8), Array(tokenizer.decode(golden.ids, skipSpecialTokens: skip).utf8),
                                   "\(name): \(golden.text.debugDescription)")
                }
            }
        }
    }

    /// Random byte tokens (mostly invalid UTF-8): the streamed text still equals the lossy full decode.
    func testStreamingOnInvalidBytes() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_smollm")
        let byteIds = (0..<256).compactMap { byte in
            tokenizer.id(for: ByteLevelAlphabet.encode([UInt8(byte)]))
        }
        XCTAssertEqual(byteIds.count, 256)
        var generator = SplitMix64(seed: 99)
        for _ in 0..<500 {
            let count = Int(generator.next() % 12) + 1
            let ids = (0..<count).map { _ -> Int in
                // Bias towards UTF-8 lead and continuation bytes.
                let pick = generator.next() % 4
                let byte = pick == 0 ? 0x80 + Int(generator.next() % 64) : (pick == 1 ? 0xC0 + Int(generator.next() % 64)
                                                                                    : Int(generator.next() % 256))
                return byteIds[byte]
            }
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            let streamed = decoder.append(contentsOf: ids) + decoder.finish()
            XCTAssertEqual(Array(streamed.utf8), Array(tokenizer.decode(ids).utf8), "\(ids)")
        }
    }

    func testStreamingHoldsBackPartialCharacter() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_smollm")
        func byteId(_ byte: UInt8) throws -> Int { try XCTUnwrap(tokenizer.id(for: ByteLevelAlphabet.encode([byte]))) }
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        // 😀 = F0 9F 98 80
        XCTAssertEqual(decoder.append(try byteId(0xF0)), "")
        XCTAssertEqual(decoder.append(try byteId(0x9F)), "")
        XCTAssertEqual(decoder.append(try byteId(0x98)), "")
        XCTAssertEqual(decoder.pendingByteCount, 3)
        XCTAssertEqual(decoder.append(try byteId(0x80)), "😀")
        XCTAssertEqual(decoder.pendingByteCount, 0)
        // An incomplete character at the end becomes U+FFFD on finish, as in decode.
        XCTAssertEqual(decoder.append(try byteId(0x61)), "a")
        XCTAssertEqual(decoder.append(try byteId(0xE2)), "")
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
        // A byte that cannot continue the pending sequence releases it at once.
        XCTAssertEqual(decoder.append(try byteId(0xE0)), "")
        XCTAssertEqual(decoder.append(try byteId(0x41)), "\u{FFFD}A")
        // Special tokens are skipped by default.
        XCTAssertEqual(decoder.append(try XCTUnwrap(tokenizer.id(for: "<|im_end|>"))), "")
    }
}

final class ConcurrencyTests: XCTestCase {
    /// One tokenizer used from several threads (shared merge cache) gives the single-thread results.
    func testConcurrentEncode() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_qwen2")
        let goldens = try XCTUnwrap(try Fixtures.decode([String: [GoldenCase]].self, "golden_tiny.json")["tiny_qwen2"])
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: goldens.count * 8)
        defer { results.deallocate() }
        results.initialize(repeating: false)
        DispatchQueue.concurrentPerform(iterations: goldens.count * 8) { index in
            let golden = goldens[index % goldens.count]
            results[index] = tokenizer.encode(golden.text) == golden.ids
        }
        XCTAssertTrue(results.allSatisfy { $0 })
    }
}
