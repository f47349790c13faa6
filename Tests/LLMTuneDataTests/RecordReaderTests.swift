// Parsing: every format and file kind, column mapping, mixed files, CSV quoting, errors with file:line.

import Foundation
import XCTest
@testable import LLMTuneData
import LLMTuneTokenizers

final class RecordReaderTests: XCTestCase {
    func testAlpacaJSONL() throws {
        let records = try DatasetLoader.readRecords(DataFixtures.url("alpaca.jsonl"))
        XCTAssertEqual(records.map(\.content), [
            .instruction(instruction: "Give the opposite of hot.", input: "", output: "cold"),
            .instruction(instruction: "Add the numbers.", input: "2 and 3", output: "5"),
            .instruction(instruction: "Name a color.", input: "", output: "blue"),
        ])
        XCTAssertEqual(records.map(\.line), [1, 2, 4])  // line 3 is blank
        XCTAssertEqual(Set(records.map(\.format)), [.alpaca])
        XCTAssertEqual(records[0].file, "alpaca.jsonl")
    }

    func testChatMessagesJSONL() throws {
        let records = try DatasetLoader.readRecords(DataFixtures.url("chat.jsonl"))
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[1].content, .chat([.system("Be brief."), .user("What is 2+2?"), .assistant("4"),
                                                  .user("And 3+3?"), .assistant("6")]))
        XCTAssertEqual(records[1].format, .messages)
    }

    func testShareGPTJSONArrayWithElementLines() throws {
        let records = try DatasetLoader.readRecords(DataFixtures.url("sharegpt.json"))
        XCTAssertEqual(records.map(\.format), [.shareGPT, .shareGPT])
        XCTAssertEqual(records.map(\.line), [2, 8])
        XCTAssertEqual(records[1].content, .chat([.system("You answer in one word."), .user("Sky color?"),
                                                  .assistant("blue")]))
    }

    func testCSVQuotingCommasNewlinesAndQuotes() throws {
        let records = try DatasetLoader.readRecords(DataFixtures.url("completions.csv"))
        XCTAssertEqual(records.map(\.content), [
            .promptCompletion(prompt: "Translate: cat ->", completion: " chat"),
            .promptCompletion(prompt: "plain prompt", completion: " plain answer"),
            .promptCompletion(prompt: "A prompt, with a comma", completion: "An answer with \"quotes\""),
            .promptCompletion(prompt: "A prompt\nover two lines", completion: "done"),
        ])
        XCTAssertEqual(records.map(\.line), [2, 3, 4, 5])
    }

    func testCSVColumnMapping() throws {
        let options = DatasetOptions(columns: ["instruction": "question", "output": "answer"])
        let records = try DatasetLoader.readRecords(DataFixtures.url("mapped.csv"), options: options)
        XCTAssertEqual(records.map(\.content), [
            .instruction(instruction: "What is one plus one?", input: "", output: "two"),
            .instruction(instruction: "Capital of France?", input: "", output: "Paris"),
        ])
        // Without the mapping the fields are unknown.
        let error = datasetError { try DatasetLoader.readRecords(DataFixtures.url("mapped.csv")) }
        XCTAssertEqual(error, .unrecognizedRecord(file: "mapped.csv", line: 2, keys: ["answer", "question", "source"]))
    }

    func testMixedFormatsInOneFile() throws {
        let records = try DatasetLoader.readRecords(DataFixtures.url("mixed.jsonl"))
        XCTAssertEqual(records.map(\.format), [.text, .promptCompletion, .alpaca, .messages, .shareGPT, .text])
        XCTAssertEqual(records[4].content, .chat([.user("Up?"), .assistant("Down")]))
        XCTAssertEqual(records[1].content, .promptCompletion(prompt: "Q: 1+1?\nA:", completion: " 2"))
    }

    func testBadLinesNameFileLineAndField() throws {
        let url = try DataFixtures.url("bad.jsonl")
        // Fails on the first bad line.
        guard case .invalidJSON(let file, let line, _)? = datasetError({ try DatasetLoader.readRecords(url) }) else {
            return XCTFail("expected invalidJSON")
        }
        XCTAssertEqual(file, "bad.jsonl")
        XCTAssertEqual(line, 3)

        let parsed = try DatasetLoader.parse(url, options: DatasetOptions(skipBadRecords: true))
        XCTAssertEqual(parsed.records.map(\.line), [1, 2, 5, 10])
        XCTAssertEqual(parsed.badRecords.map(\.location), ["bad.jsonl:3", "bad.jsonl:4", "bad.jsonl:6", "bad.jsonl:7",
                                                            "bad.jsonl:8", "bad.jsonl:9"])
        XCTAssertEqual(parsed.badRecords[1], .missingField(file: "bad.jsonl", line: 4, field: "completion",
                                                           format: "prompt/completion"))
        XCTAssertEqual(parsed.badRecords[2], .unknownRole(file: "bad.jsonl", line: 6, field: "messages[1].role",
                                                          role: "robot"))
        XCTAssertEqual(parsed.badRecords[3], .emptyField(file: "bad.jsonl", line: 7, field: "completion"))
        XCTAssertEqual(parsed.badRecords[4], .wrongType(file: "bad.jsonl", line: 8, field: "text", expected: "a string",
                                                        found: "a number"))
        XCTAssertEqual(parsed.badRecords[5], .notAnObject(file: "bad.jsonl", line: 9, found: "an array"))
        // Messages name the place and give a hint.
        let text = parsed.badRecords[2].description
        XCTAssertTrue(text.hasPrefix("bad.jsonl:6: messages[1].role: unknown role 'robot'"), text)
        XCTAssertTrue(text.contains("--skip-bad-records"), text)
    }

    func testChatErrors() throws {
        let url = try DataFixtures.temporaryFile("c.jsonl", """
            {"messages": [{"role": "user", "content": "only a question"}]}
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "  "}]}
            {"messages": "hello"}
            {"messages": [{"role": "user", "content": ["a"]}, {"role": "assistant", "content": "b"}]}
            {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt"}]}
            """)
        let bad = try DatasetLoader.parse(url, options: DatasetOptions(skipBadRecords: true)).badRecords
        XCTAssertEqual(bad, [
            .noAssistantTurn(file: "c.jsonl", line: 1),
            .emptyField(file: "c.jsonl", line: 2, field: "messages[1].content"),
            .wrongType(file: "c.jsonl", line: 3, field: "messages", expected: "an array of messages",
                       found: "a string"),
            .wrongType(file: "c.jsonl", line: 4, field: "messages[0].content", expected: "a string",
                       found: "an array"),
            .missingField(file: "c.jsonl", line: 5, field: "conversations[1].content", format: "chat"),
        ])
    }

    func testJSONArrayErrorsNameTheElementLine() throws {
        let url = try DataFixtures.temporaryFile("a.json", """
            [
              {"text": "fine"},
              {"text": "broken",
               "x": tru},
              {"text": "fine too"}
            ]
            """)
        XCTAssertEqual(datasetError { try DatasetLoader.readRecords(url) }?.location, "a.json:3")
        let parsed = try DatasetLoader.parse(url, options: DatasetOptions(skipBadRecords: true))
        XCTAssertEqual(parsed.records.map(\.line), [2, 5])
        XCTAssertEqual(parsed.badRecords.count, 1)
        let unclosed = try DataFixtures.temporaryFile("u.json", "[\n{\"text\": \"a\"},\n{\"text\": \"b\"\n")
        guard case .invalidJSON(_, 3, _)? = datasetError({ try DatasetLoader.readRecords(unclosed) }) else {
            return XCTFail("expected invalidJSON at line 3")
        }
    }

    func testEmptyAndRecordlessFiles() throws {
        let empty = try DataFixtures.temporaryFile("e.jsonl", "\n  \n")
        guard case .unreadable? = datasetError({ try DatasetLoader.readRecords(empty) }) else {
            return XCTFail("expected unreadable (empty)")
        }
        let emptyArray = try DataFixtures.temporaryFile("e.json", "[ ]")
        XCTAssertEqual(datasetError { try DatasetLoader.readRecords(emptyArray) }, .noRecords(file: "e.json"))
        let headerOnly = try DataFixtures.temporaryFile("h.csv", "prompt,completion\n")
        XCTAssertEqual(datasetError { try DatasetLoader.readRecords(headerOnly) }, .noRecords(file: "h.csv"))
        let allBad = try DataFixtures.temporaryFile("b.jsonl", "{\"x\": 1}\n")
        let skipped = try DatasetLoader.parse(allBad, options: DatasetOptions(skipBadRecords: true))
        XCTAssertEqual(skipped.badRecords.count, 1)
        let missing = URL(fileURLWithPath: "/nonexistent/data.jsonl")
        XCTAssertEqual(datasetError { try DatasetLoader.readRecords(missing) }, .notFound(path: missing.path))
        let text = try DataFixtures.temporaryFile("d.txt", "hello")
        XCTAssertEqual(datasetError { try DatasetLoader.readRecords(text) }, .unsupportedFile(path: text.path))
    }

    func testCSVReaderEdgeCases() throws {
        let bytes = Array("\u{FEFF}a,b\r\n\"x \"\"y\"\", z\",\"multi\r\nline\"\r\n\r\nlast,\n".utf8)
        let rows = try CSVReader.rows(bytes, file: "t.csv")
        XCTAssertEqual(rows, [
            CSVRow(line: 1, fields: ["a", "b"]),
            CSVRow(line: 2, fields: ["x \"y\", z", "multi\r\nline"]),
            CSVRow(line: 5, fields: ["last", ""]),
        ])
        XCTAssertEqual(datasetError { try CSVReader.rows(Array("a\n\"open,b\n".utf8), file: "t.csv") },
                       .invalidCSV(file: "t.csv", line: 2, message: "a quoted field is never closed"))
        guard case .invalidCSV(_, 1, _)? = datasetError({ try CSVReader.rows(Array("\"a\"b,c\n".utf8), file: "t.csv") })
        else { return XCTFail("expected invalidCSV for text after a closing quote") }
        let short = try DataFixtures.temporaryFile("s.csv", "prompt,completion\nonly one field\n")
        XCTAssertEqual(datasetError { try DatasetLoader.readRecords(short) },
                       .csvFieldCount(file: "s.csv", line: 2, expected: 2, found: 1))
    }

    func testCRLFAndByteOrderMark() throws {
        let url = try DataFixtures.temporaryFile("w.jsonl", "\u{FEFF}{\"text\": \"a\"}\r\n\r\n{\"text\": \"b\"}\r\n")
        XCTAssertEqual(try DatasetLoader.readRecords(url).map(\.content), [.text("a"), .text("b")])
        XCTAssertEqual(try DatasetLoader.readRecords(url).map(\.line), [1, 3])
        let csv = try DataFixtures.temporaryFile("w.csv", "\u{FEFF}text\r\n\"x\"\r\ny\r\n")
        XCTAssertEqual(try DatasetLoader.readRecords(csv).map(\.content), [.text("x"), .text("y")])
    }

    func testJSONFileWithOneObjectPerLineIsReadAsJSONL() throws {
        let url = try DataFixtures.temporaryFile("lines.json", "{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n")
        XCTAssertEqual(try DatasetLoader.readRecords(url).map(\.line), [1, 3])
    }

    func testColumnMappingParsing() throws {
        XCTAssertEqual(try DatasetOptions.parseColumns("instruction=question, output = answer"),
                       ["instruction": "question", "output": "answer"])
        XCTAssertNotNil(datasetError { try DatasetOptions.parseColumns("instruction") })
        guard case .invalidOption(_, _, let hint)? = datasetError({ try DatasetOptions.parseColumns("answer=x") })
        else { return XCTFail("expected invalidOption") }
        XCTAssertTrue(hint.contains("known: text, prompt"), hint)
        // ShareGPT-style keys can be mapped too.
        let url = try DataFixtures.temporaryFile("m.jsonl",
                                                 "{\"chat\": [{\"speaker\": \"user\", \"text\": \"q\"}, "
                                                 + "{\"speaker\": \"assistant\", \"text\": \"a\"}]}\n")
        let options = DatasetOptions(columns: ["messages": "chat", "role": "speaker", "content": "text"])
        XCTAssertEqual(try DatasetLoader.readRecords(url, options: options).map(\.content),
                       [.chat([.user("q"), .assistant("a")])])
    }

    func testAFileOfOnlyBadRecordsFailsEvenWhenSkipping() throws {
        let url = try DataFixtures.temporaryFile("bad.jsonl", "{\"x\": 1}\n{\"y\": 2}\n")
        let error = datasetError {
            try DatasetLoader.load(url, tokenizer: DataFixtures.tokenizer(), options: DatasetOptions(skipBadRecords: true))
        }
        guard case .emptySplit(_, let reason)? = error else { return XCTFail("expected emptySplit") }
        XCTAssertTrue(reason.contains("all 2 records of bad.jsonl are malformed"), reason)
    }
}
