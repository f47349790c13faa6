// Expected values: hand-computed where noted; the BLEU and ROUGE-L numbers were checked against sacrebleu 2.6.0
// (corpus_bleu, defaults) and rouge-score 0.1.2 (RougeScorer(["rougeL"])).
import XCTest
@testable import LLMTuneEvaluation

final class TextMetricsTests: XCTestCase {
    func testNormalizationAndExactMatch() {
        let plain = TextNormalization()
        XCTAssertEqual(TextMetrics.exactMatch("  Paris \n", references: ["Paris"], normalization: plain), 1)
        XCTAssertEqual(TextMetrics.exactMatch("paris", references: ["Paris"], normalization: plain), 0)
        XCTAssertEqual(TextMetrics.exactMatch("paris", references: ["Rome", "Paris"],
                                              normalization: TextNormalization(ignoreCase: true)), 1)
        let loose = TextNormalization(ignoreCase: true, ignorePunctuation: true, collapseWhitespace: true)
        XCTAssertEqual(loose.apply(" It's  a\tdog!\n"), "its a dog")
        XCTAssertEqual(TextMetrics.exactMatch("It's a dog!", references: ["its a  dog"], normalization: loose), 1)
        XCTAssertEqual(TextMetrics.exactMatch(" x", references: ["x"], normalization: TextNormalization(trim: false)), 0)
        XCTAssertEqual(TextMetrics.contains("The answer is Paris.", references: ["Paris"], normalization: plain), 1)
        XCTAssertEqual(TextMetrics.contains("The answer is Rome.", references: ["Paris"], normalization: plain), 0)
    }

    func testRougeL() {
        // Hand: tokens [the cat sat on the mat] vs [the cat is on the mat]: LCS 5, P = R = 5/6, F = 5/6.
        XCTAssertEqual(TextMetrics.rougeL("The cat sat on the mat.", references: ["The cat is on the mat."]), 5.0 / 6, accuracy: 1e-12)
        // Hand: LCS("police killed the gunman", "the gunman police killed") = 2, F = 0.5.
        XCTAssertEqual(TextMetrics.rougeL("the gunman police killed", references: ["police killed the gunman"]), 0.5, accuracy: 1e-12)
        // Non-ASCII letters split tokens in rouge-score's default tokenizer: [h llo world 42] vs [hello world 42].
        XCTAssertEqual(TextMetrics.rougeL("hello world 42", references: ["héllo World-42!"]), 0.5714285714285715, accuracy: 1e-12)
        XCTAssertEqual(TextMetrics.rougeL("", references: ["x"]), 0)
        XCTAssertEqual(TextMetrics.rougeL("a b", references: ["zzz", "a b"]), 1)      // best reference
    }

    func testTokenize13a() {
        XCTAssertEqual(TextMetrics.tokenize13a("Hello, world! It's 3.14 - or 1-2, isn't it?"),
                       ["Hello", ",", "world", "!", "It's", "3.14", "-", "or", "1", "-", "2", ",", "isn't", "it", "?"])
        XCTAssertEqual(TextMetrics.tokenize13a("a.b,c 5.5 x-y 3-4 (ok) [z] {w} $10 &amp; \"q\""),
                       ["a", ".", "b", ",", "c", "5.5", "x-y", "3", "-", "4", "(", "ok", ")", "[", "z", "]", "{", "w",
                        "}", "$", "10", "&", "\"", "q", "\""])
        XCTAssertEqual(TextMetrics.tokenize13a("End."), ["End", "."])
    }

    func testCorpusBLEU() {
        XCTAssertEqual(TextMetrics.corpusBLEU(["The cat sat on the mat.", "A quick brown fox", "hello"],
                                              references: [["The cat is on the mat."], ["The quick brown fox jumps"],
                                                           ["hello there friend"]]),
                       36.38074228571148, accuracy: 1e-9)
        // Hand: 1-grams 1/4 correct, no 2/3/4-gram matches -> exp smoothing 100/(2*3), 100/(4*2), 100/(8*1);
        // no brevity penalty (4 >= 2): exp(mean(log 25, log 16.67, log 12.5, log 12.5)) = 15.9736.
        XCTAssertEqual(TextMetrics.corpusBLEU(["the the the the"], references: [["the cat"]]), 15.97357760615681, accuracy: 1e-9)
        XCTAssertEqual(TextMetrics.corpusBLEU(["the cat sat on a mat"],
                                              references: [["the cat sat on the mat", "a cat sat on a mat"]]), 100, accuracy: 1e-9)
        XCTAssertEqual(TextMetrics.corpusBLEU(["x"], references: [["y z"]]), 0)
    }

    func testGenerationResultAggregates() {
        let r = GenerationTaskResult(task: "t", outputs: ["Paris", "the Rome"], references: [["Paris"], ["Rome"]],
                                     normalization: TextNormalization())
        XCTAssertEqual(r.exactMatch, 0.5)
        XCTAssertEqual(r.contains, 1)
        XCTAssertEqual(r.exactMatchStderr, 0.5, accuracy: 1e-12)   // sd of [1, 0] = 0.7071, / sqrt 2
        XCTAssertEqual(r.rougeL, (1 + 2.0 / 3) / 2, accuracy: 1e-12)
    }

    func testRankedListMetrics() {
        let n = TextNormalization(ignoreCase: true)
        let items = TextMetrics.rankedItems("1. Paris\n2) Rome\n- berlin, Madrid\n\n* Oslo", normalization: n)
        XCTAssertEqual(items, ["paris", "rome", "berlin", "madrid", "oslo"])
        let relevant: Set = ["rome", "madrid", "lisbon"]
        // Hand: top-3 = paris, rome, berlin -> 1 relevant -> P@3 = 1/3.
        XCTAssertEqual(TextMetrics.precisionAtK(items, relevant: relevant, k: 3), 1.0 / 3, accuracy: 1e-12)
        // Hand: hits at ranks 2 and 4 -> (1/2 + 2/4) / min(5, 3) = 1/3.
        XCTAssertEqual(TextMetrics.averagePrecisionAtK(items, relevant: relevant, k: 5), 1.0 / 3, accuracy: 1e-12)
        // Hand: only rank 2 within k = 3 -> (1/2) / 3.
        XCTAssertEqual(TextMetrics.averagePrecisionAtK(items, relevant: relevant, k: 3), 1.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(TextMetrics.averagePrecisionAtK(["a", "a"], relevant: ["a"], k: 2), 1)   // duplicates count once
        let r = GenerationTaskResult(task: "t", outputs: ["a, b", "c"], references: [["b"], ["c"]],
                                     normalization: TextNormalization(), rankK: 2)
        XCTAssertEqual(r.precisionAtK!, (0.5 + 0.5) / 2, accuracy: 1e-12)
        XCTAssertEqual(r.averagePrecisionAtK!, (0.5 + 1) / 2, accuracy: 1e-12)
    }

    func testAnswerExtractionAndVote() throws {
        let p = ReasoningAnswers.defaultPattern
        XCTAssertEqual(try ReasoningAnswers.extract("3 + 4 = 7. The answer is 7.\nDone", pattern: p), "7")
        XCTAssertEqual(try ReasoningAnswers.extract("so the answer is: 3.14 meters", pattern: p), "3.14 meters")
        XCTAssertEqual(try ReasoningAnswers.extract("no idea", pattern: p), "")
        XCTAssertEqual(try ReasoningAnswers.extract("x=12 y=5", pattern: #"\d+"#), "12")     // no group: whole match
        XCTAssertThrowsError(try ReasoningAnswers.extract("x", pattern: "("))
        XCTAssertEqual(ReasoningAnswers.majority(["7", "8", "8", "7", "9"]), "7")          // tie: seen first
        XCTAssertEqual(ReasoningAnswers.majority(["7", "8", "8"]), "8")
    }
}

