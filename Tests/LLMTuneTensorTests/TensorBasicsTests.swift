// Construction, layout, views and the random generator.

import XCTest
import LLMTuneTensor

final class TensorBasicsTests: XCTestCase {
    func testSeededGeneratorMatchesReferenceXoshiro() {
        // Values from an independent Python xoshiro256** seeded with splitmix64(42).
        var rng = SeededGenerator(seed: 42)
        XCTAssertEqual(rng.next(), 0x1578_0B2E_0C2E_C716)
        XCTAssertEqual(rng.next(), 0x6104_D986_6D11_3A7E)
        XCTAssertEqual(rng.next(), 0xAE17_5332_39E4_99A1)
    }

    func testGaussianAndUniformStatistics() {
        var rng = SeededGenerator(seed: 3)
        let g = Tensor.randn([4000], std: 2, using: &rng).toArray()
        let mean = g.reduce(0, +) / Float(g.count)
        let variance = g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(g.count)
        XCTAssertEqual(mean, 0, accuracy: 0.1)
        XCTAssertEqual(variance.squareRoot(), 2, accuracy: 0.1)
        let u = Tensor.uniform([4000], low: -1, high: 3, using: &rng).toArray()
        XCTAssertTrue(u.allSatisfy { $0 >= -1 && $0 < 3 })
        XCTAssertEqual(u.reduce(0, +) / Float(u.count), 1, accuracy: 0.1)
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        XCTAssertEqual(Tensor.randn([7], std: 1, using: &a).toArray(), Tensor.randn([7], std: 1, using: &b).toArray())
    }

    func testConstructionAndLayout() {
        let t = Tensor(shape: [2, 3], data: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(t.count, 6)
        XCTAssertEqual(t.rank, 2)
        XCTAssertEqual(t.strides, [3, 1])
        XCTAssertTrue(t.isContiguous)
        XCTAssertEqual(t[1, 2], 5)
        XCTAssertEqual(Tensor(zeros: [2, 2]).toArray(), [0, 0, 0, 0])
        XCTAssertEqual(Tensor(shape: [3], filling: 1.5).toArray(), [1.5, 1.5, 1.5])
        XCTAssertEqual(Int(bitPattern: UnsafeMutableRawPointer(Tensor(zeros: [5]).pointer)) % 64, 0)
        XCTAssertEqual(Tensor.scalar(4).item(), 4)
    }

    func testBorrowingSharesMemory() {
        let owner = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
        let view = Tensor(borrowing: owner.pointer, shape: [4], owner: owner)
        XCTAssertEqual(view.toArray(), [1, 2, 3, 4])
        owner.pointer[2] = 9
        XCTAssertEqual(view.toArray(), [1, 2, 9, 4])
    }

    func testViewsShareStorageAndReadInLogicalOrder() {
        let t = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        let tr = t.transposed(0, 2)                       // (4, 3, 2)
        XCTAssertTrue(tr.sharesStorage(with: t))
        XCTAssertFalse(tr.isContiguous)
        XCTAssertEqual(tr.shape, [4, 3, 2])
        XCTAssertEqual(tr[3, 1, 0], t[0, 1, 3])
        XCTAssertEqual(tr.toArray().prefix(4), [0, 12, 4, 16])
        let p = t.permuted([1, 2, 0])                     // (3, 4, 2)
        XCTAssertEqual(p[2, 1, 1], t[1, 2, 1])
        let s = t.slice(dim: 1, range: 1..<3)             // (2, 2, 4)
        XCTAssertTrue(s.sharesStorage(with: t))
        XCTAssertEqual(s.toArray(), [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23])
        let r = t.reshaped([6, -1])
        XCTAssertTrue(r.sharesStorage(with: t))
        XCTAssertEqual(r.shape, [6, 4])
        let rt = tr.reshaped([-1])                        // copies: source not contiguous
        XCTAssertFalse(rt.sharesStorage(with: t))
        XCTAssertEqual(rt.toArray(), tr.toArray())
        let c = tr.contiguous()
        XCTAssertTrue(c.isContiguous)
        XCTAssertEqual(c.toArray(), tr.toArray())
        XCTAssertTrue(t.contiguous() === t)
        XCTAssertEqual(t.slice(dim: -1, range: 3..<4).toArray(), [3, 7, 11, 15, 19, 23])
    }

    func testConcatAndCopyElements() {
        let a = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 1], data: [5, 6])
        XCTAssertEqual(Tensor.concat([a, b], dim: 1).toArray(), [1, 2, 5, 3, 4, 6])
        XCTAssertEqual(Tensor.concat([a, a.transposed(0, 1)], dim: 0).toArray(), [1, 2, 3, 4, 1, 3, 2, 4])
        let cache = Tensor(zeros: [1, 4, 2])
        cache.slice(dim: 1, range: 1..<3).copyElements(from: Tensor(shape: [1, 2, 2], data: [1, 2, 3, 4]))
        XCTAssertEqual(cache.toArray(), [0, 0, 1, 2, 3, 4, 0, 0])
    }

    func testDetachedSharesDataWithoutGradient() {
        let x = Tensor(shape: [2], data: [1, 2])
        x.requiresGrad = true
        let d = (x * 2).detached()
        XCTAssertFalse(d.requiresGrad)
        XCTAssertNil(d.operationName)
        XCTAssertEqual(d.toArray(), [2, 4])
    }

    func testRecycledBuffersAreZeroedWhenAskedFor() {
        let n = 1 << 18   // 1 MiB: large enough to be recycled
        Tensor.releaseCachedMemory()
        do {
            let filled = Tensor(shape: [n], filling: 7)
            XCTAssertEqual(filled[n - 1], 7)
        }
        XCTAssertEqual(Tensor.cachedMemory, n * 4, "the freed buffer is kept")
        let zeros = Tensor(zeros: [n])
        XCTAssertEqual(Tensor.cachedMemory, 0, "and handed out again")
        XCTAssertTrue(zeros.toArray().allSatisfy { $0 == 0 })
        Tensor.releaseCachedMemory()
    }

    func testSimilarSizesShareCachedBuffersAndOldOnesMakeRoom() {
        Tensor.releaseCachedMemory()
        let limit = Tensor.cachedMemoryLimit
        defer { Tensor.cachedMemoryLimit = limit; Tensor.releaseCachedMemory() }
        // 1 MiB + 4 bytes and 1 MiB + 100 KiB fall in the same size class (1 MiB + 128 KiB).
        do { _ = Tensor(shape: [(1 << 18) + 1], filling: 1) }
        XCTAssertEqual(Tensor.cachedMemory, (1 << 20) + (1 << 17))
        do {
            let t = Tensor(shape: [(1 << 18) + 25_600], filling: 2)
            XCTAssertEqual(Tensor.cachedMemory, 0, "a batch of another length reuses the buffer")
            XCTAssertEqual(t[(1 << 18) + 25_599], 2)
        }
        // A full cache frees the buffers given longest ago instead of refusing new ones.
        Tensor.cachedMemoryLimit = 3 << 20
        Tensor.releaseCachedMemory()
        do { _ = Tensor(shape: [1 << 18], filling: 0) }          // 1 MiB, given first
        do { _ = Tensor(shape: [1 << 19], filling: 0) }          // 2 MiB
        XCTAssertEqual(Tensor.cachedMemory, 3 << 20)
        do { _ = Tensor(shape: [3 << 18], filling: 0) }          // 3 MiB: both older ones make room
        XCTAssertEqual(Tensor.cachedMemory, 3 << 20)
        do {
            let again = Tensor(shape: [3 << 18], filling: 5)      // the newest is the one still cached
            XCTAssertEqual(Tensor.cachedMemory, 0)
            XCTAssertEqual(again[0], 5)
        }
    }
}
