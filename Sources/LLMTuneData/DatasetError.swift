// Errors of the data layer: everything a user can get wrong in a training data set (a path, a folder
// layout, a JSONL line, a CSV row, a field, a role, an option) is reported here with the file, the line
// (1-based, of the record's first line) and, where it applies, the field, followed by what to do.

/// A problem reading, parsing or tokenizing a data set.
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path does not exist.
    case notFound(path: String)
    /// A file whose extension is not .jsonl, .json or .csv.
    case unsupportedFile(path: String)
    /// A folder without a train file.
    case folderWithoutTrainFile(folder: String, files: [String])
    /// A folder holding several files for the same split (e.g. train.jsonl and train.csv).
    case ambiguousSplit(folder: String, split: String, files: [String])
    /// A file that could not be read, or is empty.
    case unreadable(path: String, reason: String)
    /// A file with no records (only blank lines, an empty array, a header without rows).
    case noRecords(file: String)
    /// Malformed JSON on a line.
    case invalidJSON(file: String, line: Int, message: String)
    /// A record that is not a JSON object.
    case notAnObject(file: String, line: Int, found: String)
    /// A record whose fields match no known format.
    case unrecognizedRecord(file: String, line: Int, keys: [String])
    /// A required field is missing.
    case missingField(file: String, line: Int, field: String, format: String)
    /// A field of the wrong JSON type.
    case wrongType(file: String, line: Int, field: String, expected: String, found: String)
    /// A field that must not be empty (a completion, an output, an assistant turn).
    case emptyField(file: String, line: Int, field: String)
    /// A chat role that is not system / user / assistant (or ShareGPT's human / gpt).
    case unknownRole(file: String, line: Int, field: String, role: String)
    /// A conversation without an assistant turn (nothing to learn).
    case noAssistantTurn(file: String, line: Int)
    /// A CSV file that cannot be parsed (an unterminated quote, text after a closing quote).
    case invalidCSV(file: String, line: Int, message: String)
    /// A CSV row whose field count differs from the header's.
    case csvFieldCount(file: String, line: Int, expected: Int, found: Int)
    /// An option value that cannot be used.
    case invalidOption(name: String, value: String, hint: String)
    /// The chat template could not be resolved for this tokenizer.
    case chatTemplate(message: String)
    /// A split that ends up without examples (all dropped, or the data set is too small to split).
    case emptySplit(split: String, reason: String)

    /// Whether the error concerns one record (and may be skipped with `skipBadRecords`).
    public var isRecordError: Bool {
        switch self {
        case .invalidJSON, .notAnObject, .unrecognizedRecord, .missingField, .wrongType, .emptyField, .unknownRole,
             .noAssistantTurn, .csvFieldCount:
            return true
        default:
            return false
        }
    }

    /// "file:line" of a record error, nil for other errors.
    public var location: String? {
        switch self {
        case .invalidJSON(let file, let line, _), .notAnObject(let file, let line, _),
             .unrecognizedRecord(let file, let line, _), .missingField(let file, let line, _, _),
             .wrongType(let file, let line, _, _, _), .emptyField(let file, let line, _),
             .unknownRole(let file, let line, _, _), .noAssistantTurn(let file, let line),
             .invalidCSV(let file, let line, _), .csvFieldCount(let file, let line, _, _):
            return "\(file):\(line)"
        default:
            return nil
        }
    }

    static let formatsHint = "Known formats: {\"text\"}, {\"prompt\", \"completion\"}, "
        + "{\"instruction\", \"input\"?, \"output\"} (Alpaca), {\"messages\": [{\"role\", \"content\"}]}, "
        + "{\"conversations\": [{\"from\", \"value\"}]} (ShareGPT)."
    static let skipHint = "Fix the record, or pass --skip-bad-records to skip and count such records."

    public var description: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file or folder. Give a .jsonl, .json or .csv file, or a folder with "
                + "train / valid / test files."
        case .unsupportedFile(let path):
            return "\(path): unsupported file type. Use .jsonl (one JSON object per line), .json (an array of "
                + "objects) or .csv (a header row, then one record per row)."
        case .folderWithoutTrainFile(let folder, let files):
            return "\(folder): no train file (found: \(files.isEmpty ? "nothing" : files.joined(separator: ", "))). "
                + "A data folder holds train.jsonl|json|csv and optionally valid.* (or validation.*) and test.*."
        case .ambiguousSplit(let folder, let split, let files):
            return "\(folder): several \(split) files (\(files.joined(separator: ", "))). Keep one per split."
        case .unreadable(let path, let reason):
            return "\(path): \(reason). Check the path and that the file is complete."
        case .noRecords(let file):
            return "\(file): no records (the file holds only blank lines, an empty array or a header). "
                + "Is this the right file?"
        case .invalidJSON(let file, let line, let message):
            return "\(file):\(line): invalid JSON: \(message). Each line of a .jsonl file must be one complete "
                + "JSON object. " + Self.skipHint
        case .notAnObject(let file, let line, let found):
            return "\(file):\(line): expected a JSON object, found \(found). " + Self.formatsHint
        case .unrecognizedRecord(let file, let line, let keys):
            return "\(file):\(line): no known fields (the record has: \(keys.joined(separator: ", "))). "
                + Self.formatsHint + " Map other names with columns (e.g. --columns instruction=question)."
        case .missingField(let file, let line, let field, let format):
            return "\(file):\(line): field '\(field)' is missing (the record looks like \(format) data). "
                + Self.skipHint
        case .wrongType(let file, let line, let field, let expected, let found):
            return "\(file):\(line): field '\(field)' should be \(expected), found \(found). " + Self.skipHint
        case .emptyField(let file, let line, let field):
            return "\(file):\(line): field '\(field)' is empty; there is nothing to learn from. " + Self.skipHint
        case .unknownRole(let file, let line, let field, let role):
            return "\(file):\(line): \(field): unknown role '\(role)'. Roles are system, user, assistant "
                + "(ShareGPT: system, human, gpt). " + Self.skipHint
        case .noAssistantTurn(let file, let line):
            return "\(file):\(line): the conversation has no assistant turn, so no token would be trained. "
                + Self.skipHint
        case .invalidCSV(let file, let line, let message):
            return "\(file):\(line): invalid CSV: \(message). Quote fields that hold commas, quotes or newlines "
                + "(\"a \"\"quoted\"\" word, and a comma\")."
        case .csvFieldCount(let file, let line, let expected, let found):
            return "\(file):\(line): \(found) fields, but the header has \(expected). Quote fields that hold "
                + "commas. " + Self.skipHint
        case .invalidOption(let name, let value, let hint):
            return "option \(name) = \(value): \(hint)"
        case .chatTemplate(let message):
            return "chat template: \(message)"
        case .emptySplit(let split, let reason):
            return "the \(split) split has no examples: \(reason)"
        }
    }
}
