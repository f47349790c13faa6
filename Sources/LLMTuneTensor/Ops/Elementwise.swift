// Element-wise arithmetic with numpy broadcasting (+, -, *), scaling and negation, through two generic
// kernels (unary map, broadcasting binary map) that run SIMD16 inner loops over collapsed strided rows.
// Backward of a broadcast operand sums the gradient over its repeated dimensions (sumToShape).

/// A lane-wise function of one value, vector and scalar forms.
protocol UnaryKernel {
    func vector(_ x: Vec16) -> Vec16
    func scalar(_ x: Float) -> Float
}

/// A lane-wise function of two values, vector and scalar forms.
protocol BinaryKernel {
    func vector(_ a: Vec16, _ b: Vec16) -> Vec16
    func scalar(_ a: Float, _ b: Float) -> Float
}

struct AddKernel: BinaryKernel {
    @inline(__always) func vector(_ a: Vec16, _ b: Vec16) -> Vec16 { a + b }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a + b }
}

struct SubtractKernel: BinaryKernel {
    @inline(__always) func vector(_ a: Vec16, _ b: Vec16) -> Vec16 { a - b }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a - b }
}

struct MultiplyKernel: BinaryKernel {
    @inline(__always) func vector(_ a: Vec16, _ b: Vec16) -> Vec16 { a * b }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a * b }
}

struct ScaleKernel: UnaryKernel {
    let s: Float
    @inline(__always) func vector(_ x: Vec16) -> Vec16 { x * s }
    @inline(__always) func scalar(_ x: Float) -> Float { x * s }
}

struct AddScalarKernel: UnaryKernel {
    let s: Float
    @inline(__always) func vector(_ x: Vec16) -> Vec16 { x + s }
    @inline(__always) func scalar(_ x: Float) -> Float { x + s }
}

/// out = f(x), same shape, contiguous output.
func mapUnary<K: UnaryKernel>(_ x: Tensor, _ k: K) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let o = out.pointer
    let loop = StridedLoop(shape: x.shape, strides: [x.strides])
    let base = UnsafePointer(x.storage.base + x.offset)
    let sx = loop.innerStrides[0]
    loop.forEachSegment { row, cols in
        let p = base + loop.offset(row: row, operand: 0) + cols.lowerBound * sx
        let q = o + row * loop.inner + cols.lowerBound
        let n = cols.count
        var i = 0
        if sx == 1 {
            while i + 16 <= n { store16(q + i, k.vector(load16(p + i))); i += 16 }
            while i < n { q[i] = k.scalar(p[i]); i += 1 }
        } else {
            while i < n { q[i] = k.scalar(p[i * sx]); i += 1 }
        }
    }
    return out
}

/// out = f(a, b) with numpy broadcasting; contiguous output of the broadcast shape.
func mapBinary<K: BinaryKernel>(_ a: Tensor, _ b: Tensor, _ k: K) -> Tensor {
    let shape = a.shape == b.shape ? a.shape : Tensor.broadcastShape(a.shape, b.shape)
    let out = Tensor(uninitialized: shape)
    let loop = StridedLoop(shape: shape, strides: [a.broadcastStrides(to: shape), b.broadcastStrides(to: shape)])
    let pa = UnsafePointer(a.storage.base + a.offset)
    let pb = UnsafePointer(b.storage.base + b.offset)
    let o = out.pointer
    let sa = loop.innerStrides[0], sb = loop.innerStrides[1]
    loop.forEachSegment { row, cols in
        let x = pa + loop.offset(row: row, operand: 0) + cols.lowerBound * sa
        let y = pb + loop.offset(row: row, operand: 1) + cols.lowerBound * sb
        let q = o + row * loop.inner + cols.lowerBound
        let n = cols.count
        var i = 0
        if sa == 1 && sb == 1 {
            while i + 16 <= n { store16(q + i, k.vector(load16(x + i), load16(y + i))); i += 16 }
            while i < n { q[i] = k.scalar(x[i], y[i]); i += 1 }
        } else if sa == 1 && sb == 0 {
            let yv = Vec16(repeating: y[0]), ys = y[0]
            while i + 16 <= n { store16(q + i, k.vector(load16(x + i), yv)); i += 16 }
            while i < n { q[i] = k.scalar(x[i], ys); i += 1 }
        } else if sa == 0 && sb == 1 {
            let xv = Vec16(repeating: x[0]), xs = x[0]
            while i + 16 <= n { store16(q + i, k.vector(xv, load16(y + i))); i += 16 }
            while i < n { q[i] = k.scalar(xs, y[i]); i += 1 }
        } else {
            while i < n { q[i] = k.scalar(x[i * sa], y[i * sb]); i += 1 }
        }
    }
    return out
}

extension Tensor {
    /// The numpy broadcast of two shapes (aligned from the right; sizes equal or one of them 1).
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        return (0..<rank).map { i in
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
            return x == 1 ? y : x
        }
    }

    /// Element-wise sum with broadcasting, e.g. (B, T, C) + (C).
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, AddKernel())
        if Autograd.records(a, b) {
            // Only shapes are captured: the operands' data is not needed (and must not be kept alive).
            let (aShape, bShape, aGrad, bGrad) = (a.shape, b.shape, a.requiresGrad, b.requiresGrad)
            out.record("add", [a, b]) { g in
                [aGrad ? g.sumToShape(aShape) : nil, bGrad ? g.sumToShape(bShape) : nil]
            }
        }
        return out
    }

    /// Element-wise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, SubtractKernel())
        if Autograd.records(a, b) {
            let (aShape, bShape, aGrad, bGrad) = (a.shape, b.shape, a.requiresGrad, b.requiresGrad)
            out.record("subtract", [a, b]) { g in
                [aGrad ? g.sumToShape(aShape) : nil,
                 bGrad ? mapUnary(g.sumToShape(bShape), ScaleKernel(s: -1)) : nil]
            }
        }
        return out
    }

    /// Element-wise product with broadcasting, e.g. (B, T, C) * (B, T, 1).
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let out = mapBinary(a, b, MultiplyKernel())
        if Autograd.records(a, b) {
            out.record("multiply", [a, b]) { g in
                [a.requiresGrad ? mapBinary(g, b, MultiplyKernel()).sumToShape(a.shape) : nil,
                 b.requiresGrad ? mapBinary(g, a, MultiplyKernel()).sumToShape(b.shape) : nil]
            }
        }
        return out
    }

    /// Every element times `s`.
    public static func * (a: Tensor, s: Float) -> Tensor { a.scaled(by: s) }

    /// Every element times `s`.
    public static func * (s: Float, a: Tensor) -> Tensor { a.scaled(by: s) }

    /// Every element plus `s`.
    public static func + (a: Tensor, s: Float) -> Tensor {
        let out = mapUnary(a, AddScalarKernel(s: s))
        if Autograd.records(a) {
            out.record("addScalar", [a]) { g in [g] }
        }
        return out
    }

    /// Every element negated.
    public static prefix func - (a: Tensor) -> Tensor { a.scaled(by: -1) }

    /// Every element times `s`.
    public func scaled(by s: Float) -> Tensor {
        let out = mapUnary(self, ScaleKernel(s: s))
        if Autograd.records(self) {
            out.record("scale", [self]) { g in [mapUnary(g, ScaleKernel(s: s))] }
        }
        return out
    }
}
