// Heavy checks at model sizes, run only with LLMTUNE_HEAVY_TESTS=1 (use `swift test -c release`):
// fast kernels against references on SmolLM2-like shapes, with timings printed for comparison.

import XCTest
import Foundation
import LLMTuneTensor

final class TensorHeavyTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["LLMTUNE_HEAVY_TESTS"] == "1",
                          "set LLMTUNE_HEAVY_TESTS=1 (release build) to run")
    }

    /// Median wall time of `body` over `repeats` runs, in milliseconds.
    func time(_ label: String, repeats: Int = 5, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let median = times.sorted()[repeats / 2]
        print("[heavy] \(label): \(String(format: "%.3f", median)) ms")
        return median
    }

    func testAttentionAtModelSizes() {
        // SmolLM2-135M: 9 query heads, 3 KV heads, head dimension 64.
        let (B, T, H, KVH, D) = (1, 512, 9, 3, 64)
        let q = randomTensor([B, T, H, D], seed: 1), k = randomTensor([B, T, KVH, D], seed: 2)
        let v = randomTensor([B, T, KVH, D], seed: 3)
        let scale = 1 / Float(D).squareRoot()
        var out = Tensor(zeros: [1])
        _ = time("attention prefill T=S=\(T) forward") {
            out = Tensor.attention(query: q, key: k, value: v, scale: scale, causalOffset: 0, window: nil)
        }
        let small = 64
        let qs = q.slice(dim: 1, range: 0..<small), ks = k.slice(dim: 1, range: 0..<small), vs = v.slice(dim: 1, range: 0..<small)
        assertClose(Tensor.attention(query: qs, key: ks, value: vs, scale: scale, causalOffset: 0, window: 40),
                    Tensor.attentionReference(query: qs, key: ks, value: vs, scale: scale, causalOffset: 0, window: 40),
                    atol: 1e-5, rtol: 1e-4)
        XCTAssertEqual(out.shape, [B, T, H, D])
        q.requiresGrad = true; k.requiresGrad = true; v.requiresGrad = true
        _ = time("attention prefill T=S=\(T) forward+backward") {
            q.zeroGrad(); k.zeroGrad(); v.zeroGrad()
            Tensor.attention(query: q, key: k, value: v, scale: scale, causalOffset: 0, window: nil)
                .backward(gradient: out)
        }
        XCTAssertEqual(k.grad?.shape, [B, T, KVH, D])
        // Decode against a long cache.
        let S = 4096
        let cache = randomTensor([1, S + 100, KVH, D], seed: 4)
        let q1 = randomTensor([1, 1, H, D], seed: 5)
        let kv = cache.slice(dim: 1, range: 0..<S)
        _ = time("attention decode S=\(S)", repeats: 21) {
            out = Tensor.attention(query: q1, key: kv, value: kv, scale: scale, causalOffset: S - 1, window: nil)
        }
        let ref = Tensor.attentionReference(query: q1, key: kv, value: kv, scale: scale, causalOffset: S - 1, window: nil)
        assertClose(out, ref, atol: 1e-5, rtol: 1e-4)
    }

    func testRowKernelsAtModelSizes() {
        let x = randomTensor([2048, 576], seed: 6), w = randomTensor([576], seed: 7)
        var y = x
        _ = time("rmsNorm (2048, 576)") { y = x.rmsNorm(weight: w, eps: 1e-5) }
        assertClose(y, x.rmsNormReference(weight: w, eps: 1e-5), atol: 1e-5, rtol: 1e-4)
        let table = RotaryTable(dimension: 64, base: 10000, maxPositions: 2048)
        let h = x.reshaped([1, 2048, 9, 64])
        var r = h
        _ = time("rotary (1, 2048, 9, 64)") { r = h.rotary(table, positionOffset: 0, layout: .interleaved) }
        assertClose(r, h.rotaryReference(table, positionOffset: 0, layout: .interleaved), atol: 1e-5, rtol: 1e-4)
        let g = randomTensor([2048, 1536], seed: 8), u = randomTensor([2048, 1536], seed: 9)
        _ = time("swiglu (2048, 1536)") { y = Tensor.swiglu(gate: g, up: u) }
        let logits = randomTensor([256, 49152], seed: 10)
        let targets = (0..<256).map { ($0 * 7919) % 49152 }
        var loss = Tensor.scalar(0)
        _ = time("crossEntropy (256, 49152)") { loss = logits.crossEntropy(targets: targets) }
        XCTAssertEqual(loss.item(), logits.logSoftmax().toArray().enumerated()
            .filter { $0.offset % 49152 == targets[$0.offset / 49152] }.map { -$0.element }.reduce(0, +) / 256,
                       accuracy: 1e-3)
        _ = time("softmax (256, 49152)") { y = logits.softmax() }
    }
}
