// Batches: the next-token shift and padding, evaluation order, seeded shuffling, epochs covering every
// example once, resume from a saved state, length bucketing, packing.

import Foundation
import XCTest
@testable import LLMTuneData

final class BatchIteratorTests: XCTestCase {
    /// Examples with lengths `lengths`, tokens 1000*i + position, every other position a target.
    static func examples(_ lengths: [Int]) -> [TokenizedExample] {
        lengths.enumerated().map { i, n in
            TokenizedExample(tokens: (0..<n).map { 1000 * (i + 1) + $0 }, lossMask: (0..<n).map { $0 % 2 == 1 })
        }
    }

    static func randomLengths(_ count: Int, seed: UInt64, range: ClosedRange<Int>) -> [Int] {
        var random = DataRandom(seed: seed)
        return (0..<count).map { _ in range.lowerBound + random.below(range.count) }
    }

    func testBatchShiftsTargetsAndPads() {
        let a = TokenizedExample(tokens: [5, 6, 7, 8], lossMask: [false, false, true, true])
        let b = TokenizedExample(tokens: [9, 10], lossMask: [false, true])
        let batch = Batch(rows: [(a.tokens[...], a.lossMask[...]), (b.tokens[...], b.lossMask[...])], padTokenId: 0)
        XCTAssertEqual(batch.batchSize, 2)
        XCTAssertEqual(batch.length, 4)
        XCTAssertEqual(batch.inputs, [5, 6, 7, 8, 9, 10, 0, 0])
        XCTAssertEqual(batch.targets, [-100, 7, 8, -100, 10, -100, -100, -100])
        XCTAssertEqual(batch.targetCount, 3)
        XCTAssertEqual(batch.tokenCount, 6)
    }

    func testEvaluationBatchesKeepOrder() {
        let examples = Self.examples([3, 5, 2, 4, 6])
        let batches = evaluationBatches(examples, batchSize: 2, maxLength: 8, padTokenId: -1)
        XCTAssertEqual(batches.map(\.batchSize), [2, 2, 1])
        XCTAssertEqual(batches.map(\.length), [5, 4, 6])
        XCTAssertEqual(batches[0].inputs, [1000, 1001, 1002, -1, -1, 2000, 2001, 2002, 2003, 2004])
        // Targets at t are token t+1 where mask[t+1] (odd positions).
        XCTAssertEqual(batches[0].targets, [1001, -100, -100, -100, -100, 2001, -100, 2003, -100, -100])
        XCTAssertEqual(batches.reduce(0) { $0 + $1.targetCount }, examples.reduce(0) { $0 + $1.targetCount })
    }

    /// Each row's example, identified by its first token.
    private func members(_ batch: Batch) -> [Int] {
        (0..<batch.batchSize).map { batch.inputs[$0 * batch.length] / 1000 - 1 }
    }

    func testEveryEpochCoversEachExampleOnceAndReshuffles() {
        let examples = Self.examples(Self.randomLengths(23, seed: 1, range: 2...40))
        var iterator = BatchIterator(examples: examples, batchSize: 4, maxLength: 64, padTokenId: 0, seed: 9)
        XCTAssertEqual(iterator.batchesPerEpoch, 6)
        var epochs: [[Int]] = []
        for _ in 0..<3 {
            var seen: [Int] = []
            for _ in 0..<iterator.batchesPerEpoch { seen += members(iterator.next()) }
            XCTAssertEqual(seen.sorted(), Array(0..<23))
            epochs.append(seen)
        }
        XCTAssertEqual(iterator.epoch, 2)
        XCTAssertNotEqual(epochs[0], epochs[1])
        XCTAssertNotEqual(epochs[1], epochs[2])
        _ = iterator.next()
        XCTAssertEqual(iterator.epoch, 3)

        // Same seed, same batches; another seed, another order.
        var again = BatchIterator(examples: examples, batchSize: 4, maxLength: 64, padTokenId: 0, seed: 9)
        var other = BatchIterator(examples: examples, batchSize: 4, maxLength: 64, padTokenId: 0, seed: 10)
        let first = (0..<6).flatMap { _ in members(again.next()) }
        XCTAssertEqual(first, epochs[0])
        XCTAssertNotEqual((0..<6).flatMap { _ in members(other.next()) }, first)

        // Without shuffling: data order.
        var ordered = BatchIterator(examples: examples, batchSize: 4, maxLength: 64, padTokenId: 0, seed: 9,
                                    bucketByLength: false, shuffle: false)
        XCTAssertEqual((0..<6).flatMap { _ in members(ordered.next()) }, Array(0..<23))
    }

    func testResumeFromStateGivesTheSameBatches() throws {
        let examples = Self.examples(Self.randomLengths(21, seed: 2, range: 3...30))
        for pack in [false, true] {
            func make() -> BatchIterator {
                BatchIterator(examples: examples, batchSize: 3, maxLength: 48, padTokenId: 0, seed: 77, pack: pack)
            }
            var uninterrupted = make()
            let reference = (0..<12).map { _ in uninterrupted.next() }
            var first = make()
            for _ in 0..<7 { _ = first.next() }
            let saved = try JSONDecoder().decode(BatchIterator.State.self,
                                                 from: JSONEncoder().encode(first.state))
            XCTAssertEqual(saved, first.state)
            let resumed = BatchIterator(examples: examples, batchSize: 3, maxLength: 48, padTokenId: 0, seed: 77,
                                        pack: pack, state: saved)
            var restored = resumed
            XCTAssertEqual((0..<5).map { _ in restored.next() }, Array(reference[7..<12]), "pack \(pack)")
            var viaRestore = make()
            viaRestore.restore(saved)
            XCTAssertEqual(viaRestore.next(), reference[7])
            var viaSetter = make()
            viaSetter.state = saved
            XCTAssertEqual(viaSetter.next(), reference[7])
        }
        // 7 batches of 3 over 21 examples: the resumed part crosses an epoch boundary.
        XCTAssertEqual(BatchIterator(examples: examples, batchSize: 3, maxLength: 48, padTokenId: 0, seed: 77)
            .batchesPerEpoch, 7)
    }

    func testValidateRejectsAStateFromOtherData() {
        let examples = Self.examples([3, 4, 5, 6])
        let iterator = BatchIterator(examples: examples, batchSize: 2, maxLength: 8, padTokenId: 0, seed: 1)
        var state = iterator.state
        XCTAssertNoThrow(try iterator.validate(state))
        state.exampleCount = 5
        XCTAssertNotNil(datasetError { try iterator.validate(state) })
        state = iterator.state
        state.batchIndex = 99
        XCTAssertNotNil(datasetError { try iterator.validate(state) })
    }

    func testLengthBucketingReducesPadding() {
        let examples = Self.examples(Self.randomLengths(512, seed: 3, range: 4...200))
        func padding(_ bucket: Bool) -> Int {
            var iterator = BatchIterator(examples: examples, batchSize: 8, maxLength: 256, padTokenId: 0, seed: 5,
                                         bucketByLength: bucket)
            return (0..<iterator.batchesPerEpoch).reduce(0) { total, _ in
                let batch = iterator.next()
                return total + batch.batchSize * batch.length - batch.tokenCount
            }
        }
        let bucketed = padding(true), plain = padding(false)
        XCTAssertLessThan(bucketed * 5, plain, "bucketed \(bucketed), plain \(plain)")
        // Bucketed batches are still in shuffled (not length-sorted) order.
        var iterator = BatchIterator(examples: examples, batchSize: 8, maxLength: 256, padTokenId: 0, seed: 5)
        let lengths = (0..<iterator.batchesPerEpoch).map { _ in iterator.next().length }
        XCTAssertNotEqual(lengths, lengths.sorted())
    }

    func testPackRowsBestFitDecreasing() {
        XCTAssertEqual(BatchIterator.packRows([6, 5, 4, 3, 2], capacity: 10), [[0, 2], [1, 3, 4]])
        // An item over the capacity gets its own row, uncut.
        XCTAssertEqual(BatchIterator.packRows([12, 3, 9], capacity: 10), [[0], [2], [1]])
    }

    func testPackingKeepsMasksAndCoversEveryExample() {
        let lengths = Self.randomLengths(200, seed: 4, range: 2...30)
        let examples = Self.examples(lengths)
        var iterator = BatchIterator(examples: examples, batchSize: 4, maxLength: 64, padTokenId: 0, seed: 6,
                                     pack: true)
        XCTAssertGreaterThan(iterator.packingEfficiency, 0.95)
        XCTAssertEqual(iterator.batchesPerEpoch, (iterator.rowCount + 3) / 4)
        var seenTokens: [Int] = []
        var targets = 0
        for _ in 0..<iterator.batchesPerEpoch {
            let batch = iterator.next()
            XCTAssertLessThanOrEqual(batch.length, 64)
            targets += batch.targetCount
            for b in 0..<batch.batchSize {
                let row = Array(batch.inputs[(b * batch.length)..<((b + 1) * batch.length)])
                let rowTargets = Array(batch.targets[(b * batch.length)..<((b + 1) * batch.length)])
                for t in 0..<batch.length where row[t] != 0 {
                    seenTokens.append(row[t])
                    let next = t + 1 < batch.length ? row[t + 1] : 0
                    // A target only where the next token is in the same example at an odd position.
                    let expected = next != 0 && next / 1000 == row[t] / 1000 && next % 1000 % 2 == 1 ? next : -100
                    XCTAssertEqual(rowTargets[t], expected)
                }
            }
        }
        XCTAssertEqual(seenTokens.sorted(), examples.flatMap(\.tokens).sorted())
        XCTAssertEqual(targets, examples.reduce(0) { $0 + $1.targetCount })
    }

    func testPackedExampleStartIsNeverATarget() {
        // Both examples have every token a target; in a packed row, the second's first token must not be one.
        let a = TokenizedExample(tokens: [1, 2, 3], lossMask: [true, true, true])
        let b = TokenizedExample(tokens: [4, 5], lossMask: [true, true])
        var iterator = BatchIterator(examples: [a, b], batchSize: 1, maxLength: 8, padTokenId: 0, seed: 0, pack: true)
        XCTAssertEqual(iterator.rowCount, 1)
        let batch = iterator.next()
        XCTAssertEqual(batch.inputs, [1, 2, 3, 4, 5])
        XCTAssertEqual(batch.targets, [2, 3, -100, 5, -100])
    }
}
