// Pure-Swift single-precision GEMM, the fallback when no BLAS library loads.
// Goto / BLIS structure (Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication", 2008;
// BLIS's five loops around a micro-kernel): op(B) is packed into k-by-32 panels and op(A) into 8-by-k panels,
// and an 8x32 register-blocked micro-kernel of SIMD16<Float> FMAs (16 accumulators, 16 zmm registers on
// AVX-512) walks them. Matrix-vector shapes (m == 1 or n == 1) take a streaming kernel without packing.
// Work is split over threads by blocks of C rows (or columns, whichever is longer).

public enum SIMDGEMM {
    /// Rows of the micro-kernel's C tile.
    static let mr = 8
    /// Columns of the micro-kernel's C tile (two SIMD16 vectors).
    static let nr = 32
    /// Depth of one packed block (an A micro-panel of mr x kc floats is 8 KiB and stays in L1).
    static let kc = 256
    /// Rows of A packed at once.
    static let mc = 96
    /// Columns of B packed at once (kc x nc floats = 1 MiB, in L2 / L3).
    static let nc = 1024

    /// Multiply-adds below which a range of the packed kernel is not handed to another thread: about 70 µs
    /// of one core, above `Parallel.workerWakeMicroseconds`.
    static let minimumProductsPerRange = 1 << 23
    /// Floats of B below which packing is not split between threads.
    static let minimumPackedPerRange = 1 << 16
    /// Multiply-adds below which the narrow (n <= 16) kernel, which runs at a fraction of the packed
    /// kernel's rate, stays on one thread.
    static let minimumNarrowProductsPerRange = 1 << 21

    /// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C, row-major, same contract as `GEMM.sgemm`.
    /// When beta == 0, C is not read (it may hold NaN or garbage).
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m <= 0 || n <= 0 { return }
        if k <= 0 || alpha == 0 {
            scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
            return
        }
        if m == 1 || n == 1 {
            gemv(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let A = Operand(base: a, ld: lda, transposed: transA)
        let B = Operand(base: b, ld: ldb, transposed: transB)
        if n <= 16 && k >= 16 {
            narrow(m: m, n: n, k: k, alpha: alpha, A: A, B: B, beta: beta, c: c, ldc: ldc)
            return
        }
        let work = Double(m) * Double(n) * Double(k)
        let threads = work < Double(2 * minimumProductsPerRange) ? 1 : Parallel.threads
        if threads > 1 && m >= 4 * mr {
            sharedB(m: m, n: n, k: k, alpha: alpha, A: A, B: B, beta: beta, c: c, ldc: ldc)
        } else if threads > 1 {
            // Few rows: split the columns; each thread packs its own slice of B and all of the small A.
            let tiles = (n + nr - 1) / nr
            Parallel.forRanges(tiles, minimum: max(2, minimumProductsPerRange / max(1, m * nr * k))) { r in
                let j0 = r.lowerBound * nr, j1 = min(n, r.upperBound * nr)
                blocked(m: m, n: j1 - j0, k: k, alpha: alpha, A: A, B: B.columns(from: j0),
                        beta: beta, c: c + j0, ldc: ldc)
            }
        } else {
            blocked(m: m, n: n, k: k, alpha: alpha, A: A, B: B, beta: beta, c: c, ldc: ldc)
        }
    }

    /// A matrix operand op(X): element (row, column) of op(X) is X[row * ld + column], or
    /// X[column * ld + row] when `transposed`.
    struct Operand {
        var base: UnsafePointer<Float>
        var ld: Int
        var transposed: Bool
        /// The operand starting at row `r` of op(X).
        func rows(from r: Int) -> Operand {
            Operand(base: transposed ? base + r : base + r * ld, ld: ld, transposed: transposed)
        }
        /// The operand starting at column `c` of op(X).
        func columns(from c: Int) -> Operand {
            Operand(base: transposed ? base + c * ld : base + c, ld: ld, transposed: transposed)
        }
    }

    // MARK: - C = beta * C

    static func scale(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if beta == 1 { return }
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 {
                row.update(repeating: 0, count: n)
            } else {
                for j in 0..<n { row[j] *= beta }
            }
        }
    }

    // MARK: - Blocked paths

    /// One thread: the five loops, packing B (kc x nc) and A (mc x kc) into its own workspace.
    static func blocked(m: Int, n: Int, k: Int, alpha: Float, A: Operand, B: Operand,
                        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let ws = Workspace.acquire()
        defer { Workspace.release(ws) }
        var jc = 0
        while jc < n {
            let ncur = min(nc, n - jc)
            var pc = 0
            while pc < k {
                let kcur = min(kc, k - pc)
                packPanelsB(B, row: pc, column: jc, depth: kcur, width: ncur, into: ws.packB)
                rowBlocks(0..<m, ncur: ncur, kcur: kcur, pc: pc, alpha: alpha, A: A, packB: ws.packB,
                          beta: pc == 0 ? beta : 1, c: c + jc, ldc: ldc, ws: ws)
                pc += kc
            }
            jc += nc
        }
    }

    /// All threads, two parallel regions per super-block of up to `sharedPackedFloats` floats of B: first
    /// every (kc x nc) block of the super-block is packed, cooperatively; then the threads take disjoint row
    /// ranges of C and run all of the super-block's blocks over them, packing their own A blocks. (One pair
    /// of regions per kc x nc block, as before, woke the workers ~12 times per 256 x 1536 x 576 product;
    /// each wake costs `Parallel.workerWakeMicroseconds`.)
    static func sharedB(m: Int, n: Int, k: Int, alpha: Float, A: Operand, B: Operand,
                        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let superWidth = max(nc, sharedPackedFloats / max(1, k) / nc * nc)    // columns, a multiple of nc
        let shared = SharedPack.acquire(floats: ((min(n, superWidth) + nr - 1) / nr) * nr * k)
        defer { SharedPack.release(shared) }
        let packed = shared.floats
        let tiles = (m + mr - 1) / mr
        let panelsPerUnit = max(4, minimumPackedPerRange / max(1, nr * kc))
        var j0 = 0
        while j0 < n {
            let width = min(superWidth, n - j0)
            var units: [PackUnit] = []
            forEachBlock(width: width, depth: k) { jc, pc, ncur, kcur, offset in
                let panels = (ncur + nr - 1) / nr
                var q = 0
                while q < panels {
                    units.append(PackUnit(jc: jc, pc: pc, kcur: kcur, panels: q..<min(panels, q + panelsPerUnit),
                                          width: ncur, offset: offset))
                    q += panelsPerUnit
                }
            }
            let blockWork = mr * width * k
            units.withUnsafeBufferPointer { list in
                Parallel.forRanges(list.count, minimum: 2) { r in
                    for u in list[r] {
                        let first = u.panels.lowerBound * nr
                        let cols = min(u.width, u.panels.upperBound * nr) - first
                        packPanelsB(B, row: u.pc, column: j0 + u.jc + first, depth: u.kcur, width: cols,
                                    into: packed + u.offset + first * u.kcur)
                    }
                }
            }
            Parallel.forRanges(tiles, minimum: max(2, minimumProductsPerRange / max(1, blockWork))) { r in
                let ws = Workspace.acquire()
                defer { Workspace.release(ws) }
                let rows = r.lowerBound * mr..<min(m, r.upperBound * mr)
                forEachBlock(width: width, depth: k) { jc, pc, ncur, kcur, offset in
                    rowBlocks(rows, ncur: ncur, kcur: kcur, pc: pc, alpha: alpha, A: A, packB: packed + offset,
                              beta: pc == 0 ? beta : 1, c: c + j0 + jc, ldc: ldc, ws: ws)
                }
            }
            j0 += width
        }
    }

    /// Floats of packed B shared by the threads at once (16 MiB): a 576 x 1536 weight is one super-block,
    /// a 576 x 49152 output head seven.
    static let sharedPackedFloats = 1 << 22

    /// A run of B panels of one (kc x nc) block to pack.
    struct PackUnit {
        var jc: Int
        var pc: Int
        var kcur: Int
        var panels: Range<Int>
        var width: Int
        var offset: Int
    }

    /// Calls `body(jc, pc, ncur, kcur, offset)` for the (kc x nc) blocks of a packed B of `width` columns and
    /// `depth` rows, in the order the kernels use them; `offset` is where the block's panels start: full
    /// column blocks before it hold nc * depth floats, and the depth blocks of one column block follow each
    /// other (each `ncur` rounded up to panels, times `kcur`).
    @inline(__always)
    static func forEachBlock(width: Int, depth: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
        var jc = 0
        while jc < width {
            let ncur = min(nc, width - jc)
            let padded = (ncur + nr - 1) / nr * nr
            var pc = 0
            while pc < depth {
                let kcur = min(kc, depth - pc)
                body(jc, pc, ncur, kcur, jc * depth + pc * padded)
                pc += kc
            }
            jc += nc
        }
    }

    /// C[rows, 0..<ncur] (+)= alpha * op(A)[rows, pc..<pc+kcur] * packB, packing A mc rows at a time into `ws`.
    static func rowBlocks(_ rows: Range<Int>, ncur: Int, kcur: Int, pc: Int, alpha: Float, A: Operand,
                          packB: UnsafeMutablePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>,
                          ldc: Int, ws: Workspace) {
        var ic = rows.lowerBound
        while ic < rows.upperBound {
            let mcur = min(mc, rows.upperBound - ic)
            packPanelsA(A, row: ic, column: pc, height: mcur, depth: kcur, into: ws.packA)
            macroKernel(mcur: mcur, ncur: ncur, kcur: kcur, packA: ws.packA, packB: packB, alpha: alpha,
                        beta: beta, c: c + ic * ldc, ldc: ldc, edge: ws.edge)
            ic += mc
        }
    }

    /// The two loops around the micro-kernel: each A micro-panel (8 x kcur, in L1) meets every B panel.
    static func macroKernel(mcur: Int, ncur: Int, kcur: Int, packA: UnsafeMutablePointer<Float>,
                            packB: UnsafeMutablePointer<Float>, alpha: Float, beta: Float,
                            c: UnsafeMutablePointer<Float>, ldc: Int, edge: UnsafeMutablePointer<Float>) {
        var ir = 0
        while ir < mcur {
            let rows = min(mr, mcur - ir)
            let pa = packA + ir * kcur
            var jr = 0
            while jr < ncur {
                let cols = min(nr, ncur - jr)
                let pb = packB + jr * kcur
                let ct = c + ir * ldc + jr
                if rows == mr && cols == nr {
                    kernel8x32(kcur, pa, pb, ct, ldc, alpha, beta)
                } else {
                    kernel8x32(kcur, pa, pb, edge, nr, 1, 0)
                    for i in 0..<rows {
                        let src = edge + i * nr, dst = ct + i * ldc
                        if beta == 0 {
                            for j in 0..<cols { dst[j] = alpha * src[j] }
                        } else {
                            for j in 0..<cols { dst[j] = alpha * src[j] + beta * dst[j] }
                        }
                    }
                }
                jr += nr
            }
            ir += mr
        }
    }

    // MARK: - Packing

    /// Packs op(A)[row ..< row+height, column ..< column+depth] as consecutive mr-row panels; panel q holds
    /// element (q*mr + i, p) at offset q*mr*depth + p*mr + i. Rows past `height` are zero.
    static func packPanelsA(_ A: Operand, row: Int, column: Int, height: Int, depth: Int,
                            into dst: UnsafeMutablePointer<Float>) {
        var out = dst
        var i0 = 0
        while i0 < height {
            let rows = min(mr, height - i0)
            if A.transposed {
                // Column p of the panel is contiguous in memory: A[(column+p) * ld + row + i0 ...].
                let src = A.base + column * A.ld + row + i0
                if rows == mr {
                    for p in 0..<depth {
                        UnsafeMutableRawPointer(out + p * mr).storeBytes(
                            of: UnsafeRawPointer(src + p * A.ld).loadUnaligned(as: SIMD8<Float>.self),
                            as: SIMD8<Float>.self)
                    }
                } else {
                    for p in 0..<depth {
                        for i in 0..<mr { out[p * mr + i] = i < rows ? src[p * A.ld + i] : 0 }
                    }
                }
            } else {
                let src = A.base + (row + i0) * A.ld + column
                if rows == mr {
                    transposeInto(src, ld: A.ld, columns: mr, depth: depth, out)
                } else {
                    for i in 0..<mr {
                        if i < rows {
                            let s = src + i * A.ld
                            for p in 0..<depth { out[p * mr + i] = s[p] }
                        } else {
                            for p in 0..<depth { out[p * mr + i] = 0 }
                        }
                    }
                }
            }
            out += mr * depth
            i0 += mr
        }
    }

    /// Packs op(B)[row ..< row+depth, column ..< column+width] as consecutive nr-column panels; panel q holds
    /// element (p, q*nr + j) at offset q*nr*depth + p*nr + j. Columns past `width` are zero.
    static func packPanelsB(_ B: Operand, row: Int, column: Int, depth: Int, width: Int,
                            into dst: UnsafeMutablePointer<Float>) {
        var out = dst
        var j0 = 0
        while j0 < width {
            let cols = min(nr, width - j0)
            if !B.transposed {
                // Row p of the panel is contiguous: B[(row+p) * ld + column + j0 ...].
                let src = B.base + row * B.ld + column + j0
                if cols == nr {
                    for p in 0..<depth {
                        let s = UnsafeRawPointer(src + p * B.ld)
                        let d = UnsafeMutableRawPointer(out + p * nr)
                        d.storeBytes(of: s.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                        d.storeBytes(of: s.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                                     toByteOffset: 64, as: SIMD16<Float>.self)
                    }
                } else {
                    for p in 0..<depth {
                        let s = src + p * B.ld
                        for j in 0..<nr { out[p * nr + j] = j < cols ? s[j] : 0 }
                    }
                }
            } else {
                // Column j of op(B) is row (column + j0 + j) of the stored matrix: contiguous in p.
                let src = B.base + (column + j0) * B.ld + row
                if cols == nr {
                    transposeInto(src, ld: B.ld, columns: nr, depth: depth, out)
                } else {
                    for j in 0..<nr {
                        if j < cols {
                            let s = src + j * B.ld
                            for p in 0..<depth { out[p * nr + j] = s[p] }
                        } else {
                            for p in 0..<depth { out[p * nr + j] = 0 }
                        }
                    }
                }
            }
            out += nr * depth
            j0 += nr
        }
    }

    /// out[p * columns + j] = src[j * ld + p] for j in 0..<columns (a multiple of 8), p in 0..<depth:
    /// 8x8 blocks are loaded as eight row vectors and transposed in registers (unpack, 64-bit shuffle,
    /// 128-bit lane swap), then stored as eight column vectors.
    static func transposeInto(_ src: UnsafePointer<Float>, ld: Int, columns: Int, depth: Int,
                              _ out: UnsafeMutablePointer<Float>) {
        typealias V8 = SIMD8<Float>
        let st = columns * 4
        var j = 0
        while j < columns {
            let r = UnsafeRawPointer(src + j * ld)
            var p = 0
            while p + 8 <= depth {
                let o = 4 * p
                let a0 = r.loadUnaligned(fromByteOffset: o, as: V8.self)
                let a1 = r.loadUnaligned(fromByteOffset: o + 4 * ld, as: V8.self)
                let a2 = r.loadUnaligned(fromByteOffset: o + 8 * ld, as: V8.self)
                let a3 = r.loadUnaligned(fromByteOffset: o + 12 * ld, as: V8.self)
                let a4 = r.loadUnaligned(fromByteOffset: o + 16 * ld, as: V8.self)
                let a5 = r.loadUnaligned(fromByteOffset: o + 20 * ld, as: V8.self)
                let a6 = r.loadUnaligned(fromByteOffset: o + 24 * ld, as: V8.self)
                let a7 = r.loadUnaligned(fromByteOffset: o + 28 * ld, as: V8.self)
                let t0 = unpackLow(a0, a1), t1 = unpackHigh(a0, a1), t2 = unpackLow(a2, a3), t3 = unpackHigh(a2, a3)
                let t4 = unpackLow(a4, a5), t5 = unpackHigh(a4, a5), t6 = unpackLow(a6, a7), t7 = unpackHigh(a6, a7)
                let u0 = pairsLow(t0, t2), u1 = pairsHigh(t0, t2), u2 = pairsLow(t1, t3), u3 = pairsHigh(t1, t3)
                let u4 = pairsLow(t4, t6), u5 = pairsHigh(t4, t6), u6 = pairsLow(t5, t7), u7 = pairsHigh(t5, t7)
                let d = UnsafeMutableRawPointer(out + p * columns + j)
                d.storeBytes(of: V8(lowHalf: u0.lowHalf, highHalf: u4.lowHalf), as: V8.self)
                d.storeBytes(of: V8(lowHalf: u1.lowHalf, highHalf: u5.lowHalf), toByteOffset: st, as: V8.self)
                d.storeBytes(of: V8(lowHalf: u2.lowHalf, highHalf: u6.lowHalf), toByteOffset: 2 * st, as: V8.self)
                d.storeBytes(of: V8(lowHalf: u3.lowHalf, highHalf: u7.lowHalf), toByteOffset: 3 * st, as: V8.self)
                d.storeBytes(of: V8(lowHalf: u0.highHalf, highHalf: u4.highHalf), toByteOffset: 4 * st, as: V8.self)
                d.storeBytes(of: V8(lowHalf: u1.highHalf, highHalf: u5.highHalf), toByteOffset: 5 * st, as: V8.self)
                d.storeBytes(of: V8(lowHalf: u2.highHalf, highHalf: u6.highHalf), toByteOffset: 6 * st, as: V8.self)
                d.storeBytes(of: V8(lowHalf: u3.highHalf, highHalf: u7.highHalf), toByteOffset: 7 * st, as: V8.self)
                p += 8
            }
            while p < depth {
                for jj in 0..<8 { out[p * columns + j + jj] = src[(j + jj) * ld + p] }
                p += 1
            }
            j += 8
        }
    }

    // Shuffles within 128-bit lanes (vunpcklps / vunpckhps / vshufps patterns).
    @inline(__always)
    static func unpackLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5])
    }
    @inline(__always)
    static func unpackHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7])
    }
    @inline(__always)
    static func pairsLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5])
    }
    @inline(__always)
    static func pairsHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7])
    }

    // MARK: - Micro-kernel

    /// C[8, 32] (row stride ldc) = alpha * Apanel(8 x kc) * Bpanel(kc x 32) + beta * C; beta == 0 does not
    /// read C. `a` holds 8 floats per step of k, `b` 32.
    @inline(never)
    static func kernel8x32(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                           _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ alpha: Float, _ beta: Float) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        var c40 = V(), c41 = V(), c50 = V(), c51 = V(), c60 = V(), c61 = V(), c70 = V(), c71 = V()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: V.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 64, as: V.self)
            var x = V(repeating: pa[0]); c00.addProduct(x, b0); c01.addProduct(x, b1)
            x = V(repeating: pa[1]); c10.addProduct(x, b0); c11.addProduct(x, b1)
            x = V(repeating: pa[2]); c20.addProduct(x, b0); c21.addProduct(x, b1)
            x = V(repeating: pa[3]); c30.addProduct(x, b0); c31.addProduct(x, b1)
            x = V(repeating: pa[4]); c40.addProduct(x, b0); c41.addProduct(x, b1)
            x = V(repeating: pa[5]); c50.addProduct(x, b0); c51.addProduct(x, b1)
            x = V(repeating: pa[6]); c60.addProduct(x, b0); c61.addProduct(x, b1)
            x = V(repeating: pa[7]); c70.addProduct(x, b0); c71.addProduct(x, b1)
            pa += 8
            pb += 128
        }
        var row = UnsafeMutableRawPointer(c)
        let step = ldc * 4
        store(c00, c01, row, alpha, beta); row += step
        store(c10, c11, row, alpha, beta); row += step
        store(c20, c21, row, alpha, beta); row += step
        store(c30, c31, row, alpha, beta); row += step
        store(c40, c41, row, alpha, beta); row += step
        store(c50, c51, row, alpha, beta); row += step
        store(c60, c61, row, alpha, beta); row += step
        store(c70, c71, row, alpha, beta)
    }

    @inline(__always)
    static func store(_ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ row: UnsafeMutableRawPointer,
                      _ alpha: Float, _ beta: Float) {
        typealias V = SIMD16<Float>
        let al = V(repeating: alpha)
        if beta == 0 {
            row.storeBytes(of: v0 * al, as: V.self)
            row.storeBytes(of: v1 * al, toByteOffset: 64, as: V.self)
        } else {
            let be = V(repeating: beta)
            let o0 = row.loadUnaligned(as: V.self), o1 = row.loadUnaligned(fromByteOffset: 64, as: V.self)
            row.storeBytes(of: (o0 * be).addingProduct(v0, al), as: V.self)
            row.storeBytes(of: (o1 * be).addingProduct(v1, al), toByteOffset: 64, as: V.self)
        }
    }

    // MARK: - Workspaces (packing buffers reused across calls)

    /// The packed B of `sharedB`, reused across calls: a fresh multi-megabyte buffer per product is mapped
    /// and page-faulted anew by the kernel (measured: prefill of 113 tokens at half speed).
    final class SharedPack {
        let floats: UnsafeMutablePointer<Float>
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            floats = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: capacity)
        }

        deinit { UnsafeMutableRawPointer(floats).deallocate() }

        nonisolated(unsafe) private static var free: [SharedPack] = []
        private static let lock = KernelLock()

        /// A buffer of at least `floats` floats: the largest kept one when it is big enough.
        static func acquire(floats: Int) -> SharedPack {
            lock.lock()
            defer { lock.unlock() }
            if let i = free.indices.max(by: { free[$0].capacity < free[$1].capacity }), free[i].capacity >= floats {
                return free.remove(at: i)
            }
            return SharedPack(capacity: floats)
        }

        static func release(_ pack: SharedPack) {
            lock.lock()
            defer { lock.unlock() }
            free.append(pack)
            if free.count > 2, let i = free.indices.min(by: { free[$0].capacity < free[$1].capacity }) {
                free.remove(at: i)
            }
        }
    }

    /// Packing buffers of one thread: aligned to 64 bytes, allocated once and kept in a free list so that a
    /// GEMM call neither allocates nor page-faults.
    final class Workspace {
        let packA: UnsafeMutablePointer<Float>
        let packB: UnsafeMutablePointer<Float>
        let edge: UnsafeMutablePointer<Float>
        private let raw: UnsafeMutableRawPointer

        init() {
            let aCount = ((mc + mr - 1) / mr) * mr * kc
            let bCount = ((nc + nr - 1) / nr) * nr * kc
            let eCount = mr * nr
            raw = UnsafeMutableRawPointer.allocate(byteCount: (aCount + bCount + eCount) * 4, alignment: 64)
            let f = raw.bindMemory(to: Float.self, capacity: aCount + bCount + eCount)
            packA = f
            packB = f + aCount
            edge = f + aCount + bCount
        }

        deinit { raw.deallocate() }

        nonisolated(unsafe) private static var free: [Workspace] = []
        private static let lock = KernelLock()

        static func acquire() -> Workspace {
            lock.lock()
            let w = free.popLast()
            lock.unlock()
            return w ?? Workspace()
        }

        static func release(_ w: Workspace) {
            lock.lock()
            if free.count < 64 { free.append(w) }
            lock.unlock()
        }
    }
}

// MARK: - Narrow C (n <= 16: LoRA ranks)

extension SIMDGEMM {
    /// C[m, n] for n <= 16, the shape of a low-rank projection x·Aᵀ: op(B) (k x n, small) is packed once into
    /// k x 8 or k x 16 zero-padded rows and op(A) is read in place, eight rows at a time, so the large operand
    /// is streamed once without packing.
    static func narrow(m: Int, n: Int, k: Int, alpha: Float, A: Operand, B: Operand,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let w = n <= 8 ? 8 : 16
        withUnsafeTemporaryAllocation(of: Float.self, capacity: k * w) { buffer in
            guard let pb = buffer.baseAddress else { return }
            for p in 0..<k {
                for j in 0..<w {
                    pb[p * w + j] = j >= n ? 0 : (B.transposed ? B.base[j * B.ld + p] : B.base[p * B.ld + j])
                }
            }
            // Element (i, p) of op(A) is at A.base + i * rs + p * ps.
            let (rs, ps) = A.transposed ? (1, A.ld) : (A.ld, 1)
            let blocks = (m + 7) / 8
            let threads = m * n * k < minimumNarrowProductsPerRange ? 1 : Parallel.threads
            let parts = max(1, min(threads, blocks / 4))
            let step = (blocks + parts - 1) / parts
            Parallel.forEach((blocks + step - 1) / step) { q in
                let lo = q * step, hi = min(blocks, lo + step)
                for blk in lo..<hi {
                    let i0 = blk * 8
                    let rows = min(8, m - i0)
                    if w == 8 {
                        narrowKernel(SIMD8<Float>.self, k: k, a: A.base + i0 * rs, rs: rs, ps: ps, rows: rows,
                                     b: UnsafePointer(pb), n: n, alpha: alpha, beta: beta, c: c + i0 * ldc, ldc: ldc)
                    } else {
                        narrowKernel(SIMD16<Float>.self, k: k, a: A.base + i0 * rs, rs: rs, ps: ps, rows: rows,
                                     b: UnsafePointer(pb), n: n, alpha: alpha, beta: beta, c: c + i0 * ldc, ldc: ldc)
                    }
                }
            }
        }
    }

    /// C[rows <= 8, n] = alpha * A(rows x k, element (i, p) at a[i*rs + p*ps]) * Bpacked(k x V.count) + beta * C.
    @inline(__always)
    static func narrowKernel<V: SIMD>(_ type: V.Type, k: Int, a: UnsafePointer<Float>, rs: Int, ps: Int,
                                      rows: Int, b: UnsafePointer<Float>, n: Int, alpha: Float, beta: Float,
                                      c: UnsafeMutablePointer<Float>, ldc: Int) where V.Scalar == Float {
        // Rows past `rows` read row 0 again and are discarded.
        var a0 = a
        var a1 = a + (rows > 1 ? rs : 0), a2 = a + (rows > 2 ? 2 * rs : 0), a3 = a + (rows > 3 ? 3 * rs : 0)
        var a4 = a + (rows > 4 ? 4 * rs : 0), a5 = a + (rows > 5 ? 5 * rs : 0)
        var a6 = a + (rows > 6 ? 6 * rs : 0), a7 = a + (rows > 7 ? 7 * rs : 0)
        var s0 = V(), s1 = V(), s2 = V(), s3 = V(), s4 = V(), s5 = V(), s6 = V(), s7 = V()
        var pb = UnsafeRawPointer(b)
        let bStep = V.scalarCount * 4
        for _ in 0..<k {
            let bv = pb.loadUnaligned(as: V.self)
            s0.addProduct(V(repeating: a0.pointee), bv); s1.addProduct(V(repeating: a1.pointee), bv)
            s2.addProduct(V(repeating: a2.pointee), bv); s3.addProduct(V(repeating: a3.pointee), bv)
            s4.addProduct(V(repeating: a4.pointee), bv); s5.addProduct(V(repeating: a5.pointee), bv)
            s6.addProduct(V(repeating: a6.pointee), bv); s7.addProduct(V(repeating: a7.pointee), bv)
            a0 += ps; a1 += ps; a2 += ps; a3 += ps; a4 += ps; a5 += ps; a6 += ps; a7 += ps
            pb += bStep
        }
        @inline(__always) func put(_ s: V, _ r: Int) {
            if r >= rows { return }
            let o = c + r * ldc
            if beta == 0 {
                for j in 0..<n { o[j] = alpha * s[j] }
            } else {
                for j in 0..<n { o[j] = alpha * s[j] + beta * o[j] }
            }
        }
        put(s0, 0); put(s1, 1); put(s2, 2); put(s3, 3); put(s4, 4); put(s5, 5); put(s6, 6); put(s7, 7)
    }
}

// MARK: - Matrix-vector shapes (m == 1 or n == 1)

extension SIMDGEMM {
    /// y = alpha * M x + beta * y for the shapes where C is one row or one column. Packing would cost as much
    /// as the multiply here, so M is streamed once from memory: row-wise dot products when the rows of M are
    /// contiguous, otherwise scaled sums of contiguous rows.
    static func gemv(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // M is len x k; "dot" means M(i, p) = mat[i * ld + p], otherwise M(i, p) = mat[p * ld + i].
        let len: Int, ys: Int, x: UnsafePointer<Float>, xs: Int, mat: UnsafePointer<Float>, ld: Int, dot: Bool
        if m == 1 {
            (len, ys) = (n, 1)
            (x, xs) = (a, transA ? lda : 1)
            (mat, ld, dot) = (b, ldb, transB)
        } else {
            (len, ys) = (m, ldc)
            (x, xs) = (b, transB ? 1 : ldb)
            (mat, ld, dot) = (a, lda, !transA)
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: xs == 1 ? 0 : k) { tmp in
            var xv = x
            if xs != 1, let t = tmp.baseAddress {
                for p in 0..<k { t[p] = x[p * xs] }
                xv = UnsafePointer(t)
            }
            // Memory-bound: 1 M weights stream in about 200 µs, well above a worker's wake-up time.
            let threads = len * k < 1 << 20 ? 1 : Parallel.threads
            let parts = max(1, min(threads * Parallel.chunksPerThread, len / 64))
            let step = ((len + parts - 1) / parts + 15) / 16 * 16
            let chunks = (len + step - 1) / step
            Parallel.forEach(chunks) { q in
                let lo = q * step, hi = min(len, lo + step)
                if dot {
                    gemvDot(mat + lo * ld, ld: ld, rows: hi - lo, k: k, x: xv, alpha: alpha, beta: beta,
                            y: c + lo * ys, ys: ys)
                } else {
                    gemvRows(mat + lo, ld: ld, columns: hi - lo, k: k, x: xv, alpha: alpha, beta: beta,
                             y: c + lo * ys, ys: ys)
                }
            }
        }
    }

    /// y[i] = alpha * dot(mat[i * ld ..< i * ld + k], x) + beta * y[i] for i in 0..<rows, four rows at a time.
    static func gemvDot(_ mat: UnsafePointer<Float>, ld: Int, rows: Int, k: Int, x: UnsafePointer<Float>,
                        alpha: Float, beta: Float, y: UnsafeMutablePointer<Float>, ys: Int) {
        typealias V = SIMD16<Float>
        let xr = UnsafeRawPointer(x)
        let kv = k / 16 * 16
        @inline(__always) func finish(_ i: Int, _ s: Float) {
            let o = y + i * ys
            o.pointee = beta == 0 ? alpha * s : alpha * s + beta * o.pointee
        }
        var i = 0
        while i + 4 <= rows {
            let r0 = UnsafeRawPointer(mat + i * ld), r1 = r0 + ld * 4, r2 = r1 + ld * 4, r3 = r2 + ld * 4
            var s0 = V(), s1 = V(), s2 = V(), s3 = V()
            var off = 0
            while off < kv * 4 {
                let xv = xr.loadUnaligned(fromByteOffset: off, as: V.self)
                s0.addProduct(r0.loadUnaligned(fromByteOffset: off, as: V.self), xv)
                s1.addProduct(r1.loadUnaligned(fromByteOffset: off, as: V.self), xv)
                s2.addProduct(r2.loadUnaligned(fromByteOffset: off, as: V.self), xv)
                s3.addProduct(r3.loadUnaligned(fromByteOffset: off, as: V.self), xv)
                off += 64
            }
            var t0 = s0.sum(), t1 = s1.sum(), t2 = s2.sum(), t3 = s3.sum()
            let m0 = mat + i * ld
            for p in kv..<k {
                t0 += m0[p] * x[p]; t1 += m0[ld + p] * x[p]
                t2 += m0[2 * ld + p] * x[p]; t3 += m0[3 * ld + p] * x[p]
            }
            finish(i, t0); finish(i + 1, t1); finish(i + 2, t2); finish(i + 3, t3)
            i += 4
        }
        while i < rows {
            let r = UnsafeRawPointer(mat + i * ld)
            var s = V()
            var off = 0
            while off < kv * 4 {
                s.addProduct(r.loadUnaligned(fromByteOffset: off, as: V.self),
                             xr.loadUnaligned(fromByteOffset: off, as: V.self))
                off += 64
            }
            var t = s.sum()
            for p in kv..<k { t += mat[i * ld + p] * x[p] }
            finish(i, t)
            i += 1
        }
    }

    /// y[j] = alpha * sum_p x[p] * mat[p * ld + j] + beta * y[j] for j in 0..<columns: 512-column strips
    /// accumulated in an L1-resident buffer, four rows of mat per pass.
    static func gemvRows(_ mat: UnsafePointer<Float>, ld: Int, columns: Int, k: Int, x: UnsafePointer<Float>,
                         alpha: Float, beta: Float, y: UnsafeMutablePointer<Float>, ys: Int) {
        typealias V = SIMD16<Float>
        let width = 512
        withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { buffer in
            guard let acc = buffer.baseAddress else { return }
            let ar = UnsafeMutableRawPointer(acc)
            var j0 = 0
            while j0 < columns {
                let w = min(width, columns - j0)
                let wv = w / 16 * 16
                acc.update(repeating: 0, count: w)
                var p = 0
                while p + 4 <= k {
                    let m0 = mat + p * ld + j0, m1 = m0 + ld, m2 = m1 + ld, m3 = m2 + ld
                    let (x0, x1, x2, x3) = (x[p], x[p + 1], x[p + 2], x[p + 3])
                    let (v0, v1, v2, v3) = (V(repeating: x0), V(repeating: x1), V(repeating: x2), V(repeating: x3))
                    let (r0, r1) = (UnsafeRawPointer(m0), UnsafeRawPointer(m1))
                    let (r2, r3) = (UnsafeRawPointer(m2), UnsafeRawPointer(m3))
                    var off = 0
                    while off < wv * 4 {
                        var s = ar.loadUnaligned(fromByteOffset: off, as: V.self)
                        s.addProduct(v0, r0.loadUnaligned(fromByteOffset: off, as: V.self))
                        s.addProduct(v1, r1.loadUnaligned(fromByteOffset: off, as: V.self))
                        s.addProduct(v2, r2.loadUnaligned(fromByteOffset: off, as: V.self))
                        s.addProduct(v3, r3.loadUnaligned(fromByteOffset: off, as: V.self))
                        ar.storeBytes(of: s, toByteOffset: off, as: V.self)
                        off += 64
                    }
                    for j in wv..<w { acc[j] += x0 * m0[j] + x1 * m1[j] + x2 * m2[j] + x3 * m3[j] }
                    p += 4
                }
                while p < k {
                    let m0 = mat + p * ld + j0
                    let x0 = x[p], v0 = V(repeating: x0), r0 = UnsafeRawPointer(m0)
                    var off = 0
                    while off < wv * 4 {
                        var s = ar.loadUnaligned(fromByteOffset: off, as: V.self)
                        s.addProduct(v0, r0.loadUnaligned(fromByteOffset: off, as: V.self))
                        ar.storeBytes(of: s, toByteOffset: off, as: V.self)
                        off += 64
                    }
                    for j in wv..<w { acc[j] += x0 * m0[j] }
                    p += 1
                }
                for j in 0..<w {
                    let o = y + (j0 + j) * ys
                    o.pointee = beta == 0 ? alpha * acc[j] : alpha * acc[j] + beta * o.pointee
                }
                j0 += width
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain pthread mutex (the kernels target does not import Foundation).
final class KernelLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
