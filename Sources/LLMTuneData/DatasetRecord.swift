// One parsed training record and the per-record format detection. The formats are those users already
// have: plain `text` (mlx-lm), `prompt`/`completion` (OpenAI / mlx-lm completions), Stanford Alpaca
// `instruction`/`input`/`output` (LLaMA-Factory's alpaca format), chat `messages` [{role, content}]
// (OpenAI / mlx-lm chat) and ShareGPT `conversations` [{from, value}] (LLaMA-Factory's sharegpt format).
// A `columns` mapping (canonical name -> the file's field name) is applied before detection.

import LLMTuneTokenizers

/// The shape of a record, as detected from its fields.
public enum RecordFormat: String, Codable, Sendable, CaseIterable {
    case text
    case promptCompletion = "prompt_completion"
    case alpaca
    case messages
    case shareGPT = "sharegpt"
}

/// What a record says, independent of the file format it came from.
public enum RecordContent: Sendable, Equatable {
    /// Plain text: every token is a target.
    case text(String)
    /// A prompt and its completion (plain concatenation, or a user/assistant exchange).
    case promptCompletion(prompt: String, completion: String)
    /// Alpaca: instruction, optional input (empty when absent), output.
    case instruction(instruction: String, input: String, output: String)
    /// A conversation with roles normalized to system / user / assistant.
    case chat([ChatMessage])
}

/// One record of a data file, with where it came from.
public struct DatasetRecord: Sendable, Equatable {
    public var content: RecordContent
    public var format: RecordFormat
    /// The file name (last path component) it was read from.
    public var file: String
    /// The 1-based line of the record's first character.
    public var line: Int

    public init(content: RecordContent, format: RecordFormat, file: String = "", line: Int = 0) {
        self.content = content
        self.format = format
        self.file = file
        self.line = line
    }
}

extension DatasetLoader {
    /// A parsed record (`DatasetRecord`).
    public typealias Record = DatasetRecord
}

/// Turns one JSON object (or CSV row, as an object of strings) into a record.
struct RecordDecoder {
    let columns: [String: String]
    let file: String

    private func key(_ canonical: String) -> String { columns[canonical] ?? canonical }

    func decode(_ value: JSONValue, line: Int) throws -> DatasetRecord {
        guard let object = value.object else {
            throw DatasetError.notAnObject(file: file, line: line, found: Self.typeName(value))
        }
        func make(_ content: RecordContent, _ format: RecordFormat) -> DatasetRecord {
            DatasetRecord(content: content, format: format, file: file, line: line)
        }
        if let messages = object[key("messages")], !messages.isNull {
            return make(.chat(try conversation(messages, field: key("messages"), line: line)), .messages)
        }
        if let conversations = object[key("conversations")], !conversations.isNull {
            return make(.chat(try conversation(conversations, field: key("conversations"), line: line)), .shareGPT)
        }
        if has(object, "instruction") || (has(object, "output") && !has(object, "prompt")) {
            let instruction = try string(object, "instruction", format: "Alpaca", line: line, allowEmpty: false)
            let input = try optionalString(object, "input", line: line) ?? ""
            let output = try string(object, "output", format: "Alpaca", line: line, allowEmpty: false)
            return make(.instruction(instruction: instruction, input: input, output: output), .alpaca)
        }
        if has(object, "prompt") || has(object, "completion") {
            let prompt = try string(object, "prompt", format: "prompt/completion", line: line, allowEmpty: true)
            let completion = try string(object, "completion", format: "prompt/completion", line: line,
                                        allowEmpty: false)
            return make(.promptCompletion(prompt: prompt, completion: completion), .promptCompletion)
        }
        if has(object, "text") {
            return make(.text(try string(object, "text", format: "text", line: line, allowEmpty: false)), .text)
        }
        throw DatasetError.unrecognizedRecord(file: file, line: line, keys: object.keys.sorted())
    }

    private func has(_ object: [String: JSONValue], _ canonical: String) -> Bool {
        guard let value = object[key(canonical)] else { return false }
        return !value.isNull
    }

    private func string(_ object: [String: JSONValue], _ canonical: String, format: String, line: Int,
                        allowEmpty: Bool) throws -> String {
        let field = key(canonical)
        guard let value = object[field], !value.isNull else {
            throw DatasetError.missingField(file: file, line: line, field: field, format: format)
        }
        guard let text = value.string else {
            throw DatasetError.wrongType(file: file, line: line, field: field, expected: "a string",
                                         found: Self.typeName(value))
        }
        if !allowEmpty && text.allSatisfy(\.isWhitespace) {
            throw DatasetError.emptyField(file: file, line: line, field: field)
        }
        return text
    }

    private func optionalString(_ object: [String: JSONValue], _ canonical: String, line: Int) throws -> String? {
        let field = key(canonical)
        guard let value = object[field], !value.isNull else { return nil }
        guard let text = value.string else {
            throw DatasetError.wrongType(file: file, line: line, field: field, expected: "a string",
                                         found: Self.typeName(value))
        }
        return text
    }

    /// Messages in either style ({role, content} or ShareGPT's {from, value}), roles normalized.
    private func conversation(_ value: JSONValue, field: String, line: Int) throws -> [ChatMessage] {
        guard let items = value.array else {
            throw DatasetError.wrongType(file: file, line: line, field: field, expected: "an array of messages",
                                         found: Self.typeName(value))
        }
        if items.isEmpty { throw DatasetError.emptyField(file: file, line: line, field: field) }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let itemField = "\(field)[\(index)]"
            guard let object = item.object else {
                throw DatasetError.wrongType(file: file, line: line, field: itemField,
                                             expected: "an object {role, content}", found: Self.typeName(item))
            }
            let roleKey = object[key("role")] != nil ? key("role") : key("from")
            let contentKey = object[key("content")] != nil ? key("content") : key("value")
            guard let roleValue = object[roleKey] else {
                throw DatasetError.missingField(file: file, line: line, field: itemField + ".role",
                                                format: "chat")
            }
            guard let role = roleValue.string else {
                throw DatasetError.wrongType(file: file, line: line, field: itemField + "." + roleKey,
                                             expected: "a string", found: Self.typeName(roleValue))
            }
            guard let normalized = Self.normalizedRole(role) else {
                throw DatasetError.unknownRole(file: file, line: line, field: itemField + "." + roleKey, role: role)
            }
            guard let contentValue = object[contentKey] else {
                throw DatasetError.missingField(file: file, line: line, field: itemField + ".content",
                                                format: "chat")
            }
            guard let content = contentValue.string else {
                throw DatasetError.wrongType(file: file, line: line, field: itemField + "." + contentKey,
                                             expected: "a string", found: Self.typeName(contentValue))
            }
            if normalized == "assistant" && content.allSatisfy(\.isWhitespace) {
                throw DatasetError.emptyField(file: file, line: line, field: itemField + "." + contentKey)
            }
            messages.append(ChatMessage(role: normalized, content: content))
        }
        guard messages.contains(where: { $0.role == "assistant" }) else {
            throw DatasetError.noAssistantTurn(file: file, line: line)
        }
        return messages
    }

    /// system / user / assistant, also from ShareGPT's human / gpt and a few common aliases.
    static func normalizedRole(_ role: String) -> String? {
        switch role.lowercased() {
        case "system": return "system"
        case "user", "human": return "user"
        case "assistant", "gpt", "model", "bot": return "assistant"
        default: return nil
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
