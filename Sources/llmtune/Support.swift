// Helpers shared by the subcommands: model resolution and loading, JSON output, sampling options.
import ArgumentParser
import Foundation
import LLMTuneAdapters
import LLMTuneGeneration
import LLMTuneHub
import LLMTuneModels
import LLMTuneTokenizers

/// `--model`: a pulled name or a path.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A pulled model name (see `llmtune models`), a .gguf file or a Hugging Face model folder.")
    var model: String
    @Flag(help: "Convert quantized weights to fp32 when loading (4-8x the memory; same arithmetic otherwise).")
    var dequantize = false
    @Option(help: "A LoRA adapter folder to apply (PEFT or mlx-lm layout).")
    var adapter: String?

    func load() throws -> LoadedModel {
        let url = try ModelStore().resolve(model)
        let loaded = try ModelRegistry.load(url, options: LoadOptions(dequantize: dequantize))
        if let adapter {
            let set = try AdapterSet.load(from: URL(fileURLWithPath: adapter), into: loaded.model)
            set.setTraining(false)
        }
        return loaded
    }

    func loadTokenizer() throws -> Tokenizer {
        try ModelRegistry.loadTokenizer(ModelStore().resolve(model))
    }
}

struct SamplingOptions: ParsableArguments {
    @Option(help: "Softmax temperature; 0 is greedy.")
    var temperature: Float = 0.7
    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens (0: off).")
    var topK: Int = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling: keep the most likely tokens up to this probability (1: off).")
    var topP: Float = 1
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min-p times the most likely one (0: off).")
    var minP: Float = 0
    @Option(name: .customLong("repetition-penalty"), help: "Penalty for tokens already present (1: off).")
    var repetitionPenalty: Float = 1
    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0
    @Option(name: .customLong("max-tokens"), help: "Most new tokens to generate.")
    var maxTokens: Int = 256
    @Option(name: .customLong("stop"), help: "Stop before this string (repeatable).")
    var stop: [String] = []
    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past end-of-sequence tokens (benchmarks).")
    var ignoreEOS = false

    func validate() throws {
        guard temperature >= 0 else { throw ValidationError("--temperature must be >= 0, got \(temperature)") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        guard minP >= 0 && minP < 1 else { throw ValidationError("--min-p must be in [0, 1), got \(minP)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be >= 0, got \(topK)") }
        guard repetitionPenalty > 0 else { throw ValidationError("--repetition-penalty must be > 0") }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be > 0, got \(maxTokens)") }
    }

    var generationOptions: GenerationOptions {
        GenerationOptions(maxTokens: maxTokens,
                          sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                                       repetitionPenalty: repetitionPenalty, seed: seed),
                          stopStrings: stop, stopAtEOS: !ignoreEOS)
    }
}

/// Prints a JSON object with sorted keys on one line.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Writes to standard output immediately (streaming).
func printFlushed(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
