// A bounds-checked little-endian cursor over a MappedFile. Every read checks the remaining length first
// and throws FormatError.truncated naming the item and its byte offset; nothing here can trap on a
// corrupt file.

struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    let name: String
    private(set) var offset: Int

    init(_ file: MappedFile, offset: Int = 0) {
        base = file.base
        count = file.count
        name = file.name
        self.offset = offset
    }

    var remaining: Int { count - offset }

    /// Throws unless `n` bytes remain.
    @inline(__always)
    func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > count - offset {
            throw FormatError.truncated(file: name, offset: offset, needed: n, reading: what())
        }
    }

    @inline(__always)
    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try load(UInt8.self, what()) }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, what()) }

    /// A count stored as uint64 that must describe items of at least `minimumSize` bytes each in the rest
    /// of the file. Rejects lying counts before anything is allocated for them.
    mutating func count(_ what: @autoclosure () -> String, minimumSize: Int) throws -> Int {
        let at = offset
        let n = try u64(what())
        let room = UInt64(max(remaining, 0) / max(minimumSize, 1))
        guard n <= room else {
            throw FormatError.implausibleCount(file: name, what: what(), count: n, offset: at)
        }
        return Int(n)
    }

    /// A GGUF string: uint64 byte length, then UTF-8 bytes (decoded straight from the mapping; invalid
    /// UTF-8 sequences become U+FFFD).
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let at = offset
        let n = try u64("length of \(what())")
        guard n <= UInt64(remaining) else {
            throw FormatError.implausibleCount(file: name, what: "byte length of \(what())", count: n, offset: at)
        }
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: Int(n))
        offset += Int(n)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Moves to `target`, which must lie within the file (or exactly at its end).
    mutating func seek(to target: Int) {
        precondition(target >= 0 && target <= count, "seek outside the file")
        offset = target
    }
}
