// A read-only view of a whole file, memory-mapped (mmap(2), MAP_PRIVATE) where possible and read into
// memory otherwise. The object owns the mapping: pointers handed out from it stay valid while it lives,
// so readers pass it on as the `owner` of those pointers (see QuantizedMatrix.owner).

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The read-only bytes of one file, kept alive as long as this object lives.
public final class MappedFile: @unchecked Sendable {
    /// The path (or, for in-memory data, the name) used in error messages.
    public let name: String
    /// The first byte. Page-aligned when mapped, 64-byte aligned when copied.
    public let base: UnsafeRawPointer
    /// The number of bytes.
    public let count: Int
    /// True when the bytes come from mmap, false when they were read or copied into memory.
    public let isMemoryMapped: Bool

    /// All bytes of the file.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Maps the file at `url` read-only. Throws `FormatError.fileNotFound`, `.unreadable` (a directory,
    /// no permission, an I/O error) or `.emptyFile`. Falls back to reading the file into memory when
    /// mmap is not possible (e.g. on some network or virtual file systems).
    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    /// Maps the file at `path` read-only; see `init(url:)`.
    public init(path: String) throws {
        name = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw FormatError.fileNotFound(file: path) }
            throw FormatError.unreadable(file: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw FormatError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        let kind = UInt32(info.st_mode) & 0o170000
        guard kind == 0o100000 else {
            throw FormatError.unreadable(file: path, reason: kind == 0o040000 ? "it is a directory" : "not a regular file")
        }
        guard info.st_size > 0 else { throw FormatError.emptyFile(file: path) }
        guard let size = Int(exactly: info.st_size) else {
            throw FormatError.unreadable(file: path, reason: "size \(info.st_size) does not fit in memory")
        }
        count = size
        if let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != UnsafeMutableRawPointer(bitPattern: -1) {
            base = UnsafeRawPointer(p)
            isMemoryMapped = true
            return
        }
        // Fallback: read the whole file.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        var done = 0
        while done < size {
            let n = pread(fd, buffer + done, size - done, off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let reason = n < 0 ? String(cString: strerror(errno)) : "file shrank while reading"
                buffer.deallocate()
                throw FormatError.unreadable(file: path, reason: reason)
            }
            done += n
        }
        base = UnsafeRawPointer(buffer)
        isMemoryMapped = false
    }

    /// An in-memory copy of `bytes` (an array, Data, a buffer), named `name` in errors: for tests and
    /// for data already in memory. Throws `FormatError.emptyFile` when `bytes` is empty.
    public init(copying bytes: some ContiguousBytes, name: String) throws {
        let buffer: UnsafeMutableRawPointer? = bytes.withUnsafeBytes { source in
            guard source.count > 0, let from = source.baseAddress else { return nil }
            let p = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 64)
            p.copyMemory(from: from, byteCount: source.count)
            return p
        }
        guard let buffer else { throw FormatError.emptyFile(file: name) }
        self.name = name
        base = UnsafeRawPointer(buffer)
        count = bytes.withUnsafeBytes { $0.count }
        isMemoryMapped = false
    }

    deinit {
        if isMemoryMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}

/// A 64-byte aligned heap copy, used as the owner of tensor data whose place in the file is not aligned
/// to its element size.
final class AlignedCopy: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(copying source: UnsafeRawPointer, count: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        pointer.copyMemory(from: source, byteCount: count)
        self.count = count
    }

    deinit { pointer.deallocate() }
}
