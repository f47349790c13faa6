// Perplexity of documents under the model, by rolling log-likelihood windows.
// Reference: lm-evaluation-harness `utils.get_rolling_token_windows` + `make_disjoint_window` (used by
// `loglikelihood_rolling`) and the wikitext task's metrics: word_perplexity, byte_perplexity, bits_per_byte
// (`weighted_perplexity` = exp(-sum ll / sum weight), `bits_per_byte` = -sum ll / sum bytes / ln 2).
//
// Windows: a document of N tokens is scored in windows of at most `context` tokens. The first window is
// [prefix] + tokens[0..<context-1] and predicts tokens[0..<context] (the first token too, conditioned on the
// BOS/EOS prefix token). Each later window predicts the next `stride` tokens (fewer at the end) with the
// `context - stride` tokens before them as conditioning. stride == context (the default, the harness's
// `context_len = 1`) gives disjoint windows; stride < context overlaps windows so that every token after the
// first window is predicted with at least `context - stride` tokens of history. Every token is predicted once.
import Foundation
import LLMTuneModels
import LLMTuneTokenizers

/// Rolling log-likelihood windows over a token list.
public enum RollingWindows {
    /// The (context, continuation) requests that score every token of `tokens` once, as the harness's
    /// `get_rolling_token_windows(tokens, prefix, max_seq_len: context, context_len: context - stride + 1)`
    /// followed by `make_disjoint_window`.
    public static func requests(tokens: [Int], prefixToken: Int, context: Int,
                                stride: Int? = nil) throws -> [LogLikelihoodRequest] {
        let stride = stride ?? context
        guard context >= 1 else { throw EvaluationError.invalidOption(name: "context", problem: "must be >= 1, got \(context)") }
        guard stride >= 1 && stride <= context else {
            throw EvaluationError.invalidOption(name: "stride", problem: "must be in 1...\(context) (the context), got \(stride)")
        }
        if tokens.isEmpty { return [] }
        var out: [LogLikelihoodRequest] = []
        let first = min(context, tokens.count)
        out.append(LogLikelihoodRequest(context: [prefixToken], continuation: Array(tokens[0..<first])))
        var predicted = first
        while predicted < tokens.count {
            let count = min(tokens.count - predicted, stride)
            let end = predicted + count
            // Window tokens[end-context-1 ..< end-1] predicts tokens[end-count ..< end]; made disjoint, its context
            // keeps the tokens before the predicted ones.
            let windowStart = end - context - 1
            let contextTokens = Array(tokens[windowStart..<(end - count)])
            out.append(LogLikelihoodRequest(context: contextTokens, continuation: Array(tokens[(end - count)..<end])))
            predicted = end
        }
        return out
    }
}

/// Totals over documents and the harness's perplexity metrics.
public struct PerplexityResult: Codable, Sendable, Equatable {
    /// Summed log-likelihood of all tokens of all documents (natural log).
    public var logLikelihood: Double
    public var documents: Int
    public var tokens: Int
    /// Whitespace-separated words (harness: len(re.split(r"\s+", doc)) per document).
    public var words: Int
    /// UTF-8 bytes.
    public var bytes: Int

    /// exp(-ll / tokens).
    public var tokenPerplexity: Double { exp(-logLikelihood / Double(tokens)) }
    /// exp(-ll / words).
    public var wordPerplexity: Double { exp(-logLikelihood / Double(words)) }
    /// exp(-ll / bytes).
    public var bytePerplexity: Double { exp(-logLikelihood / Double(bytes)) }
    /// -ll / bytes / ln 2.
    public var bitsPerByte: Double { -logLikelihood / Double(bytes) / log(2) }

    public init(logLikelihood: Double, documents: Int, tokens: Int, words: Int, bytes: Int) {
        self.logLikelihood = logLikelihood
        self.documents = documents
        self.tokens = tokens
        self.words = words
        self.bytes = bytes
    }

    enum CodingKeys: String, CodingKey {
        case logLikelihood = "log_likelihood", documents, tokens, words, bytes
        case tokenPerplexity = "perplexity", wordPerplexity = "word_perplexity"
        case bytePerplexity = "byte_perplexity", bitsPerByte = "bits_per_byte"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        logLikelihood = try c.decode(Double.self, forKey: .logLikelihood)
        documents = try c.decode(Int.self, forKey: .documents)
        tokens = try c.decode(Int.self, forKey: .tokens)
        words = try c.decode(Int.self, forKey: .words)
        bytes = try c.decode(Int.self, forKey: .bytes)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(logLikelihood, forKey: .logLikelihood)
        try c.encode(documents, forKey: .documents)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(words, forKey: .words)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(tokenPerplexity, forKey: .tokenPerplexity)
        try c.encode(wordPerplexity, forKey: .wordPerplexity)
        try c.encode(bytePerplexity, forKey: .bytePerplexity)
        try c.encode(bitsPerByte, forKey: .bitsPerByte)
    }
}

public enum Perplexity {
    /// Scores token documents (token level; no tokenizer needed). `words` and `bytes` are per-document counts
    /// for the word and byte metrics (pass the token counts when unknown).
    public static func evaluate(_ model: LanguageModel, documents: [[Int]], words: [Int], bytes: [Int],
                                prefixToken: Int, context: Int? = nil, stride: Int? = nil, batchSize: Int = 32,
                                progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        precondition(words.count == documents.count && bytes.count == documents.count, "one count per document")
        let L = min(context ?? model.contextLength, model.contextLength)
        var requests: [LogLikelihoodRequest] = []
        for doc in documents {
            requests += try RollingWindows.requests(tokens: doc, prefixToken: prefixToken, context: L, stride: stride)
        }
        let results = try LogLikelihood.score(model, requests: requests, batchSize: batchSize, maxLength: L,
                                              progress: progress)
        return PerplexityResult(logLikelihood: results.reduce(0) { $0 + $1.logprob },
                                documents: documents.count, tokens: documents.reduce(0) { $0 + $1.count },
                                words: words.reduce(0, +), bytes: bytes.reduce(0, +))
    }

    /// The harness's word count: the number of pieces of `re.split(r"\s+", text)` (leading or trailing
    /// whitespace adds an empty piece, as in Python).
    public static func wordCount(_ text: String) -> Int {
        var pieces = 1
        var inSpace = false
        for scalar in text.unicodeScalars {
            let space = Perplexity.isPythonWhitespace(scalar)
            if space && !inSpace { pieces += 1 }
            inSpace = space
        }
        return pieces
    }

    /// Python `re` `\s` for str patterns: Unicode whitespace (str.isspace).
    static func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
             0x3000:
            return true
        default:
            return false
        }
    }
}

// MARK: - Text documents

extension Perplexity {
    /// Documents of a perplexity task: a `.jsonl` file gives one document per line (its `text` field); any other
    /// file is one document.
    public static func loadDocuments(_ url: URL) throws -> [String] {
        if url.pathExtension.lowercased() == "jsonl" {
            return try TaskFiles.jsonLinesNumbered(url).enumerated().map { n, entry in
                guard let text = entry.object["text"] as? String else {
                    throw EvaluationError.invalidTask(file: url.path, example: n, line: entry.line,
                                                      problem: "missing \"text\" string",
                                                      hint: "perplexity JSONL lines are {\"text\": ...}")
                }
                return text
            }
        }
        let text = String(decoding: try TaskFiles.read(url), as: UTF8.self)
        guard !text.isEmpty else {
            throw EvaluationError.invalidTask(file: url.path, example: nil, problem: "the file is empty", hint: "")
        }
        return [text]
    }

    /// Scores text documents: each is tokenized without special tokens and scored from the BOS token (the EOS
    /// token when there is no BOS), as the harness's `loglikelihood_rolling` does with `prefix_token_id`.
    public static func evaluate(_ model: LanguageModel, tokenizer: Tokenizer, documents: [String],
                                context: Int? = nil, stride: Int? = nil, batchSize: Int = 32,
                                progress: ((Int, Int) -> Void)? = nil) throws -> PerplexityResult {
        guard let prefix = tokenizer.bosTokenId ?? tokenizer.eosTokenIds.first else {
            throw EvaluationError.unsupported("the tokenizer has neither a BOS nor an EOS token to start documents with")
        }
        let tokens = documents.map { tokenizer.encode($0, addSpecialTokens: false) }
        return try evaluate(model, documents: tokens, words: documents.map(wordCount),
                            bytes: documents.map { $0.utf8.count }, prefixToken: prefix, context: context,
                            stride: stride, batchSize: batchSize, progress: progress)
    }
}
