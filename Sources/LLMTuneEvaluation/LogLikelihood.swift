// Log-likelihood of continuations given contexts: the primitive behind perplexity and multiple-choice scores.
// Reference: lm-evaluation-harness `HFLM._loglikelihood_tokens` (left truncation to max_length + 1 tokens, the
// continuation's log-probabilities summed, `is_greedy` when every continuation token is the argmax).
//
// Batching never changes a number (unlike the harness, GitHub issue 1645, where padded batches of different
// sizes run different kernels and move scores). Requests are batched by sharing prefixes: requests with the
// same (truncated) context run the context once into a KV cache, then each continuation runs on that cache.
// Each request's numbers come from the same two forward calls whatever the batch holds -- the prefill of
// context[..<n-1] and the pass over [context[n-1]] + continuation[..<m-1] -- so `batchSize` 1 (no sharing)
// and any other batch size give bit-identical results.
import Foundation
import LLMTuneModels
import LLMTuneTensor

/// One (context, continuation) pair of token ids.
public struct LogLikelihoodRequest: Sendable, Hashable {
    /// The conditioning tokens (at least one: use the BOS/EOS token for an empty context, as the harness does).
    public var context: [Int]
    /// The tokens whose log-probability is summed (at least one).
    public var continuation: [Int]

    public init(context: [Int], continuation: [Int]) {
        self.context = context
        self.continuation = continuation
    }
}

/// The score of one request.
public struct LogLikelihoodResult: Sendable, Codable, Equatable {
    /// sum over continuation tokens of log p(token | everything before it).
    public var logprob: Double
    /// Whether greedy decoding from the context would produce exactly the continuation.
    public var isGreedy: Bool
    /// Continuation length in tokens.
    public var tokenCount: Int

    public init(logprob: Double, isGreedy: Bool, tokenCount: Int) {
        self.logprob = logprob
        self.isGreedy = isGreedy
        self.tokenCount = tokenCount
    }

    enum CodingKeys: String, CodingKey { case logprob, isGreedy = "is_greedy", tokenCount = "token_count" }
}

public enum LogLikelihood {
    /// Scores every request. `maxLength` (default: the model's context length) bounds the tokens the model sees:
    /// longer context + continuation pairs keep their last `maxLength + 1` tokens (the context is cut on the
    /// left, as the harness does). `batchSize` is the most requests that share one context prefill (1 = none).
    /// `progress(done, total)` is called after each request.
    public static func score(_ model: LanguageModel, requests: [LogLikelihoodRequest], batchSize: Int = 32,
                             maxLength: Int? = nil,
                             progress: ((Int, Int) -> Void)? = nil) throws -> [LogLikelihoodResult] {
        guard batchSize >= 1 else { throw EvaluationError.invalidOption(name: "batchSize", problem: "must be >= 1") }
        let L = min(maxLength ?? model.contextLength, model.contextLength)
        guard L >= 1 else { throw EvaluationError.invalidOption(name: "maxLength", problem: "must be >= 1") }

        // Truncate, then group by identical context (first-appearance order).
        var contexts: [[Int]] = []
        var groups: [[Int]: [Int]] = [:]
        var groupOrder: [[Int]] = []
        contexts.reserveCapacity(requests.count)
        for (i, r) in requests.enumerated() {
            guard !r.continuation.isEmpty else {
                throw EvaluationError.invalidRequest(index: i, problem: "the continuation is empty")
            }
            guard !r.context.isEmpty else {
                throw EvaluationError.invalidRequest(index: i, problem: "the context is empty (start it with the BOS or EOS token)")
            }
            guard r.continuation.count <= L else {
                throw EvaluationError.invalidRequest(
                    index: i, problem: "the continuation has \(r.continuation.count) tokens, more than the \(L) the model sees")
            }
            for t in r.context + r.continuation where t < 0 || t >= model.vocabularySize {
                throw EvaluationError.invalidRequest(index: i, problem: "token id \(t) outside the vocabulary (\(model.vocabularySize))")
            }
            let total = r.context.count + r.continuation.count
            let drop = max(0, total - (L + 1))
            let context = Array(r.context[drop...])
            contexts.append(context)
            if groups[context] == nil { groupOrder.append(context) }
            groups[context, default: []].append(i)
        }

        var results = [LogLikelihoodResult?](repeating: nil, count: requests.count)
        var done = 0
        var cache: KVCache? = nil
        for context in groupOrder {
            let members = groups[context]!
            for chunkStart in Swift.stride(from: 0, to: members.count, by: batchSize) {
                let chunk = members[chunkStart..<min(members.count, chunkStart + batchSize)]
                let prefix = Array(context.dropLast())
                let longest = chunk.map { requests[$0].continuation.count }.max()!
                let needed = prefix.count + longest
                if cache == nil || cache!.capacity < needed {
                    // Capacity rounded up so that one cache serves most groups.
                    cache = model.makeCache(batch: 1, capacity: min(L, (needed + 511) / 512 * 512))
                }
                let kv = cache!
                kv.truncate(to: 0)
                if !prefix.isEmpty {
                    _ = Autograd.noGrad { model.forward(tokens: prefix, batch: 1, cache: kv, lastOnly: true) }
                }
                for index in chunk {
                    kv.truncate(to: prefix.count)
                    results[index] = scoreContinuation(model, last: context[context.count - 1],
                                                       continuation: requests[index].continuation, cache: kv)
                    done += 1
                    progress?(done, requests.count)
                }
            }
        }
        return results.map { $0! }
    }

    /// Runs [last] + continuation[..<m-1] after the cached prefix and reads the continuation's log-probabilities.
    static func scoreContinuation(_ model: LanguageModel, last: Int, continuation: [Int],
                                  cache: KVCache) -> LogLikelihoodResult {
        let input = [last] + continuation.dropLast()
        let logp = Autograd.noGrad {
            model.forward(tokens: input, batch: 1, cache: cache, lastOnly: false).logSoftmax().contiguous()
        }                                                                           // (1, m, V)
        let V = model.vocabularySize
        var total = 0.0
        var greedy = true
        for (j, target) in continuation.enumerated() {
            let row = logp.pointer + j * V
            total += Double(row[target])
            if greedy {
                // argmax with ties to the lowest index (torch.argmax), compared with the target.
                let value = row[target]
                for v in 0..<target where row[v] >= value { greedy = false; break }
                if greedy { for v in (target + 1)..<V where row[v] > value { greedy = false; break } }
            }
        }
        return LogLikelihoodResult(logprob: total, isGreedy: greedy, tokenCount: continuation.count)
    }
}

extension LogLikelihood {
    /// Tuple spelling: `score(model, requests: [(context: [...], continuation: [...])])`.
    public static func score(_ model: LanguageModel, requests: [(context: [Int], continuation: [Int])],
                             batchSize: Int = 32, maxLength: Int? = nil) throws -> [LogLikelihoodResult] {
        try score(model, requests: requests.map { LogLikelihoodRequest(context: $0.context, continuation: $0.continuation) },
                  batchSize: batchSize, maxLength: maxLength)
    }
}
