// A CSV reader following RFC 4180: comma-separated fields, double-quoted fields that may hold commas,
// newlines and doubled quotes (""), CRLF or LF line ends, an optional UTF-8 byte-order mark. A quote inside
// an unquoted field is kept literally (as Python's csv module does); text after a closing quote is an error.

/// One CSV row with the 1-based line its first field starts on.
public struct CSVRow: Sendable, Equatable {
    public var line: Int
    public var fields: [String]
}

/// Parses CSV text into rows.
public enum CSVReader {
    /// The rows of `bytes` (UTF-8). Blank lines are skipped. `file` names the source in errors.
    public static func rows(_ bytes: [UInt8], file: String) throws -> [CSVRow] {
        var rows: [CSVRow] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var rowLine = 1
        var i = 0
        let n = bytes.count
        if n >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"),
            carriageReturn = UInt8(ascii: "\r")

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRow() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { rows.append(CSVRow(line: rowLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }

        var atFieldStart = true
        while i < n {
            let byte = bytes[i]
            if atFieldStart && byte == quote {
                // A quoted field: up to the closing quote; "" is a quote.
                let openLine = line
                i += 1
                var closed = false
                while i < n {
                    let b = bytes[i]
                    if b == quote {
                        if i + 1 < n && bytes[i + 1] == quote {
                            field.append(quote)
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    if b == newline { line += 1 }
                    field.append(b)
                    i += 1
                }
                guard closed else {
                    throw DatasetError.invalidCSV(file: file, line: openLine,
                                                  message: "a quoted field is never closed")
                }
                // After the closing quote: a separator, a line end or the end of the file.
                if i < n && bytes[i] == carriageReturn { i += 1 }
                if i < n && bytes[i] != comma && bytes[i] != newline {
                    throw DatasetError.invalidCSV(file: file, line: line,
                                                  message: "text after a closing quote (write \"\" for a quote "
                                                      + "inside a quoted field)")
                }
                atFieldStart = false
                continue
            }
            atFieldStart = false
            switch byte {
            case comma:
                endField()
                atFieldStart = true
            case newline:
                endRow()
                line += 1
                rowLine = line
                atFieldStart = true
            case carriageReturn where i + 1 < n && bytes[i + 1] == newline:
                break
            default:
                field.append(byte)
            }
            i += 1
        }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }
}
