// Fused attention against an explicit masked softmax(QKᵀ)V in Double, over GQA, causal offsets,
// windows, decode (T = 1), empty rows, strided KV-cache views and multi-block sequences; gradient checks.

import XCTest
import LLMTuneTensor

final class AttentionTests: XCTestCase {
    struct Case {
        var B = 1, T = 3, S = 5, H = 2, KVH = 1, D = 8, Dv = 8
        var causalOffset: Int? = 2
        var window: Int? = nil
        var cacheLength: Int? = nil   // keys/values are the first S rows of a (B, cacheLength, KVH, D) buffer
    }

    /// Query, key, value for a case; key/value are strided views when the case has a cache.
    func tensors(_ c: Case, seed: UInt64) -> (Tensor, Tensor, Tensor) {
        let q = randomTensor([c.B, c.T, c.H, c.D], seed: seed)
        let n = c.cacheLength ?? c.S
        let k = randomTensor([c.B, n, c.KVH, c.D], seed: seed + 1).slice(dim: 1, range: 0..<c.S)
        let v = randomTensor([c.B, n, c.KVH, c.Dv], seed: seed + 2).slice(dim: 1, range: 0..<c.S)
        return (q, k, v)
    }

    let cases: [Case] = [
        Case(B: 2, T: 3, S: 5, H: 4, KVH: 2, D: 8, Dv: 8, causalOffset: 2),
        Case(B: 1, T: 4, S: 6, H: 2, KVH: 2, D: 5, Dv: 7, causalOffset: 2, window: 2),
        Case(B: 1, T: 1, S: 9, H: 3, KVH: 1, D: 16, Dv: 16, causalOffset: 8, cacheLength: 12),  // decode
        Case(B: 2, T: 5, S: 5, H: 2, KVH: 2, D: 19, Dv: 19, causalOffset: nil),                 // bidirectional
        Case(B: 1, T: 3, S: 4, H: 2, KVH: 1, D: 4, Dv: 4, causalOffset: -1),                    // row 0 sees nothing
        Case(B: 1, T: 6, S: 8, H: 4, KVH: 2, D: 40, Dv: 48, causalOffset: 2, window: 5, cacheLength: 11),
        Case(B: 1, T: 10, S: 13, H: 8, KVH: 1, D: 4, Dv: 33, causalOffset: 3, cacheLength: 15),  // two blocks
    ]

    func testMatchesExplicitMaskedSoftmax() {
        for (n, c) in cases.enumerated() {
            let (q, k, v) = tensors(c, seed: UInt64(10 * n))
            let scale = 1 / Float(c.D).squareRoot()
            let fast = Tensor.attention(query: q, key: k, value: v, scale: scale, causalOffset: c.causalOffset,
                                        window: c.window)
            let reference = Tensor.attentionReference(query: q, key: k, value: v, scale: scale,
                                                      causalOffset: c.causalOffset, window: c.window)
            XCTAssertEqual(fast.shape, [c.B, c.T, c.H, c.Dv])
            assertClose(fast, reference, atol: 2e-6, rtol: 1e-5)
        }
    }

    func testMaskSemantics() {
        // One-hot values reveal which keys each query sees; uniform scores (q = 0) average them equally.
        let S = 6
        let q = Tensor(zeros: [1, 3, 1, 2])
        let k = randomTensor([1, S, 1, 2], seed: 1)
        var onehot = [Float](repeating: 0, count: S * S)
        for s in 0..<S { onehot[s * S + s] = 1 }
        let v = Tensor(shape: [1, S, 1, S], data: onehot)
        let out = Tensor.attention(query: q, key: k, value: v, scale: 1, causalOffset: 2, window: 2).toArray()
        // query t sees keys t+1 and t+2 (s <= t + 2, s > t).
        XCTAssertEqual(Array(out[0..<6]), [0, 0.5, 0.5, 0, 0, 0])
        XCTAssertEqual(Array(out[6..<12]), [0, 0, 0.5, 0.5, 0, 0])
        XCTAssertEqual(Array(out[12..<18]), [0, 0, 0, 0.5, 0.5, 0])
        let causal = Tensor.attention(query: q, key: k, value: v, scale: 1, causalOffset: 0, window: nil).toArray()
        XCTAssertEqual(Array(causal[6..<12]), [0.5, 0.5, 0, 0, 0, 0])
    }

    func testDecodeStepEqualsLastRowOfPrefill() {
        let c = Case(B: 1, T: 5, S: 5, H: 4, KVH: 2, D: 16, Dv: 16, causalOffset: 0)
        let (q, k, v) = tensors(c, seed: 70)
        let prefill = Tensor.attention(query: q, key: k, value: v, scale: 0.25, causalOffset: 0, window: nil)
        let decode = Tensor.attention(query: q.slice(dim: 1, range: 4..<5), key: k, value: v, scale: 0.25,
                                      causalOffset: 4, window: nil)
        assertClose(decode, prefill.slice(dim: 1, range: 4..<5), atol: 1e-6, rtol: 1e-5)
    }

    func testGradients() {
        for (n, c) in cases.enumerated() where c.T * c.H * c.D <= 200 || c.B * c.T * c.H <= 6 {
            let q = randomTensor([c.B, c.T, c.H, c.D], seed: UInt64(100 + n))
            let n1 = c.cacheLength ?? c.S
            let kc = randomTensor([c.B, n1, c.KVH, c.D], seed: UInt64(200 + n))
            let vc = randomTensor([c.B, n1, c.KVH, c.Dv], seed: UInt64(300 + n))
            GradientChecker.check([q, kc, vc]) { x in
                Tensor.attention(query: x[0], key: x[1].slice(dim: 1, range: 0..<c.S),
                                 value: x[2].slice(dim: 1, range: 0..<c.S), scale: 0.5,
                                 causalOffset: c.causalOffset, window: c.window)
            }
        }
    }

    func testMultiBlockGradient() {
        // Eight query heads per KV head: blocks of 8 tokens, so T = 10 makes two blocks whose dK/dV meet.
        let c = cases[6]
        GradientChecker.check([randomTensor([1, 10, 8, 4], seed: 1), randomTensor([1, 15, 1, 4], seed: 2),
                               randomTensor([1, 15, 1, 3], seed: 3)]) { x in
            Tensor.attention(query: x[0], key: x[1].slice(dim: 1, range: 0..<c.S),
                             value: x[2].slice(dim: 1, range: 0..<c.S), scale: 0.5, causalOffset: 3, window: 6)
        }
    }

    func testQueryOnlyGradient() {
        let q = randomTensor([1, 2, 2, 4], seed: 5)
        q.requiresGrad = true
        let k = randomTensor([1, 3, 1, 4], seed: 6), v = randomTensor([1, 3, 1, 4], seed: 7)
        Tensor.attention(query: q, key: k, value: v, scale: 0.5, causalOffset: 1, window: nil).sum().backward()
        XCTAssertNotNil(q.grad)
        XCTAssertNil(k.grad)
        XCTAssertNil(v.grad)
    }

    func testDecodeKernelsForEveryGroupSize() {
        // One query token: the heads of a KV group (1...5 of them) share key and value loads in the decode
        // kernels (four keys at a time, rows padded to four); odd key counts exercise the tails.
        for group in 1...5 {
            for (D, Dv) in [(16, 32), (64, 64), (64, 48), (8, 8)] {
                for S in [1, 3, 4, 7, 13] {
                    let c = Case(B: 1, T: 1, S: S, H: 2 * group, KVH: 2, D: D, Dv: Dv, causalOffset: S - 1,
                                 cacheLength: S + 5)
                    let (q, k, v) = tensors(c, seed: UInt64(1000 + 37 * group + S + D))
                    let scale = 1 / Float(D).squareRoot()
                    assertClose(Tensor.attention(query: q, key: k, value: v, scale: scale, causalOffset: S - 1,
                                                 window: nil),
                                Tensor.attentionReference(query: q, key: k, value: v, scale: scale,
                                                          causalOffset: S - 1, window: nil),
                                atol: 2e-6, rtol: 1e-5)
                }
            }
        }
    }

    func testLongDecodeSplitsKeysAndMerges() {
        // A single query token over more than 1024 keys is split into key chunks (flash-decoding).
        let S = 1500
        let q = randomTensor([1, 1, 4, 8], seed: 80)
        let kc = randomTensor([1, 1600, 2, 8], seed: 81), vc = randomTensor([1, 1600, 2, 8], seed: 82)
        let k = kc.slice(dim: 1, range: 0..<S), v = vc.slice(dim: 1, range: 0..<S)
        for window in [nil, 1200] as [Int?] {
            assertClose(Tensor.attention(query: q, key: k, value: v, scale: 0.7, causalOffset: S - 1, window: window),
                        Tensor.attentionReference(query: q, key: k, value: v, scale: 0.7, causalOffset: S - 1,
                                                  window: window),
                        atol: 2e-6, rtol: 1e-5)
        }
        // The merged log-sum-exp feeds the backward: check the query gradient.
        GradientChecker.check([randomTensor([1, 1, 4, 8], seed: 83)]) { x in
            Tensor.attention(query: x[0], key: k, value: v, scale: 0.7, causalOffset: S - 1, window: 1200)
        }
    }
}
