// The Float32 tensor: a shape, element strides and an offset into shared storage, so that reshapes,
// transposes and slices are views that copy nothing. Operations live in Ops/; autograd in Autograd.swift.
// Reference for the design: candle-core (tensor.rs, layout.rs) and PyTorch's strided tensors.

/// An n-dimensional Float32 array with optional gradient tracking.
///
/// Element `[i0, i1, ...]` lives at `storage[offset + i0 * strides[0] + i1 * strides[1] + ...]`.
/// Views (`reshaped`, `transposed`, `permuted`, `slice`) share storage with their source.
public final class Tensor {
    /// Size of each dimension.
    public let shape: [Int]
    /// Distance in elements between neighbours along each dimension (0 for a broadcast dimension).
    public let strides: [Int]
    /// Index of element [0, 0, ...] in the storage.
    public let offset: Int
    /// Number of elements (product of `shape`).
    public let count: Int
    /// Whether the elements are laid out row-major without gaps (dimensions of size 1 ignored).
    public let isContiguous: Bool
    let storage: Storage

    /// Whether gradients flow to this tensor. Set it on parameters; outputs of recorded operations have it set.
    public var requiresGrad: Bool = false
    /// The gradient accumulated by `backward()` (leaf tensors with `requiresGrad` only), same shape as the tensor.
    public var grad: Tensor?
    /// The operation that produced this tensor, when it was recorded for autograd.
    var node: GradientNode?
    /// How to recompute this tensor's values from what its producer keeps (see SavedActivation.swift).
    var recipe: ActivationRecipe?

    init(storage: Storage, shape: [Int], strides: [Int], offset: Int) {
        precondition(shape.count == strides.count, "shape \(shape) and strides \(strides) differ in rank")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.count = shape.reduce(1, *)
        self.isContiguous = Tensor.isRowMajor(shape: shape, strides: strides)
    }

    /// A contiguous tensor whose elements are not initialised: the caller writes every element before it
    /// reads it (e.g. a cache filled position by position; untouched pages of a large buffer stay unmapped).
    public init(uninitialized shape: [Int]) {
        let n = shape.reduce(1, *)
        self.storage = Storage(capacity: n, zeroed: false)
        self.shape = shape
        self.strides = Tensor.rowMajorStrides(shape)
        self.offset = 0
        self.count = n
        self.isContiguous = true
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        let n = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.storage = Storage(capacity: n, zeroed: true)
        self.shape = shape
        self.strides = Tensor.rowMajorStrides(shape)
        self.offset = 0
        self.count = n
        self.isContiguous = true
    }

    /// A tensor holding `data` in row-major order; `data.count` must equal the product of `shape`.
    public convenience init(shape: [Int], data: [Float]) {
        self.init(uninitialized: shape)
        precondition(data.count == count, "\(data.count) values for shape \(shape) (\(count) elements)")
        data.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: count) }
        }
    }

    /// A tensor with every element equal to `value`.
    public convenience init(shape: [Int], filling value: Float) {
        self.init(uninitialized: shape)
        pointer.update(repeating: value, count: count)
    }

    /// A contiguous tensor over memory owned elsewhere (a memory-mapped weight), without copying.
    /// `owner` is kept alive as long as the tensor or any view of it. Never write through such a tensor.
    public convenience init(borrowing pointer: UnsafePointer<Float>, shape: [Int], owner: AnyObject?) {
        let n = shape.reduce(1, *)
        self.init(storage: Storage(borrowing: pointer, capacity: n, owner: owner), shape: shape,
                  strides: Tensor.rowMajorStrides(shape), offset: 0)
    }

    /// A rank-0 tensor holding one value.
    public static func scalar(_ value: Float) -> Tensor {
        Tensor(shape: [], filling: value)
    }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Storage base plus offset: element [0, 0, ...]. Index it directly only when `isContiguous`.
    public var pointer: UnsafeMutablePointer<Float> { storage.base + offset }

    /// Whether this tensor and `other` share storage (one is a view of the other, or both of a third).
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }

    /// Name of the operation that produced this tensor when it was recorded for autograd, else nil.
    public var operationName: String? { node?.name }

    /// The elements in logical row-major order.
    public func toArray() -> [Float] {
        let source = isContiguous ? self : contiguousCopy()
        return Array(UnsafeBufferPointer(start: source.pointer, count: count))
    }

    /// The single element of a tensor with one element.
    public func item() -> Float {
        precondition(count == 1, "item() on a tensor of shape \(shape)")
        return pointer[0]
    }

    /// A tensor sharing this one's storage, cut from the autograd graph (`requiresGrad` false).
    public func detached() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// Drops the accumulated gradient.
    public func zeroGrad() {
        grad = nil
    }

    // MARK: - Layout helpers

    /// Row-major strides for `shape`.
    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = s
            s *= shape[d]
        }
        return strides
    }

    static func isRowMajor(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// A dimension index with negatives counted from the end (-1 is the last dimension).
    func axis(_ d: Int) -> Int {
        let a = d < 0 ? d + rank : d
        precondition(a >= 0 && a < rank, "dimension \(d) out of range for shape \(shape)")
        return a
    }

    /// Element at a multi-index (slow; for tests and debugging).
    public subscript(_ index: Int...) -> Float {
        precondition(index.count == rank, "index \(index) for shape \(shape)")
        var o = offset
        for d in 0..<rank {
            precondition(index[d] >= 0 && index[d] < shape[d], "index \(index) out of range for shape \(shape)")
            o += index[d] * strides[d]
        }
        return storage.base[o]
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = toArray()
        let shown = values.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 8 ? ", ..." : "")])"
    }
}
