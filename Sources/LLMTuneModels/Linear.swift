// The linear layer, and the protocol adapters (LoRA and its family) implement to wrap one.
import LLMTuneTensor

/// Anything that maps (..., in) to (..., out) in place of a linear layer. An adapter (e.g. LoRA) wraps the
/// `Linear` it adapts and is put in its place in the model.
public protocol LinearLayer: AnyObject {
    /// The Hugging Face module path, e.g. "model.layers.0.self_attn.q_proj" (adapter targeting and saving).
    var path: String { get }
    var inFeatures: Int { get }
    var outFeatures: Int { get }
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// y = x Wᵀ + b with W kept as loaded (fp32, f16/bf16 or quantized GGUF blocks).
public final class Linear: LinearLayer {
    public let path: String
    public var weight: LinearWeight   // (out, in)
    public var bias: Tensor?          // (out)

    public init(path: String, weight: LinearWeight, bias: Tensor?) {
        self.path = path
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.inFeatures }
    public var outFeatures: Int { weight.outFeatures }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.linear(weight, bias: bias)   // (..., in) -> (..., out)
    }
}

/// Where a block keeps one of its linear layers: adapters read and replace layers through these key paths.
public typealias LinearSlot<Block> = ReferenceWritableKeyPath<Block, LinearLayer>

/// Every linear layer of `blocks`, block by block in slot order (a model's `linearLayers`).
public func linearLayers<Block>(of blocks: [Block], slots: [LinearSlot<Block>]) -> [LinearLayer] {
    blocks.flatMap { block in slots.map { block[keyPath: $0] } }
}

/// Puts `layer` in the slot whose current layer has the same path (a model's `replaceLinear`).
/// Returns false when no slot holds a layer with that path.
public func replaceLinear<Block>(_ layer: LinearLayer, in blocks: [Block], slots: [LinearSlot<Block>]) -> Bool {
    for block in blocks {
        for slot in slots where block[keyPath: slot].path == layer.path {
            block[keyPath: slot] = layer
            return true
        }
    }
    return false
}
