import XCTest
@testable import LLMTuneEvaluation
import LLMTuneModels

final class LogLikelihoodTests: XCTestCase {
    /// Multiple-choice-like requests: several contexts, each with continuations of different lengths.
    func requests(seed: UInt64) -> [LogLikelihoodRequest] {
        var source = TokenSource(seed: seed)
        var out: [LogLikelihoodRequest] = []
        for c in 0..<4 {
            let context = source.tokens(5 + 7 * c)
            for k in 0..<4 { out.append(LogLikelihoodRequest(context: context, continuation: source.tokens(1 + (k * 3 + c) % 5))) }
        }
        out.append(LogLikelihoodRequest(context: [7], continuation: source.tokens(3)))   // one-token context
        return out
    }

    /// lm-evaluation-harness issue 1645: batch size must not change any number. Bitwise, on fp32 and Q8_0.
    func testBatchedEqualsOneAtATimeBitwise() throws {
        for model in [try TestModels.tinyLlama(), try TestModels.tinyLlamaQ8()] {
            let reqs = requests(seed: 3)
            let single = try reqs.map { try LogLikelihood.score(model, requests: [$0], batchSize: 1)[0] }
            for batch in [1, 3, 64] {
                let batched = try LogLikelihood.score(model, requests: reqs, batchSize: batch)
                XCTAssertEqual(batched, single, "batch size \(batch)")
            }
            // Order of requests does not matter either.
            let reversed = try LogLikelihood.score(model, requests: reqs.reversed(), batchSize: 64)
            XCTAssertEqual(Array(reversed.reversed()), single)
        }
    }

    /// Against one full forward pass over context + continuation.
    func testMatchesFullSequenceLogits() throws {
        let model = try TestModels.tinyLlama()
        let reqs = requests(seed: 5)
        let results = try LogLikelihood.score(model, requests: reqs)
        for (r, result) in zip(reqs, results) {
            let all = TestModels.directLogprobs(model, r.context + r.continuation)
            let expected = all.suffix(r.continuation.count).reduce(0, +)
            XCTAssertEqual(result.logprob, expected, accuracy: 1e-4)
            XCTAssertEqual(result.tokenCount, r.continuation.count)
            XCTAssertLessThan(result.logprob, 0)
        }
    }

    func testGreedy() throws {
        let model = try TestModels.tinyLlama()
        var tokens = [5, 9, 200]
        for _ in 0..<4 {     // greedy continuation
            let logits = model.logits(tokens).contiguous()
            let V = model.vocabularySize, row = logits.pointer + (tokens.count - 1) * V
            tokens.append((0..<V).max { row[$0] < row[$1] }!)
        }
        let context = Array(tokens[..<3]), continuation = Array(tokens[3...])
        var wrong = continuation
        wrong[2] = (wrong[2] + 1) % 256
        let results = try LogLikelihood.score(model, requests: [(context: context, continuation: continuation),
                                                                (context: context, continuation: wrong)])
        XCTAssertTrue(results[0].isGreedy)
        XCTAssertFalse(results[1].isGreedy)
        XCTAssertGreaterThan(results[0].logprob, results[1].logprob)
    }

    /// Context + continuation longer than maxLength + 1 keep their last maxLength + 1 tokens.
    func testLeftTruncation() throws {
        let model = try TestModels.tinyLlama()
        var source = TokenSource(seed: 9)
        let context = source.tokens(40), continuation = source.tokens(3)
        let truncated = try LogLikelihood.score(model, requests: [(context: context, continuation: continuation)],
                                                maxLength: 10)[0]
        let kept = Array(context.suffix(11 - 3))
        let reference = try LogLikelihood.score(model, requests: [(context: kept, continuation: continuation)])[0]
        XCTAssertEqual(truncated, reference)
        let full = try LogLikelihood.score(model, requests: [(context: context, continuation: continuation)])[0]
        XCTAssertNotEqual(full.logprob, truncated.logprob)
        // Beyond the model's 128-token context the same rule applies without asking.
        let long = source.tokens(300)
        let auto = try LogLikelihood.score(model, requests: [(context: long, continuation: continuation)])[0]
        let manual = try LogLikelihood.score(model, requests: [(context: Array(long.suffix(129 - 3)), continuation: continuation)])[0]
        XCTAssertEqual(auto, manual)
    }

    func testInvalidRequests() throws {
        let model = try TestModels.tinyLlama()
        XCTAssertThrowsError(try LogLikelihood.score(model, requests: [(context: [1], continuation: [])])) {
            XCTAssertEqual($0 as? EvaluationError, .invalidRequest(index: 0, problem: "the continuation is empty"))
        }
        XCTAssertThrowsError(try LogLikelihood.score(model, requests: [(context: [1], continuation: [2]),
                                                                       (context: [], continuation: [2])]))
        XCTAssertThrowsError(try LogLikelihood.score(model, requests: [(context: [1], continuation: [999])]))
        XCTAssertThrowsError(try LogLikelihood.score(model, requests: [(context: [1], continuation: [2])], batchSize: 0))
    }
}
