// Cross-entropy with ignored targets: value against a Double computation, gradient check.

import XCTest
import Foundation
import LLMTuneTensor

final class CrossEntropyTests: XCTestCase {
    func testValueWithIgnoredTargets() {
        let logits = randomTensor([4, 19], seed: 1, std: 2)
        let targets = [3, -100, 18, 0]
        let x = logits.toArray().map(Double.init)
        var total = 0.0
        for (r, t) in targets.enumerated() where t != -100 {
            let row = Array(x[(r * 19)..<(r * 19 + 19)])
            let m = row.max()!
            total += m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) - row[t]
        }
        XCTAssertEqual(Double(logits.crossEntropy(targets: targets).item()), total / 3, accuracy: 1e-5)
        XCTAssertEqual(logits.crossEntropy(targets: [1, 1, 7, 7], ignoreIndex: 7).item(),
                       logits.slice(dim: 0, range: 0..<2).crossEntropy(targets: [1, 1]).item(), accuracy: 1e-6)
        XCTAssertEqual(logits.crossEntropy(targets: [-100, -100, -100, -100]).item(), 0)
    }

    func testGradient() {
        GradientChecker.check([randomTensor([5, 11], seed: 2, std: 2)]) {
            $0[0].crossEntropy(targets: [3, -100, 10, 0, 3])
        }
        // Through a non-contiguous view, with a custom ignore index.
        GradientChecker.check([randomTensor([7, 4], seed: 3)]) {
            $0[0].transposed(0, 1).crossEntropy(targets: [6, 1, 0, 1], ignoreIndex: 1)
        }
        // Ignored rows get exactly zero gradient.
        let x = randomTensor([3, 5], seed: 4)
        x.requiresGrad = true
        x.crossEntropy(targets: [1, -100, 2]).backward()
        XCTAssertEqual(Array(x.grad!.toArray()[5..<10]), [0, 0, 0, 0, 0])
        XCTAssertEqual(x.grad!.toArray()[0..<5].reduce(0, +), 0, accuracy: 1e-6)
    }
}
