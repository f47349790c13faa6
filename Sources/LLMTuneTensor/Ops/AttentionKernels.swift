// Register-blocked SIMD kernels used by the fused attention: dot products of row sets (scores Q·Kᵀ,
// dO·Vᵀ) and row accumulations (P·V, dS·K, dSᵀ·Q, Pᵀ·dO). Rows are given as pointer arrays so that
// heads, tokens and KV-cache views with any strides need no copies (last dimension contiguous).

/// acc + a * b as one fused multiply-add (`acc + a * b` is not contracted by the compiler).
@inline(__always) func madd(_ acc: Vec16, _ a: Vec16, _ b: Float) -> Vec16 { acc.addingProduct(a, b) }

/// out[i * ldo + p] = Σ_d a_i[d] * b_p[d] for i < m, p < n (depth `depth`).
func rowDots(m: Int, n: Int, depth: Int, a: UnsafePointer<UnsafePointer<Float>>,
             b: UnsafePointer<UnsafePointer<Float>>, out: UnsafeMutablePointer<Float>, ldo: Int) {
    if m == 0 || n == 0 { return }
    if m <= 4 && depth % 16 == 0 {
        fewRowDots(m: m, n: n, depth: depth, a: a, b: b, out: out, ldo: ldo)
        return
    }
    if m < 4 {
        for i in 0..<m {
            for p in 0..<n { out[i * ldo + p] = dot(a[i], b[p], depth) }
        }
        return
    }
    // Keys in tiles of 16, packed transposed (depth, 16) so that one vector holds 16 keys' element d.
    let pack = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, depth) * 16)
    defer { pack.deallocate() }
    for p0 in stride(from: 0, to: n, by: 16) {
        let nb = Swift.min(16, n - p0)
        for q in 0..<16 {
            if q < nb {
                let row = b[p0 + q]
                for d in 0..<depth { pack[d * 16 + q] = row[d] }
            } else {
                for d in 0..<depth { pack[d * 16 + q] = 0 }
            }
        }
        var i = 0
        // Eight rows at a time: eight independent FMA chains hide the multiply-add latency.
        while i + 8 <= m {
            let a0 = a[i], a1 = a[i + 1], a2 = a[i + 2], a3 = a[i + 3]
            let a4 = a[i + 4], a5 = a[i + 5], a6 = a[i + 6], a7 = a[i + 7]
            var c0 = Vec16(), c1 = Vec16(), c2 = Vec16(), c3 = Vec16()
            var c4 = Vec16(), c5 = Vec16(), c6 = Vec16(), c7 = Vec16()
            for d in 0..<depth {
                let kv = load16(pack + d * 16)
                c0 = madd(c0, kv, a0[d]); c1 = madd(c1, kv, a1[d])
                c2 = madd(c2, kv, a2[d]); c3 = madd(c3, kv, a3[d])
                c4 = madd(c4, kv, a4[d]); c5 = madd(c5, kv, a5[d])
                c6 = madd(c6, kv, a6[d]); c7 = madd(c7, kv, a7[d])
            }
            storeTile(c0, out + i * ldo + p0, nb); storeTile(c1, out + (i + 1) * ldo + p0, nb)
            storeTile(c2, out + (i + 2) * ldo + p0, nb); storeTile(c3, out + (i + 3) * ldo + p0, nb)
            storeTile(c4, out + (i + 4) * ldo + p0, nb); storeTile(c5, out + (i + 5) * ldo + p0, nb)
            storeTile(c6, out + (i + 6) * ldo + p0, nb); storeTile(c7, out + (i + 7) * ldo + p0, nb)
            i += 8
        }
        while i + 4 <= m {
            let a0 = a[i], a1 = a[i + 1], a2 = a[i + 2], a3 = a[i + 3]
            var c0 = Vec16(), c1 = Vec16(), c2 = Vec16(), c3 = Vec16()
            for d in 0..<depth {
                let kv = load16(pack + d * 16)
                c0 = madd(c0, kv, a0[d]); c1 = madd(c1, kv, a1[d])
                c2 = madd(c2, kv, a2[d]); c3 = madd(c3, kv, a3[d])
            }
            storeTile(c0, out + i * ldo + p0, nb); storeTile(c1, out + (i + 1) * ldo + p0, nb)
            storeTile(c2, out + (i + 2) * ldo + p0, nb); storeTile(c3, out + (i + 3) * ldo + p0, nb)
            i += 4
        }
        while i < m {
            let a0 = a[i]
            var c0 = Vec16()
            for d in 0..<depth { c0 = madd(c0, load16(pack + d * 16), a0[d]) }
            storeTile(c0, out + i * ldo + p0, nb)
            i += 1
        }
    }
}

/// rowDots for a decode step's few query rows (one token, the heads of one KV group; m <= 4, depth a multiple
/// of 16): four keys at a time against all rows, so that each key vector is loaded once for the group and
/// sixteen independent accumulators keep several cache-missing key rows in flight. Rows past m repeat row
/// m - 1 and store the same values again.
private func fewRowDots(m: Int, n: Int, depth: Int, a: UnsafePointer<UnsafePointer<Float>>,
                        b: UnsafePointer<UnsafePointer<Float>>, out: UnsafeMutablePointer<Float>, ldo: Int) {
    let a0 = a[0], a1 = a[Swift.min(1, m - 1)], a2 = a[Swift.min(2, m - 1)], a3 = a[Swift.min(3, m - 1)]
    let o0 = out, o1 = out + Swift.min(1, m - 1) * ldo
    let o2 = out + Swift.min(2, m - 1) * ldo, o3 = out + Swift.min(3, m - 1) * ldo
    var p = 0
    while p + 4 <= n {
        let k0 = b[p], k1 = b[p + 1], k2 = b[p + 2], k3 = b[p + 3]
        var c00 = Vec16(), c01 = Vec16(), c02 = Vec16(), c03 = Vec16()
        var c10 = Vec16(), c11 = Vec16(), c12 = Vec16(), c13 = Vec16()
        var c20 = Vec16(), c21 = Vec16(), c22 = Vec16(), c23 = Vec16()
        var c30 = Vec16(), c31 = Vec16(), c32 = Vec16(), c33 = Vec16()
        var d = 0
        while d < depth {
            let x0 = load16(k0 + d), x1 = load16(k1 + d), x2 = load16(k2 + d), x3 = load16(k3 + d)
            let q0 = load16(a0 + d), q1 = load16(a1 + d), q2 = load16(a2 + d), q3 = load16(a3 + d)
            c00 = c00.addingProduct(q0, x0); c01 = c01.addingProduct(q0, x1)
            c02 = c02.addingProduct(q0, x2); c03 = c03.addingProduct(q0, x3)
            c10 = c10.addingProduct(q1, x0); c11 = c11.addingProduct(q1, x1)
            c12 = c12.addingProduct(q1, x2); c13 = c13.addingProduct(q1, x3)
            c20 = c20.addingProduct(q2, x0); c21 = c21.addingProduct(q2, x1)
            c22 = c22.addingProduct(q2, x2); c23 = c23.addingProduct(q2, x3)
            c30 = c30.addingProduct(q3, x0); c31 = c31.addingProduct(q3, x1)
            c32 = c32.addingProduct(q3, x2); c33 = c33.addingProduct(q3, x3)
            d += 16
        }
        o0[p] = c00.sum(); o0[p + 1] = c01.sum(); o0[p + 2] = c02.sum(); o0[p + 3] = c03.sum()
        o1[p] = c10.sum(); o1[p + 1] = c11.sum(); o1[p + 2] = c12.sum(); o1[p + 3] = c13.sum()
        o2[p] = c20.sum(); o2[p + 1] = c21.sum(); o2[p + 2] = c22.sum(); o2[p + 3] = c23.sum()
        o3[p] = c30.sum(); o3[p + 1] = c31.sum(); o3[p + 2] = c32.sum(); o3[p + 3] = c33.sum()
        p += 4
    }
    while p < n {
        for i in 0..<m { out[i * ldo + p] = dot(a[i], b[p], depth) }
        p += 1
    }
}

/// Stores the first `count` lanes of v.
@inline(__always) private func storeTile(_ v: Vec16, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
    if count == 16 {
        store16(p, v)
    } else {
        for q in 0..<count { p[q] = v[q] }
    }
}

/// c_i[0..<n] += Σ_p A(i, p) * b_p[0..<n] for i < m, p < k, where A(i, p) = a[i * ars + p * acs].
func accumulateRows(m: Int, k: Int, n: Int, a: UnsafePointer<Float>, ars: Int, acs: Int,
                    b: UnsafePointer<UnsafePointer<Float>>, c: UnsafePointer<UnsafeMutablePointer<Float>>) {
    if m == 0 || k == 0 || n == 0 { return }
    var j = 0
    // Column tiles of 32 (two vectors), four rows at a time: 8 accumulators in registers. Two or three rows (a
    // decode step's query heads of one KV group) run as four, the last row repeated: same values stored twice,
    // and each value row b_p is read once for the group.
    let padded = m == 2 || m == 3
    while j + 32 <= n {
        var i = 0
        while i + 4 <= m || (padded && i == 0) {
            let i1 = Swift.min(i + 1, m - 1), i2 = Swift.min(i + 2, m - 1), i3 = Swift.min(i + 3, m - 1)
            let r0 = c[i] + j, r1 = c[i1] + j, r2 = c[i2] + j, r3 = c[i3] + j
            var x0 = load16(r0), y0 = load16(r0 + 16), x1 = load16(r1), y1 = load16(r1 + 16)
            var x2 = load16(r2), y2 = load16(r2 + 16), x3 = load16(r3), y3 = load16(r3 + 16)
            let a0 = a + i * ars, a1 = a + i1 * ars, a2 = a + i2 * ars, a3 = a + i3 * ars
            for p in 0..<k {
                let bp = b[p] + j
                let u = load16(bp), v = load16(bp + 16)
                let s0 = a0[p * acs], s1 = a1[p * acs], s2 = a2[p * acs], s3 = a3[p * acs]
                x0 = madd(x0, u, s0); y0 = madd(y0, v, s0)
                x1 = madd(x1, u, s1); y1 = madd(y1, v, s1)
                x2 = madd(x2, u, s2); y2 = madd(y2, v, s2)
                x3 = madd(x3, u, s3); y3 = madd(y3, v, s3)
            }
            store16(r0, x0); store16(r0 + 16, y0); store16(r1, x1); store16(r1 + 16, y1)
            store16(r2, x2); store16(r2 + 16, y2); store16(r3, x3); store16(r3 + 16, y3)
            i = Swift.min(i + 4, m)
        }
        while i < m {
            let r0 = c[i] + j
            var x0 = load16(r0), y0 = load16(r0 + 16)
            let a0 = a + i * ars
            for p in 0..<k {
                let bp = b[p] + j
                let s0 = a0[p * acs]
                x0 = madd(x0, load16(bp), s0); y0 = madd(y0, load16(bp + 16), s0)
            }
            store16(r0, x0); store16(r0 + 16, y0)
            i += 1
        }
        j += 32
    }
    if j + 16 <= n {
        for i in 0..<m {
            let r0 = c[i] + j
            var x0 = load16(r0)
            let a0 = a + i * ars
            for p in 0..<k { x0 = madd(x0, load16(b[p] + j), a0[p * acs]) }
            store16(r0, x0)
        }
        j += 16
    }
    if j < n {
        for i in 0..<m {
            let a0 = a + i * ars
            let r0 = c[i]
            for p in 0..<k {
                let s = a0[p * acs], bp = b[p]
                for jj in j..<n { r0[jj] += s * bp[jj] }
            }
        }
    }
}
