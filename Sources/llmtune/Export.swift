// `llmtune export`: fuse a LoRA adapter into its base model and write a Hugging Face folder or a GGUF file, or
// write the adapter alone as a llama.cpp GGUF LoRA. The work is LLMTuneAdapters' Exporter.
import ArgumentParser
import Foundation
import LLMTuneAdapters
import LLMTuneHub
import LLMTuneModels

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge an adapter into its base model (safetensors or GGUF), or write it as a GGUF LoRA.",
        discussion: """
        Formats:
          safetensors  a Hugging Face folder: config.json, model.safetensors (merged weights, HF names and row order),
                       tokenizer files (copied from a HF base; rebuilt from the metadata of a GGUF base).
          gguf         a copy of a .gguf base with the adapted weights merged (llama.cpp loads it).
          gguf-lora    the adapter alone in llama.cpp's LoRA format (llama-cli --lora FILE).
        --quantize: safetensors f32 (default), f16, bf16; gguf f32, f16, bf16, q8_0, q4_0, q4_1 for every weight
        matrix (default: merged matrices keep their source encoding, everything else is copied unchanged).
        """)

    @Option(name: .shortAndLong, help: "The base model the adapter was trained on: a pulled name, a .gguf file or a Hugging Face folder.")
    var model: String
    @Option(help: "The adapter folder (PEFT adapter_config.json + adapter_model.safetensors, or mlx-lm adapters.safetensors).")
    var adapter: String
    @Option(help: "Output: a folder for safetensors, a file for gguf and gguf-lora.")
    var out: String
    @Option(help: "safetensors, gguf or gguf-lora.")
    var format: String = "safetensors"
    @Option(help: "Encoding of the written weights: f32, f16, bf16, q8_0, q4_0, q4_1 (see below).")
    var quantize: String?

    func validate() throws {
        guard ExportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        if let quantize, Exporter.quantizationNames[quantize.lowercased()] == nil {
            throw ValidationError("--quantize must be one of \(Exporter.quantizationNames.keys.sorted().joined(separator: ", ")), got '\(quantize)'")
        }
        if format == "gguf-lora", quantize != nil {
            throw ValidationError("--quantize does not apply to --format gguf-lora (the adapter is written in f32)")
        }
    }

    func run() throws {
        let source = try ModelStore().resolve(model)
        let base = try ModelRegistry.loadModel(source)
        let adapterSet = try AdapterSet.load(from: URL(fileURLWithPath: adapter), into: base)
        let outURL = URL(fileURLWithPath: out)
        var exporter = Exporter(source: source, model: base, adapter: adapterSet)
        let started = Date()
        try exporter.export(to: outURL, format: ExportFormat(rawValue: format) ?? .safetensors,
                            quantize: quantize.flatMap { Exporter.quantizationNames[$0.lowercased()] })
        for note in exporter.notes { printError("note: \(note)") }
        print(String(format: "wrote %@ (%@, %d adapted layers) in %.1f s", outURL.path, format, adapterSet.layers.count,
                     Date().timeIntervalSince(started)))
    }
}
