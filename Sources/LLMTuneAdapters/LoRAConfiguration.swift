// LoRA hyper-parameters and the errors of the adapter layer.
// Paper: "LoRA: Low-Rank Adaptation of Large Language Models" (Hu et al., 2021); rsLoRA scaling from
// "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA" (Kalajdzievski, 2023).
// Field semantics follow PEFT's LoraConfig (peft/tuners/lora/config.py).

/// How the A matrix of a new adapter is initialised (B always starts at zero, so the adapted model starts equal
/// to the base model).
public enum LoRAInitialization: String, Codable, Sendable {
    /// PEFT's default (`init_lora_weights = true`): torch's `kaiming_uniform_(a = sqrt(5))`, i.e. A uniform in
    /// (-1/sqrt(in), 1/sqrt(in)).
    case kaimingUniform
    /// PEFT's `init_lora_weights = "gaussian"`: A normal with standard deviation 1 / r.
    case gaussian
}

/// Which layers get a LoRA adapter and with which rank, scaling, dropout and initialisation.
public struct LoRAConfiguration: Codable, Sendable, Equatable {
    /// The rank r of the update B·A.
    public var rank: Int
    /// The update is scaled by alpha / r (alpha / sqrt(r) with `useRSLoRA`).
    public var alpha: Float
    /// Dropout probability on the adapter's input during training.
    public var dropout: Float
    /// Module-path suffixes to adapt (matched at a "." boundary: "q_proj" matches
    /// "model.layers.3.self_attn.q_proj"), or ["all-linear"] for every linear layer except the output head.
    public var targets: [String]
    /// Only layers whose index ("layers.N.") is in this range; nil for all layers.
    public var layers: ClosedRange<Int>?
    /// Rank-stabilised scaling alpha / sqrt(r).
    public var useRSLoRA: Bool
    /// Initialisation of A for new adapters.
    public var initialization: LoRAInitialization
    /// Seed of the initialisation (combined with each adapted layer's position).
    public var seed: UInt64

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: [String] = ["q_proj", "v_proj"],
                layers: ClosedRange<Int>? = nil, useRSLoRA: Bool = false,
                initialization: LoRAInitialization = .kaimingUniform, seed: UInt64 = 0) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.layers = layers
        self.useRSLoRA = useRSLoRA
        self.initialization = initialization
        self.seed = seed
    }

    /// The factor applied to B·A: alpha / r, or alpha / sqrt(r) with rsLoRA.
    public var scale: Float {
        useRSLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank)
    }

    /// Whether `targets` asks for every linear layer.
    public var targetsAllLinear: Bool {
        targets.contains { $0.lowercased() == "all-linear" }
    }

    func validate() throws {
        guard rank > 0 else { throw AdapterError.invalidConfiguration(field: "rank", problem: "must be positive, found \(rank)") }
        guard alpha.isFinite else { throw AdapterError.invalidConfiguration(field: "alpha", problem: "must be finite") }
        guard dropout >= 0 && dropout < 1 else {
            throw AdapterError.invalidConfiguration(field: "dropout", problem: "must be in [0, 1), found \(dropout)")
        }
        guard !targets.isEmpty else {
            throw AdapterError.invalidConfiguration(field: "targets",
                                                    problem: "is empty; give module names such as q_proj,v_proj or all-linear")
        }
        if let layers, layers.lowerBound < 0 {
            throw AdapterError.invalidConfiguration(field: "layers", problem: "negative layer index in \(layers)")
        }
    }
}

/// An adapter could not be created, loaded, saved or exported. Each case names what, where, and what to do.
public enum AdapterError: Error, CustomStringConvertible {
    case invalidConfiguration(field: String, problem: String)
    case unknownTargets([String], available: [String])
    case noLayersSelected(targets: [String], layers: ClosedRange<Int>?, layerCount: Int)
    case notAPlainLinear(path: String)
    case missingFile(path: String, hint: String)
    case invalidAdapterConfig(file: String, key: String, problem: String)
    case unmatchedKey(key: String, file: String, available: [String])
    case missingPair(module: String, missing: String, file: String)
    case shapeMismatch(key: String, expected: [Int], found: [Int], file: String)
    case unsupportedAdapter(file: String, problem: String)
    case exportFailed(what: String, problem: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(field, problem):
            return "LoRA configuration: '\(field)' \(problem)."
        case let .unknownTargets(targets, available):
            return "LoRA targets \(targets) match no linear layer of the model. Module names: "
                + available.joined(separator: ", ") + ". Use those names (suffixes match) or all-linear."
        case let .noLayersSelected(targets, layers, count):
            return "LoRA targets \(targets) with layers \(layers.map { "\($0.lowerBound)...\($0.upperBound)" } ?? "all") "
                + "select no layer; the model has layers 0...\(count - 1)."
        case let .notAPlainLinear(path):
            return "'\(path)' is already adapted (not a plain linear layer). Remove the existing adapter first."
        case let .missingFile(path, hint):
            return "\(path) does not exist. \(hint)"
        case let .invalidAdapterConfig(file, key, problem):
            return "\(file): key '\(key)': \(problem)"
        case let .unmatchedKey(key, file, available):
            return "\(file): tensor '\(key)' names no linear layer of the model (module paths: "
                + available.prefix(8).joined(separator: ", ") + (available.count > 8 ? ", ..." : "")
                + "). Was the adapter made for another model?"
        case let .missingPair(module, missing, file):
            return "\(file): module '\(module)' has no \(missing) tensor; the adapter file is incomplete."
        case let .shapeMismatch(key, expected, found, file):
            return "\(file): tensor '\(key)' has shape \(found), expected \(expected). "
                + "The adapter was made for a model of another size."
        case let .unsupportedAdapter(file, problem):
            return "\(file): \(problem)"
        case let .exportFailed(what, problem):
            return "export \(what): \(problem)"
        case let .writeFailed(path, reason):
            return "could not write \(path): \(reason)"
        }
    }
}
