import XCTest
@testable import LLMTuneEvaluation
import LLMTuneGeneration
import LLMTuneTokenizers

final class GenerationTaskTests: XCTestCase {
    func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }

    func testLoadsBothFormats() throws {
        let task = try GenerationTask.loadJSONL(fixture("gen_mixed.jsonl"))
        XCTAssertEqual(task.examples.count, 3)
        XCTAssertEqual(task.examples[0], GenerationExample(prompt: .text("Q: Capital of France?\nA:"), references: ["Paris"]))
        XCTAssertEqual(task.examples[1].prompt, .chat([.system("Answer briefly."), .user("2+2?")]))
        XCTAssertEqual(task.examples[1].references, ["4", "four"])
        XCTAssertEqual(task.examples[2].prompt, .text("Plain string input"))
        XCTAssertThrowsError(try GenerationTask.loadJSONL(fixture("gen_missing_reference.jsonl"))) {
            XCTAssertTrue("\($0)".contains("gen_missing_reference.jsonl, example 1 (line 2)"), "\($0)")
        }
    }

    /// Greedy generation on the tiny model: outputs equal Generator's, stop strings cut, metrics follow.
    func testGeneratesGreedyAndScores() throws {
        let model = try TestModels.tinyLlama()
        let tokenizer = ByteTokenizer()
        let task = GenerationTask(name: "t", examples: [
            GenerationExample(prompt: .text("hello"), references: ["x"]),
            GenerationExample(prompt: .text("abc"), references: ["y"]),
        ])
        var options = GenerationTaskOptions()
        options.generation.maxTokens = 6
        let result = try GenerationEvaluation.evaluate(model, tokenizer: tokenizer, task: task, options: options)
        for (i, example) in task.examples.enumerated() {
            guard case .text(let prompt) = example.prompt else { continue }
            let expected = try Generator(model: model, tokenizer: tokenizer)
                .generate(prompt: tokenizer.encode(prompt, addSpecialTokens: false),
                          options: GenerationOptions(maxTokens: 6, sampling: .greedy, stopStrings: ["\n\n"])).text
            XCTAssertEqual(result.samples[i].output, expected)
            XCTAssertEqual(result.samples[i].exactMatch,
                           TextMetrics.exactMatch(expected, references: example.references, normalization: TextNormalization()))
        }
        // Chat prompts need a template.
        let chat = GenerationTask(name: "c", examples: [GenerationExample(prompt: .chat([.user("hi")]), references: ["x"])])
        XCTAssertThrowsError(try GenerationEvaluation.evaluate(model, tokenizer: tokenizer, task: chat, options: options))
        let viaTemplate = try GenerationEvaluation.evaluate(model, tokenizer: tokenizer, task: chat, options: options,
                                                            encodeChat: { _ in [104, 105] })
        XCTAssertEqual(viaTemplate.examples, 1)
    }

    /// Self-consistency: K sampled paths (seed + path), answers extracted and majority-voted.
    func testSelfConsistencyVotesOverSeededPaths() throws {
        let model = try TestModels.tinyLlama()
        let tokenizer = ByteTokenizer()
        let task = GenerationTask(name: "t", examples: [GenerationExample(prompt: .text("abc"), references: ["x"])])
        var options = GenerationTaskOptions()
        options.generation.maxTokens = 4
        options.selfConsistency = 5
        options.voteSampling = SamplingParameters(temperature: 1.5, seed: 10)
        options.answerPattern = "^(.)"                     // the first character of each path is its "answer"
        let result = try GenerationEvaluation.evaluate(model, tokenizer: tokenizer, task: task, options: options)
        var answers: [String] = []
        for path in 0..<5 {
            let text = try Generator(model: model, tokenizer: tokenizer).generate(
                prompt: tokenizer.encode("abc", addSpecialTokens: false),
                options: GenerationOptions(maxTokens: 4, sampling: SamplingParameters(temperature: 1.5, seed: 10 + UInt64(path)),
                                           stopStrings: ["\n\n"])).text
            XCTAssertEqual(result.samples[0].rawOutputs?[path], text)
            answers.append(text.isEmpty ? "" : String(text.prefix(1)))
        }
        XCTAssertGreaterThan(Set(result.samples[0].rawOutputs!).count, 1, "paths should differ at temperature 1.5")
        XCTAssertEqual(result.samples[0].output, ReasoningAnswers.majority(answers))
    }
}

