// Encode speed of the real tokenizers on a large text, for comparing two versions of the encoder.
// Runs only when LLMTUNE_TOKENIZER_BENCH names a UTF-8 text file (skipped otherwise); prints times and a
// checksum of the ids (equal checksums: equal encodings). No timing assertions.
// Example: LLMTUNE_TOKENIZER_BENCH=/tmp/text.txt swift test -c release --filter EncodeSpeedBenchmark

import Foundation
import XCTest
@testable import LLMTuneTokenizers

final class EncodeSpeedBenchmark: XCTestCase {
    private func documents() throws -> [String] {
        guard let path = ProcessInfo.processInfo.environment["LLMTUNE_TOKENIZER_BENCH"] else {
            throw XCTSkip("set LLMTUNE_TOKENIZER_BENCH to a text file to run the encode benchmark")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.components(separatedBy: "\n\n")
    }

    /// Encodes every document once on a fresh tokenizer (cold caches), then `warmRuns` more times; prints
    /// the cold time, the best warm time and the ids' checksum.
    private func measure(_ label: String, _ make: () throws -> Tokenizer, _ documents: [String],
                         warmRuns: Int) throws {
        let tokenizer = try make()
        let bytes = documents.reduce(0) { $0 + $1.utf8.count }
        var count = 0
        var checksum: UInt64 = 0
        func pass() -> Double {
            count = 0
            checksum = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for document in documents {
                let ids = tokenizer.encode(document, addSpecialTokens: true)
                count += ids.count
                for id in ids { checksum = checksum &* 31 &+ UInt64(id) }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let cold = pass()
        var warm = Double.infinity
        for _ in 0..<warmRuns { warm = min(warm, pass()) }
        print(String(format: "BENCH %@: %d bytes, %d ids, checksum %016llx, cold %.3f s, warm %.3f s (%.1f MB/s)",
                     label, bytes, count, checksum, cold, warm, Double(bytes) / warm / 1e6))
        XCTAssertGreaterThan(count, 0)
    }

    func testSmolLM2EncodeSpeed() throws {
        let documents = try documents()
        guard let url = smolLM2GGUFURL() else { throw XCTSkip("SmolLM2-135M-Instruct GGUF not found") }
        let metadata = try TestGGUFMetadataReader.read(url)
        try measure("smollm2", { try BPETokenizer.load(ggufMetadata: metadata, source: url.lastPathComponent) },
                    documents, warmRuns: 10)
    }

    func testGemma3EncodeSpeed() throws {
        let documents = try documents()
        guard let url = gemma3GGUFURL() else { throw XCTSkip("Gemma-3-270M not pulled") }
        let metadata = try TestGGUFMetadataReader.read(url)
        try measure("gemma3", { try SentencePieceTokenizer.load(ggufMetadata: metadata, source: url.lastPathComponent) },
                    documents, warmRuns: 3)
    }

    func testMiniLMEncodeSpeed() throws {
        let documents = try documents()
        let folder = FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/llmtune/models/all-minilm-l6-v2")
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) else {
            throw XCTSkip("all-MiniLM-L6-v2 not pulled")
        }
        try measure("minilm", { try WordPieceTokenizer.load(directory: folder) }, documents, warmRuns: 3)
    }
}
