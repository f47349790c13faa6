// Resumable training checkpoints: one folder per step holding everything a run needs to continue exactly
// where it was (the idea of transformers' Trainer checkpoints, made crash-safe):
//   checkpoints/step-00000100/
//     parameters.safetensors   trainable parameters, fp32, by name
//     optimizer.safetensors    optimizer buffers "<parameter>.<buffer>", metadata: kind, step
//     trainer_state.json       step, data-source state, history, best validation loss, counters
// A checkpoint is built in a hidden temporary folder, every file fsynced, then renamed into place (and the parent
// fsynced), so a folder named step-* is always complete: a run killed at any moment leaves complete
// checkpoints or none. Older checkpoints beyond the number kept are deleted after a new one lands.
import Foundation
import LLMTuneFormats
import LLMTuneTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The trainer's own counters and history, saved with each checkpoint.
struct TrainerState: Codable {
    static let currentVersion = 1
    var version = TrainerState.currentVersion
    /// Optimizer steps completed.
    var step: Int
    var totalSteps: Int
    var seed: UInt64
    /// The training batch source's `saveState()`.
    var dataState: Data
    /// Input tokens processed so far.
    var tokens: Int
    var elapsedSeconds: Double
    var history: TrainingHistory
    /// Bit pattern of the best validation loss (exact across the JSON round trip), nil before any evaluation.
    var bestValidationLossBits: UInt64?
    var bestStep: Int?
    var evaluationsWithoutImprovement: Int
    var peakMemoryBytes: Int

    var bestValidationLoss: Double? {
        get { bestValidationLossBits.map { Double(bitPattern: $0) } }
        set { bestValidationLossBits = newValue?.bitPattern }
    }
}

/// Reads and writes the checkpoints of one output folder.
struct CheckpointStore {
    let directory: URL   // <output>/checkpoints

    static let parametersFile = "parameters.safetensors"
    static let optimizerFile = "optimizer.safetensors"
    static let stateFile = "trainer_state.json"

    func url(step: Int) -> URL {
        directory.appendingPathComponent(String(format: "step-%08d", step))
    }

    /// Complete checkpoints, oldest first.
    func list() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            return (step, directory.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// Removes every checkpoint and leftover temporary folder (a fresh run in a used output folder).
    func removeAll() throws {
        guard FileManager.default.fileExists(atPath: directory.path) else { return }
        do { try FileManager.default.removeItem(at: directory) } catch {
            throw TrainingError.writeFailed(path: directory.path, reason: "cannot remove old checkpoints: \(error)")
        }
    }

    /// Removes temporary folders left by a run killed while writing.
    func removeTemporaries() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where name.hasPrefix(".tmp-") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// Writes the checkpoint of `state.step` atomically, then deletes all but the newest `keep`.
    @discardableResult
    func write(state: TrainerState, parameters: [(name: String, tensor: Tensor)], optimizer: OptimizerState,
               keep: Int) throws -> URL {
        let final = url(step: state.step)
        let temporary = directory.appendingPathComponent(".tmp-\(final.lastPathComponent)-\(getpid())")
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            if fm.fileExists(atPath: temporary.path) { try fm.removeItem(at: temporary) }
            try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
        } catch {
            throw TrainingError.writeFailed(path: temporary.path, reason: "\(error)")
        }
        do {
            try SafetensorsWriter.write(
                tensors: parameters.map { ($0.name, .f32, $0.tensor.shape, floatBytes($0.tensor.toArray())) },
                metadata: ["format": "llmtune-checkpoint"],
                to: temporary.appendingPathComponent(Self.parametersFile))
            try SafetensorsWriter.write(
                tensors: optimizer.buffers.sorted { $0.key < $1.key }
                    .map { ($0.key, .f32, [$0.value.count], floatBytes($0.value)) },
                metadata: ["optimizer": optimizer.kind, "step": String(optimizer.stepCount)],
                to: temporary.appendingPathComponent(Self.optimizerFile))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try writeDurably(try encoder.encode(state), to: temporary.appendingPathComponent(Self.stateFile))
            syncDirectory(temporary.path)
            if fm.fileExists(atPath: final.path) { try fm.removeItem(at: final) }
            guard rename(temporary.path, final.path) == 0 else {
                throw TrainingError.writeFailed(path: final.path, reason: String(cString: strerror(errno)))
            }
            syncDirectory(directory.path)
        } catch {
            try? fm.removeItem(at: temporary)
            if let e = error as? TrainingError { throw e }
            throw TrainingError.writeFailed(path: final.path, reason: "\(error)")
        }
        for old in list().dropLast(keep) { try? fm.removeItem(at: old.url) }
        return final
    }

    /// Reads a checkpoint: its state, parameter values by name, and optimizer state.
    func read(_ url: URL) throws -> (state: TrainerState, parameters: [String: [Float]], optimizer: OptimizerState) {
        func fail(_ problem: String) -> TrainingError { .invalidCheckpoint(path: url.path, problem: problem) }
        let stateURL = url.appendingPathComponent(Self.stateFile)
        guard let data = FileManager.default.contents(atPath: stateURL.path) else {
            throw fail("\(Self.stateFile) is missing")
        }
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw fail("\(Self.stateFile) is not valid: \(error)")
        }
        guard state.version == TrainerState.currentVersion else {
            throw fail("written by checkpoint format \(state.version), this version reads \(TrainerState.currentVersion)")
        }
        do {
            let parameterFile = try SafetensorsFile(url: url.appendingPathComponent(Self.parametersFile))
            var parameters: [String: [Float]] = [:]
            for t in parameterFile.tensors { parameters[t.name] = try parameterFile.floats(named: t.name) }
            let optimizerFile = try SafetensorsFile(url: url.appendingPathComponent(Self.optimizerFile))
            var buffers: [String: [Float]] = [:]
            for t in optimizerFile.tensors { buffers[t.name] = try optimizerFile.floats(named: t.name) }
            guard let kind = optimizerFile.metadata["optimizer"],
                  let step = optimizerFile.metadata["step"].flatMap({ Int($0) }) else {
                throw fail("\(Self.optimizerFile) has no optimizer/step metadata")
            }
            return (state, parameters, OptimizerState(kind: kind, stepCount: step, buffers: buffers))
        } catch let e as TrainingError {
            throw e
        } catch {
            throw fail("\(error)")
        }
    }
}

/// The little-endian bytes of fp32 values.
func floatBytes(_ values: [Float]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}

/// Writes `data` to `url` through a temporary file that is fsynced and renamed into place.
func writeDurably(_ data: Data, to url: URL) throws {
    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw TrainingError.writeFailed(path: url.path, reason: String(cString: strerror(errno))) }
    var failure: String?
    data.withUnsafeBytes { raw in
        var p = raw.baseAddress
        var left = raw.count
        while left > 0, let base = p {
            let n = write(fd, base, left)
            if n < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                return
            }
            p = base + n
            left -= n
        }
    }
    if failure == nil, fsync(fd) != 0 { failure = "fsync: " + String(cString: strerror(errno)) }
    close(fd)
    if failure == nil, rename(temporary, url.path) != 0 { failure = "rename: " + String(cString: strerror(errno)) }
    if let failure {
        unlink(temporary)
        throw TrainingError.writeFailed(path: url.path, reason: failure)
    }
}

/// fsyncs a directory so that renames inside it survive a power loss.
func syncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}
