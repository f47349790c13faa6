// Next-token selection from logits: repetition penalty, temperature, top-k, top-p, min-p, in the order
// transformers applies them (logits processors first, then warpers). Seeded for reproducible runs.
import LLMTuneTensor

/// How to pick each next token. Temperature 0 means greedy (argmax).
public struct SamplingParameters: Codable, Sendable, Equatable {
    /// Softmax temperature; 0 = greedy. Default 0.7.
    public var temperature: Float = 0.7
    /// Keep only the k most likely tokens; 0 = off. Default 0.
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches p; 1 = off. Default 1.
    public var topP: Float = 1
    /// Drop tokens less likely than minP times the most likely one; 0 = off. Default 0.
    public var minP: Float = 0
    /// CTRL-style penalty on tokens already in the context (> 1 discourages repeats); 1 = off. Default 1.
    public var repetitionPenalty: Float = 1
    /// Random seed. Default 0.
    public var seed: UInt64 = 0

    public init(temperature: Float = 0.7, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
    }

    public static let greedy = SamplingParameters(temperature: 0)
}

public struct Sampler {
    public let parameters: SamplingParameters
    private var rng: SeededGenerator

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SeededGenerator(seed: parameters.seed)
    }

    /// Picks the next token from `logits` (V) given the tokens so far (for the repetition penalty).
    /// `logits` is modified in place.
    public mutating func next(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int]) -> Int {
        let p = parameters
        if p.repetitionPenalty != 1 {
            for id in Set(history) where id >= 0 && id < logits.count {
                let l = logits[id]
                logits[id] = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty
            }
        }
        if p.temperature <= 0 { return Sampler.argmax(logits) }

        // Softmax at the given temperature, over candidate indices.
        var candidates = Array(0..<logits.count)
        if p.topK > 0 && p.topK < logits.count {
            candidates = Sampler.topK(logits, p.topK)
        }
        let maxLogit = candidates.reduce(-Float.infinity) { max($0, logits[$1]) }
        var probs = candidates.map { expf((logits[$0] - maxLogit) / p.temperature) }
        var total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }

        if p.topP < 1 {
            (candidates, probs) = Sampler.nucleus(candidates, probs, p.topP)
        }
        if p.minP > 0, let top = probs.max() {
            let keep = probs.indices.filter { probs[$0] >= p.minP * top }
            candidates = keep.map { candidates[$0] }
            probs = keep.map { probs[$0] }
        }
        total = probs.reduce(0, +)
        var u = Float(Double(rng.next() >> 11) * 0x1.0p-53) * total
        for (i, q) in probs.enumerated() {
            u -= q
            if u <= 0 { return candidates[i] }
        }
        return candidates[candidates.count - 1]
    }

    static func argmax(_ x: UnsafeMutableBufferPointer<Float>) -> Int {
        var best = 0
        var value = -Float.infinity
        for i in 0..<x.count where x[i] > value { value = x[i]; best = i }
        return best
    }

    /// Indices of the k largest logits (ties: lower index first).
    static func topK(_ x: UnsafeMutableBufferPointer<Float>, _ k: Int) -> [Int] {
        var heap: [Int] = []  // sorted descending, at most k
        heap.reserveCapacity(k + 1)
        for i in 0..<x.count {
            if heap.count == k, x[i] <= x[heap[k - 1]] { continue }
            var lo = 0, hi = heap.count
            while lo < hi { let mid = (lo + hi) / 2; if x[heap[mid]] >= x[i] { lo = mid + 1 } else { hi = mid } }
            heap.insert(i, at: lo)
            if heap.count > k { heap.removeLast() }
        }
        return heap
    }

    /// The smallest most-likely set whose probability reaches `p`. Sorts only the tokens above a threshold
    /// whose total mass already reaches `p` (the nucleus lies inside that set), lowering it until it does.
    static func nucleus(_ ids: [Int], _ probs: [Float], _ p: Float) -> ([Int], [Float]) {
        let top = probs.max() ?? 0
        var threshold = top * 1e-3
        var chosen: [Int] = []
        while true {
            chosen = probs.indices.filter { probs[$0] >= threshold }
            let mass = chosen.reduce(Float(0)) { $0 + probs[$1] }
            if mass >= p || threshold == 0 { break }
            threshold = threshold < 1e-30 ? 0 : threshold * 1e-3
        }
        chosen.sort { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
        var cumulative: Float = 0
        var keep = 0
        for i in chosen {
            cumulative += probs[i]
            keep += 1
            if cumulative >= p { break }
        }
        let kept = chosen.prefix(keep)
        return (kept.map { ids[$0] }, kept.map { probs[$0] })
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
