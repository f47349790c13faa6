import XCTest
@testable import LLMTuneEvaluation

final class ComparisonReportTests: XCTestCase {
    let comparison = Comparison(labels: ["base", "base+lora"], rows: [
        ComparisonRow(task: "sentiment", metric: "acc", values: [0.5, 0.75], standardErrors: [0.05, 0.04]),
        ComparisonRow(task: "perplexity", metric: "perplexity", values: [20, 25], standardErrors: [nil, nil]),
        ComparisonRow(task: "gen", metric: "exact_match", values: [0.3, 0.3], standardErrors: [nil, nil]),
    ])

    func testTableShowsChangeWithDirection() {
        let lines = comparison.table().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[0].hasPrefix("task") && lines[0].contains("base+lora") && lines[0].hasSuffix("change"))
        XCTAssertTrue(lines[1].contains("0.5000 ± 0.0500") && lines[1].hasSuffix("+0.2500 better"), lines[1])
        XCTAssertTrue(lines[2].hasSuffix("+5.0000 worse"), lines[2])          // perplexity up is worse
        XCTAssertTrue(lines[3].hasSuffix("+0.0000 same"), lines[3])
    }

    func testHTMLHasOneScaledBarPerRunAndEscapes() {
        let html = Comparison(labels: ["a<b", "c"], rows: [
            ComparisonRow(task: "t&1", metric: "acc", values: [0.25, 0.5], standardErrors: [nil, 0.1]),
        ]).html(title: "x")
        XCTAssertTrue(html.contains("a&lt;b") && html.contains("t&amp;1") && !html.contains("a<b"))
        XCTAssertEqual(html.components(separatedBy: "class=\"b\"").count - 1, 2)
        XCTAssertTrue(html.contains("width:150.0px"))   // 0.25 of the row's 0.5 -> 50% of 300 px
        XCTAssertTrue(html.contains("width:300.0px"))
        XCTAssertTrue(html.contains("0.5000 ± 0.1000"))
    }
}
