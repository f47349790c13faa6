// The merge loop of SentencePiece-style BPE (Gemma, Llama-2): start from the UTF-8 characters of the text
// (spaces already written as U+2581), repeatedly merge the adjacent pair of highest priority, then map
// characters that are not in the vocabulary to byte tokens <0xNN> (byte fallback) or to the unknown token.
// References: llama.cpp llm_tokenizer_spm (bigram queue by piece score, leftmost first among equals),
// sentencepiece bpe_model.cc, HF tokenizers models/bpe (merges by rank, byte_fallback).
//
// Two priority sources:
// - `.pieces`: any adjacent pair whose concatenation is a vocabulary piece can merge; the merged piece's rank
//   decides (GGUF: pieces ordered by score, higher first, then by id, the order transformers' GGUF converter
//   uses for Gemma).
// - `.pairs`: only listed (left, right) pairs merge, by merge rank (tokenizer.json `merges`).

import Foundation

/// Binary min-heap of UInt64 keys (priority << 32 | position).
struct SentencePieceHeap {
    var items: [UInt64] = []

    mutating func push(_ key: UInt64) {
        items.append(key)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= items.count { break }
                let right = left + 1
                let child = right < items.count && items[right] < items[left] ? right : left
                if items[parent] <= items[child] { break }
                items.swapAt(parent, child)
                parent = child
            }
        }
        return top
    }
}

/// Vocabulary lookup and merge priorities of a SentencePiece-style BPE vocabulary.
final class SentencePieceModel: @unchecked Sendable {
    enum Priority {
        /// rank[id] of each piece (lower merges first); Int32.max for pieces that never result from a merge.
        case pieces(rank: [Int32])
        /// (left id << 32 | right id) -> (merge rank << 32 | merged id).
        case pairs([UInt64: UInt64])
    }

    /// UTF-8 bytes of a piece -> id (pieces that may appear as merge results or characters).
    let idOfPiece: [ByteString: Int32]
    let priority: Priority
    /// Id of <0xNN> for each byte, -1 when absent.
    let byteTokenIds: [Int32]
    let unknownId: Int?

    init(idOfPiece: [ByteString: Int32], priority: Priority, byteTokenIds: [Int32], unknownId: Int?) {
        self.idOfPiece = idOfPiece
        self.priority = priority
        self.byteTokenIds = byteTokenIds
        self.unknownId = unknownId
    }

    /// Merge key of the adjacent symbols [a, b) and [b, c) of `word`, or nil when they cannot merge.
    @inline(__always)
    private func mergeKey(_ word: UnsafeBufferPointer<UInt8>, _ a: Int, _ b: Int, _ c: Int,
                          leftId: Int32, rightId: Int32) -> (rank: UInt64, merged: Int32)? {
        switch priority {
        case .pieces(let rank):
            guard let id = idOfPiece[ByteString(Array(word[a..<c]))] else { return nil }
            let r = rank[Int(id)]
            return r == Int32.max ? nil : (UInt64(r), id)
        case .pairs(let table):
            guard leftId >= 0, rightId >= 0,
                  let v = table[UInt64(UInt32(bitPattern: leftId)) << 32 | UInt64(UInt32(bitPattern: rightId))] else {
                return nil
            }
            return (v >> 32, Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
        }
    }

    /// Appends the ids of `word` (normalized text, spaces already U+2581) to `out`.
    func encode(_ bytes: [UInt8], into out: inout [Int]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { word in
            // Symbols: one per UTF-8 character (a truncated sequence ends at the buffer end).
            var starts: [Int] = []
            starts.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                starts.append(i)
                i += min(utf8Length(word[i]), word.count - i)
            }
            let n = starts.count
            var end = [Int](repeating: 0, count: n)
            var ids = [Int32](repeating: -1, count: n)
            var next = [Int](repeating: -1, count: n)
            var previous = [Int](repeating: -1, count: n)
            for k in 0..<n {
                end[k] = k + 1 < n ? starts[k + 1] : word.count
                ids[k] = idOfPiece[ByteString(Array(word[starts[k]..<end[k]]))] ?? -1
                next[k] = k + 1 < n ? k + 1 : -1
                previous[k] = k - 1
            }
            var heap = SentencePieceHeap()
            heap.items.reserveCapacity(2 * n)
            func consider(_ left: Int) {
                let right = next[left]
                guard right >= 0,
                      let key = mergeKey(word, starts[left], starts[right], end[right],
                                         leftId: ids[left], rightId: ids[right]) else { return }
                heap.push(key.rank << 32 | UInt64(left))
            }
            for k in 0..<(n - 1) { consider(k) }
            var alive = [Bool](repeating: true, count: n)
            while let top = heap.pop() {
                let rank = top >> 32
                let left = Int(top & 0xFFFF_FFFF)
                guard alive[left] else { continue }
                let right = next[left]
                guard right >= 0,
                      let key = mergeKey(word, starts[left], starts[right], end[right],
                                         leftId: ids[left], rightId: ids[right]),
                      key.rank == rank else { continue }   // stale entry
                ids[left] = key.merged
                end[left] = end[right]
                alive[right] = false
                next[left] = next[right]
                if next[left] >= 0 { previous[next[left]] = left }
                if previous[left] >= 0 { consider(previous[left]) }
                consider(left)
            }
            var k = 0
            while k >= 0 {
                if ids[k] >= 0 {
                    out.append(Int(ids[k]))
                } else {
                    appendFallback(word, starts[k]..<end[k], into: &out)
                }
                k = next[k]
            }
        }
    }

    /// Byte tokens for a character outside the vocabulary; the unknown token when a byte token is missing.
    private func appendFallback(_ word: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into out: inout [Int]) {
        if range.allSatisfy({ byteTokenIds[Int(word[$0])] >= 0 }) {
            for i in range { out.append(Int(byteTokenIds[Int(word[i])])) }
        } else if let unknownId {
            out.append(unknownId)
        }
    }
}

/// Length of the UTF-8 sequence that starts with `byte` (1 for continuation or invalid bytes).
@inline(__always) func utf8Length(_ byte: UInt8) -> Int {
    switch byte {
    case 0xF0...0xF7: return 4
    case 0xE0...0xEF: return 3
    case 0xC0...0xDF: return 2
    default: return 1
    }
}
