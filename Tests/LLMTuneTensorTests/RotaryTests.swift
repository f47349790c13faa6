// Rotary embeddings: table values, fast kernel against the reference, the halves/interleaved
// relationship, position offsets (decode vs prefill) and gradients in both layouts.

import XCTest
import Foundation
import LLMTuneTensor

final class RotaryTests: XCTestCase {
    func testTableValues() {
        let table = RotaryTable(dimension: 8, base: 10000, maxPositions: 20)
        XCTAssertEqual(table.dimension, 8)
        for p in [0, 1, 7, 19] {
            for i in 0..<4 {
                let angle = Double(p) * Foundation.pow(10000, -Double(2 * i) / 8)
                let (c, s) = table.rotation(position: p, index: i)
                XCTAssertEqual(Double(c), Foundation.cos(angle), accuracy: 1e-5)
                XCTAssertEqual(Double(s), Foundation.sin(angle), accuracy: 1e-5)
            }
        }
    }

    func testFastKernelMatchesReference() {
        for (D, dims) in [(40, 40), (10, 6), (64, 32)] {
            let table = RotaryTable(dimension: dims, base: 500, maxPositions: 16)
            let x = randomTensor([2, 3, 2, D], seed: UInt64(D))
            for layout in [RotaryLayout.halves, .interleaved] {
                let y = x.rotary(table, positionOffset: 5, layout: layout)
                assertClose(y, x.rotaryReference(table, positionOffset: 5, layout: layout), atol: 1e-6, rtol: 1e-5)
                // Dimensions beyond the table pass through unchanged.
                XCTAssertEqual(y.slice(dim: 3, range: dims..<D).toArray(), x.slice(dim: 3, range: dims..<D).toArray())
            }
        }
    }

    func testHalvesAndInterleavedAreThePermutedSameRotation() {
        // Moving element 2i to i and 2i+1 to i + d/2 turns the interleaved rotation into rotate-half.
        let (B, T, H, D) = (1, 4, 3, 20)
        let table = RotaryTable(dimension: D, base: 10000, maxPositions: 8)
        let toHalves: (Tensor) -> Tensor = { $0.reshaped([B, T, H, D / 2, 2]).transposed(3, 4).reshaped([B, T, H, D]) }
        let x = randomTensor([B, T, H, D], seed: 9)
        let interleaved = x.rotary(table, positionOffset: 2, layout: .interleaved)
        let halves = toHalves(x).rotary(table, positionOffset: 2, layout: .halves)
        assertClose(halves, toHalves(interleaved), atol: 1e-6, rtol: 1e-6)
        // Position 0 is the identity.
        assertClose(x.rotary(table, positionOffset: 0, layout: .halves).slice(dim: 1, range: 0..<1),
                    x.slice(dim: 1, range: 0..<1), atol: 0, rtol: 0)
    }

    func testPositionOffsetMatchesLaterTokens() {
        let table = RotaryTable(dimension: 16, base: 10000, maxPositions: 12)
        let x = randomTensor([2, 5, 2, 16], seed: 4)
        let full = x.rotary(table, positionOffset: 3, layout: .halves)
        let tail = x.slice(dim: 1, range: 2..<5).contiguous().rotary(table, positionOffset: 5, layout: .halves)
        assertClose(tail, full.slice(dim: 1, range: 2..<5), atol: 0, rtol: 0)
    }

    func testGradients() {
        let table = RotaryTable(dimension: 6, base: 100, maxPositions: 10)
        for layout in [RotaryLayout.halves, .interleaved] {
            GradientChecker.check([randomTensor([2, 3, 2, 8], seed: 5)]) {
                $0[0].rotary(table, positionOffset: 4, layout: layout)
            }
        }
        let full = RotaryTable(dimension: 32, base: 10000, maxPositions: 4)
        GradientChecker.check([randomTensor([1, 2, 1, 32], seed: 6)]) {
            $0[0].rotary(full, positionOffset: 1, layout: .interleaved)
        }
        // Non-contiguous input (a head-major view).
        GradientChecker.check([randomTensor([1, 2, 3, 4], seed: 7)]) {
            $0[0].transposed(1, 2).rotary(RotaryTable(dimension: 4, base: 10, maxPositions: 3), positionOffset: 0,
                                          layout: .halves)
        }
    }
}
