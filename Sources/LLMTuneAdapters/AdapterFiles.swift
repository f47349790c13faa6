// Adapters on disk. PEFT layout (peft/utils/save_and_load.py, peft/tuners/lora/config.py):
// adapter_config.json + adapter_model.safetensors with `base_model.model.<module>.lora_A.weight` (r, in) and
// `.lora_B.weight` (out, r); loaded keys may carry an adapter name (".lora_A.default.weight") and be F32, F16 or
// BF16. mlx-lm layout (mlx_lm/tuner/lora.py, tuner/utils.py): adapter_config.json with
// `lora_parameters {rank, scale, dropout}` + adapters.safetensors with `<module>.lora_a` (in, r) and
// `.lora_b` (r, out), update = scale · x A B. Files always hold Hugging Face row order; a model whose q/k rows
// are permuted (GGUF llama) gets B rows permuted on load and un-permuted on save.
import Foundation
import LLMTuneFormats
import LLMTuneModels
import LLMTuneTensor

extension AdapterSet {
    /// PEFT's file names.
    public static let peftConfigName = "adapter_config.json"
    public static let peftWeightsName = "adapter_model.safetensors"
    /// mlx-lm's weights file name (its config is also adapter_config.json).
    public static let mlxWeightsName = "adapters.safetensors"

    // MARK: - Save

    /// Writes `adapter_config.json` and `adapter_model.safetensors` (F32) in PEFT's layout into `directory`
    /// (created if needed), each file atomically. `baseModel` goes into `base_model_name_or_path`.
    public func save(to directory: URL, baseModel: String) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw AdapterError.writeFailed(path: directory.path, reason: "\(error)")
        }
        var tensors: [SafetensorsWriter.Tensor] = []
        for l in layers {
            let a = l.a.toArray(), b = huggingFaceB(l)
            tensors.append((name: AdapterSet.peftKey(l.path, "lora_A"), dtype: .f32, shape: l.a.shape,
                            bytes: a.withUnsafeBytes { [UInt8]($0) }))
            tensors.append((name: AdapterSet.peftKey(l.path, "lora_B"), dtype: .f32, shape: l.b.shape,
                            bytes: b.withUnsafeBytes { [UInt8]($0) }))
        }
        try SafetensorsWriter.write(tensors: tensors, metadata: ["format": "pt"],
                                    to: directory.appendingPathComponent(AdapterSet.peftWeightsName))
        try writeJSON(peftConfig(baseModel: baseModel), to: directory.appendingPathComponent(AdapterSet.peftConfigName))
    }

    /// B of `layer` as (out, r) row-major floats in Hugging Face row order.
    func huggingFaceB(_ layer: LoRALinear) -> [Float] {
        let b = layer.b.toArray()
        guard let layout = model.permutedRotaryRows, let heads = RotaryRowOrder.heads(of: layer.path, layout) else { return b }
        return RotaryRowOrder.toHuggingFace(b, heads: heads, headDim: layout.headDim, columns: layer.rank)
    }

    /// The adapter_config.json object, with the fields PEFT 0.21 writes for a plain LoRA.
    func peftConfig(baseModel: String) -> [String: Any] {
        let c = configuration
        // PEFT selects modules by name suffix and layer index. Write the names and indices of the adapted layers
        // (as PEFT itself expands "all-linear"), so any version selects at least these modules; a module PEFT would
        // add beyond them has no saved weights and keeps B = 0, which changes nothing.
        var seen = Set<String>()
        let targets = layers.compactMap { l -> String? in
            let n = String(l.path.split(separator: ".").last ?? "")
            return seen.insert(n).inserted ? n : nil
        }
        let indices = Set(layers.compactMap { AdapterSet.layerIndex($0.path) }).sorted()
        let everyLayer = indices == Array(0..<model.layerCount)
        let rank = layers.first?.rank ?? c.rank
        // An adapter loaded from mlx-lm keeps its own scale: store the alpha that reproduces it.
        let scale = layers.first?.scale ?? c.scale
        let alpha = c.useRSLoRA ? scale * Float(rank).squareRoot() : scale * Float(rank)
        // Layers whose rank or scale differ from the first one's (loaded adapters) go into PEFT's patterns.
        func effectiveAlpha(_ l: LoRALinear) -> Float {
            c.useRSLoRA ? l.scale * Float(l.rank).squareRoot() : l.scale * Float(l.rank)
        }
        var rankPattern: [String: Any] = [:], alphaPattern: [String: Any] = [:]
        for l in layers {
            if l.rank != rank { rankPattern[l.path] = l.rank }
            if abs(effectiveAlpha(l) - alpha) > 1e-6 * max(1, abs(alpha)) { alphaPattern[l.path] = jsonNumber(effectiveAlpha(l)) }
        }
        let null = NSNull()
        var config: [String: Any] = [
            "alpha_pattern": alphaPattern, "auto_mapping": null, "base_model_name_or_path": baseModel,
            "bias": "none", "exclude_modules": null, "fan_in_fan_out": false, "inference_mode": true,
            "init_lora_weights": c.initialization == .gaussian ? "gaussian" as Any : true as Any,
            "layer_replication": null, "layers_pattern": null, "layers_to_transform": null, "loftq_config": [String: Any](),
            "lora_alpha": jsonNumber(alpha), "lora_bias": false, "lora_dropout": jsonNumber(c.dropout),
            "megatron_config": null, "megatron_core": "megatron.core", "modules_to_save": null, "peft_type": "LORA",
            "r": rank, "rank_pattern": rankPattern, "revision": null, "target_modules": targets,
            "task_type": "CAUSAL_LM", "use_dora": false, "use_rslora": c.useRSLoRA,
        ]
        if !everyLayer && !indices.isEmpty { config["layers_to_transform"] = indices }
        return config
    }

    private func jsonNumber(_ x: Float) -> Any {
        x == x.rounded() && abs(x) < 1e9 ? Int(x) as Any : Double(x) as Any
    }

    private func writeJSON(_ object: [String: Any], to url: URL) throws {
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: url, options: .atomic)
        } catch {
            throw AdapterError.writeFailed(path: url.path, reason: "\(error)")
        }
    }

    // MARK: - Load

    /// Loads a PEFT adapter (adapter_model.safetensors) or an mlx-lm adapter (adapters.safetensors) from
    /// `directory` and puts its layers into `model`.
    public static func load(from directory: URL, into model: LanguageModel) throws -> AdapterSet {
        let fm = FileManager.default
        let configURL = directory.appendingPathComponent(peftConfigName)
        let peftWeights = directory.appendingPathComponent(peftWeightsName)
        let mlxWeights = directory.appendingPathComponent(mlxWeightsName)
        guard fm.fileExists(atPath: directory.path) else {
            throw AdapterError.missingFile(path: directory.path, hint: "Pass the folder that holds adapter_config.json.")
        }
        guard fm.fileExists(atPath: configURL.path) else {
            throw AdapterError.missingFile(path: configURL.path,
                hint: "An adapter folder holds adapter_config.json and adapter_model.safetensors (PEFT) or adapters.safetensors (mlx-lm).")
        }
        let config = try readJSON(configURL)
        if fm.fileExists(atPath: peftWeights.path) {
            return try loadPEFT(config: config, configFile: configURL.path, weights: peftWeights, into: model)
        }
        if fm.fileExists(atPath: mlxWeights.path) {
            return try loadMLX(config: config, configFile: configURL.path, weights: mlxWeights, into: model)
        }
        if fm.fileExists(atPath: directory.appendingPathComponent("adapter_model.bin").path) {
            throw AdapterError.unsupportedAdapter(file: directory.appendingPathComponent("adapter_model.bin").path,
                problem: "pickled PyTorch adapters are not read (they can run code). Re-save it with PEFT's "
                    + "save_pretrained(..., safe_serialization=True).")
        }
        throw AdapterError.missingFile(path: peftWeights.path,
                                       hint: "Neither adapter_model.safetensors (PEFT) nor adapters.safetensors (mlx-lm) is in the folder.")
    }

    static func readJSON(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw AdapterError.missingFile(path: url.path, hint: "The file cannot be read.")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw AdapterError.invalidAdapterConfig(file: url.path, key: "(file)", problem: "not a JSON object")
        }
        return object
    }

    /// Pairs of (A (r, in), B (out, r)) by module path, read by `entry` from the safetensors keys.
    private typealias Pairs = [String: (a: [Float]?, aShape: [Int], b: [Float]?, bShape: [Int])]

    private static func loadPEFT(config: [String: Any], configFile: String, weights: URL,
                                 into model: LanguageModel) throws -> AdapterSet {
        func bad(_ key: String, _ problem: String) -> AdapterError {
            .invalidAdapterConfig(file: configFile, key: key, problem: problem)
        }
        if let type = config["peft_type"] as? String, type.uppercased() != "LORA" {
            throw AdapterError.unsupportedAdapter(file: configFile, problem: "peft_type '\(type)' is not supported (only LORA).")
        }
        if config["use_dora"] as? Bool == true {
            throw AdapterError.unsupportedAdapter(file: configFile, problem: "DoRA adapters (use_dora) are not supported yet.")
        }
        if let bias = config["bias"] as? String, bias != "none" {
            throw AdapterError.unsupportedAdapter(file: configFile, problem: "bias '\(bias)' is not supported (only \"none\").")
        }
        if let pattern = config["alpha_pattern"] as? [String: Any], !pattern.isEmpty {
            throw AdapterError.unsupportedAdapter(file: configFile, problem: "alpha_pattern is not supported yet.")
        }
        guard let r = (config["r"] as? NSNumber)?.intValue, r > 0 else { throw bad("r", "missing or not a positive integer") }
        guard let alpha = (config["lora_alpha"] as? NSNumber)?.floatValue else { throw bad("lora_alpha", "missing or not a number") }
        let rs = config["use_rslora"] as? Bool ?? false
        let dropout = (config["lora_dropout"] as? NSNumber)?.floatValue ?? 0
        var targets: [String] = []
        if let list = config["target_modules"] as? [String] { targets = list.sorted() }
        else if let s = config["target_modules"] as? String { targets = [s] }
        var layerRange: ClosedRange<Int>? = nil
        if let list = config["layers_to_transform"] as? [NSNumber], let lo = list.map(\.intValue).min(),
           let hi = list.map(\.intValue).max() { layerRange = lo...hi }
        else if let one = config["layers_to_transform"] as? NSNumber { layerRange = one.intValue...one.intValue }
        let initialization: LoRAInitialization = (config["init_lora_weights"] as? String)?.lowercased() == "gaussian"
            ? .gaussian : .kaimingUniform
        let configuration = LoRAConfiguration(rank: r, alpha: alpha, dropout: min(max(dropout, 0), 0.99),
                                              targets: targets.isEmpty ? ["all-linear"] : targets, layers: layerRange,
                                              useRSLoRA: rs, initialization: initialization)

        let file = try SafetensorsFile(url: weights)
        var pairs: [String: (a: SafetensorsTensorInfo?, b: SafetensorsTensorInfo?)] = [:]
        for t in file.tensors {
            var key = t.name
            if key.hasPrefix("base_model.model.") { key.removeFirst("base_model.model.".count) }
            var found = false
            for (marker, isA) in [(".lora_A.", true), (".lora_B.", false)] {
                guard let range = key.range(of: marker) else { continue }
                let module = String(key[..<range.lowerBound])
                let rest = key[range.upperBound...]
                guard rest == "weight" || (rest.hasSuffix(".weight") && !rest.dropLast(7).contains(".")) else { continue }
                var entry = pairs[module] ?? (nil, nil)
                if isA { entry.a = t } else { entry.b = t }
                pairs[module] = entry
                found = true
            }
            if !found {
                throw AdapterError.unsupportedAdapter(file: weights.path,
                    problem: "tensor '\(t.name)' is not a LoRA A/B weight (modules_to_save, embeddings and biases are not supported).")
            }
        }
        let scaleFor: (Int) -> Float = { rank in rs ? alpha / Float(rank).squareRoot() : alpha / Float(rank) }
        return try build(model: model, modules: pairs.keys.sorted(), file: weights.path, configuration: configuration) { module, linear in
            guard let entry = pairs[module], let ta = entry.a else {
                throw AdapterError.missingPair(module: module, missing: "lora_A", file: weights.path)
            }
            guard let tb = entry.b else { throw AdapterError.missingPair(module: module, missing: "lora_B", file: weights.path) }
            let rank = ta.shape.first ?? 0
            guard ta.shape == [rank, linear.inFeatures], rank > 0 else {
                throw AdapterError.shapeMismatch(key: ta.name, expected: [rank, linear.inFeatures], found: ta.shape, file: weights.path)
            }
            guard tb.shape == [linear.outFeatures, rank] else {
                throw AdapterError.shapeMismatch(key: tb.name, expected: [linear.outFeatures, rank], found: tb.shape, file: weights.path)
            }
            return (try file.floats(named: ta.name), try file.floats(named: tb.name), rank, scaleFor(rank))
        }
    }

    private static func loadMLX(config: [String: Any], configFile: String, weights: URL,
                                into model: LanguageModel) throws -> AdapterSet {
        if let kind = config["fine_tune_type"] as? String, kind != "lora" {
            throw AdapterError.unsupportedAdapter(file: configFile,
                problem: "mlx-lm fine_tune_type '\(kind)' is not supported (only lora).")
        }
        guard let parameters = config["lora_parameters"] as? [String: Any] else {
            throw AdapterError.invalidAdapterConfig(file: configFile, key: "lora_parameters", problem: "missing or not an object")
        }
        guard let scale = (parameters["scale"] as? NSNumber)?.floatValue else {
            throw AdapterError.invalidAdapterConfig(file: configFile, key: "lora_parameters.scale", problem: "missing or not a number")
        }
        let dropout = (parameters["dropout"] as? NSNumber)?.floatValue ?? 0
        let file = try SafetensorsFile(url: weights)
        var pairs: [String: (a: SafetensorsTensorInfo?, b: SafetensorsTensorInfo?)] = [:]
        for t in file.tensors {
            let isA = t.name.hasSuffix(".lora_a"), isB = t.name.hasSuffix(".lora_b")
            guard isA || isB else {
                throw AdapterError.unsupportedAdapter(file: weights.path,
                    problem: "tensor '\(t.name)' is not an mlx-lm LoRA weight (.lora_a / .lora_b).")
            }
            let module = String(t.name.dropLast(7))
            var entry = pairs[module] ?? (nil, nil)
            if isA { entry.a = t } else { entry.b = t }
            pairs[module] = entry
        }
        var rank = 0
        let set = try build(model: model, modules: pairs.keys.sorted(), file: weights.path,
                            configuration: LoRAConfiguration()) { module, linear in
            guard let entry = pairs[module], let ta = entry.a else {
                throw AdapterError.missingPair(module: module, missing: "lora_a", file: weights.path)
            }
            guard let tb = entry.b else { throw AdapterError.missingPair(module: module, missing: "lora_b", file: weights.path) }
            let r = ta.shape.last ?? 0
            guard ta.shape == [linear.inFeatures, r], r > 0 else {
                throw AdapterError.shapeMismatch(key: ta.name, expected: [linear.inFeatures, r], found: ta.shape, file: weights.path)
            }
            guard tb.shape == [r, linear.outFeatures] else {
                throw AdapterError.shapeMismatch(key: tb.name, expected: [r, linear.outFeatures], found: tb.shape, file: weights.path)
            }
            rank = r
            // mlx-lm keeps the transposes: A = lora_aᵀ (r, in), B = lora_bᵀ (out, r).
            let a = transpose(try file.floats(named: ta.name), rows: linear.inFeatures, columns: r)
            let b = transpose(try file.floats(named: tb.name), rows: r, columns: linear.outFeatures)
            return (a, b, r, scale)
        }
        var seen = Set<String>()
        let targets = set.layers.compactMap { l -> String? in
            let n = String(l.path.split(separator: ".").last ?? "")
            return seen.insert(n).inserted ? n : nil
        }
        let indices = set.layers.compactMap { layerIndex($0.path) }
        set.configuration = LoRAConfiguration(rank: rank, alpha: scale * Float(rank), dropout: min(max(dropout, 0), 0.99),
                                              targets: targets,
                                              layers: indices.min().flatMap { lo in indices.max().map { lo...$0 } })
        for l in set.layers { l.dropout = set.configuration.dropout }
        return set
    }

    /// Builds one LoRALinear per module from `read` (A (r, in), B (out, r) in HF row order, rank, scale), in the
    /// model's module order, and installs them.
    private static func build(model: LanguageModel, modules: [String], file: String, configuration: LoRAConfiguration,
                              read: (String, Linear) throws -> ([Float], [Float], Int, Float)) throws -> AdapterSet {
        guard !modules.isEmpty else {
            throw AdapterError.unsupportedAdapter(file: file, problem: "the file holds no LoRA tensors.")
        }
        let all = model.linearLayers
        let paths = all.map(\.path)
        for m in modules where !paths.contains(m) {
            throw AdapterError.unmatchedKey(key: m, file: file, available: paths)
        }
        var layers: [LoRALinear] = []
        for l in all where modules.contains(l.path) {
            guard let linear = l as? Linear else { throw AdapterError.notAPlainLinear(path: l.path) }
            let (a, bHF, rank, scale) = try read(l.path, linear)
            var b = bHF
            if let layout = model.permutedRotaryRows, let heads = RotaryRowOrder.heads(of: l.path, layout) {
                b = RotaryRowOrder.toGGUF(b, heads: heads, headDim: layout.headDim, columns: rank)
            }
            layers.append(LoRALinear(base: linear, a: Tensor(shape: [rank, linear.inFeatures], data: a),
                                     b: Tensor(shape: [linear.outFeatures, rank], data: b), scale: scale,
                                     dropout: configuration.dropout))
        }
        let set = AdapterSet(model: model, layers: layers, configuration: configuration)
        set.install()
        return set
    }
}

/// (rows, columns) row-major -> (columns, rows) row-major.
func transpose(_ m: [Float], rows: Int, columns: Int) -> [Float] {
    var out = [Float](repeating: 0, count: m.count)
    for i in 0..<rows { for j in 0..<columns { out[j * rows + i] = m[i * columns + j] } }
    return out
}

extension AdapterSet {
    /// Overwrites this set's A and B with the tensors of a PEFT adapter_model.safetensors in `directory` (for
    /// resuming training: the same modules, ranks and shapes are required). The layers stay in place.
    public func restore(from directory: URL) throws {
        let url = directory.appendingPathComponent(AdapterSet.peftWeightsName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw AdapterError.missingFile(path: url.path, hint: "Pass a folder written by AdapterSet.save.")
        }
        let file = try SafetensorsFile(url: url)
        var values: [(Tensor, [Float])] = []
        for l in layers {
            for (matrix, tensor) in [("lora_A", l.a), ("lora_B", l.b)] {
                let key = AdapterSet.peftKey(l.path, matrix)
                guard let info = file.tensor(named: key) else {
                    throw AdapterError.missingPair(module: l.path, missing: matrix, file: url.path)
                }
                guard info.shape == tensor.shape else {
                    throw AdapterError.shapeMismatch(key: key, expected: tensor.shape, found: info.shape, file: url.path)
                }
                var v = try file.floats(named: key)
                if matrix == "lora_B", let layout = model.permutedRotaryRows, let heads = RotaryRowOrder.heads(of: l.path, layout) {
                    v = RotaryRowOrder.toGGUF(v, heads: heads, headDim: layout.headDim, columns: l.rank)
                }
                values.append((tensor, v))
            }
        }
        // Only after every tensor was found and checked: a failed restore leaves the set unchanged.
        for (tensor, v) in values { tensor.copyElements(from: Tensor(shape: tensor.shape, data: v)) }
    }
}
