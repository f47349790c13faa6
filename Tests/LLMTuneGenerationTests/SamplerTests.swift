import XCTest
@testable import LLMTuneGeneration

final class SamplerTests: XCTestCase {
    private func sample(_ logits: [Float], _ p: SamplingParameters, history: [Int] = [], draws: Int = 1) -> [Int] {
        var sampler = Sampler(p)
        return (0..<draws).map { _ in
            var copy = logits
            return copy.withUnsafeMutableBufferPointer { sampler.next($0, history: history) }
        }
    }

    func testGreedyPicksArgmax() {
        XCTAssertEqual(sample([0.1, 3, -1, 2.9], .greedy), [1])
    }

    func testRepetitionPenaltyChangesGreedyChoice() {
        // Token 1 (3.0) penalised by 1.5 -> 2.0 < 2.9.
        let p = SamplingParameters(temperature: 0, repetitionPenalty: 1.5)
        XCTAssertEqual(sample([0.1, 3, -1, 2.9], p, history: [1]), [3])
        // Negative logits are multiplied, moving them further down.
        let q = SamplingParameters(temperature: 0, repetitionPenalty: 2)
        XCTAssertEqual(sample([-1, -0.6, -5], q, history: [1]), [0])
    }

    func testTopKOneIsGreedy() {
        let p = SamplingParameters(temperature: 5, topK: 1, seed: 7)
        XCTAssertEqual(Set(sample([0, 1, 4, 2], p, draws: 50)), [2])
    }

    func testTopKRestrictsToKBest() {
        let p = SamplingParameters(temperature: 10, topK: 2, seed: 3)
        let drawn = Set(sample([0, 1, 4, 2, 3.9], p, draws: 300))
        XCTAssertEqual(drawn, [2, 4])
    }

    func testTopPKeepsSmallestNucleus() {
        // probabilities ~ [0.5, 0.3, 0.15, 0.05]: top-p 0.7 keeps the first two, 0.85 the first three.
        let probs: [Float] = [0.5, 0.3, 0.15, 0.05]
        let logits = probs.map { logf($0) }
        XCTAssertEqual(Set(sample(logits, SamplingParameters(temperature: 1, topP: 0.7, seed: 1), draws: 400)), [0, 1])
        XCTAssertEqual(Set(sample(logits, SamplingParameters(temperature: 1, topP: 0.85, seed: 2), draws: 400)), [0, 1, 2])
    }

    func testNucleusOverManyTinyTokensIsExact() {
        // One big token and 10k tiny ones: the nucleus for p=0.9 must include tiny tokens (threshold search path).
        var probs = [Float](repeating: 0.5 / 10_000, count: 10_001)
        probs[0] = 0.5
        let (ids, kept) = Sampler.nucleus(Array(0..<probs.count), probs, 0.9)
        XCTAssertEqual(ids.first, 0)
        XCTAssertEqual(ids.count, 1 + 8_000, accuracy: 2)
        XCTAssertGreaterThanOrEqual(kept.reduce(0, +), 0.9 - 1e-4)
    }

    func testMinPDropsUnlikelyTokens() {
        let probs: [Float] = [0.6, 0.3, 0.1]
        let logits = probs.map { logf($0) }
        // min-p 0.4: keep p >= 0.24 -> tokens 0 and 1.
        XCTAssertEqual(Set(sample(logits, SamplingParameters(temperature: 1, minP: 0.4, seed: 5), draws: 400)), [0, 1])
    }

    func testSamplingFollowsDistributionAndSeed() {
        let logits: [Float] = [logf(0.7), logf(0.2), logf(0.1)]
        let a = sample(logits, SamplingParameters(temperature: 1, seed: 42), draws: 4000)
        let b = sample(logits, SamplingParameters(temperature: 1, seed: 42), draws: 4000)
        XCTAssertEqual(a, b, "same seed, same draws")
        let freq0 = Double(a.filter { $0 == 0 }.count) / 4000
        XCTAssertEqual(freq0, 0.7, accuracy: 0.03)
        let c = sample(logits, SamplingParameters(temperature: 1, seed: 43), draws: 4000)
        XCTAssertNotEqual(a, c)
    }

    func testStopStringHoldBack() {
        // "Hello <" could be the start of "<end>": only "Hello " may be shown.
        let text = "Hello <"
        let end = Generator.emittableEnd(text, stops: ["<end>"])
        XCTAssertEqual(String(text[..<end]), "Hello ")
        XCTAssertEqual(Generator.emittableEnd("Hello", stops: ["<end>"]), "Hello".endIndex)
        let full = "Hi<end>more"
        XCTAssertEqual(full[..<Generator.firstStop(in: full, stops: ["zz", "<end>"])!], "Hi")
    }
}
