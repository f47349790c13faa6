// SHA-256 (FIPS 180-4, section 6.2), streaming, used to verify downloaded models and data sets.
// Written here so the package needs no crypto dependency; checked against the FIPS / NIST test vectors.
import Foundation

/// Incremental SHA-256: `update` any number of times, then read `finalize()` / `hexDigest()`.
public struct SHA256: Sendable {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// Bytes of a partial block waiting for the rest (fewer than 64).
    private var pending: [UInt8] = []
    private var byteCount: UInt64 = 0

    public init() {}

    /// Hashes more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        byteCount &+= UInt64(remaining)
        if !pending.isEmpty {
            let take = min(64 - pending.count, remaining)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: take))
            p += take
            remaining -= take
            if pending.count < 64 { return }
            let block = pending
            block.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
            pending.removeAll(keepingCapacity: true)
        }
        let blocks = remaining / 64
        if blocks > 0 {
            compress(p, blocks: blocks)
            p += blocks * 64
            remaining -= blocks * 64
        }
        if remaining > 0 {
            pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: remaining))
        }
    }

    /// Hashes more bytes.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest of everything so far (pads a copy: the hasher can keep being updated).
    public func finalize() -> [UInt8] {
        var copy = self
        let bitLength = byteCount &* 8
        // 0x80, zeros up to 56 mod 64, then the 64-bit big-endian bit length.
        let zeros = (119 - pending.count) % 64
        var tail: [UInt8] = [0x80] + [UInt8](repeating: 0, count: zeros)
        for shift in stride(from: 56, through: 0, by: -8) {
            tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        copy.update(tail)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        let (a, b, c, d, e, f, g, hh) = copy.h
        for word in [a, b, c, d, e, f, g, hh] {
            out += [UInt8(truncatingIfNeeded: word >> 24), UInt8(truncatingIfNeeded: word >> 16),
                    UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
        }
        return out
    }

    /// The digest as 64 lower-case hex digits.
    public func hexDigest() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var s: [UInt8] = []
        for byte in finalize() {
            s.append(digits[Int(byte >> 4)])
            s.append(digits[Int(byte & 15)])
        }
        return String(decoding: s, as: UTF8.self)
    }

    /// SHA-256 of `bytes`, in hex.
    public static func hex(of bytes: [UInt8]) -> String {
        var s = SHA256()
        s.update(bytes)
        return s.hexDigest()
    }

    /// SHA-256 (hex) and size of a file, read in 4 MiB chunks.
    public static func hexOfFile(at url: URL) throws -> (sha256: String, size: Int64) {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw HubError.io(path: url.path, message: "cannot open for hashing (\(error.localizedDescription))")
        }
        defer { try? handle.close() }
        var s = SHA256()
        var size: Int64 = 0
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 4 << 20)
            } catch {
                throw HubError.io(path: url.path, message: "read failed (\(error.localizedDescription))")
            }
            guard let chunk, !chunk.isEmpty else { break }
            size += Int64(chunk.count)
            chunk.withUnsafeBytes { s.update($0) }
        }
        return (s.hexDigest(), size)
    }

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    /// The compression function over `blocks` consecutive 64-byte blocks.
    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        SHA256.k.withUnsafeBufferPointer { kp in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                var (h0, h1, h2, h3, h4, h5, h6, h7) = h
                for blk in 0..<blocks {
                    let base = data + blk * 64
                    for t in 0..<16 {
                        w[t] = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
                    }
                    for t in 16..<64 {
                        let x = w[t - 15], y = w[t - 2]
                        let s0 = SHA256.rotr(x, 7) ^ SHA256.rotr(x, 18) ^ (x >> 3)
                        let s1 = SHA256.rotr(y, 17) ^ SHA256.rotr(y, 19) ^ (y >> 10)
                        w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                    }
                    var (a, b, c, d, e, f, g, hh) = (h0, h1, h2, h3, h4, h5, h6, h7)
                    for t in 0..<64 {
                        let s1 = SHA256.rotr(e, 6) ^ SHA256.rotr(e, 11) ^ SHA256.rotr(e, 25)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = hh &+ s1 &+ ch &+ kp[t] &+ w[t]
                        let s0 = SHA256.rotr(a, 2) ^ SHA256.rotr(a, 13) ^ SHA256.rotr(a, 22)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        hh = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ s0 &+ maj
                    }
                    h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= hh
                }
                h = (h0, h1, h2, h3, h4, h5, h6, h7)
            }
        }
    }
}
