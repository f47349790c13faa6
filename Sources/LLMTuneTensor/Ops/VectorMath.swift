// SIMD16 building blocks for the kernels: unaligned loads/stores, exp (Cephes expf polynomial with
// Cody-Waite range reduction), sigmoid, tanh, dot products and row reductions.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

typealias Vec16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> Vec16 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec16.self)
}

@inline(__always) func store16(_ p: UnsafeMutablePointer<Float>, _ v: Vec16) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec16.self)
}

/// e^x lane-wise, relative error about 2e-7 for x in [-87, 88]; smaller x gives ~1e-38, not 0.
@inline(__always) func exp16(_ input: Vec16) -> Vec16 {
    // (clamped / pointwiseMin are generic and scalarised; replacing(with:where:) compiles to blends.)
    var x0 = input.replacing(with: -87.33654, where: input .< -87.33654)
    x0 = x0.replacing(with: 88.3762626647949, where: x0 .> 88.3762626647949)
    // n = round(x / ln 2) via the 1.5 * 2^23 trick, whose bit pattern then holds n in its low bits.
    let magic: Float = 12_582_912
    let t = x0 * 1.44269504088896341 + magic
    let n = t - magic
    var x = x0 - n * 0.693359375
    x = x - n * -2.12194440e-4
    var p = Vec16(repeating: 1.3981999507e-3).addingProduct(Vec16(repeating: 1.9875691500e-4), x)
    p = Vec16(repeating: 8.3334519073e-3).addingProduct(p, x)
    p = Vec16(repeating: 4.1665795894e-2).addingProduct(p, x)
    p = Vec16(repeating: 1.6666665459e-1).addingProduct(p, x)
    p = Vec16(repeating: 5.0000001201e-1).addingProduct(p, x)
    p = (x + 1).addingProduct(p, x * x)
    let bits = unsafeBitCast(t, to: SIMD16<Int32>.self) &- Int32(0x4B40_0000) &+ 127
    return p * unsafeBitCast(bits &<< 23, to: Vec16.self)
}

/// 1 / (1 + e^-x) lane-wise.
@inline(__always) func sigmoid16(_ x: Vec16) -> Vec16 {
    1 / (1 + exp16(-x))
}

/// tanh lane-wise via 1 - 2 / (e^{2x} + 1); absolute error about 2e-7.
@inline(__always) func tanh16(_ x: Vec16) -> Vec16 {
    1 - 2 / (exp16(x + x) + 1)
}

@inline(__always) func sigmoidScalar(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// Σ a[i] b[i].
@inline(__always) func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = Vec16(), acc1 = Vec16()
    var i = 0
    while i + 32 <= n {
        acc0 = acc0.addingProduct(load16(a + i), load16(b + i))
        acc1 = acc1.addingProduct(load16(a + i + 16), load16(b + i + 16))
        i += 32
    }
    if i + 16 <= n {
        acc0 = acc0.addingProduct(load16(a + i), load16(b + i))
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Σ a[i].
@inline(__always) func rowSum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec16()
    var i = 0
    while i + 16 <= n { acc += load16(a + i); i += 16 }
    var s = acc.sum()
    while i < n { s += a[i]; i += 1 }
    return s
}

/// max a[i] (-infinity when n == 0).
@inline(__always) func rowMax(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = Vec16(repeating: -.infinity), acc1 = acc0
    var i = 0
    while i + 32 <= n {
        let u = load16(a + i), v = load16(a + i + 16)
        acc0 = acc0.replacing(with: u, where: acc0 .< u)
        acc1 = acc1.replacing(with: v, where: acc1 .< v)
        i += 32
    }
    if i + 16 <= n {
        let u = load16(a + i)
        acc0 = acc0.replacing(with: u, where: acc0 .< u)
        i += 16
    }
    acc0 = acc0.replacing(with: acc1, where: acc0 .< acc1)
    var m = acc0.max()
    while i < n { m = Swift.max(m, a[i]); i += 1 }
    return m
}

/// y[i] += s * x[i].
@inline(__always) func axpy(_ s: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let sv = Vec16(repeating: s)
    var i = 0
    while i + 16 <= n { store16(y + i, load16(y + i).addingProduct(sv, load16(x + i))); i += 16 }
    while i < n { y[i] += s * x[i]; i += 1 }
}

/// y[i] = s * x[i] (in place allowed).
@inline(__always) func scaleRow(_ s: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let sv = Vec16(repeating: s)
    var i = 0
    while i + 16 <= n { store16(y + i, sv * load16(x + i)); i += 16 }
    while i < n { y[i] = s * x[i]; i += 1 }
}

/// Rows per parallel range so that each range holds at least `work` elements: by default 128K, about
/// 50 µs of a streaming element-wise pass on one core (see `Parallel.workerWakeMicroseconds`).
@inline(__always) func minimumRows(rowLength: Int, work: Int = minimumElementwiseWork) -> Int {
    max(1, work / max(1, rowLength))
}

/// Elements of an element-wise pass worth handing to another thread.
let minimumElementwiseWork = 1 << 17
