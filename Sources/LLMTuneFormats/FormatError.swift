// Errors of the file-format layer (GGUF, safetensors, memory mapping, atomic writes).
// Every case names the file and, where it applies, the key or tensor and the byte offset, and its
// description ends with a hint about what to do.

/// An error reading or writing a model file. `description` says what went wrong, where, and what to do.
public enum FormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path does not exist.
    case fileNotFound(file: String)
    /// The file exists but cannot be opened, mapped or read (permissions, a directory, an I/O error).
    case unreadable(file: String, reason: String)
    /// The file has zero bytes.
    case emptyFile(file: String)
    /// `reading`, starting at byte `offset` and `needed` bytes long, runs past the end of the file.
    case truncated(file: String, offset: Int, needed: Int, reading: String)
    /// The first bytes are not the format's magic.
    case badMagic(file: String, expected: String, found: String)
    /// A GGUF version this reader does not handle.
    case unsupportedVersion(file: String, version: UInt32)
    /// A count (tensors, keys, array elements, string bytes) that cannot fit in the rest of the file.
    case implausibleCount(file: String, what: String, count: UInt64, offset: Int)
    /// A GGUF metadata value type number outside the specification.
    case unknownValueType(file: String, key: String, type: UInt32, offset: Int)
    /// A tensor element type (GGML type number or safetensors dtype) LLMTune does not know.
    case unknownTensorType(file: String, tensor: String, type: String, offset: Int?)
    /// A tensor whose description is inconsistent: bad shape, misaligned or out-of-range data, overlap.
    case invalidTensor(file: String, tensor: String, reason: String)
    /// A header or metadata entry that breaks the format (duplicate key, bad alignment, invalid JSON...).
    case invalidHeader(file: String, key: String?, offset: Int?, reason: String)
    /// A metadata value of another type than the caller asked for.
    case metadataTypeMismatch(file: String, key: String, expected: String, found: String)
    /// No tensor of that name in the file or checkpoint.
    case tensorNotFound(file: String, tensor: String)
    /// The tensor exists but cannot be returned in the asked form (element type or rank).
    case unsupportedConversion(file: String, tensor: String, from: String, to: String)
    /// Arguments given to a writer that cannot be encoded.
    case invalidWriterInput(file: String, item: String, reason: String)
    /// An operating-system error while writing.
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file. Hint: check the path; relative paths are resolved against the current directory."
        case .unreadable(let file, let reason):
            return "\(file): cannot be read (\(reason)). Hint: check that it is a regular file and that you may read it."
        case .emptyFile(let file):
            return "\(file): the file is empty (0 bytes). Hint: the download or copy was probably interrupted; fetch it again."
        case .truncated(let file, let offset, let needed, let reading):
            return "\(file): truncated: \(reading) at byte \(offset) (\(needed) bytes) runs past the end of the file. "
                + "Hint: the file is incomplete or corrupt; fetch it again."
        case .badMagic(let file, let expected, let found):
            return "\(file): not a \(expected) file (first bytes \(found)). Hint: check that the path names the right file."
        case .unsupportedVersion(let file, let version):
            var hint = "GGUF versions 2 and 3 are supported; reconvert the model with a current llama.cpp convert script."
            if version > 0xFFFF && version.byteSwapped <= 3 {
                hint = "this looks like a big-endian GGUF file; only little-endian files are supported."
            }
            return "\(file): unsupported GGUF version \(version). Hint: \(hint)"
        case .implausibleCount(let file, let what, let count, let offset):
            return "\(file): \(what) is \(count) at byte \(offset), more than the rest of the file can hold. "
                + "Hint: the file is corrupt or truncated."
        case .unknownValueType(let file, let key, let type, let offset):
            return "\(file): metadata key '\(key)' has unknown value type \(type) at byte \(offset) "
                + "(GGUF defines 0...12). Hint: the file is corrupt or written by a newer GGUF version."
        case .unknownTensorType(let file, let tensor, let type, let offset):
            let at = offset.map { " at byte \($0)" } ?? ""
            return "\(file): tensor '\(tensor)' has element type \(type)\(at), which LLMTune does not support. "
                + "Hint: requantize the model to a supported type (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)."
        case .invalidTensor(let file, let tensor, let reason):
            return "\(file): tensor '\(tensor)': \(reason). Hint: the file is corrupt or was written by a faulty tool."
        case .invalidHeader(let file, let key, let offset, let reason):
            let k = key.map { " key '\($0)'" } ?? ""
            let at = offset.map { " at byte \($0)" } ?? ""
            return "\(file):\(k)\(at): \(reason). Hint: the file is corrupt or was written by a faulty tool."
        case .metadataTypeMismatch(let file, let key, let expected, let found):
            return "\(file): metadata key '\(key)' holds \(found), expected \(expected). "
                + "Hint: the model was converted with different conventions; check the converter."
        case .tensorNotFound(let file, let tensor):
            return "\(file): no tensor named '\(tensor)'. Hint: list the tensors (e.g. `llmtune inspect`) and check the name."
        case .unsupportedConversion(let file, let tensor, let from, let to):
            return "\(file): tensor '\(tensor)' is \(from) and cannot be read as \(to). "
                + "Hint: use a checkpoint with a supported element type or shape."
        case .invalidWriterInput(let file, let item, let reason):
            return "\(file): cannot write '\(item)': \(reason). Hint: fix the value passed to the writer."
        case .writeFailed(let file, let reason):
            return "\(file): write failed (\(reason)). Hint: check free disk space and write permission on the directory."
        }
    }
}
