// On the real SmolLM2-135M-Instruct (skipped when not pulled).
import XCTest
@testable import LLMTuneEvaluation
import LLMTuneGeneration
import LLMTuneHub
import LLMTuneModels

final class SmolLM2EvaluationTests: XCTestCase {
    struct Golden: Decodable {
        struct Text: Decodable {
            var name: String
            var text: String
            var input_ids: [Int]
            var sum_logprob: Double
        }
        var texts: [Text]
    }

    /// The numpy float64 reference of LLMTuneModelsTests (tools/reference/smollm2_reference.py).
    func golden() throws -> Golden {
        let url = TestModels.modelFixtures.appendingPathComponent("smollm2_score_golden.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    /// Perplexity of a fixed text = exp(-sum(logprobs)/n) of `llmtune score` (Scorer) on [BOS] + text, and the
    /// log-likelihood API matches the numpy reference to 1e-3 in log-perplexity.
    func testPerplexityConsistentWithScorerAndReference() throws {
        let loaded = try TestModels.smolLM2()
        let golden = try golden()
        for entry in golden.texts.prefix(2) {
            let ids = loaded.tokenizer.encode(entry.text, addSpecialTokens: false)
            XCTAssertEqual(ids, entry.input_ids, entry.name)
            let result = try Perplexity.evaluate(loaded.model, tokenizer: loaded.tokenizer, documents: [entry.text])
            let bos = loaded.tokenizer.bosTokenId ?? loaded.tokenizer.eosTokenIds[0]
            let scores = try Scorer.score(loaded.model, tokens: [bos] + ids)
            XCTAssertEqual(result.tokens, ids.count)
            XCTAssertEqual(result.logLikelihood, -scores.totalNLL, accuracy: 1e-3, entry.name)
            XCTAssertEqual(log(result.tokenPerplexity), log(scores.perplexity), accuracy: 1e-5, entry.name)
            XCTAssertEqual(result.bytes, entry.text.utf8.count)

            // Against the numpy reference (which starts at the first token, no BOS).
            let ll = try LogLikelihood.score(loaded.model, requests: [(context: [ids[0]], continuation: Array(ids.dropFirst()))])[0]
            let n = Double(ids.count - 1)
            XCTAssertEqual(ll.logprob / n, entry.sum_logprob / n, accuracy: 1e-3, entry.name)
        }
    }

    func testRollingWindowsOnRealModel() throws {
        let loaded = try TestModels.smolLM2()
        let text = try golden().texts[0].text
        let whole = try Perplexity.evaluate(loaded.model, tokenizer: loaded.tokenizer, documents: [text])
        let windowed = try Perplexity.evaluate(loaded.model, tokenizer: loaded.tokenizer, documents: [text],
                                               context: 16, stride: 8)
        let disjoint = try Perplexity.evaluate(loaded.model, tokenizer: loaded.tokenizer, documents: [text], context: 16)
        XCTAssertEqual(windowed.tokens, whole.tokens)
        // Less context per token costs likelihood; overlapping windows give back part of it.
        XCTAssertLessThan(disjoint.logLikelihood, windowed.logLikelihood)
        XCTAssertLessThan(windowed.logLikelihood, whole.logLikelihood)
    }

    func testMultipleChoiceOnRealModel() throws {
        let loaded = try TestModels.smolLM2()
        let task = MultipleChoiceTask(name: "capitals", examples: [
            MultipleChoiceExample(query: "The capital of France is", choices: ["London", "Paris", "Berlin"], gold: [1]),
            MultipleChoiceExample(query: "The capital of Germany is", choices: ["Berlin", "Rome", "Madrid"], gold: [0]),
            MultipleChoiceExample(query: "The capital of Italy is", choices: ["Paris", "Oslo", "Rome"], gold: [2]),
        ])
        let zero = try MultipleChoice.evaluate(loaded.model, tokenizer: loaded.tokenizer, task: task)
        XCTAssertEqual(zero.accuracy, 1)
        let two = try MultipleChoice.evaluate(loaded.model, tokenizer: loaded.tokenizer, task: task,
                                              options: MultipleChoiceOptions(shots: 2))
        XCTAssertEqual(two.accuracy, 1)
        XCTAssertEqual(two.accuracyStderr, 0)
    }

    struct MCGolden: Decodable {
        struct Prediction: Decodable { var index: Int; var loglikelihoods: [Double]; var prediction: Int; var prediction_norm: Int }
        var task: String
        var examples: Int
        var shots: Int
        var seed: UInt64
        var acc: Double
        var acc_norm: Double
        var predictions: [Prediction]
    }

    /// Same prompts, shots and predictions as the transformers oracle (tools/reference/eval_bigbench_mc.py).
    func testBigBenchMatchesTransformersOracle() throws {
        let loaded = try TestModels.smolLM2()
        guard let root = try? ModelStore().resolve("bigbench") else { throw XCTSkip("bigbench is not pulled") }
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("bigbench_date_understanding_3shot_golden.json")
        let golden = try JSONDecoder().decode(MCGolden.self, from: Data(contentsOf: url))
        let task = try MultipleChoiceTask.loadBigBench(root.appendingPathComponent("\(golden.task)/task.json"))
        let result = try MultipleChoice.evaluate(loaded.model, tokenizer: loaded.tokenizer, task: task,
                                                 options: MultipleChoiceOptions(shots: golden.shots, seed: golden.seed,
                                                                                limit: golden.examples))
        XCTAssertEqual(result.accuracy, golden.acc)
        XCTAssertEqual(result.normalizedAccuracy, golden.acc_norm)
        for (mine, theirs) in zip(result.predictions, golden.predictions) {
            XCTAssertEqual(mine.prediction, theirs.prediction, "example \(theirs.index)")
            XCTAssertEqual(mine.normalizedPrediction, theirs.prediction_norm, "example \(theirs.index)")
            for (a, b) in zip(mine.logLikelihoods, theirs.loglikelihoods) { XCTAssertEqual(a, b, accuracy: 2e-3) }   // measured: 1.4e-4
        }
    }
}

