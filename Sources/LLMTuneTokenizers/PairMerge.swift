// The BPE merge loop shared by the byte-level model (BytePairModel.swift, long words) and the SentencePiece-style
// model (SentencePieceModel.swift): symbols in a doubly linked list and a binary min-heap of
// (rank << 32 | left position); the lowest rank merges first, the leftmost among equal ranks. A popped entry
// whose pair has changed since it was pushed (stale) is recognized by re-ranking the pair now and skipped.
// References: HF tokenizers `models/bpe/word.rs` (merge_all over a priority queue), llama.cpp
// `llm_tokenizer_spm` (bigram queue, leftmost first among equal scores).

/// Binary min-heap of UInt64 keys (rank << 32 | position).
struct MergeHeap {
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

/// (rank << 32 | merged id) of the pair (left, right) in a merge table keyed by (left id << 32 | right id),
/// UInt64.max when the pair does not merge.
@inline(__always)
func mergeTableValue(_ table: [UInt64: UInt64], _ left: Int32, _ right: Int32) -> UInt64 {
    table[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))] ?? .max
}

/// The symbols of one word as a BPE model sees them during merging.
protocol MergeableSymbols {
    /// (rank << 32 | merged id) of the adjacent symbols at positions `left` and `right`, or UInt64.max when
    /// they do not merge. Lower ranks merge first.
    func pairValue(_ left: Int, _ right: Int) -> UInt64
    /// Makes the symbol at `left` the merge (id `merged`) of itself and the symbol at `right`, which is then
    /// unlinked.
    mutating func merge(_ left: Int, _ right: Int, into merged: Int32)
}

/// Merges the `count` symbols of `symbols` until no adjacent pair merges, lowest rank first and leftmost first
/// among equal ranks. Returns the links of the survivors: starting at position 0 and following `next[k]` until
/// -1 visits the merged symbols in order. O(n log n) for n symbols.
func mergeAdjacentPairs<Symbols: MergeableSymbols>(_ symbols: inout Symbols, count n: Int) -> [Int] {
    guard n > 1 else { return [Int](repeating: -1, count: max(n, 0)) }
    var next = [Int](repeating: -1, count: n)
    var previous = [Int](repeating: -1, count: n)
    for k in 0..<n {
        next[k] = k + 1 < n ? k + 1 : -1
        previous[k] = k - 1
    }
    var heap = MergeHeap()
    heap.items.reserveCapacity(2 * n)
    for k in 0..<(n - 1) {
        let value = symbols.pairValue(k, k + 1)
        if value != .max { heap.push((value & 0xFFFF_FFFF_0000_0000) | UInt64(k)) }
    }
    var alive = [Bool](repeating: true, count: n)
    while let top = heap.pop() {
        let rank = top >> 32
        let left = Int(top & 0xFFFF_FFFF)
        guard alive[left] else { continue }
        let right = next[left]
        guard right >= 0 else { continue }
        let value = symbols.pairValue(left, right)
        guard value != .max, value >> 32 == rank else { continue }  // stale entry
        symbols.merge(left, right, into: Int32(truncatingIfNeeded: value & 0xFFFF_FFFF))
        alive[right] = false
        let after = next[right]
        next[left] = after
        if after >= 0 { previous[after] = left }
        let before = previous[left]
        if before >= 0 {
            let value = symbols.pairValue(before, left)
            if value != .max { heap.push((value & 0xFFFF_FFFF_0000_0000) | UInt64(before)) }
        }
        if after >= 0 {
            let value = symbols.pairValue(left, after)
            if value != .max { heap.push((value & 0xFFFF_FFFF_0000_0000) | UInt64(left)) }
        }
    }
    return next
}
