// BERT encoder parity against transformers on a tiny random BertModel (tools/reference/bert_make_fixtures.py),
// batching invariance of the sentence-embedding pipeline, and the real all-MiniLM-L6-v2 against
// sentence-transformers (tools/reference/bert_minilm_golden.py; skipped when the model is not pulled).
import Foundation
import XCTest
@testable import LLMTuneModels
import LLMTuneHub
import LLMTuneTensor
import LLMTuneTokenizers

private struct BertGolden: Decodable {
    var input_ids: [[Int]]
    var token_type_ids: [[Int]]
    var hidden_file: String
    var hidden_shape: [Int]
    var embeddings: [[Float]]
    var tolerance: Float
}

private struct MiniLMGolden: Decodable {
    var sentences: [String]
    var input_ids: [[Int]]
    var embeddings_file: String
    var embeddings_shape: [Int]
    var tolerance: Float
    var minimum_cosine: Float
}

/// A tokenizer stand-in for id-level tests: every id is its own token.
private final class IdentityTokenizer: Tokenizer, @unchecked Sendable {
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] { text.split(separator: " ").compactMap { Int($0) } }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { ids.map(String.init).joined(separator: " ") }
    var vocabularySize: Int { 100 }
    var bosTokenId: Int? { nil }
    var eosTokenIds: [Int] { [] }
    var padTokenId: Int? { 0 }
    var unknownTokenId: Int? { nil }
    func token(for id: Int) -> String? { String(id) }
    func id(for token: String) -> Int? { Int(token) }
    func isSpecialToken(_ id: Int) -> Bool { false }
    func pieceBytes(for id: Int) -> [UInt8] { Array(String(id).utf8) }
    var chatTemplateSource: String? { nil }
}

final class BERTParityTests: XCTestCase {
    static var tiny: URL { Fixtures.root.appendingPathComponent("bert/tiny") }

    private func golden() throws -> (BertGolden, [Float]) {
        let url = Fixtures.root.appendingPathComponent("bert/golden.json")
        let g = try JSONDecoder().decode(BertGolden.self, from: Data(contentsOf: url))
        let data = try Data(contentsOf: Fixtures.root.appendingPathComponent("bert").appendingPathComponent(g.hidden_file))
        return (g, data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
    }

    /// Padded batch with token types: every position (padded ones too) equals transformers' last hidden state.
    func testHiddenStatesMatchTransformers() throws {
        let model = try EmbeddingModelLoader.loadModel(Self.tiny)
        let (g, expected) = try golden()
        let (B, T, C) = (g.hidden_shape[0], g.hidden_shape[1], g.hidden_shape[2])
        XCTAssertEqual(model.hiddenSize, C)
        var tokens = [Int](repeating: 0, count: B * T), types = [Int](repeating: 0, count: B * T)
        for b in 0..<B {
            for (t, id) in g.input_ids[b].enumerated() {
                tokens[b * T + t] = id
                types[b * T + t] = g.token_type_ids[b][t]
            }
        }
        let lengths = g.input_ids.map(\.count)
        XCTAssertNotEqual(lengths[0], lengths[1], "the golden batch must exercise padding")
        let hidden = Autograd.noGrad { model.hiddenStates(tokens: tokens, tokenTypes: types, lengths: lengths) }
        XCTAssertEqual(hidden.shape, [B, T, C])
        let got = hidden.toArray()
        var worst: Float = 0
        for i in 0..<expected.count { worst = max(worst, abs(got[i] - expected[i])) }
        XCTAssertLessThan(worst, g.tolerance)

        // Ignoring the token types must change the output (the fixture's second sequence uses type 1).
        let untyped = Autograd.noGrad { model.hiddenStates(tokens: tokens, tokenTypes: nil, lengths: lengths) }.toArray()
        XCTAssertGreaterThan(zip(untyped, expected).map { abs($0 - $1) }.max() ?? 0, 1e-2)
        // Ignoring the padding (attending to padded keys) must change the shorter sequence.
        let unmasked = Autograd.noGrad { model.hiddenStates(tokens: tokens, tokenTypes: types, lengths: [T, T]) }.toArray()
        XCTAssertGreaterThan(zip(unmasked[0..<(T * C)], expected[0..<(T * C)]).map { abs($0 - $1) }.max() ?? 0, 1e-2)
    }

    func testMeanPooledNormalizedEmbeddingsMatchTransformers() throws {
        let model = try EmbeddingModelLoader.loadModel(Self.tiny)
        let (g, _) = try golden()
        let embedder = SentenceEmbedder(model: model, tokenizer: IdentityTokenizer(), pooling: .mean, normalize: true)
        // Token types are all 0 in the pipeline: compare the first (type-0) sequence only.
        let got = try embedder.embed(tokenSequences: [g.input_ids[0]])
        for c in 0..<model.hiddenSize { XCTAssertEqual(got[0][c], g.embeddings[0][c], accuracy: 1e-5) }
        let norm = got[0].reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(norm, 1, accuracy: 1e-5)
    }

    /// Several sequences of different lengths embedded in one padded batch equal one-at-a-time embedding.
    func testBatchedEmbeddingEqualsOneAtATime() throws {
        let model = try EmbeddingModelLoader.loadModel(Self.tiny)
        let embedder = SentenceEmbedder(model: model, tokenizer: IdentityTokenizer())
        let sequences = [[5, 17, 42], [8, 9, 10, 11, 12, 13, 14, 15, 16, 99], [3], [60, 61, 62, 63, 64]]
        let batched = try embedder.embed(tokenSequences: sequences, batchSize: 8)
        var worst: Float = 0
        for (i, s) in sequences.enumerated() {
            let single = try embedder.embed(tokenSequences: [s])[0]
            worst = max(worst, zip(single, batched[i]).map { abs($0 - $1) }.max() ?? 0)
        }
        XCTAssertLessThan(worst, 1e-5)
        // And the order of the outputs is the order of the inputs (batches are sorted by length inside).
        XCTAssertLessThan(SentenceEmbedder.cosineSimilarity(batched[0], batched[1]), 0.9999)
        XCTAssertThrowsError(try embedder.embed(tokenSequences: [[100]]))
        XCTAssertThrowsError(try embedder.embed(tokenSequences: [[]]))
    }

    func testPoolingModesAndLinearLayers() throws {
        let model = try EmbeddingModelLoader.loadModel(Self.tiny)
        let ids = [4, 8, 15, 16, 23, 42]
        let hidden = Autograd.noGrad { model.hiddenStates(tokens: ids, tokenTypes: nil, lengths: [6]) }.toArray()
        let C = model.hiddenSize
        let cls = try SentenceEmbedder(model: model, tokenizer: IdentityTokenizer(), pooling: .cls, normalize: false)
            .embed(tokenSequences: [ids])[0]
        XCTAssertEqual(cls, Array(hidden[0..<C]))
        let maximum = try SentenceEmbedder(model: model, tokenizer: IdentityTokenizer(), pooling: .max, normalize: false)
            .embed(tokenSequences: [ids])[0]
        for c in 0..<C { XCTAssertEqual(maximum[c], (0..<6).map { hidden[$0 * C + c] }.max()!) }
        XCTAssertEqual(model.linearLayers.count, 12)
        XCTAssertEqual(model.linearLayers[0].path, "encoder.layer.0.attention.self.query")
        XCTAssertEqual(model.linearLayers[5].path, "encoder.layer.0.output.dense")
    }

    /// Gradients flow through the padding-aware attention (per-sequence key slices, concatenated): the analytic
    /// gradient of a trainable query weight matches central finite differences.
    func testGradientThroughPaddedAttentionMatchesFiniteDifferences() throws {
        let model = try XCTUnwrap(try EmbeddingModelLoader.loadModel(Self.tiny) as? BertModel)
        let original = try XCTUnwrap(model.layers[0].attention.query as? Linear)
        guard case .quantized(let q) = original.weight else { return XCTFail("expected a loaded matrix") }
        let weight = Tensor(zeros: [q.rows, q.columns])
        q.dequantizeRows(0..<q.rows, into: weight.pointer)
        weight.requiresGrad = true
        model.replaceLinear(Linear(path: original.path, weight: .dense(weight), bias: original.bias))
        let tokens = [5, 6, 7, 0, 0, 9, 10, 11, 12, 13], lengths = [3, 5]
        var rng = SeededGenerator(seed: 7)
        let probe = (0..<(10 * model.hiddenSize)).map { _ in Float.random(in: -1...1, using: &rng) }
        let probeTensor = Tensor(shape: [2, 5, model.hiddenSize], data: probe)
        func loss() -> Tensor {
            (model.hiddenStates(tokens: tokens, tokenTypes: nil, lengths: lengths) * probeTensor).sum()
        }
        loss().backward()
        let grad = try XCTUnwrap(weight.grad).toArray()
        var worst: Float = 0
        for index in [0, 17, 130, 511, 1000] {
            let saved = weight.pointer[index]
            let h: Float = 1e-2
            weight.pointer[index] = saved + h
            let up = Autograd.noGrad { loss().item() }
            weight.pointer[index] = saved - h
            let down = Autograd.noGrad { loss().item() }
            weight.pointer[index] = saved
            let numeric = (up - down) / (2 * h)
            worst = max(worst, abs(numeric - grad[index]) / max(1, abs(numeric)))
        }
        XCTAssertLessThan(worst, 2e-2)
        XCTAssertGreaterThan(grad.map(abs).max() ?? 0, 1e-3)
    }

    // MARK: Real all-MiniLM-L6-v2

    func testMiniLMMatchesSentenceTransformers() throws {
        guard let folder = try? ModelStore().resolve("all-minilm-l6-v2") else {
            throw XCTSkip("all-minilm-l6-v2 is not pulled: run `llmtune pull all-minilm-l6-v2`")
        }
        let url = Fixtures.root.appendingPathComponent("bert/minilm_golden.json")
        let g = try JSONDecoder().decode(MiniLMGolden.self, from: Data(contentsOf: url))
        let data = try Data(contentsOf: Fixtures.root.appendingPathComponent("bert/\(g.embeddings_file)"))
        let expected = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(g.sentences.count, 20)

        let embedder = try EmbeddingModelLoader.loadEmbedder(folder)
        XCTAssertEqual(embedder.pooling, .mean)
        XCTAssertTrue(embedder.normalize)
        XCTAssertEqual(embedder.maximumLength, 256)
        XCTAssertEqual(embedder.dimensions, g.embeddings_shape[1])
        XCTAssertEqual(g.sentences.map(embedder.tokenize), g.input_ids)
        #if DEBUG
        let count = 4   // a debug build runs the encoder ~100x slower: all 20 in release (scripts/test)
        #else
        let count = g.sentences.count
        #endif
        let got = try embedder.embed(Array(g.sentences[0..<count]), batchSize: 8)
        let D = g.embeddings_shape[1]
        var worst: Float = 0, lowestCosine: Float = 1
        for i in 0..<count {
            let reference = Array(expected[(i * D)..<((i + 1) * D)])
            worst = max(worst, zip(got[i], reference).map { abs($0 - $1) }.max() ?? 0)
            lowestCosine = min(lowestCosine, SentenceEmbedder.cosineSimilarity(got[i], reference))
        }
        XCTAssertLessThan(worst, g.tolerance)
        XCTAssertGreaterThanOrEqual(lowestCosine, g.minimum_cosine)
        // Paraphrases are closer than unrelated sentences.
        XCTAssertGreaterThan(SentenceEmbedder.cosineSimilarity(got[0], got[1]),
                             SentenceEmbedder.cosineSimilarity(got[0], got[2]) + 0.2)
    }

    func testMiniLMTruncatesToMaximumLengthKeepingSEP() throws {
        guard let folder = try? ModelStore().resolve("all-minilm-l6-v2") else {
            throw XCTSkip("all-minilm-l6-v2 is not pulled: run `llmtune pull all-minilm-l6-v2`")
        }
        let embedder = try EmbeddingModelLoader.loadEmbedder(folder)
        let ids = embedder.tokenize(String(repeating: "word ", count: 400))
        XCTAssertEqual(ids.count, 256)
        XCTAssertEqual(ids.first, 101)
        XCTAssertEqual(ids.last, 102)
    }
}
