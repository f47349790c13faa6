// A set of LoRA layers put into one model: targeting by module-path suffix (PEFT semantics, including
// "all-linear", which excludes the output head), seeded initialisation, the trainable parameters under
// their PEFT names, training mode and dropout reseeding, and removal. Files: AdapterFiles.swift.
import Foundation
import LLMTuneModels
import LLMTuneTensor

/// The LoRA layers applied to one model.
public final class AdapterSet {
    /// The adapted layers, in the model's module order.
    public var layers: [LoRALinear]
    /// The configuration the adapter was created or loaded with.
    public var configuration: LoRAConfiguration
    /// The model the layers were put into.
    public let model: LanguageModel

    init(model: LanguageModel, layers: [LoRALinear], configuration: LoRAConfiguration) {
        self.model = model
        self.layers = layers
        self.configuration = configuration
    }

    /// Wraps every linear layer selected by `configuration` in a new `LoRALinear` (A initialised as configured,
    /// B zero) and puts it into the model with `replaceLinear`.
    public static func apply(to model: LanguageModel, configuration: LoRAConfiguration) throws -> AdapterSet {
        try configuration.validate()
        let selected = try select(in: model, configuration: configuration)
        let r = configuration.rank
        var layers: [LoRALinear] = []
        for (i, linear) in selected.enumerated() {
            var rng = SeededGenerator(seed: mixSeed(configuration.seed, UInt64(i)))
            let a: Tensor
            switch configuration.initialization {
            case .kaimingUniform:
                // kaiming_uniform_(a = sqrt(5)), fan_in = in: gain sqrt(2 / (1 + 5)), bound sqrt(3) · gain / sqrt(in).
                let bound = 1 / Float(linear.inFeatures).squareRoot()
                a = Tensor.uniform([r, linear.inFeatures], low: -bound, high: bound, using: &rng)
            case .gaussian:
                a = Tensor.randn([r, linear.inFeatures], std: 1 / Float(r), using: &rng)
            }
            let b = Tensor(zeros: [linear.outFeatures, r])
            layers.append(LoRALinear(base: linear, a: a, b: b, scale: configuration.scale,
                                     dropout: configuration.dropout))
        }
        let set = AdapterSet(model: model, layers: layers, configuration: configuration)
        set.install()
        return set
    }

    /// The trainable tensors under their PEFT names (`base_model.model.<path>.lora_A.weight`, then `lora_B`),
    /// in module order. These are the live tensors, in the model's own row order.
    public var parameters: [(name: String, tensor: Tensor)] {
        layers.flatMap { l in
            [(name: AdapterSet.peftKey(l.path, "lora_A"), tensor: l.a),
             (name: AdapterSet.peftKey(l.path, "lora_B"), tensor: l.b)]
        }
    }

    /// Turns dropout on (training) or off (evaluation, generation).
    public func setTraining(_ on: Bool) {
        for l in layers { l.isTraining = on }
    }

    /// Reseeds every layer's dropout from (seed, step, layer position), so a resumed run draws the same masks.
    public func reseedDropout(seed: UInt64, step: Int) {
        for (i, l) in layers.enumerated() { l.reseedDropout(mixSeed(seed, UInt64(bitPattern: Int64(step)), UInt64(i))) }
    }

    /// Puts the original linear layers back into the model.
    public func remove() {
        for l in layers { model.replaceLinear(l.base) }
    }

    func install() {
        for l in layers { model.replaceLinear(l) }
    }

    static func peftKey(_ path: String, _ matrix: String) -> String {
        "base_model.model.\(path).\(matrix).weight"
    }

    // MARK: - Targeting

    /// The layer index of a module path: the first integer component ("model.layers.3.mlp.up_proj" -> 3).
    static func layerIndex(_ path: String) -> Int? {
        path.split(separator: ".").lazy.compactMap { Int($0) }.first
    }

    /// Whether `target` names `path`: equal, or a suffix at a "." boundary.
    static func matches(_ path: String, _ target: String) -> Bool {
        path == target || path.hasSuffix("." + target)
    }

    /// The distinct last components of the model's linear layers ("q_proj", ...), for messages.
    static func moduleNames(_ model: LanguageModel) -> [String] {
        var seen = Set<String>()
        return model.linearLayers.compactMap { l in
            let name = String(l.path.split(separator: ".").last ?? "")
            return seen.insert(name).inserted ? name : nil
        }
    }

    static func select(in model: LanguageModel, configuration c: LoRAConfiguration) throws -> [Linear] {
        let all = model.linearLayers
        var candidates: [LinearLayer]
        if c.targetsAllLinear {
            candidates = all.filter { !$0.path.hasSuffix("lm_head") }
        } else {
            let unknown = c.targets.filter { t in !all.contains { matches($0.path, t) } }
            if !unknown.isEmpty { throw AdapterError.unknownTargets(unknown, available: moduleNames(model)) }
            candidates = all.filter { l in c.targets.contains { matches(l.path, $0) } }
        }
        if let range = c.layers {
            candidates = candidates.filter { layerIndex($0.path).map(range.contains) ?? false }
        }
        if candidates.isEmpty {
            throw AdapterError.noLayersSelected(targets: c.targets, layers: c.layers, layerCount: model.layerCount)
        }
        return try candidates.map { l in
            guard let linear = l as? Linear else { throw AdapterError.notAPlainLinear(path: l.path) }
            return linear
        }
    }
}
