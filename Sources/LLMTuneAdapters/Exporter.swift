// Merging an adapter into its base model and writing the result. Formats:
// - safetensors: a Hugging Face folder (config.json, model.safetensors with W + s·B·A in HF names and HF row order,
//   tokenizer files). GGUF llama sources have permuted q/k rows: weights are merged in the GGUF's own row space
//   (where the adapter was trained) and un-permuted afterwards.
// - gguf: a copy of a GGUF source with every adapted weight replaced by W + s·B·A, re-encoded (llama.cpp loads it).
// - gguf-lora: llama.cpp's LoRA adapter file (convert_lora_to_gguf.py): general.type "adapter", adapter.type "lora",
//   adapter.lora.alpha (scale = alpha / r); "<tensor>.weight.lora_a" with ne [in, r] and ".lora_b" with ne [r, out],
//   B rows in llama.cpp's permuted order for llama-architecture q/k.
// Reference: peft LoraModel.merge_and_unload, llama.cpp convert_lora_to_gguf.py and src/llama-adapter.cpp.
import Foundation
import LLMTuneFormats
import LLMTuneKernels
import LLMTuneModels
import LLMTuneTensor

/// What `Exporter` writes.
public enum ExportFormat: String, CaseIterable, Sendable {
    case safetensors
    case gguf
    case ggufLoRA = "gguf-lora"
}

/// Fuses an adapter into its base model (or writes the adapter alone as a GGUF LoRA).
public struct Exporter {
    /// The checkpoint the model was loaded from: a .gguf file or a Hugging Face folder.
    public let source: URL
    public let model: LanguageModel
    public let adapter: AdapterSet

    public init(source: URL, model: LanguageModel, adapter: AdapterSet) {
        self.source = source
        self.model = model
        self.adapter = adapter
    }

    /// The encodings `--quantize` accepts, by their lower-case names.
    public static let quantizationNames: [String: GGMLType] = [
        "f32": .f32, "f16": .f16, "bf16": .bf16, "q8_0": .q8_0, "q4_0": .q4_0, "q4_1": .q4_1,
    ]

    /// Messages about choices made while exporting (e.g. a tensor kept in f32); printed by the CLI.
    public private(set) var notes: [String] = []

    /// Writes `format` to `destination` (a folder for safetensors, a file for gguf / gguf-lora).
    /// `quantize`: safetensors f32 (default) / f16 / bf16; gguf any of `quantizationNames` (default: each adapted
    /// tensor keeps its source encoding when it can be written, else f32; other tensors are copied unchanged).
    public mutating func export(to destination: URL, format: ExportFormat, quantize: GGMLType? = nil) throws {
        switch format {
        case .safetensors: try exportSafetensors(to: destination, type: quantize ?? .f32)
        case .gguf: try exportGGUF(to: destination, type: quantize)
        case .ggufLoRA: try exportGGUFLoRA(to: destination)
        }
    }

    var isGGUFSource: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    var ggufName: (String) -> String? {
        ModelRegistry.architectures.first { $0.names.contains(model.architecture) }?.ggufName ?? { _ in nil }
    }

    /// Adapted layers by weight name ("<path>.weight").
    var adaptedByWeight: [String: LoRALinear] {
        Dictionary(adapter.layers.map { ($0.path + ".weight", $0) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: - Hugging Face folder

    private mutating func exportSafetensors(to directory: URL, type: GGMLType) throws {
        guard let llama = model as? LlamaModel else {
            throw AdapterError.exportFailed(what: "safetensors", problem: "architecture '\(model.architecture)' has no exporter yet")
        }
        let dtype: SafetensorsDType
        switch type {
        case .f32: dtype = .f32
        case .f16: dtype = .f16
        case .bf16: dtype = .bf16
        default:
            throw AdapterError.exportFailed(what: "safetensors",
                problem: "--quantize \(type) cannot be stored in safetensors; use f32, f16 or bf16 (or --format gguf)")
        }
        try createDirectory(directory)
        let adapted = adaptedByWeight
        var tensors: [SafetensorsWriter.Tensor] = []
        func add(_ name: String, _ shape: [Int], _ values: [Float]) {
            tensors.append((name: name, dtype: dtype, shape: shape, bytes: encode(values, type)))
        }
        if isGGUFSource {
            let file = try GGUFFile(url: source)
            let names = hfNamesByGGUFName(llama.configuration)
            for info in file.tensors {
                guard let hf = names[info.name] else {
                    if info.name == "rope_freqs.weight" { continue }
                    throw AdapterError.exportFailed(what: "safetensors",
                        problem: "\(source.path): tensor '\(info.name)' has no Hugging Face name; this architecture cannot be exported yet")
                }
                var (shape, values) = try dense(file, info)
                if let layer = adapted[hf] { values = merged(values, layer) }
                if let layout = model.permutedRotaryRows, let heads = RotaryRowOrder.heads(of: String(hf.dropLast(7)), layout),
                   hf.hasSuffix(".weight"), shape.count == 2 {
                    values = RotaryRowOrder.toHuggingFace(values, heads: heads, headDim: layout.headDim, columns: shape[1])
                }
                add(hf, shape, values)
            }
            try writeJSON(huggingFaceConfig(llama.configuration, metadata: file.metadata, dtype: dtype),
                          to: directory.appendingPathComponent("config.json"))
            let tokenizer = try HuggingFaceTokenizerFiles(ggufMetadata: file.metadata, contextLength: model.contextLength)
            notes += tokenizer.notes
            try writeJSON(tokenizer.tokenizer, to: directory.appendingPathComponent("tokenizer.json"))
            try writeJSON(tokenizer.tokenizerConfig, to: directory.appendingPathComponent("tokenizer_config.json"))
        } else {
            let checkpoint = try SafetensorsCheckpoint(directory: source)
            for name in checkpoint.tensorNames {
                guard let (_, info) = checkpoint.tensor(named: name) else { continue }
                var values = try checkpoint.floats(named: name)
                if let layer = adapted[name] { values = merged(values, layer) }
                add(name, info.shape, values)
            }
            var config = try AdapterSet.readJSON(source.appendingPathComponent("config.json"))
            config["torch_dtype"] = nil
            config["dtype"] = dtypeName(dtype)
            try writeJSON(config, to: directory.appendingPathComponent("config.json"))
            for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
                         "vocab.json", "merges.txt", "chat_template.jinja"] {
                let from = source.appendingPathComponent(name), to = directory.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: from.path) else { continue }
                try? FileManager.default.removeItem(at: to)
                do { try FileManager.default.copyItem(at: from, to: to) } catch {
                    throw AdapterError.writeFailed(path: to.path, reason: "\(error)")
                }
            }
        }
        try SafetensorsWriter.write(tensors: tensors, metadata: ["format": "pt"],
                                    to: directory.appendingPathComponent("model.safetensors"))
    }

    /// GGUF tensor name -> HF name for every tensor a llama-family model can have.
    func hfNamesByGGUFName(_ c: LlamaConfiguration) -> [String: String] {
        var hf = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            hf += ["input_layernorm.weight", "post_attention_layernorm.weight"].map { p + $0 }
            for m in ["q_proj", "k_proj", "v_proj"] { hf += [p + "self_attn.\(m).weight", p + "self_attn.\(m).bias"] }
            hf += [p + "self_attn.o_proj.weight"]
            hf += ["gate_proj", "up_proj", "down_proj"].map { p + "mlp.\($0).weight" }
        }
        var map: [String: String] = [:]
        for name in hf { if let g = LlamaConfiguration.ggufName(name) { map[g] = name } }
        return map
    }

    func huggingFaceConfig(_ c: LlamaConfiguration, metadata: [String: GGUFValue], dtype: SafetensorsDType) throws -> [String: Any] {
        let data = try JSONEncoder().encode(c)
        var config = (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        let classes = ["llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"]
        config["architectures"] = [classes[c.modelType] ?? "LlamaForCausalLM"]
        config["hidden_act"] = "silu"
        config["dtype"] = dtypeName(dtype)
        config["bos_token_id"] = metadata["tokenizer.ggml.bos_token_id"]?.int ?? NSNull()
        config["eos_token_id"] = metadata["tokenizer.ggml.eos_token_id"]?.int ?? NSNull()
        config["attention_dropout"] = 0.0
        config["mlp_bias"] = false
        config["use_cache"] = true
        return config
    }

    private func dtypeName(_ d: SafetensorsDType) -> String {
        d == .f16 ? "float16" : d == .bf16 ? "bfloat16" : "float32"
    }

    /// A tensor of a GGUF file as fp32 with its PyTorch shape (2-D tensors may be quantized).
    func dense(_ file: GGUFFile, _ info: GGUFTensorInfo) throws -> ([Int], [Float]) {
        let dims = info.dimensions
        if dims.count >= 2 && dims.dropFirst(2).allSatisfy({ $0 == 1 }) {
            let m = try file.quantizedMatrix(named: info.name)
            var values = [Float](repeating: 0, count: m.rows * m.columns)
            values.withUnsafeMutableBufferPointer { m.dequantizeRows(0..<m.rows, into: $0.baseAddress!) }
            return ([m.rows, m.columns], values)
        }
        return (Array(dims.reversed()), try file.floats(named: info.name))
    }

    /// W + s·B·A, all (out, in) row-major in the model's row order.
    func merged(_ w: [Float], _ layer: LoRALinear) -> [Float] {
        let delta = layer.delta().toArray()
        precondition(delta.count == w.count, "delta \(delta.count) for weight \(w.count)")
        var out = w
        for i in 0..<out.count { out[i] += delta[i] }
        return out
    }

    // MARK: - GGUF, merged

    private mutating func exportGGUF(to url: URL, type requested: GGMLType?) throws {
        guard isGGUFSource else {
            throw AdapterError.exportFailed(what: "gguf",
                problem: "the base model is a Hugging Face folder; --format gguf needs a .gguf base. Export --format "
                    + "safetensors and convert it with llama.cpp's convert_hf_to_gguf.py, or use --format gguf-lora.")
        }
        let file = try GGUFFile(url: source)
        let adapted = adaptedByWeight
        var ggufToLayer: [String: LoRALinear] = [:]
        for (name, layer) in adapted {
            if let g = ggufName(name) { ggufToLayer[g] = layer }
        }
        guard ggufToLayer.count == adapted.count else {
            throw AdapterError.exportFailed(what: "gguf", problem: "some adapted modules have no GGUF tensor name")
        }
        var writer = GGUFWriter()
        for key in file.metadataKeys {
            if let v = file.metadata[key] { writer.set(key, v) }
        }
        if let requested, let fileType = Self.llamaFileType[requested] {
            writer.set("general.file_type", .uint32(fileType))
        }
        for info in file.tensors {
            let isMatrix = info.dimensions.count >= 2 && info.dimensions.dropFirst(2).allSatisfy { $0 == 1 }
            let layer = ggufToLayer[info.name]
            guard isMatrix, layer != nil || requested != nil else {
                writer.addTensor(name: info.name, dimensions: info.dimensions, type: info.type,
                                 bytes: [UInt8](file.bytes(for: info)))
                continue
            }
            var (shape, values) = try dense(file, info)
            if let layer { values = merged(values, layer) }
            var type = requested ?? info.type
            if !Quantizer.canQuantize(type) || shape[1] % type.blockSize != 0 {
                notes.append("\(info.name): written as f32 (\(type) cannot be encoded for \(shape[1]) columns)")
                type = .f32
            }
            writer.addTensor(name: info.name, dimensions: info.dimensions, type: type,
                             bytes: encode(values, type, rowLength: shape[1]))
        }
        try writer.write(to: url)
    }

    /// llama.cpp's `general.file_type` (enum llama_ftype) for a whole-file encoding.
    static let llamaFileType: [GGMLType: UInt32] = [.f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .bf16: 32]

    // MARK: - GGUF LoRA

    private func exportGGUFLoRA(to url: URL) throws {
        guard let first = adapter.layers.first else {
            throw AdapterError.exportFailed(what: "gguf-lora", problem: "the adapter has no layers")
        }
        var arch = model.architecture
        if isGGUFSource, let a = try GGUFFile(url: source).metadata["general.architecture"]?.string { arch = a }
        if arch == "mistral" { arch = "llama" }   // llama.cpp converts Mistral checkpoints as `llama`
        // llama.cpp scales by alpha / r with one alpha per file; other per-layer scales are folded into B.
        let alpha = first.scale * Float(first.rank)
        var writer = GGUFWriter()
        writer.set("general.architecture", .string(arch))
        writer.set("general.type", .string("adapter"))
        writer.set("adapter.type", .string("lora"))
        writer.set("adapter.lora.alpha", .float32(alpha))
        // HF llama / mistral weights are permuted by llama.cpp's converter; a GGUF-loaded model already is.
        let permute: PermutedRotaryRows?
        if model.permutedRotaryRows == nil, ["llama", "mistral"].contains(model.architecture), let llama = model as? LlamaModel {
            let c = llama.configuration
            permute = PermutedRotaryRows(queryHeads: c.headCount, keyValueHeads: c.kvHeadCount, headDim: c.headDim)
        } else {
            permute = nil
        }
        for layer in adapter.layers {
            guard let g = ggufName(layer.path + ".weight") else {
                throw AdapterError.exportFailed(what: "gguf-lora", problem: "module '\(layer.path)' has no GGUF tensor name")
            }
            let r = layer.rank
            var b = layer.b.toArray()
            let fold = layer.scale * Float(r) / alpha
            if fold != 1 { b = b.map { $0 * fold } }
            if let permute, let heads = RotaryRowOrder.heads(of: layer.path, permute) {
                b = RotaryRowOrder.toGGUF(b, heads: heads, headDim: permute.headDim, columns: r)
            }
            writer.addTensor(name: g + ".lora_a", dimensions: [layer.inFeatures, r], floats: layer.a.toArray())
            writer.addTensor(name: g + ".lora_b", dimensions: [r, layer.outFeatures], floats: b)
        }
        try writer.write(to: url)
    }

    // MARK: - Helpers

    /// Encodes row-major values (rows of `rowLength`) as `type`.
    func encode(_ values: [Float], _ type: GGMLType, rowLength: Int? = nil) -> [UInt8] {
        let n = values.count
        let length = rowLength ?? n
        let rows = length == 0 ? 0 : n / length
        let rowBytes = type.byteCount(elements: length) ?? 0
        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        values.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBytes { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                Parallel.forRanges(rows, minimum: 16) { range in
                    for r in range { Quantizer.quantizeRow(type, s + r * length, count: length, into: d + r * rowBytes) }
                }
            }
        }
        return bytes
    }

    func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw AdapterError.writeFailed(path: url.path, reason: "\(error)")
        }
    }

    func writeJSON(_ object: [String: Any], to url: URL) throws {
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: url, options: .atomic)
        } catch {
            throw AdapterError.writeFailed(path: url.path, reason: "\(error)")
        }
    }
}

extension Exporter {
    /// Writes tokenizer.json and tokenizer_config.json rebuilt from a GGUF model's tokenizer metadata into
    /// `directory` (what the safetensors export of a GGUF model writes). Returns notes about approximations.
    @discardableResult
    public static func writeTokenizerFiles(ggufModel url: URL, to directory: URL) throws -> [String] {
        let file = try GGUFFile(url: url)
        let context = file.metadata["\(file.metadata["general.architecture"]?.string ?? "llama").context_length"]?.int ?? 2048
        let files = try HuggingFaceTokenizerFiles(ggufMetadata: file.metadata, contextLength: context)
        let writer = Exporter.jsonWriter
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writer(files.tokenizer, directory.appendingPathComponent("tokenizer.json"))
        try writer(files.tokenizerConfig, directory.appendingPathComponent("tokenizer_config.json"))
        return files.notes
    }

    static let jsonWriter: ([String: Any], URL) throws -> Void = { object, url in
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: url, options: .atomic)
        } catch {
            throw AdapterError.writeFailed(path: url.path, reason: "\(error)")
        }
    }
}
