// Test-only stand-ins for what LLMTuneAdapters and LLMTuneData provide: a tiny LoRA layer and adapter set, and
// a seeded, shuffling, resumable batch source over fixed sequences; plus the tiny Llama fixture.
import Foundation
import XCTest
import LLMTuneModels
import LLMTuneTensor
@testable import LLMTuneTraining

/// y = base(x) + scale · B A dropout(x), A (r, in), B (out, r).
final class TestLoRA: LinearLayer {
    let base: LinearLayer
    let a: Tensor   // (r, in)
    let b: Tensor   // (out, r)
    let scale: Float
    let dropout: Float
    var rng = SeededGenerator(seed: 0)
    var training = true
    /// When set, the output is multiplied by NaN (to test non-finite losses).
    var poisoned = false

    init(wrapping base: LinearLayer, rank: Int, dropout: Float, rng: inout SeededGenerator) {
        self.base = base
        a = Tensor.randn([rank, base.inFeatures], std: 0.2, using: &rng)
        b = Tensor.randn([base.outFeatures, rank], std: 0.02, using: &rng)
        a.requiresGrad = true
        b.requiresGrad = true
        scale = 2
        self.dropout = dropout
    }

    var path: String { base.path }
    var inFeatures: Int { base.inFeatures }
    var outFeatures: Int { base.outFeatures }

    /// Inverted dropout whose mask is drawn through `drawReplayable` (what Tensor.dropout does once its hook lands),
    /// so that a checkpointed recomputation sees the same mask.
    func replayableDropout(_ x: Tensor) -> Tensor {
        let p = dropout, keep = 1 / (1 - dropout)
        let mask = rng.drawReplayable { r in (0..<x.count).map { _ in r.nextUniform() < p ? Float(0) : keep } }
        return x * Tensor(shape: x.shape, data: mask)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = training && dropout > 0 ? replayableDropout(x) : x
        let y = base(x) + h.linear(.dense(a), bias: nil).linear(.dense(b), bias: nil) * scale   // (..., out)
        return poisoned ? y * Float.nan : y
    }
}

/// The adapter set: every LoRA layer's A and B, dropout reseeded from (seed, step).
final class TestAdapters: TrainableParameters {
    let layers: [TestLoRA]
    var poisonAtStep: Int?

    init(model: LanguageModel, rank: Int = 4, dropout: Float = 0, seed: UInt64 = 7) {
        var rng = SeededGenerator(seed: seed)
        layers = model.linearLayers.map { TestLoRA(wrapping: $0, rank: rank, dropout: dropout, rng: &rng) }
        for l in layers { model.replaceLinear(l) }
    }

    var parameters: [(name: String, tensor: Tensor)] {
        layers.flatMap { [("\($0.path).lora_A.weight", $0.a), ("\($0.path).lora_B.weight", $0.b)] }
    }

    func setTraining(_ training: Bool) { for l in layers { l.training = training } }

    func prepareStep(seed: UInt64, step: Int) {
        for (i, l) in layers.enumerated() {
            l.rng = SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(step) &* 1_000_003 &+ UInt64(i))
            l.poisoned = poisonAtStep == step
        }
    }

    func save(to directory: URL) throws {
        var object: [String: [Float]] = [:]
        for (name, t) in parameters { object[name] = t.toArray() }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try data.write(to: directory.appendingPathComponent("adapter.json"))
    }

    var values: [[Float]] { parameters.map { $0.tensor.toArray() } }
}

/// Fixed sequences served in a seeded random order that changes every epoch; state is (epoch, position).
struct ShuffledBatches: BatchSource {
    let sequences: [[Int]]   // each T + 1 tokens
    let batchSize: Int
    let seed: UInt64
    var epoch = 0
    var position = 0
    var order: [Int] = []
    /// Throws when asked for this 0-based batch number (a simulated crash).
    var crashAtBatch: Int?
    var served = 0

    struct Crash: Error {}

    init(sequences: [[Int]], batchSize: Int, seed: UInt64) {
        self.sequences = sequences
        self.batchSize = batchSize
        self.seed = seed
        order = Self.order(count: sequences.count, seed: seed, epoch: 0)
    }

    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 7919)
        return Array(0..<count).shuffled(using: &rng)
    }

    var batchesPerEpoch: Int { sequences.count / batchSize }

    mutating func nextBatch() throws -> TrainingBatch {
        if let crashAtBatch, served == crashAtBatch { throw Crash() }
        served += 1
        if position + batchSize > sequences.count {
            epoch += 1
            position = 0
            order = Self.order(count: sequences.count, seed: seed, epoch: epoch)
        }
        let picked = order[position..<(position + batchSize)].map { sequences[$0] }
        position += batchSize
        let T = picked[0].count - 1
        return TrainingBatch(inputs: picked.flatMap { $0.dropLast() }, targets: picked.flatMap { $0.dropFirst() },
                             batchSize: batchSize, length: T)
    }

    func saveState() throws -> Data { try JSONEncoder().encode([epoch, position]) }

    mutating func restoreState(_ state: Data) throws {
        let v = try JSONDecoder().decode([Int].self, from: state)
        epoch = v[0]
        position = v[1]
        order = Self.order(count: sequences.count, seed: seed, epoch: epoch)
    }
}

enum Fixture {
    static var tinyLlama: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../LLMTuneModelsTests/Fixtures/tiny-llama").standardizedFileURL
    }

    static func model() throws -> LanguageModel { try ModelRegistry.loadModel(tinyLlama) }

    /// `count` sequences of `length + 1` tokens from a seeded stream (each one repeats a short motif, so a model
    /// can learn them).
    static func sequences(count: Int, length: Int, seed: UInt64 = 3) -> [[Int]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let motif = (0..<5).map { _ in Int(rng.next() % 256) }
            return (0...length).map { motif[$0 % motif.count] }
        }
    }

    /// One random sequence of `length + 1` tokens, `count` times (to be memorized).
    static func repeated(count: Int, length: Int, seed: UInt64 = 3) -> [[Int]] {
        var rng = SeededGenerator(seed: seed)
        let sequence = (0...length).map { _ in Int(rng.next() % 256) }
        return Array(repeating: sequence, count: count)
    }

    static func temporaryDirectory(_ name: String = #function) -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("llmtune-training-\(name.filter { $0.isLetter })-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
