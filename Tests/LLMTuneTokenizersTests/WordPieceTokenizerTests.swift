// WordPiece (BERT) tokenization against HF tokenizers goldens (Fixtures/wordpiece, written by
// tools/reference/bert_wordpiece_fixtures.py): two tiny trained vocabularies that always run, and the real
// all-MiniLM-L6-v2 tokenizer.json, loaded from the pulled model (skipped when it is not pulled).

import Foundation
import XCTest
@testable import LLMTuneTokenizers

struct WordPieceGolden: Decodable {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_no_special: [Int]
        let tokens: [String]
        let decoded: String
        let decoded_skip_special: String
    }
    let vocabulary_size: Int
    let cases: [Case]
}

final class WordPieceTokenizerTests: XCTestCase {
    static func miniLMFolder() throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["LLMTUNE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/llmtune")
        let folder = home.appendingPathComponent("models/all-minilm-l6-v2")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) else {
            throw XCTSkip("all-minilm-l6-v2 not pulled (llmtune pull all-minilm-l6-v2)")
        }
        return folder
    }

    private func check(_ tokenizer: WordPieceTokenizer, golden name: String, minimumCases: Int = 30,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let golden = try Fixtures.decode(WordPieceGolden.self, "wordpiece/\(name)")
        XCTAssertGreaterThanOrEqual(golden.cases.count, minimumCases, file: file, line: line)
        XCTAssertEqual(tokenizer.vocabularySize, golden.vocabulary_size, file: file, line: line)
        for c in golden.cases {
            let ids = tokenizer.encode(c.text, addSpecialTokens: true)
            XCTAssertEqual(ids, c.ids, "encode \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer.encode(c.text, addSpecialTokens: false), c.ids_no_special,
                           "encode without specials \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(ids.map { tokenizer.token(for: $0) ?? "?" }, c.tokens, file: file, line: line)
            XCTAssertEqual(tokenizer.decode(c.ids, skipSpecialTokens: false), c.decoded,
                           "decode \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(c.ids, skipSpecialTokens: true), c.decoded_skip_special,
                           "decode skipping specials \(c.text.debugDescription)", file: file, line: line)
        }
    }

    func testTinyUncasedMatchesHF() throws {
        let tokenizer = try WordPieceTokenizer.load(directory: Fixtures.url("wordpiece/tiny"))
        try check(tokenizer, golden: "golden_tiny.json")
        XCTAssertEqual(tokenizer.token(for: tokenizer.bosTokenId ?? -1), "[CLS]")
        XCTAssertEqual(tokenizer.token(for: tokenizer.unknownTokenId ?? -1), "[UNK]")
        XCTAssertEqual(tokenizer.token(for: tokenizer.padTokenId ?? -1), "[PAD]")
    }

    func testTinyCasedWithoutCJKSplittingMatchesHF() throws {
        try check(WordPieceTokenizer.load(directory: Fixtures.url("wordpiece/tiny_cased")),
                  golden: "golden_tiny_cased.json")
    }

    func testMiniLMMatchesHF() throws {
        let folder = try Self.miniLMFolder()
        let tokenizer = try WordPieceTokenizer.load(directory: folder)
        try check(tokenizer, golden: "golden_minilm.json")
        XCTAssertEqual(tokenizer.bosTokenId, 101)
        XCTAssertEqual(tokenizer.padTokenId, 0)
        XCTAssertEqual(tokenizer.unknownTokenId, 100)
        XCTAssertTrue(tokenizer.isSpecialToken(102))
        XCTAssertFalse(tokenizer.isSpecialToken(7592))
    }

    func testDispatchingLoaderPicksWordPieceOrBPE() throws {
        XCTAssertTrue(try AutoTokenizer.load(directory: Fixtures.url("wordpiece/tiny")) is WordPieceTokenizer)
        XCTAssertTrue(try AutoTokenizer.load(directory: Fixtures.url("wordpiece/tiny/tokenizer.json"))
            is WordPieceTokenizer)
        XCTAssertTrue(try AutoTokenizer.load(directory: Fixtures.url("tiny_smollm")) is BPETokenizer)
        // The BPE loader names the right entry point for a WordPiece file.
        XCTAssertThrowsError(try BPETokenizer.load(directory: Fixtures.url("wordpiece/tiny"))) { error in
            XCTAssertTrue("\(error)".contains("WordPiece"), "\(error)")
        }
    }

    func testNormalizerAndPreTokenizerPieces() {
        let normalizer = BertNormalizer()
        XCTAssertEqual(normalizer.normalize("Héllo\tWORLD\u{200B}!"), "hello world!")
        XCTAssertEqual(normalizer.normalize("中文"), " 中  文 ")
        XCTAssertEqual(BertNormalizer(stripAccents: false).normalize("Ünïcode"), "ünïcode")
        XCTAssertEqual(BertNormalizer(lowercase: false).normalize("Ünïcode"), "Ünïcode")
        XCTAssertEqual(BertPreTokenizer().preTokenize("don't  stop-me now!"),
                       ["don", "'", "t", "stop", "-", "me", "now", "!"])
    }

    func testLongWordBecomesUnknownAndPiecesDropPrefix() throws {
        let tokenizer = try WordPieceTokenizer.load(directory: Fixtures.url("wordpiece/tiny"))
        let unk = try XCTUnwrap(tokenizer.unknownTokenId)
        XCTAssertEqual(tokenizer.encode(String(repeating: "b", count: 101), addSpecialTokens: false), [unk])
        XCTAssertNotEqual(tokenizer.encode(String(repeating: "b", count: 100), addSpecialTokens: false), [unk])
        let ids = tokenizer.encode("tokenization", addSpecialTokens: false)
        let pieces = tokenizer.pieces(for: ids)
        XCTAssertGreaterThan(pieces.count, 1)
        XCTAssertTrue(pieces[1].token.hasPrefix("##"))
        XCTAssertEqual(pieces.map(\.text).joined(), "tokenization")
    }

    func testMalformedFilesAreTypedErrors() {
        let missingUnknown = #"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"a": 0}}}"#
        XCTAssertThrowsError(try WordPieceTokenizer.load(tokenizerJSON: Array(missingUnknown.utf8), tokenizerConfig: nil)) {
            XCTAssertTrue("\($0)".contains("unk_token"), "\($0)")
        }
        let bpe = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#
        XCTAssertThrowsError(try WordPieceTokenizer.load(tokenizerJSON: Array(bpe.utf8), tokenizerConfig: nil)) {
            XCTAssertTrue("\($0)".contains("BPE"), "\($0)")
        }
    }
}
