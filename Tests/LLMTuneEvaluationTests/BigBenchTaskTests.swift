// The published BIG-bench task files (`llmtune pull bigbench`; skipped when not pulled).
import XCTest
@testable import LLMTuneEvaluation
import LLMTuneHub

final class BigBenchTaskTests: XCTestCase {
    func task(_ name: String) throws -> MultipleChoiceTask {
        guard let root = try? ModelStore().resolve("bigbench") else { throw XCTSkip("bigbench is not pulled") }
        return try MultipleChoiceTask.loadBigBench(root.appendingPathComponent("\(name)/task.json"))
    }

    func testEveryPulledTaskLoads() throws {
        let expected = ["date_understanding": 369, "sports_understanding": 1000, "navigate": 1000, "causal_judgment": 190,
                        "snarks": 181, "disambiguation_qa": 258, "epistemic_reasoning": 2000,
                        "analogical_similarity": 323, "emoji_movie": 100]
        for (name, count) in expected {
            let t = try task(name)
            XCTAssertEqual(t.examples.count, count, name)
            XCTAssertEqual(t.name, name)
            for e in t.examples { XCTAssertFalse(e.gold.isEmpty); XCTAssertTrue(e.gold.allSatisfy { $0 < e.choices.count }) }
        }
    }

    func testPublishedPrefixes() throws {
        let sports = try task("sports_understanding")
        XCTAssertEqual(sports.description, "Determine whether the following statement or statements are plausible or implausible:")
        XCTAssertEqual(sports.examples[0].query, "\nStatement: Jamal Murray was perfect from the line\nPlausible/implausible? ")
        XCTAssertEqual(sports.examples[0].choices, ["implausible", "plausible"])
        XCTAssertEqual(sports.examples[0].gold, [1])
        let date = try task("date_understanding")
        XCTAssertEqual(date.examples[0].query, "\nQ: Yesterday was April 30, 2021. What is the date today in MM/DD/YYYY?\nA: ")
        XCTAssertEqual(date.examples[0].choices[date.examples[0].gold[0]], "05/01/2021")
        XCTAssertEqual(date.fewShotSeparator, "\n")
    }
}
