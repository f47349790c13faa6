// The two checkpoint kinds as weight sources: a GGUF file (names translated from Hugging Face names) and a
// safetensors checkpoint (one file or shards). Both hand out memory-mapped weights without copying, unless
// asked to dequantize to fp32.
import LLMTuneFormats
import LLMTuneKernels

/// An fp32 copy of a matrix, owning its buffer.
final class OwnedFloats {
    let pointer: UnsafeMutablePointer<Float>
    init(count: Int) { pointer = .allocate(capacity: count) }
    deinit { pointer.deallocate() }
}

func dequantizedCopy(_ m: QuantizedMatrix) -> QuantizedMatrix {
    if m.type == .f32 { return m }
    let buffer = OwnedFloats(count: m.rows * m.columns)
    m.dequantizeRows(0..<m.rows, into: buffer.pointer)
    return QuantizedMatrix(type: .f32, rows: m.rows, columns: m.columns, data: UnsafeRawPointer(buffer.pointer),
                           owner: buffer)
}

final class GGUFWeightSource: WeightSource {
    let file: GGUFFile
    let path: String
    let ggufName: (String) -> String?
    let dequantize: Bool

    init(file: GGUFFile, path: String, ggufName: @escaping (String) -> String?, dequantize: Bool) {
        self.file = file
        self.path = path
        self.ggufName = ggufName
        self.dequantize = dequantize
    }

    var sourceDescription: String { path }

    private func name(_ hf: String) throws -> String {
        guard let n = ggufName(hf) else {
            throw ModelError.missingWeight(name: hf, file: path, hint: "No GGUF name is known for this tensor.")
        }
        return n
    }

    func shape(of name: String) -> [Int]? {
        guard let n = ggufName(name), let info = file.tensor(named: n) else { return nil }
        return info.dimensions.reversed()   // GGUF lists the fastest-varying dimension first
    }

    func matrix(_ name: String) throws -> QuantizedMatrix {
        let m = try file.quantizedMatrix(named: try self.name(name))
        return dequantize ? dequantizedCopy(m) : m
    }

    func floats(_ name: String) throws -> [Float] {
        try file.floats(named: try self.name(name))
    }
}

final class SafetensorsWeightSource: WeightSource {
    let checkpoint: SafetensorsCheckpoint
    let path: String
    let dequantize: Bool

    init(checkpoint: SafetensorsCheckpoint, path: String, dequantize: Bool) {
        self.checkpoint = checkpoint
        self.path = path
        self.dequantize = dequantize
    }

    var sourceDescription: String { path }

    func shape(of name: String) -> [Int]? { checkpoint.tensor(named: name)?.info.shape }

    func matrix(_ name: String) throws -> QuantizedMatrix {
        let m = try checkpoint.quantizedMatrix(named: name)
        return dequantize ? dequantizedCopy(m) : m
    }

    func floats(_ name: String) throws -> [Float] { try checkpoint.floats(named: name) }
}
