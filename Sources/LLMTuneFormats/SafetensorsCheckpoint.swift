// A Hugging Face checkpoint directory: either sharded (`model.safetensors.index.json` with a
// "weight_map" from tensor name to shard file, as transformers' save_pretrained writes it) or a single
// `model.safetensors`. Tensors are looked up across the shards by name.

import Foundation
import LLMTuneKernels

/// The safetensors weights of one checkpoint directory, possibly split over several shard files.
public struct SafetensorsCheckpoint: Sendable {
    /// The checkpoint directory.
    public let directory: URL
    /// The shard files, in file-name order (one element for an unsharded checkpoint).
    public let shards: [SafetensorsFile]
    /// The index's `metadata.total_size`, when the checkpoint is sharded and states it.
    public let totalSize: Int?
    private let location: [String: Int]

    /// The name of the index file of a sharded checkpoint.
    public static let indexFileName = "model.safetensors.index.json"
    /// The name of the single file of an unsharded checkpoint.
    public static let singleFileName = "model.safetensors"

    /// Opens the checkpoint in `directory`. Throws `FormatError` when neither file exists, when the
    /// index is malformed or names a tensor its shard lacks, or when a shard is malformed.
    public init(directory: URL) throws {
        self.directory = directory
        let indexURL = directory.appendingPathComponent(Self.indexFileName)
        let singleURL = directory.appendingPathComponent(Self.singleFileName)
        let manager = FileManager.default
        if manager.fileExists(atPath: indexURL.path) {
            let indexPath = indexURL.path
            let index = try MappedFile(url: indexURL)
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(index.bytes))
            } catch {
                throw FormatError.invalidHeader(file: indexPath, key: nil, offset: nil,
                                                reason: "invalid JSON (\(error.localizedDescription))")
            }
            guard let root = object as? [String: Any], let weightMap = root["weight_map"] as? [String: Any] else {
                throw FormatError.invalidHeader(file: indexPath, key: "weight_map", offset: nil,
                                                reason: "missing or not an object of tensor name -> shard file")
            }
            totalSize = ((root["metadata"] as? [String: Any])?["total_size"]).flatMap(jsonInteger)
            var shardNames: [String: [String]] = [:]
            for (tensor, value) in weightMap {
                guard let shard = value as? String, Self.isPlainFileName(shard) else {
                    throw FormatError.invalidHeader(file: indexPath, key: "weight_map.\(tensor)", offset: nil,
                        reason: "shard \(value) is not a plain file name inside the checkpoint directory")
                }
                shardNames[shard, default: []].append(tensor)
            }
            var shards: [SafetensorsFile] = []
            var location: [String: Int] = [:]
            for shard in shardNames.keys.sorted() {
                let file = try SafetensorsFile(url: directory.appendingPathComponent(shard))
                for tensor in shardNames[shard] ?? [] {
                    guard file.tensor(named: tensor) != nil else {
                        throw FormatError.invalidHeader(file: indexPath, key: "weight_map.\(tensor)", offset: nil,
                            reason: "the index places this tensor in \(shard), which does not contain it")
                    }
                    location[tensor] = shards.count
                }
                shards.append(file)
            }
            self.shards = shards
            self.location = location
        } else if manager.fileExists(atPath: singleURL.path) {
            let file = try SafetensorsFile(url: singleURL)
            shards = [file]
            totalSize = nil
            location = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, 0) })
        } else {
            var isDirectory: ObjCBool = false
            if !manager.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
                throw FormatError.fileNotFound(file: directory.path)
            }
            throw FormatError.unreadable(file: directory.path,
                reason: "no \(Self.indexFileName) or \(Self.singleFileName) in this "
                    + (isDirectory.boolValue ? "directory" : "path (not a directory)"))
        }
    }

    /// All tensor names, sorted.
    public var tensorNames: [String] { location.keys.sorted() }

    /// The shard holding `name` and the tensor's description there, or nil.
    public func tensor(named name: String) -> (file: SafetensorsFile, info: SafetensorsTensorInfo)? {
        guard let i = location[name], let info = shards[i].tensor(named: name) else { return nil }
        return (shards[i], info)
    }

    /// Like `tensor(named:)`, but throws `FormatError.tensorNotFound` naming the directory.
    public func requireTensor(named name: String) throws -> (file: SafetensorsFile, info: SafetensorsTensorInfo) {
        guard let found = tensor(named: name) else { throw FormatError.tensorNotFound(file: directory.path, tensor: name) }
        return found
    }

    /// All elements of an F32, F16 or BF16 tensor as fp32, row-major.
    public func floats(named name: String) throws -> [Float] {
        try requireTensor(named: name).file.floats(named: name)
    }

    /// A 2-D F32, F16 or BF16 tensor as a zero-copy QuantizedMatrix (rows = shape[0]).
    public func quantizedMatrix(named name: String) throws -> QuantizedMatrix {
        try requireTensor(named: name).file.quantizedMatrix(named: name)
    }

    private static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.contains("\\") && name != "." && name != ".."
    }
}
