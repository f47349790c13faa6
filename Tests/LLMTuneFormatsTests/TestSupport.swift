// Shared helpers for the format tests: fixture paths (read beside this file via #filePath), temporary
// directories, hex decoding, a tiny deterministic random generator and a raw GGUF byte builder for
// hand-made malformed files.

import Foundation
import XCTest
@testable import LLMTuneFormats

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(name)))
    }
}

/// A fresh temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-formats-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.utf8.makeIterator()
    while let a = it.next(), let b = it.next() {
        out.append(UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16) ?? 0)
    }
    return out
}

/// splitmix64: a seeded generator so corruption tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Raw GGUF bytes, field by field, for files no correct writer would make.
struct RawGGUF {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    mutating func header(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
        bytes.append(contentsOf: Array("GGUF".utf8)); u32(version); u64(tensors); u64(keys)
    }
    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name); u32(UInt32(dims.count)); dims.forEach { u64($0) }; u32(type); u64(offset)
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: [UInt8](repeating: 0, count: n)) }

    func parse(name: String = "raw.gguf") throws -> GGUFFile {
        try GGUFFile(file: MappedFile(copying: bytes, name: name))
    }
}

/// Asserts that `body` throws a FormatError whose description contains every string of `parts`.
func assertFormatError<T>(_ body: @autoclosure () throws -> T, contains parts: [String],
                          file: StaticString = #filePath, line: UInt = #line,
                          _ check: (FormatError) -> Bool = { _ in true }) {
    do {
        _ = try body()
        XCTFail("expected a FormatError containing \(parts)", file: file, line: line)
    } catch let error as FormatError {
        let text = error.description
        for p in parts {
            XCTAssertTrue(text.contains(p), "'\(p)' missing from: \(text)", file: file, line: line)
        }
        XCTAssertTrue(text.contains("Hint:"), "no hint in: \(text)", file: file, line: line)
        XCTAssertTrue(check(error), "unexpected case: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected FormatError, got \(error)", file: file, line: line)
    }
}
