// Errors a user can cause while loading or running a model.

/// A model could not be loaded or run. Each case names the file / key / shape involved and what to do.
public enum ModelError: Error, CustomStringConvertible {
    case missingWeight(name: String, file: String, hint: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int], file: String)
    case unsupportedWeightType(name: String, type: String, file: String)
    case unknownArchitecture(String, file: String, known: [String])
    case invalidConfig(key: String, file: String, problem: String)
    case notAModel(path: String)
    case contextOverflow(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case let .missingWeight(name, file, hint):
            return "\(file): weight '\(name)' is missing. \(hint)"
        case let .shapeMismatch(name, expected, found, file):
            return "\(file): weight '\(name)' has shape \(found), expected \(expected). "
                + "The file does not match its own configuration; re-download or re-export it."
        case let .unsupportedWeightType(name, type, file):
            return "\(file): weight '\(name)' is stored as \(type), which LLMTune cannot multiply yet. "
                + "Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K."
        case let .unknownArchitecture(arch, file, known):
            return "\(file): architecture '\(arch)' is not supported. Known architectures: "
                + known.sorted().joined(separator: ", ") + "."
        case let .invalidConfig(key, file, problem):
            return "\(file): configuration key '\(key)': \(problem)"
        case let .notAModel(path):
            return "\(path) is neither a .gguf file nor a Hugging Face model folder (config.json + *.safetensors). "
                + "Pass a pulled model name (see `llmtune models`), a .gguf file or a model folder."
        case let .contextOverflow(tokens, context):
            return "the input has \(tokens) tokens but the model's context is \(context) tokens. "
                + "Shorten the prompt or lower --max-tokens."
        }
    }
}
