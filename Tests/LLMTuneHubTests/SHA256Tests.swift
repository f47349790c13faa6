// SHA-256 against the FIPS 180-4 / NIST vectors and Python's hashlib (lengths around the padding boundaries).
import Foundation
import XCTest
@testable import LLMTuneHub

final class SHA256Tests: XCTestCase {
    func testFIPSVectors() {
        XCTAssertEqual(SHA256.hex(of: []), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testOneMillionA() {
        XCTAssertEqual(SHA256.hex(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Lengths around the 55 / 56 / 64 byte padding boundaries (expected values from Python's hashlib).
    func testPaddingBoundaries() {
        let data = (0..<1000).map { UInt8($0 % 251) }
        let expected: [(Int, String)] = [
            (55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"),
            (56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"),
            (63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"),
            (64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"),
            (65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"),
            (119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"),
            (120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"),
            (1000, "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d"),
        ]
        for (n, hex) in expected {
            XCTAssertEqual(SHA256.hex(of: Array(data[0..<n])), hex, "length \(n)")
        }
    }

    /// Feeding the same bytes in uneven pieces gives the same digest; finalize does not disturb the state.
    func testStreamingMatchesOneShot() {
        let data = (0..<1000).map { UInt8($0 % 251) }
        for pieces in [[1, 999], [63, 1, 64, 872], [7, 7, 7, 979], [500, 500], [65, 65, 65, 805]] {
            var s = SHA256()
            var start = 0
            for count in pieces {
                s.update(Array(data[start..<start + count]))
                start += count
                _ = s.finalize()
            }
            XCTAssertEqual(s.hexDigest(), "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d",
                           "pieces \(pieces)")
        }
    }

    func testFileHash() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("abc".utf8).write(to: url)
        let (sha, size) = try SHA256.hexOfFile(at: url)
        XCTAssertEqual(size, 3)
        XCTAssertEqual(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertThrowsError(try SHA256.hexOfFile(at: url.appendingPathExtension("missing")))
    }
}
