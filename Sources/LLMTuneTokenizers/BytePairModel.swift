// Byte-level BPE model: vocabulary, merge ranks and the merge loop over the bytes of one pre-token.
// References: Sennrich et al. 2016 (BPE), openai/gpt-2 encoder.py, HF tokenizers `models/bpe/word.rs`
// (merges applied lowest rank first, leftmost first among equal ranks), llama.cpp `llm_tokenizer_bpe`.
// Symbols are token ids from the start (each byte's id), and a merge is a lookup
// (left id, right id) -> (rank, merged id), so the loop never builds strings. Short words merge by scanning
// here; long words go through the heap loop shared with SentencePieceModel (PairMerge.swift).

import Foundation

/// Bytes used as a dictionary key (hashed in one call).
struct ByteString: Hashable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// The BPE model of a byte-level tokenizer.
final class BytePairModel: @unchecked Sendable {
    /// Id of each single byte (-1 when the vocabulary lacks it).
    let byteIds: [Int32]
    /// (left << 32 | right) -> (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// Whole-word lookup used when `ignoreMerges` (Llama-3): a word that is a token is not merged.
    private let wordIds: [ByteString: Int32]
    let ignoreMerges: Bool
    let unknownId: Int?
    /// Merge rules skipped because a part or the result is not in the vocabulary.
    let skippedMerges: Int

    private var cache: [ByteString: [Int32]] = [:]
    private let cacheLock = NSLock()
    private static let cacheLimit = 100_000

    /// Words up to this many bytes use the quadratic scan; longer ones use a heap.
    static let heapThreshold = 48

    /// - Parameters:
    ///   - tokenBytes: the raw bytes of every id that BPE can produce (byte-level decoded vocabulary).
    ///   - idOfToken: vocabulary string -> id.
    ///   - merges: merge rules in rank order, as vocabulary strings.
    init(tokenBytes: [[UInt8]], idOfToken: [String: Int], merges mergeRules: [(String, String)], ignoreMerges: Bool,
         unknownId: Int?) {
        var byteIds = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let scalar = Unicode.Scalar(ByteLevelAlphabet.scalarOfByte[byte]).map { String($0) } ?? ""
            if let id = idOfToken[scalar] { byteIds[byte] = Int32(id) }
        }
        self.byteIds = byteIds
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(mergeRules.count)
        var skipped = 0
        for (rank, rule) in mergeRules.enumerated() {
            guard let left = idOfToken[rule.0], let right = idOfToken[rule.1],
                  let merged = idOfToken[rule.0 + rule.1] else {
                skipped += 1
                continue
            }
            let key = UInt64(left) << 32 | UInt64(right)
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(merged) }
        }
        self.merges = merges
        skippedMerges = skipped
        self.ignoreMerges = ignoreMerges
        self.unknownId = unknownId
        var wordIds: [ByteString: Int32] = [:]
        if ignoreMerges {
            for (id, bytes) in tokenBytes.enumerated() where !bytes.isEmpty {
                let key = ByteString(bytes)
                if wordIds[key] == nil { wordIds[key] = Int32(id) }
            }
        }
        self.wordIds = wordIds
    }

    @inline(__always)
    private func pairValue(_ left: Int32, _ right: Int32) -> UInt64 { mergeTableValue(merges, left, right) }

    /// Appends the ids of the word `p[range]` (raw bytes of one pre-token).
    func encodeWord(_ p: UnsafePointer<UInt8>, _ range: Range<Int>, into out: inout [Int]) {
        let n = range.count
        if n == 0 { return }
        if n == 1 {
            appendByte(p[range.lowerBound], into: &out)
            return
        }
        let key = ByteString(Array(UnsafeBufferPointer(start: p + range.lowerBound, count: n)))
        cacheLock.lock()
        let cached = cache[key]
        cacheLock.unlock()
        if let cached {
            for id in cached { out.append(Int(id)) }
            return
        }
        let ids = mergedIds(key)
        for id in ids { out.append(Int(id)) }
        cacheLock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[key] = ids
        cacheLock.unlock()
    }

    @inline(__always)
    private func appendByte(_ byte: UInt8, into out: inout [Int]) {
        let id = byteIds[Int(byte)]
        if id >= 0 {
            out.append(Int(id))
        } else if let unknownId {
            out.append(unknownId)
        }
    }

    /// The merged ids of a word (no cache).
    func mergedIds(_ word: ByteString) -> [Int32] {
        if ignoreMerges, let id = wordIds[word] { return [id] }
        var ids: [Int32] = []
        ids.reserveCapacity(word.bytes.count)
        for byte in word.bytes {
            let id = byteIds[Int(byte)]
            if id >= 0 {
                ids.append(id)
            } else if let unknownId {
                ids.append(Int32(unknownId))
            }
        }
        if ids.count < 2 { return ids }
        if ids.count <= Self.heapThreshold {
            mergeByScanning(&ids)
        } else {
            mergeWithHeap(&ids)
        }
        return ids
    }

    /// O(n^2) merging for short words: keep each adjacent pair's (rank, merged id), merge the smallest.
    func mergeByScanning(_ ids: inout [Int32]) {
        var pairs = [UInt64](repeating: .max, count: ids.count - 1)
        for k in 0..<pairs.count { pairs[k] = pairValue(ids[k], ids[k + 1]) }
        while !pairs.isEmpty {
            var best = UInt64.max
            var at = -1
            for k in 0..<pairs.count where pairs[k] < best {
                best = pairs[k]
                at = k
            }
            if at < 0 { break }
            ids[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            ids.remove(at: at + 1)
            pairs.remove(at: at)
            if at > 0 { pairs[at - 1] = pairValue(ids[at - 1], ids[at]) }
            if at < pairs.count { pairs[at] = pairValue(ids[at], ids[at + 1]) }
        }
    }

    /// O(n log n) merging for long words: the shared heap merge loop (PairMerge.swift).
    func mergeWithHeap(_ ids: inout [Int32]) {
        var symbols = ByteSymbols(merges: merges, ids: ids)
        let next = mergeAdjacentPairs(&symbols, count: ids.count)
        ids.removeAll(keepingCapacity: true)
        var k = 0
        while k >= 0 {
            ids.append(symbols.ids[k])
            k = next[k]
        }
    }
}

/// Token ids of a word being merged by the byte-level model.
private struct ByteSymbols: MergeableSymbols {
    /// (left << 32 | right) -> (rank << 32 | merged id), as BytePairModel.merges.
    let merges: [UInt64: UInt64]
    var ids: [Int32]

    @inline(__always)
    func pairValue(_ left: Int, _ right: Int) -> UInt64 { mergeTableValue(merges, ids[left], ids[right]) }

    @inline(__always)
    mutating func merge(_ left: Int, _ right: Int, into merged: Int32) { ids[left] = merged }
}
