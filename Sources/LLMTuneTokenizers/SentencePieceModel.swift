// The merge loop of SentencePiece-style BPE (Gemma, Llama-2): start from the UTF-8 characters of the text
// (spaces already written as U+2581), repeatedly merge the adjacent pair of highest priority (the shared loop
// of PairMerge.swift), then map characters that are not in the vocabulary to byte tokens <0xNN> (byte fallback)
// or to the unknown token.
// References: llama.cpp llm_tokenizer_spm (bigram queue by piece score, leftmost first among equals),
// sentencepiece bpe_model.cc, HF tokenizers models/bpe (merges by rank, byte_fallback).
//
// Two priority sources:
// - `.pieces`: any adjacent pair whose concatenation is a vocabulary piece can merge; the merged piece's rank
//   decides (GGUF: pieces ordered by score, higher first, then by id, the order transformers' GGUF converter
//   uses for Gemma).
// - `.pairs`: only listed (left, right) pairs merge, by merge rank (tokenizer.json `merges`).

import Foundation

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

    /// (rank << 32 | merged id) of the adjacent symbols [a, b) and [b, c) of `word`, or UInt64.max when they
    /// cannot merge.
    @inline(__always)
    fileprivate func pairValue(_ word: UnsafeBufferPointer<UInt8>, _ a: Int, _ b: Int, _ c: Int,
                               leftId: Int32, rightId: Int32) -> UInt64 {
        switch priority {
        case .pieces(let rank):
            guard let id = idOfPiece[ByteString(Array(word[a..<c]))] else { return .max }
            let r = rank[Int(id)]
            return r == Int32.max ? .max : UInt64(r) << 32 | UInt64(id)
        case .pairs(let table):
            guard leftId >= 0, rightId >= 0 else { return .max }
            return mergeTableValue(table, leftId, rightId)
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
            for k in 0..<n {
                end[k] = k + 1 < n ? starts[k + 1] : word.count
                ids[k] = idOfPiece[ByteString(Array(word[starts[k]..<end[k]]))] ?? -1
            }
            var symbols = PieceSymbols(model: self, word: word, starts: starts, end: consume end, ids: consume ids)
            let next = mergeAdjacentPairs(&symbols, count: n)
            var k = 0
            while k >= 0 {
                if symbols.ids[k] >= 0 {
                    out.append(Int(symbols.ids[k]))
                } else {
                    appendFallback(word, starts[k]..<symbols.end[k], into: &out)
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

/// The characters of a word being merged by the SentencePiece-style model: symbol k spans bytes
/// starts[k]..<end[k] of `word` and has id ids[k] (-1 while it is not a vocabulary piece).
private struct PieceSymbols: MergeableSymbols {
    let model: SentencePieceModel
    let word: UnsafeBufferPointer<UInt8>
    let starts: [Int]
    var end: [Int]
    var ids: [Int32]

    @inline(__always)
    func pairValue(_ left: Int, _ right: Int) -> UInt64 {
        model.pairValue(word, starts[left], starts[right], end[right], leftId: ids[left], rightId: ids[right])
    }

    @inline(__always)
    mutating func merge(_ left: Int, _ right: Int, into merged: Int32) {
        ids[left] = merged
        end[left] = end[right]
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
