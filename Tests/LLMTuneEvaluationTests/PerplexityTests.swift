import XCTest
@testable import LLMTuneEvaluation
import LLMTuneGeneration
import LLMTuneModels

final class PerplexityTests: XCTestCase {
    func windows(_ n: Int, context: Int, stride: Int? = nil) throws -> [[[Int]]] {
        try RollingWindows.requests(tokens: Array(0..<n), prefixToken: -1, context: context, stride: stride)
            .map { [$0.context, $0.continuation] }
    }

    /// Hand-computed from the harness's get_rolling_token_windows + make_disjoint_window.
    func testWindowsMatchHarness() throws {
        XCTAssertEqual(try windows(10, context: 4), [[[-1], [0, 1, 2, 3]], [[3], [4, 5, 6, 7]], [[5, 6, 7], [8, 9]]])
        XCTAssertEqual(try windows(10, context: 4, stride: 2),
                       [[[-1], [0, 1, 2, 3]], [[1, 2, 3], [4, 5]], [[3, 4, 5], [6, 7]], [[5, 6, 7], [8, 9]]])
        XCTAssertEqual(try windows(3, context: 4), [[[-1], [0, 1, 2]]])
        XCTAssertEqual(try windows(0, context: 4), [])
        XCTAssertThrowsError(try windows(10, context: 4, stride: 5))
        XCTAssertThrowsError(try windows(10, context: 4, stride: 0))
    }

    /// Every token is predicted exactly once, with at most `context` tokens of input, for any stride.
    func testEveryTokenOnce() throws {
        for n in [1, 5, 17, 64] {
            for (context, stride) in [(8, 8), (8, 1), (8, 3), (5, 4)] {
                let w = try windows(n, context: context, stride: stride)
                XCTAssertEqual(w.flatMap { $0[1] }, Array(0..<n))
                for pair in w {
                    XCTAssertLessThanOrEqual(pair[0].count + pair[1].count - 1, context)
                    if pair[0] != [-1] { XCTAssertGreaterThanOrEqual(pair[0].count, context - stride + 1) }
                }
            }
        }
    }

    func testWordCountLikePythonSplit() {
        XCTAssertEqual(Perplexity.wordCount("a b  c"), 3)
        XCTAssertEqual(Perplexity.wordCount(" a b\n"), 4)       // re.split(r"\s+", " a b\n") -> ['', 'a', 'b', '']
        XCTAssertEqual(Perplexity.wordCount(""), 1)
        XCTAssertEqual(Perplexity.wordCount("x\u{00A0}y"), 2)
    }

    /// A document shorter than the context: perplexity = exp(-sum(logprobs)/n) of Scorer on [prefix] + doc.
    func testConsistentWithScorerOnTinyModel() throws {
        let model = try TestModels.tinyLlama()
        var source = TokenSource(seed: 11)
        let doc = source.tokens(50)
        let result = try Perplexity.evaluate(model, documents: [doc], words: [10], bytes: [100], prefixToken: 1)
        let scores = try Scorer.score(model, tokens: [1] + doc)
        XCTAssertEqual(result.logLikelihood, -scores.totalNLL, accuracy: 1e-3)
        XCTAssertEqual(result.tokenPerplexity, scores.perplexity, accuracy: 1e-4 * scores.perplexity)
        XCTAssertEqual(result.wordPerplexity, exp(scores.totalNLL / 10), accuracy: 1e-4 * result.wordPerplexity)
        XCTAssertEqual(result.bitsPerByte, scores.totalNLL / 100 / log(2), accuracy: 1e-5)
        XCTAssertEqual(result.bytePerplexity, pow(2, result.bitsPerByte), accuracy: 1e-9 * result.bytePerplexity)
    }

    /// Longer than the context: disjoint windows equal Scorer's rolling windows (Scorer's window counts the token
    /// whose logits go unused, so its window 33 predicts exactly what the harness's 32-token windows do), and
    /// overlapping windows give every token more history (a different, here lower, total NLL).
    func testRollingOverLongDocument() throws {
        let model = try TestModels.tinyLlama()
        var source = TokenSource(seed: 12)
        let doc = source.tokens(300)
        let disjoint = try Perplexity.evaluate(model, documents: [doc], words: [1], bytes: [1], prefixToken: 1, context: 32)
        let scores = try Scorer.score(model, tokens: [1] + doc, window: 33)
        XCTAssertEqual(disjoint.logLikelihood, -scores.totalNLL, accuracy: 1e-3)
        XCTAssertEqual(disjoint.tokens, 300)

        // Overlapping: check against one direct full pass per window.
        let requests = try RollingWindows.requests(tokens: doc, prefixToken: 1, context: 32, stride: 8)
        var expected = 0.0
        for r in requests {
            expected += TestModels.directLogprobs(model, r.context + r.continuation).suffix(r.continuation.count).reduce(0, +)
        }
        let overlapped = try Perplexity.evaluate(model, documents: [doc], words: [1], bytes: [1], prefixToken: 1,
                                                 context: 32, stride: 8)
        XCTAssertEqual(overlapped.logLikelihood, expected, accuracy: 1e-3)
        XCTAssertNotEqual(overlapped.logLikelihood, disjoint.logLikelihood, accuracy: 1e-3)
    }
}
