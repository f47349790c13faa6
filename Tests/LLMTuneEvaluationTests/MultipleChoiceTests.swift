import XCTest
@testable import LLMTuneEvaluation
import LLMTuneModels

final class MultipleChoiceTests: XCTestCase {
    var fixtures: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }
    func fixture(_ name: String) -> URL { fixtures.appendingPathComponent(name) }

    func testLoadsJSONL() throws {
        let task = try MultipleChoiceTask.loadJSONL(fixture("mc_good.jsonl"))
        XCTAssertEqual(task.examples.count, 4)
        XCTAssertEqual(task.examples[1], MultipleChoiceExample(query: "Two plus two is", choices: ["four", "five"], gold: [0]))
        XCTAssertEqual(task.examples[2].gold, [2])
        XCTAssertEqual(task.prompt(for: 0, shots: [3, 1]), "Fire is cold\n\nTwo plus two is four\n\nThe sky is")
    }

    func testJSONLErrorsNameFileAndExample() {
        func message(_ name: String) -> String {
            do { _ = try MultipleChoiceTask.loadJSONL(fixture(name)); return "no error" } catch { return "\(error)" }
        }
        let missing = message("mc_missing_field.jsonl")
        XCTAssertTrue(missing.contains("mc_missing_field.jsonl, example 1 (line 2)") && missing.contains("\"question\""), missing)
        let empty = message("mc_empty_choices.jsonl")
        XCTAssertTrue(empty.contains("mc_empty_choices.jsonl, example 2 (line 3)") && empty.contains("empty"), empty)
        let range = message("mc_answer_out_of_range.jsonl")
        XCTAssertTrue(range.contains("example 0") && range.contains("out of range for 2 choices"), range)
        let json = message("mc_bad_json.jsonl")
        XCTAssertTrue(json.contains("example 1 (line 2)") && json.contains("not a JSON object"), json)
        XCTAssertTrue(message("no_such_file.jsonl").contains("no such file"))
    }

    func testLoadsBigBenchWithTaskPrefixes() throws {
        let task = try MultipleChoiceTask.loadBigBench(fixture("bigbench_mini.json"))
        XCTAssertEqual(task.name, "mini_task")
        XCTAssertEqual(task.description, "Answer the questions.\n")
        XCTAssertEqual(task.fewShotSeparator, "\n\n")
        XCTAssertEqual(task.targetDelimiter, "")
        // append_choices_to_input defaults to true: choices listed (sorted) after "\n  choice: ".
        XCTAssertEqual(task.examples[0].query, "\nQuestion: Is water wet?\n  choice: no\n  choice: yes\nAnswer: ")
        XCTAssertEqual(task.examples[0].choices, ["no", "yes"])
        XCTAssertEqual(task.examples[0].gold, [1])
        XCTAssertEqual(task.examples[2].choices, ["a", "b", "c", "e"])
        XCTAssertEqual(task.examples[2].gold, [0, 3])              // two choices share the top score
        XCTAssertEqual(task.prompt(for: 3, shots: [1]),
                       "Answer the questions.\n\nQuestion: Is fire cold?\n  choice: no\n  choice: yes\nAnswer: no\n\n"
                       + "\nQuestion: Is ice cold?\n  choice: no\n  choice: yes\nAnswer: ")

        let defaults = try MultipleChoiceTask.loadBigBench(fixture("bigbench_defaults.json"))
        XCTAssertEqual(defaults.examples[1].query, "\nQ: 1+1?\n  choice: 2\n  choice: 3\nA: ")
        XCTAssertEqual(defaults.fewShotSeparator, "\n")
        XCTAssertThrowsError(try MultipleChoiceTask.loadBigBench(fixture("bigbench_no_correct.json"))) {
            XCTAssertTrue("\($0)".contains("example 1") && "\($0)".contains("no correct choice"), "\($0)")
        }
    }

    func testFewShotNeverIncludesScoredExampleAndIsSeeded() throws {
        let examples = (0..<12).map { MultipleChoiceExample(query: "q\($0)", choices: ["a"], gold: [0]) }
        var task = MultipleChoiceTask(name: "t", examples: examples)
        task.examples[5] = task.examples[7]     // a duplicate of example 7 must not be a shot of 7 either
        for i in 0..<12 {
            let shots = try task.fewShotIndices(for: i, count: 5, seed: 42)
            XCTAssertEqual(Set(shots).count, 5)
            XCTAssertFalse(shots.contains(i))
            XCTAssertFalse(shots.contains { task.examples[$0] == task.examples[i] })
            XCTAssertEqual(shots, try task.fewShotIndices(for: i, count: 5, seed: 42))
        }
        XCTAssertNotEqual(try task.fewShotIndices(for: 0, count: 5, seed: 42), try task.fewShotIndices(for: 0, count: 5, seed: 43))
        XCTAssertNoThrow(try task.fewShotIndices(for: 0, count: 11, seed: 1))
        XCTAssertThrowsError(try task.fewShotIndices(for: 7, count: 11, seed: 1))   // only 10 distinct others
    }

    func testEncodePairMovesTrailingSpace() {
        let t = ByteTokenizer()
        let pair = MultipleChoice.encodePair(t, context: "A: ", continuation: "yes")
        XCTAssertEqual(pair.context, Array("A:".utf8).map(Int.init))
        XCTAssertEqual(pair.continuation, Array(" yes".utf8).map(Int.init))
        XCTAssertEqual(MultipleChoice.encodePair(t, context: "", continuation: "x").context, [1])
        XCTAssertEqual(MultipleChoice.encodePair(t, context: "a", continuation: "b", prependBOS: true).context, [1, 97])
    }

    func testStatisticsHarnessFormulas() {
        XCTAssertEqual(Statistics.mean([1, 0, 1, 1]), 0.75)
        // sample sd of [1,0,1,1] = sqrt(0.25 * 4 / 3 * 0.75)... computed by hand: var = (3*0.0625 + 0.5625)/3 = 0.25
        XCTAssertEqual(Statistics.meanStderr([1, 0, 1, 1]), 0.25, accuracy: 1e-12)
        XCTAssertTrue(Statistics.meanStderr([1]).isNaN)
    }

    /// End to end on the tiny model with a byte tokenizer, against log-probabilities from full forward passes.
    func testScoresChoicesLikeTheHarness() throws {
        let model = try TestModels.tinyLlama()
        let task = try MultipleChoiceTask.loadJSONL(fixture("mc_good.jsonl"))
        let result = try MultipleChoice.evaluate(model, tokenizer: ByteTokenizer(), task: task,
                                                 options: MultipleChoiceOptions(shots: 1, seed: 7))
        var acc = 0.0, accNorm = 0.0
        for (i, example) in task.examples.enumerated() {
            let shots = try task.fewShotIndices(for: i, count: 1, seed: 7)
            let context = Array(task.prompt(for: i, shots: shots).utf8).map(Int.init)
            var lls: [Double] = []
            for choice in example.choices {
                let continuation = Array((" " + choice).utf8).map(Int.init)
                lls.append(TestModels.directLogprobs(model, context + continuation).suffix(continuation.count).reduce(0, +))
            }
            let got = result.predictions[i].logLikelihoods
            for (a, b) in zip(got, lls) { XCTAssertEqual(a, b, accuracy: 1e-4) }
            let pred = lls.indices.max { lls[$0] < lls[$1] || (lls[$0] == lls[$1] && $0 > $1) }!
            let norm = lls.indices.map { lls[$0] / Double(example.choices[$0].count) }
            let predNorm = norm.indices.max { norm[$0] < norm[$1] || (norm[$0] == norm[$1] && $0 > $1) }!
            XCTAssertEqual(result.predictions[i].prediction, pred)
            XCTAssertEqual(result.predictions[i].normalizedPrediction, predNorm)
            acc += example.gold.contains(pred) ? 1 : 0
            accNorm += example.gold.contains(predNorm) ? 1 : 0
        }
        XCTAssertEqual(result.accuracy, acc / 4)
        XCTAssertEqual(result.normalizedAccuracy, accNorm / 4)
        XCTAssertEqual(result.examples, 4)
        let limited = try MultipleChoice.evaluate(model, tokenizer: ByteTokenizer(), task: task,
                                                  options: MultipleChoiceOptions(shots: 1, seed: 7, limit: 2, batchSize: 1))
        XCTAssertEqual(limited.predictions, Array(result.predictions.prefix(2)))   // bitwise, other batch size
    }
}
