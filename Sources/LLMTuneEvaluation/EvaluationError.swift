// Errors of evaluation: task files a user wrote or downloaded, requests that cannot be scored, bad options.
import Foundation

/// Everything in an evaluation run a user can get wrong, with where it happened and what to do.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// A task file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A task file's content is wrong. `example` is the 0-based example index (JSONL: counting non-empty lines),
    /// nil for the file as a whole; `line` the 1-based line of a JSONL file.
    case invalidTask(file: String, example: Int?, line: Int? = nil, problem: String, hint: String)
    /// A scoring request cannot be run.
    case invalidRequest(index: Int, problem: String)
    /// An option value is out of range.
    case invalidOption(name: String, problem: String)
    /// The task needs something the model does not have (e.g. a tokenizer).
    case unsupported(String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read task file \(path): \(reason)"
        case .invalidTask(let file, let example, let line, let problem, let hint):
            var place = example.map { "\(file), example \($0)" } ?? file
            if let line { place += " (line \(line))" }
            return "invalid task \(place): \(problem)" + (hint.isEmpty ? "" : " (\(hint))")
        case .invalidRequest(let index, let problem):
            return "scoring request \(index): \(problem)"
        case .invalidOption(let name, let problem):
            return "option \(name): \(problem)"
        case .unsupported(let what):
            return what
        }
    }
}
