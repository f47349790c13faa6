// The hand-written regex scanners and split behaviors against HF tokenizers' Split / Digits
// (Fixtures/pretokenize.json), plus the BPE merge loop's two strategies against each other.

import XCTest
@testable import LLMTuneTokenizers

final class PreTokenizerTests: XCTestCase {
    func preTokenizer(_ name: String) throws -> PreTokenizer {
        switch name {
        case "gpt2": return try SplitPreTokenizer(regex: PretokenizerPattern.gpt2)
        case "llama3": return try SplitPreTokenizer(regex: PretokenizerPattern.llama3)
        case "qwen2": return try SplitPreTokenizer(regex: PretokenizerPattern.qwen2)
        case "digits_individual": return DigitsPreTokenizer(individualDigits: true)
        case "digits_runs": return DigitsPreTokenizer(individualDigits: false)
        case "gpt2_removed": return try SplitPreTokenizer(regex: PretokenizerPattern.gpt2, behavior: .removed, invert: true)
        case "literal_comma_merged_previous": return SplitPreTokenizer(literal: ",", behavior: .mergedWithPrevious)
        case "literal_comma_merged_next": return SplitPreTokenizer(literal: ",", behavior: .mergedWithNext)
        case "literal_comma_contiguous": return SplitPreTokenizer(literal: ",", behavior: .contiguous)
        case "literal_comma_removed": return SplitPreTokenizer(literal: ",", behavior: .removed)
        case "llamacpp_default": return try BPETokenizer.ggufPreTokenizer("default", source: "test").preTokenizer
        case "llamacpp_falcon": return try BPETokenizer.ggufPreTokenizer("falcon", source: "test").preTokenizer
        case "llamacpp_deepseek-llm":
            return try BPETokenizer.ggufPreTokenizer("deepseek-llm", source: "test").preTokenizer
        default: throw XCTSkip("no pre-tokenizer for \(name)")
        }
    }

    func testSplitsMatchHFTokenizers() throws {
        let golden = try Fixtures.decode(PreTokenizeGolden.self, "pretokenize.json")
        XCTAssertEqual(golden.pieces.count, 13)
        for (name, expected) in golden.pieces.sorted(by: { $0.key < $1.key }) {
            let pre = try preTokenizer(name)
            for (text, pieces) in zip(golden.texts, expected) {
                XCTAssertEqual(pre.preTokenize(text), pieces, "\(name): \(text.debugDescription)")
            }
        }
    }

    func testLlamaCppSpellingsOfThePatterns() throws {
        let golden = try Fixtures.decode(PreTokenizeGolden.self, "pretokenize.json")
        let gpt2 = try SplitPreTokenizer(regex: String(PretokenizerPattern.gpt2.dropLast(4)))
        let llama3 = try SplitPreTokenizer(regex: PretokenizerPattern.llama3LlamaCpp)
        let qwen2 = try SplitPreTokenizer(regex: PretokenizerPattern.qwen2LlamaCpp)
        for (index, text) in golden.texts.enumerated() {
            XCTAssertEqual(gpt2.preTokenize(text), golden.pieces["gpt2"]?[index])
            XCTAssertEqual(llama3.preTokenize(text), golden.pieces["llama3"]?[index])
            XCTAssertEqual(qwen2.preTokenize(text), golden.pieces["qwen2"]?[index])
        }
    }

    func testWhitespaceLookaheadSemantics() throws {
        let gpt2 = try SplitPreTokenizer(regex: PretokenizerPattern.gpt2)
        // `\s+(?!\S)` gives back the last space to the following word; a lone tab stays alone.
        XCTAssertEqual(gpt2.preTokenize("a   b"), ["a", "  ", " b"])
        XCTAssertEqual(gpt2.preTokenize("a\tb"), ["a", "\t", "b"])
        XCTAssertEqual(gpt2.preTokenize("a  "), ["a", "  "])
        XCTAssertEqual(gpt2.preTokenize("x\n\ny"), ["x", "\n", "\n", "y"])
        let llama3 = try SplitPreTokenizer(regex: PretokenizerPattern.llama3)
        XCTAssertEqual(llama3.preTokenize("x\n\ny"), ["x", "\n\n", "y"])
        XCTAssertEqual(llama3.preTokenize("a \n  b"), ["a", " \n", " ", " b"])
        XCTAssertEqual(llama3.preTokenize("12345"), ["123", "45"])
        XCTAssertEqual(llama3.preTokenize("DON'T"), ["DON", "'T"])
    }

    func testUnknownPatternIsAnError() {
        XCTAssertThrowsError(try SplitPreTokenizer(regex: "[a-z]+", source: "x.json")) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedPattern(pattern: "[a-z]+", source: "x.json"))
            XCTAssertTrue("\(error)".contains("x.json"))
        }
    }

    func testByteLevelPrefixSpace() {
        let pre = ByteLevelPreTokenizer(addPrefixSpace: true, useRegex: true)
        XCTAssertEqual(pre.preTokenize("hi there"), [" hi", " there"])
        XCTAssertEqual(pre.preTokenize(" hi"), [" hi"])
        XCTAssertEqual(pre.preTokenize(""), [])
    }

    /// The heap-based merge (long words) and the scanning merge (short words) agree.
    func testMergeStrategiesAgree() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_smollm")
        let model = tokenizer.model
        var generator = SplitMix64(seed: 7)
        let alphabet = Array("aeinorst hlcdumpTHE ".utf8)
        for _ in 0..<300 {
            let length = Int(generator.next() % 120) + 2
            let word = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            var initial = word.map { model.byteIds[Int($0)] }
            var scanned = initial
            model.mergeByScanning(&scanned)
            model.mergeWithHeap(&initial)
            XCTAssertEqual(scanned, initial, String(decoding: word, as: UTF8.self))
            XCTAssertEqual(scanned.flatMap { tokenizer.pieceBytes(for: Int($0)) }, word)
        }
    }

    /// `ignore_merges`: a word that is a vocabulary entry is kept whole even when merges cannot reach it.
    /// Expected ids are HF tokenizers' for the same vocabulary (byte alphabet in code point order, "ab",
    /// "abc") and the single merge "a b".
    func testIgnoreMerges() throws {
        let alphabet = ByteLevelAlphabet.scalarOfByte.sorted().compactMap { Unicode.Scalar($0).map { String($0) } }
        for (ignore, expected) in [(true, [257, 220, 256, 66]), (false, [256, 66, 220, 256, 66])] {
            let tokenizer = try BPETokenizer(configuration: .init(
                tokens: alphabet + ["ab", "abc"], merges: [("a", "b")], ignoreMerges: ignore))
            XCTAssertEqual(tokenizer.encode("abc abc"), expected, "ignore_merges \(ignore)")
        }
    }

    /// A 90-letter word (heap path) encodes as HF does: covered by the "aaaa..." golden; this checks the
    /// long-whitespace run as well through the public API.
    func testLongRunsRoundTrip() throws {
        let tokenizer = try Fixtures.tinyTokenizerWithoutConfig("tiny_llama3")
        for text in [String(repeating: " ", count: 500) + "x", String(repeating: "ab", count: 400),
                     String(repeating: "é", count: 300)] {
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, addSpecialTokens: false)), text)
        }
    }
}

/// Deterministic pseudo-random numbers for tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
