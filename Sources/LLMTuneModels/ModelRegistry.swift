// Finds the architecture of a checkpoint (`model_type` in config.json, `general.architecture` in GGUF) and
// builds the model, its tokenizer and its chat template.
import Foundation
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneTensor
import LLMTuneTokenizers

public struct LoadOptions: Sendable {
    /// Convert quantized / half-precision weights to fp32 on load. Default false: weights stay as stored.
    public var dequantize = false
    public init(dequantize: Bool = false) { self.dequantize = dequantize }
}

/// A model ready to run, with what is needed to talk to it.
public struct LoadedModel {
    public let model: LanguageModel
    public let tokenizer: Tokenizer
    public let source: URL

    /// Renders `messages` with the checkpoint's template (when it is one of the built-ins) or with the built-in
    /// named `template`, and tokenizes the result, ending with the assistant's turn header.
    public func encodeChat(_ messages: [ChatMessage], template name: String? = nil) throws -> [Int] {
        try tokenizer.resolveChatTemplate(name: name).encode(messages, tokenizer: tokenizer, addGenerationPrompt: true)
    }
}

/// How one architecture is built from each checkpoint kind.
public struct Architecture {
    public let names: [String]
    public let fromConfig: (_ configJSON: Data, _ weights: WeightLoader) throws -> LanguageModel
    public let fromGGUF: (_ file: GGUFFile, _ weights: WeightLoader) throws -> LanguageModel
    /// Hugging Face tensor name -> GGUF tensor name.
    public let ggufName: (String) -> String?
}

public enum ModelRegistry {
    /// Every architecture LLMTune can run, keyed by `model_type` / `general.architecture`.
    nonisolated(unsafe) public static var architectures: [Architecture] = [.llama, .gemma3, .gpt2]

    public static var knownNames: [String] { architectures.flatMap(\.names) }

    static func architecture(_ name: String, file: String) throws -> Architecture {
        guard let a = architectures.first(where: { $0.names.contains(name) }) else {
            throw ModelError.unknownArchitecture(name, file: file, known: knownNames)
        }
        return a
    }

    /// Loads a .gguf file or a Hugging Face folder (config.json + safetensors + tokenizer.json) with its tokenizer.
    public static func load(_ url: URL, options: LoadOptions = LoadOptions()) throws -> LoadedModel {
        if isGGUF(url) {
            let file = try GGUFFile(url: url)
            let model = try loadModel(gguf: file, url: url, options: options)
            let tokenizer = try AutoTokenizer.load(ggufMetadata: file.metadata, source: url.path)
            return LoadedModel(model: model, tokenizer: tokenizer, source: url)
        }
        let model = try loadModel(url, options: options)
        return LoadedModel(model: model, tokenizer: try loadTokenizer(url), source: url)
    }

    /// Only the model, for checkpoints without a tokenizer (e.g. test fixtures fed token ids).
    public static func loadModel(_ url: URL, options: LoadOptions = LoadOptions()) throws -> LanguageModel {
        if isGGUF(url) {
            return try loadModel(gguf: GGUFFile(url: url), url: url, options: options)
        }
        let configURL = url.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw ModelError.notAModel(path: url.path)
        }
        let type = try modelType(data, file: configURL.path)
        let a = try architecture(type, file: configURL.path)
        let checkpoint = try SafetensorsCheckpoint(directory: url)
        let source = SafetensorsWeightSource(checkpoint: checkpoint, path: url.path, dequantize: options.dequantize)
        return try a.fromConfig(data, WeightLoader(source: source))
    }

    static func loadModel(gguf file: GGUFFile, url: URL, options: LoadOptions) throws -> LanguageModel {
        guard let arch = file.metadata["general.architecture"]?.string else {
            throw ModelError.invalidConfig(key: "general.architecture", file: url.path, problem: "missing")
        }
        let a = try architecture(arch, file: url.path)
        let source = GGUFWeightSource(file: file, path: url.path, ggufName: a.ggufName, dequantize: options.dequantize)
        return try a.fromGGUF(file, WeightLoader(source: source))
    }

    /// Only the tokenizer (fast: no weights are touched).
    public static func loadTokenizer(_ url: URL) throws -> Tokenizer {
        if isGGUF(url) {
            let file = try GGUFFile(url: url)
            return try AutoTokenizer.load(ggufMetadata: file.metadata, source: url.path)
        }
        return try AutoTokenizer.load(directory: url)
    }

    static func isGGUF(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        return !isDir.boolValue
    }

    static func modelType(_ data: Data, file: String) throws -> String {
        struct Probe: Decodable { var model_type: String? }
        do {
            guard let t = try JSONDecoder().decode(Probe.self, from: data).model_type else {
                throw ModelError.invalidConfig(key: "model_type", file: file, problem: "missing")
            }
            return t
        } catch let e as ModelError {
            throw e
        } catch {
            throw ModelError.invalidConfig(key: "(file)", file: file, problem: "not valid JSON: \(error)")
        }
    }
}

extension Architecture {
    /// Llama, Mistral, Qwen2 (and SmolLM, which is `llama`).
    public static let llama = Architecture(
        names: ["llama", "mistral", "qwen2"],
        fromConfig: { data, weights in
            let file = weights.source.sourceDescription + "/config.json"
            let config: LlamaConfiguration
            do {
                config = try JSONDecoder().decode(LlamaConfiguration.self, from: data)
            } catch let e as ModelError {
                throw e
            } catch {
                throw ModelError.invalidConfig(key: "(file)", file: file, problem: "\(error)")
            }
            return try LlamaModel(configuration: config, weights: weights, rotaryLayout: .halves)
        },
        fromGGUF: { file, weights in
            let arch = file.metadata["general.architecture"]?.string ?? "llama"
            let tokens = file.metadata["tokenizer.ggml.tokens"]?.array?.count
            let config = try LlamaConfiguration(gguf: file.metadata, architecture: arch, tokenCount: tokens,
                                                hasOutputWeight: file.tensor(named: "output.weight") != nil,
                                                file: weights.source.sourceDescription)
            // llama.cpp permutes Q/K rows of `llama` files for interleaved rotary pairs; qwen2 files keep HF order.
            return try LlamaModel(configuration: config, weights: weights,
                                  rotaryLayout: arch == "llama" ? .interleaved : .halves)
        },
        ggufName: LlamaConfiguration.ggufName
    )
}
