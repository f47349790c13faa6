// Bad checkpoints give clear errors naming the file and key, never a crash.
import Foundation
import XCTest
import LLMTuneModels

final class LoadErrorTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A copy of tiny-llama with `edit` applied to its config.json.
    private func tinyLlama(editing edit: (inout [String: Any]) -> Void) throws -> URL {
        let src = Fixtures.root.appendingPathComponent("tiny-llama")
        let dst = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: src, to: dst)
        let configURL = dst.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        return dst
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testUnknownArchitectureNamesItAndTheKnownOnes() throws {
        let url = try tinyLlama { $0["model_type"] = "transformer-xl" }
        let m = message { _ = try ModelRegistry.loadModel(url) }
        XCTAssertTrue(m.contains("transformer-xl") && m.contains("llama"), m)
    }

    func testMissingFileOrFolderIsNotAModel() {
        let m = message { _ = try ModelRegistry.loadModel(dir.appendingPathComponent("nothing-here")) }
        XCTAssertTrue(m.contains("nothing-here"), m)
    }

    func testConfigThatDisagreesWithWeightsNamesTheTensor() throws {
        let url = try tinyLlama { $0["intermediate_size"] = 96 }
        let m = message { _ = try ModelRegistry.loadModel(url) }
        XCTAssertTrue(m.contains("mlp.gate_proj.weight") && m.contains("96"), m)
    }

    func testMoreLayersThanWeightsNamesTheMissingKey() throws {
        let url = try tinyLlama { $0["num_hidden_layers"] = 3 }
        let m = message { _ = try ModelRegistry.loadModel(url) }
        XCTAssertTrue(m.contains("model.layers.2"), m)
    }

    func testInvalidHeadCountsAreRejected() throws {
        let url = try tinyLlama { $0["num_key_value_heads"] = 3 }
        let m = message { _ = try ModelRegistry.loadModel(url) }
        XCTAssertTrue(m.contains("num_key_value_heads"), m)
    }

    func testUnsupportedRopeScalingIsRefusedNotIgnored() throws {
        let url = try tinyLlama { $0["rope_scaling"] = ["rope_type": "yarn", "factor": 4.0] }
        let m = message { _ = try ModelRegistry.loadModel(url) }
        XCTAssertTrue(m.contains("yarn"), m)
    }

    func testTruncatedGGUFIsAClearError() throws {
        let src = Fixtures.root.appendingPathComponent("tiny-llama.gguf")
        let data = try Data(contentsOf: src)
        let cut = dir.appendingPathComponent("cut.gguf")
        try data.prefix(data.count / 2).write(to: cut)
        let m = message { _ = try ModelRegistry.loadModel(cut) }
        XCTAssertTrue(m.contains("cut.gguf"), m)
    }
}
