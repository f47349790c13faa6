// Batches for causal-LM training. A row is one example, or with `pack` several examples concatenated up to
// `maxLength` tokens (best-fit decreasing, done once; attention is not blocked between packed examples, as in
// mlx-lm / HF packing, and the first token of each packed example is never a target). Each epoch the rows are
// shuffled with (seed, epoch); with `bucketByLength` the shuffled rows are cut into mega-batches of 32
// batches, sorted by length inside each so a batch holds similar lengths (little padding), and the batch
// order is shuffled again. The order of an epoch is a pure function of (seed, epoch), so the iterator's
// state is just (epoch, batch index) and a restored iterator continues with exactly the same batches.

/// A batch for causal-LM training: inputs (B, T) row-major and targets (B, T) with -100 for ignored positions;
/// targets[b][t] = inputs' next token when its lossMask is true. Right-padded with padTokenId (targets -100).
public struct Batch: Sendable, Equatable {
    /// Token ids, (B, T) row-major.
    public var inputs: [Int]
    /// Next-token targets, (B, T) row-major; -100 where ignored (prompt, padding, the last position).
    public var targets: [Int]
    /// B.
    public var batchSize: Int
    /// T: the longest row of the batch.
    public var length: Int
    /// Targets that are not -100.
    public var targetCount: Int
    /// Real (non-padding) tokens.
    public var tokenCount: Int

    /// The ignored-target value (PyTorch's cross-entropy ignore_index).
    public static let ignoreIndex = -100

    /// Builds a right-padded batch from rows of (tokens, lossMask).
    public init(rows: [(tokens: ArraySlice<Int>, lossMask: ArraySlice<Bool>)], padTokenId: Int) {
        let B = rows.count
        let T = rows.map(\.tokens.count).max() ?? 0
        var inputs = [Int](repeating: padTokenId, count: B * T)  // (B, T)
        var targets = [Int](repeating: Self.ignoreIndex, count: B * T)  // (B, T)
        var targetCount = 0, tokenCount = 0
        for (b, row) in rows.enumerated() {
            let tokens = Array(row.tokens), mask = Array(row.lossMask)
            let n = tokens.count
            tokenCount += n
            for t in 0..<n { inputs[b * T + t] = tokens[t] }
            if n > 1 {
                for t in 0..<(n - 1) where mask[t + 1] {
                    targets[b * T + t] = tokens[t + 1]
                    targetCount += 1
                }
            }
        }
        self.inputs = inputs
        self.targets = targets
        self.batchSize = B
        self.length = T
        self.targetCount = targetCount
        self.tokenCount = tokenCount
    }
}

/// Fixed-order batches (validation / test): consecutive examples, padded to the longest of each batch.
/// An example longer than `maxLength` is not cut (the loader already truncated or dropped those).
public func evaluationBatches(_ examples: [TokenizedExample], batchSize: Int, maxLength: Int,
                              padTokenId: Int) -> [Batch] {
    precondition(batchSize > 0, "batchSize must be positive")
    return stride(from: 0, to: examples.count, by: batchSize).map { start in
        let rows = examples[start..<min(examples.count, start + batchSize)].map {
            (tokens: $0.tokens[...], lossMask: $0.lossMask[...])
        }
        return Batch(rows: rows, padTokenId: padTokenId)
    }
}

/// Seeded, resumable: `state` is Codable; an iterator restored from a state continues with exactly the same batches.
public struct BatchIterator: Sendable {
    /// Where the iterator is, with what it was made from (checked on restore).
    public struct State: Codable, Sendable, Equatable {
        /// Epochs completed.
        public var epoch: Int
        /// Batches of the current epoch already returned.
        public var batchIndex: Int
        public var seed: UInt64
        public var exampleCount: Int
        public var batchSize: Int
        public var pack: Bool
    }

    /// A packed / single-example row: the examples it holds, in order.
    typealias Row = [Int]

    public let examples: [TokenizedExample]
    public let batchSize: Int
    public let maxLength: Int
    public let padTokenId: Int
    public let seed: UInt64
    public let pack: Bool
    public let bucketByLength: Bool
    public let shuffle: Bool
    let rows: [Row]
    let rowLengths: [Int]
    /// The current epoch's batches (row indices).
    private var plan: [[Int]] = []

    /// Epochs completed (the epoch of the next batch).
    public private(set) var epoch = 0
    /// Batches of the current epoch already returned.
    public private(set) var batchIndex = 0

    /// Mega-batch size of length bucketing, in batches.
    public static let bucketBatches = 32

    public init(examples: [TokenizedExample], batchSize: Int, maxLength: Int, padTokenId: Int, seed: UInt64,
                pack: Bool = false, bucketByLength: Bool = true, shuffle: Bool = true) {
        precondition(!examples.isEmpty, "BatchIterator needs at least one example")
        precondition(batchSize > 0 && maxLength > 1, "batchSize must be positive and maxLength above 1")
        self.examples = examples
        self.batchSize = batchSize
        self.maxLength = maxLength
        self.padTokenId = padTokenId
        self.seed = seed
        self.pack = pack
        self.bucketByLength = bucketByLength
        self.shuffle = shuffle
        rows = pack ? Self.packRows(examples.map(\.count), capacity: maxLength) : examples.indices.map { [$0] }
        rowLengths = rows.map { $0.reduce(0) { $0 + examples[$1].count } }
        plan = makePlan(epoch: 0)
    }

    /// An iterator positioned at `state` (made from the same examples and settings; see `validate`).
    public init(examples: [TokenizedExample], batchSize: Int, maxLength: Int, padTokenId: Int, seed: UInt64,
                pack: Bool = false, bucketByLength: Bool = true, shuffle: Bool = true, state: State) {
        self.init(examples: examples, batchSize: batchSize, maxLength: maxLength, padTokenId: padTokenId,
                  seed: seed, pack: pack, bucketByLength: bucketByLength, shuffle: shuffle)
        restore(state)
    }

    /// The position, to save in a checkpoint; setting it is `restore(_:)`.
    public var state: State {
        get {
            State(epoch: epoch, batchIndex: batchIndex, seed: seed, exampleCount: examples.count,
                  batchSize: batchSize, pack: pack)
        }
        set { restore(newValue) }
    }

    /// Throws if `state` was saved by an iterator over other data or settings.
    public func validate(_ state: State) throws {
        guard state.seed == seed, state.exampleCount == examples.count, state.batchSize == batchSize,
              state.pack == pack else {
            throw DatasetError.invalidOption(
                name: "resume state", value: "seed \(state.seed), \(state.exampleCount) examples, batch size "
                    + "\(state.batchSize), pack \(state.pack)",
                hint: "the checkpoint was made with other data or settings (now: seed \(seed), \(examples.count) "
                    + "examples, batch size \(batchSize), pack \(pack)); resume with the same data and settings")
        }
        guard state.epoch >= 0, state.batchIndex >= 0, state.batchIndex <= batchesPerEpoch else {
            throw DatasetError.invalidOption(name: "resume state", value: "epoch \(state.epoch), batch "
                + "\(state.batchIndex)",
                hint: "the position is outside the data (\(batchesPerEpoch) batches per epoch)")
        }
    }

    /// Moves to `state`. Precondition: `validate(state)` passes (call it first for user-supplied checkpoints).
    public mutating func restore(_ state: State) {
        precondition((try? validate(state)) != nil, "BatchIterator.restore: state from other data or settings")
        epoch = state.epoch
        batchIndex = state.batchIndex
        plan = makePlan(epoch: epoch)
    }

    /// Batches in one pass over the data.
    public var batchesPerEpoch: Int { (rows.count + batchSize - 1) / batchSize }

    /// Rows per epoch (examples, or packed rows).
    public var rowCount: Int { rows.count }

    /// Real tokens / (rows x maxLength): how full packed rows are (1 = no padding at maxLength).
    public var packingEfficiency: Double {
        Double(rowLengths.reduce(0, +)) / Double(rows.count * maxLength)
    }

    /// The next batch; after the last batch of an epoch the next epoch starts, reshuffled.
    public mutating func next() -> Batch {
        if batchIndex >= plan.count {
            epoch += 1
            batchIndex = 0
            plan = makePlan(epoch: epoch)
        }
        let batchRows = plan[batchIndex]
        batchIndex += 1
        return Batch(rows: batchRows.map(rowContents), padTokenId: padTokenId)
    }

    /// Tokens and mask of a row; packed examples after the first have their first token's mask cleared.
    private func rowContents(_ row: Int) -> (tokens: ArraySlice<Int>, lossMask: ArraySlice<Bool>) {
        let members = rows[row]
        if members.count == 1 {
            let example = examples[members[0]]
            return (example.tokens[...], example.lossMask[...])
        }
        var tokens: [Int] = [], mask: [Bool] = []
        tokens.reserveCapacity(rowLengths[row])
        mask.reserveCapacity(rowLengths[row])
        for member in members {
            let example = examples[member]
            tokens += example.tokens
            mask.append(false)
            mask += example.lossMask.dropFirst()
        }
        return (tokens[...], mask[...])
    }

    /// The batches of `epoch`, as lists of row indices.
    private func makePlan(epoch: Int) -> [[Int]] {
        var random = DataRandom(seed: seed, stream: UInt64(epoch) &+ 1)
        var order = Array(rows.indices)
        if shuffle { random.shuffle(&order) }
        var batches: [[Int]] = []
        batches.reserveCapacity(batchesPerEpoch)
        if bucketByLength && !pack && shuffle {
            let mega = batchSize * Self.bucketBatches
            for start in stride(from: 0, to: order.count, by: mega) {
                let chunk = order[start..<min(order.count, start + mega)].sorted {
                    rowLengths[$0] != rowLengths[$1] ? rowLengths[$0] < rowLengths[$1] : $0 < $1
                }
                for s in stride(from: 0, to: chunk.count, by: batchSize) {
                    batches.append(Array(chunk[s..<min(chunk.count, s + batchSize)]))
                }
            }
            random.shuffle(&batches)
        } else {
            for s in stride(from: 0, to: order.count, by: batchSize) {
                batches.append(Array(order[s..<min(order.count, s + batchSize)]))
            }
        }
        return batches
    }

    /// Best-fit decreasing bin packing of lengths into rows of `capacity` tokens (an item longer than the
    /// capacity gets a row of its own). Deterministic: ties broken by index.
    static func packRows(_ lengths: [Int], capacity: Int) -> [Row] {
        let order = lengths.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
        var rows: [Row] = []
        // Rows by remaining free space: open[r] holds the rows with exactly r free tokens (a stack).
        var open = [[Int]](repeating: [], count: capacity + 1)
        var free: [Int] = []
        for item in order {
            let length = lengths[item]
            var placed = false
            if length <= capacity {
                for space in length...capacity where !open[space].isEmpty {
                    let row = open[space].removeLast()
                    rows[row].append(item)
                    free[row] -= length
                    open[free[row]].append(row)
                    placed = true
                    break
                }
            }
            if !placed {
                rows.append([item])
                free.append(max(0, capacity - length))
                if length < capacity { open[capacity - length].append(rows.count - 1) }
            }
        }
        // Restore each row's members to data order (placement order depends only on lengths).
        return rows.map { $0.sorted() }
    }
}
