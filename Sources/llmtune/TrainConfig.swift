// `llmtune train` configuration: every option as a flag and as a key of a YAML/JSON file. Flags override the
// file; what neither gives takes the documented default. Keys accept the flag spelling (`learning-rate`) or
// snake_case (`learning_rate`), as LLaMA-Factory and mlx-lm users write them.
import Foundation
import Yams

/// All `train` settings, each optional: nil means "not given here".
struct TrainSettings: Codable, Equatable {
    var model: String?
    var data: String?
    var method: String?
    var rank: Int?
    var alpha: Float?
    var dropout: Float?
    var targets: String?
    var layers: String?
    var rslora: Bool?
    var initialization: String?
    var steps: Int?
    var epochs: Int?
    var batchSize: Int?
    var gradientAccumulation: Int?
    var seqLen: Int?
    var learningRate: Float?
    var minLearningRateRatio: Float?
    var schedule: String?
    var warmupSteps: Int?
    var optimizer: String?
    var weightDecay: Float?
    var maxGradNorm: Float?
    var seed: UInt64?
    var output: String?
    var resume: Bool?
    var dequantize: Bool?
    var trainOnPrompt: Bool?
    var pack: Bool?
    var skipBadRecords: Bool?
    var validationFraction: Double?
    var evalEvery: Int?
    var evalBatches: Int?
    var checkpointEvery: Int?
    var earlyStoppingPatience: Int?
    var gradientCheckpointing: Bool?
    var chatTemplate: String?
    var initAdapter: String?
    var dumpBatches: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, data, method, rank, alpha, dropout, targets, layers, rslora, initialization, steps, epochs
        case batchSize = "batch-size", gradientAccumulation = "gradient-accumulation", seqLen = "seq-len"
        case learningRate = "learning-rate", minLearningRateRatio = "min-learning-rate-ratio", schedule
        case warmupSteps = "warmup-steps", optimizer, weightDecay = "weight-decay", maxGradNorm = "max-grad-norm"
        case seed, output, resume, dequantize, trainOnPrompt = "train-on-prompt", pack
        case skipBadRecords = "skip-bad-records", validationFraction = "validation-fraction"
        case evalEvery = "eval-every", evalBatches = "eval-batches", checkpointEvery = "checkpoint-every"
        case earlyStoppingPatience = "early-stopping-patience", gradientCheckpointing = "gradient-checkpointing"
        case chatTemplate = "chat-template", initAdapter = "init-adapter", dumpBatches = "dump-batches"
    }

    /// `other`'s values where given, else ours. (Synthesized Codable leaves nil fields out, so merging the
    /// encoded objects merges the settings.)
    func overridden(by other: TrainSettings) throws -> TrainSettings {
        func object(_ s: TrainSettings) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any] ?? [:]
        }
        let merged = try object(self).merging(object(other)) { _, new in new }
        return try JSONDecoder().decode(TrainSettings.self, from: JSONSerialization.data(withJSONObject: merged))
    }

    /// Reads a YAML or JSON file (JSON is YAML). Unknown keys are an error naming the key and the known ones.
    static func load(_ path: String) throws -> TrainSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.unreadable(path)
        }
        let text = String(decoding: data, as: UTF8.self)
        let node: Any?
        do {
            node = try Yams.load(yaml: text)
        } catch {
            throw ConfigError.invalid(path, "\(error)")
        }
        guard let dict = node as? [String: Any] else {
            throw ConfigError.invalid(path, "the top level must be a mapping of option names to values")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        var normalized: [String: Any] = [:]
        for (key, value) in dict {
            let k = key.replacingOccurrences(of: "_", with: "-")
            guard known.contains(k) else {
                throw ConfigError.unknownKey(path, key, known.sorted())
            }
            normalized[k] = value
        }
        do {
            let json = try JSONSerialization.data(withJSONObject: normalized)
            return try JSONDecoder().decode(TrainSettings.self, from: json)
        } catch let DecodingError.typeMismatch(type, context) {
            throw ConfigError.invalid(path, "key '\(context.codingPath.map(\.stringValue).joined(separator: "."))' "
                                      + "should be \(type)")
        } catch {
            throw ConfigError.invalid(path, "\(error)")
        }
    }
}

enum ConfigError: Error, CustomStringConvertible {
    case unreadable(String)
    case invalid(String, String)
    case unknownKey(String, String, [String])
    case missing(String, String)
    case invalidValue(String, String, String)

    var description: String {
        switch self {
        case .unreadable(let p): return "cannot read config file \(p): no such file or not readable"
        case .invalid(let p, let why): return "config file \(p): \(why)"
        case .unknownKey(let p, let k, let known):
            return "config file \(p): unknown key '\(k)'. Known keys: \(known.joined(separator: ", "))"
        case .missing(let key, let hint): return "missing '\(key)': give \(hint) as a flag or in the config file"
        case .invalidValue(let key, let value, let hint): return "invalid \(key) '\(value)': \(hint)"
        }
    }
}
