// Reading a data file into records: JSONL (one object per line; a .json file that starts with an object is
// read the same way), JSON (an array of objects; each element is parsed on its own so an error names the
// element's line), CSV (a header row naming the fields, then one record per row). Per-record errors are
// thrown, or collected when `skipBadRecords` is set; file-level errors are always thrown.

import Foundation
import LLMTuneTokenizers

/// The records of one file, with the records that were skipped.
public struct ParsedFile: Sendable {
    public var file: String
    public var records: [DatasetRecord]
    /// Errors of skipped records (only with `skipBadRecords`).
    public var badRecords: [DatasetError]
}

enum RecordReader {
    static func read(_ url: URL, options: DatasetOptions) throws -> ParsedFile {
        let name = url.lastPathComponent
        guard FileManager.default.fileExists(atPath: url.path) else { throw DatasetError.notFound(path: url.path) }
        let kind = url.pathExtension.lowercased()
        guard ["jsonl", "json", "csv"].contains(kind) else { throw DatasetError.unsupportedFile(path: url.path) }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw DatasetError.unreadable(path: url.path, reason: "cannot read the file")
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw DatasetError.unreadable(path: url.path, reason: "the file is empty")
        }
        let decoder = RecordDecoder(columns: options.columns, file: name)
        var parsed = ParsedFile(file: name, records: [], badRecords: [])
        func add(_ make: () throws -> DatasetRecord) throws {
            do {
                parsed.records.append(try make())
            } catch let error as DatasetError where error.isRecordError && options.skipBadRecords {
                parsed.badRecords.append(error)
            }
        }
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        switch kind {
        case "csv":
            let rows = try CSVReader.rows(body, file: name)
            guard let header = rows.first else { throw DatasetError.noRecords(file: name) }
            let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
            for row in rows.dropFirst() {
                try add {
                    guard row.fields.count == names.count else {
                        throw DatasetError.csvFieldCount(file: name, line: row.line, expected: names.count,
                                                         found: row.fields.count)
                    }
                    var object: [String: JSONValue] = [:]
                    for (key, value) in zip(names, row.fields) where !value.isEmpty { object[key] = .string(value) }
                    return try decoder.decode(.object(object), line: row.line)
                }
            }
        default:
            let first = body.first { !isSpace($0) }
            if kind == "json" && first == UInt8(ascii: "[") {
                for element in try arrayElements(body, file: name) {
                    try add {
                        let value = try parseJSON(Array(body[element.range]), file: name, line: element.line)
                        return try decoder.decode(value, line: element.line)
                    }
                }
            } else {
                var lineNumber = 0
                var start = 0
                while start <= body.count {
                    let end = body[start...].firstIndex(of: 0x0A) ?? body.count
                    lineNumber += 1
                    let line = body[start..<end]
                    if !line.allSatisfy(isSpace) {
                        let number = lineNumber
                        try add {
                            try decoder.decode(try parseJSON(Array(line), file: name, line: number), line: number)
                        }
                    }
                    start = end + 1
                }
            }
        }
        if parsed.records.isEmpty && parsed.badRecords.isEmpty { throw DatasetError.noRecords(file: name) }
        return parsed
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func parseJSON(_ bytes: [UInt8], file: String, line: Int) throws -> JSONValue {
        do {
            return try JSONValue.parse(bytes, source: file)
        } catch let TokenizerError.invalidJSON(_, offset, message) {
            throw DatasetError.invalidJSON(file: file, line: line, message: "\(message) (at character \(offset + 1))")
        } catch {
            throw DatasetError.invalidJSON(file: file, line: line, message: "\(error)")
        }
    }

    /// Byte ranges and first lines of the elements of a top-level JSON array (strings and nesting tracked;
    /// each element is parsed separately afterwards).
    static func arrayElements(_ bytes: [UInt8], file: String) throws -> [(range: Range<Int>, line: Int)] {
        var elements: [(range: Range<Int>, line: Int)] = []
        var i = 0
        var line = 1
        let n = bytes.count
        func skipSpace() {
            while i < n && isSpace(bytes[i]) {
                if bytes[i] == 0x0A { line += 1 }
                i += 1
            }
        }
        skipSpace()
        guard i < n && bytes[i] == UInt8(ascii: "[") else {
            throw DatasetError.invalidJSON(file: file, line: line, message: "expected '[' (a JSON array of records)")
        }
        i += 1
        skipSpace()
        if i < n && bytes[i] == UInt8(ascii: "]") { return [] }
        while true {
            skipSpace()
            let start = i, startLine = line
            var depth = 0
            var inString = false
            scan: while i < n {
                let b = bytes[i]
                if inString {
                    if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { inString = false }
                    else if b == 0x0A { line += 1 }
                } else {
                    switch b {
                    case UInt8(ascii: "\""): inString = true
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        if depth == 0 { break scan }
                        depth -= 1
                    case UInt8(ascii: ","):
                        if depth == 0 { break scan }
                    case 0x0A: line += 1
                    default: break
                    }
                }
                i += 1
            }
            guard i < n else {
                throw DatasetError.invalidJSON(file: file, line: startLine,
                                               message: "the array is not closed (a missing ']' or '}'?)")
            }
            var end = i
            while end > start && isSpace(bytes[end - 1]) { end -= 1 }
            elements.append((start..<end, startLine))
            if bytes[i] == UInt8(ascii: "]") {
                i += 1
                skipSpace()
                guard i == n else {
                    throw DatasetError.invalidJSON(file: file, line: line, message: "text after the closing ']'")
                }
                return elements
            }
            i += 1  // ','
        }
    }
}
