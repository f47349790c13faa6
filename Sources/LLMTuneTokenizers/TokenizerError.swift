// Errors of the tokenizer layer: everything a user can get wrong when pointing LLMTune at a tokenizer
// (a path, a tokenizer.json, GGUF metadata, a chat template) ends up here, with where and what to do.

/// A problem loading or configuring a tokenizer.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A file could not be read.
    case fileNotReadable(path: String, reason: String)
    /// A JSON file is malformed at `offset` (bytes from the start).
    case invalidJSON(source: String, offset: Int, message: String)
    /// A required key is missing.
    case missingKey(key: String, source: String)
    /// A key is present but its value cannot be used.
    case invalidValue(key: String, source: String, message: String)
    /// A component (normalizer, pre-tokenizer, model, decoder, ...) of a type this library does not implement.
    case unsupportedComponent(kind: String, type: String, source: String, hint: String)
    /// A `Split` pre-tokenizer regex that has no hand-written scanner.
    case unsupportedPattern(pattern: String, source: String)
    /// A chat template that matches none of the built-ins.
    case unrecognizedChatTemplate(excerpt: String, builtIns: [String])
    /// A chat template name that is not a built-in.
    case unknownChatTemplateName(name: String, builtIns: [String])

    public var description: String {
        switch self {
        case .fileNotReadable(let path, let reason):
            return "cannot read \(path): \(reason). Check the path and the file permissions."
        case .invalidJSON(let source, let offset, let message):
            return "\(source): invalid JSON at byte \(offset): \(message). Is the file complete (not an LFS pointer)?"
        case .missingKey(let key, let source):
            return "\(source): missing key '\(key)'. The file does not look like a complete tokenizer."
        case .invalidValue(let key, let source, let message):
            return "\(source): key '\(key)': \(message)"
        case .unsupportedComponent(let kind, let type, let source, let hint):
            return "\(source): \(kind) of type '\(type)' is not supported. \(hint)"
        case .unsupportedPattern(let pattern, let source):
            return "\(source): the Split regex \(pattern.debugDescription) has no scanner here. Supported: the GPT-2, "
                + "Llama-3 and Qwen2 pre-tokenizer patterns and digit patterns (\\p{N}, \\p{N}+, \\p{N}{1,3})."
        case .unrecognizedChatTemplate(let excerpt, let builtIns):
            return "the checkpoint's chat template is not one of the built-ins (it starts "
                + "\(excerpt.debugDescription)). Choose one explicitly: \(builtIns.joined(separator: ", "))."
        case .unknownChatTemplateName(let name, let builtIns):
            return "unknown chat template '\(name)'. Built-ins: \(builtIns.joined(separator: ", "))."
        }
    }
}
