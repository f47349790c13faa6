// Autoregressive generation with a KV cache: one batched prefill of the prompt, then one token at a time.
// Streams text as complete UTF-8, honours EOS and stop strings, and reuses the cache across calls when a new
// prompt extends the previous conversation (multi-turn chat re-runs only the new tokens).
import Foundation
import LLMTuneModels
import LLMTuneTensor
import LLMTuneTokenizers

public struct GenerationOptions: Sendable {
    /// Most new tokens to produce. Default 256.
    public var maxTokens: Int = 256
    public var sampling = SamplingParameters()
    /// Generation stops before the first occurrence of any of these strings. Default none.
    public var stopStrings: [String] = []
    /// Stop at the tokenizer's end-of-sequence tokens. Default true.
    public var stopAtEOS = true

    public init(maxTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(),
                stopStrings: [String] = [], stopAtEOS: Bool = true) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
        self.stopAtEOS = stopAtEOS
    }
}

public enum FinishReason: String, Codable, Sendable { case eos, stop, length, cancelled }

public struct GenerationResult: Codable, Sendable {
    public var tokenIds: [Int]
    public var text: String
    public var finishReason: FinishReason
    public var promptTokens: Int
    /// Prompt tokens actually run (fewer than promptTokens when a cached prefix was reused).
    public var prefilledTokens: Int
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(prefilledTokens) / prefillSeconds : 0 }
    /// Tokens after the first, per second of decoding.
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 && tokenIds.count > 1 ? Double(tokenIds.count - 1) / decodeSeconds : 0
    }
}

public final class Generator {
    public let model: LanguageModel
    public let tokenizer: Tokenizer
    private var cache: KVCache?
    private var cachedTokens: [Int] = []

    public init(model: LanguageModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generates a continuation of `prompt` (token ids). `onText` receives each new piece of text as soon as it is
    /// complete UTF-8 and not possibly the start of a stop string; returning false cancels.
    public func generate(prompt: [Int], options: GenerationOptions,
                         onText: (String) -> Bool = { _ in true }) throws -> GenerationResult {
        let context = model.contextLength
        guard !prompt.isEmpty else {
            throw ModelError.invalidConfig(key: "prompt", file: "input", problem: "the prompt is empty")
        }
        guard prompt.count < context else { throw ModelError.contextOverflow(tokens: prompt.count, context: context) }
        let budget = min(options.maxTokens, context - prompt.count)

        // Reuse the cached prefix shared with the previous call.
        if cache == nil || cache!.capacity < context { cache = model.makeCache(batch: 1, capacity: context) }
        let cache = self.cache!
        var shared = 0
        while shared < min(cachedTokens.count, prompt.count - 1), cachedTokens[shared] == prompt[shared] { shared += 1 }
        cache.truncate(to: shared)
        cachedTokens = Array(prompt[..<shared])

        var sampler = Sampler(options.sampling)
        var history = prompt
        var generated: [Int] = []
        var text = ""
        var emitted = 0                 // characters of `text` already handed to onText
        var finish = FinishReason.length
        let eos = Set(tokenizer.eosTokenIds)

        let t0 = Date()
        var logits = Autograd.noGrad {
            model.forward(tokens: Array(prompt[shared...]), batch: 1, cache: cache, lastOnly: true)
        }
        cachedTokens = prompt
        let prefillSeconds = Date().timeIntervalSince(t0)
        let t1 = Date()

        loop: while generated.count < budget {
            let row = logits.contiguous()   // (1, 1, V)
            let next = sampler.next(UnsafeMutableBufferPointer(start: row.pointer, count: row.count), history: history)
            if options.stopAtEOS && eos.contains(next) { finish = .eos; break }
            generated.append(next)
            history.append(next)
            text = tokenizer.decode(generated, skipSpecialTokens: false)

            // Stop strings: cut the text at the first match.
            if let cut = Generator.firstStop(in: text, stops: options.stopStrings) {
                text = String(text[..<cut])
                finish = .stop
            }
            let safeEnd = finish == .stop ? text.endIndex : Generator.emittableEnd(text, stops: options.stopStrings)
            let start = text.index(text.startIndex, offsetBy: min(emitted, text.count))
            if start < safeEnd {
                let piece = String(text[start..<safeEnd])
                emitted += piece.count
                if !onText(piece) { finish = .cancelled; break loop }
            }
            if finish == .stop { break }
            if generated.count == budget { break }
            logits = Autograd.noGrad { model.forward(tokens: [next], batch: 1, cache: cache, lastOnly: true) }
            cachedTokens.append(next)
        }
        if finish == .length || finish == .eos, emitted < text.count {
            let start = text.index(text.startIndex, offsetBy: emitted)
            _ = onText(String(text[start...]))
        }
        return GenerationResult(tokenIds: generated, text: text, finishReason: finish, promptTokens: prompt.count,
                                prefilledTokens: prompt.count - shared, prefillSeconds: prefillSeconds,
                                decodeSeconds: Date().timeIntervalSince(t1))
    }

    /// Forgets the cached conversation.
    public func reset() {
        cache?.truncate(to: 0)
        cachedTokens = []
    }

    static func firstStop(in text: String, stops: [String]) -> String.Index? {
        stops.filter { !$0.isEmpty }.compactMap { text.range(of: $0)?.lowerBound }.min()
    }

    /// The end of the text that can be shown now: not an incomplete UTF-8 sequence (U+FFFD at the end) and not
    /// a suffix that could grow into a stop string.
    static func emittableEnd(_ text: String, stops: [String]) -> String.Index {
        var end = text.endIndex
        if text.unicodeScalars.last == "\u{FFFD}" { end = text.index(before: end) }
        for stop in stops where !stop.isEmpty {
            var k = min(stop.count - 1, text.distance(from: text.startIndex, to: end))
            while k > 0 {
                let from = text.index(end, offsetBy: -k)
                if stop.hasPrefix(text[from..<end]) { end = min(end, from); break }
                k -= 1
            }
        }
        return end
    }
}
