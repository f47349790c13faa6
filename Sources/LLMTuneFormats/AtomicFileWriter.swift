// Crash-safe file output: everything goes to a temporary file in the destination's directory, which is
// flushed to disk (fsync) and then renamed over the destination, so a reader sees either the old file
// or the complete new one, never a partial write.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered sequential output to an open file descriptor.
final class FileSink {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private static let bufferLimit = 1 << 20
    /// Bytes written so far (including buffered ones).
    private(set) var position = 0

    init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
        buffer.reserveCapacity(Self.bufferLimit)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        position += bytes.count
        if buffer.count + bytes.count <= Self.bufferLimit {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        try writeAll(bytes)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func writeZeros(_ n: Int) throws {
        if n > 0 { try write([UInt8](repeating: 0, count: n)) }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError.writeFailed(file: path, reason: String(cString: strerror(errno)))
            }
            p += n
            left -= n
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

enum AtomicFileWriter {
    /// Runs `body` on a sink for a temporary file beside `url`, then fsyncs it and renames it to `url`.
    /// On any error the temporary file is removed and `url` is left untouched.
    static func write(to url: URL, _ body: (FileSink) throws -> Void) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            let reason = code == ENOENT ? "directory \(directory) does not exist" : String(cString: strerror(code))
            throw FormatError.writeFailed(file: path, reason: reason)
        }
        var closed = false
        do {
            let sink = FileSink(path: path, fd: fd)
            try body(sink)
            try sink.flush()
            guard fsync(fd) == 0 else { throw FormatError.writeFailed(file: path, reason: "fsync: " + String(cString: strerror(errno))) }
            closed = true
            guard close(fd) == 0 else { throw FormatError.writeFailed(file: path, reason: "close: " + String(cString: strerror(errno))) }
            guard rename(temporary, path) == 0 else {
                throw FormatError.writeFailed(file: path, reason: "rename: " + String(cString: strerror(errno)))
            }
        } catch {
            if !closed { close(fd) }
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable.
        let dirfd = open(directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}
