// `llmtune score`: per-token log-probabilities of a text under the model.
import ArgumentParser
import Foundation
import LLMTuneGeneration
import LLMTuneModels

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a text: token ids, per-token log-probabilities, total NLL and perplexity.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The text to score.")
    var text: String?
    @Option(help: "A file whose whole content is scored.")
    var file: String?
    @Flag(name: .customLong("no-special-tokens"), help: "Do not add the tokenizer's BOS/EOS rules.")
    var noSpecialTokens = false
    @Flag(help: "Print one JSON object: token_ids, logprobs (logprobs[i] scores token_ids[i+1]), nll, perplexity.")
    var json = false

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("give exactly one of --text or --file") }
    }

    func run() throws {
        let input: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read --file \(file): no such file or not readable")
            }
            input = String(decoding: data, as: UTF8.self)
        } else {
            input = text ?? ""
        }
        let loaded = try modelOptions.load()
        let ids = loaded.tokenizer.encode(input, addSpecialTokens: !noSpecialTokens)
        let scores = try Scorer.score(loaded.model, tokens: ids)
        if json {
            try printJSON(ScoreReport(scores))
            return
        }
        for (i, lp) in scores.logprobs.enumerated() {
            let id = ids[i + 1]
            let piece = loaded.tokenizer.decode([id], skipSpecialTokens: false)
            print(String(format: "%6d  %-20@ %10.4f", id, piece.debugDescription as NSString, lp))
        }
        print(String(format: "tokens %d  NLL %.4f  perplexity %.4f", ids.count, scores.totalNLL, scores.perplexity))
    }
}

struct ScoreReport: Encodable {
    var tokenIds: [Int]
    var logprobs: [Double]
    var nll: Double
    var perplexity: Double

    init(_ s: TokenScores) {
        tokenIds = s.tokenIds
        logprobs = s.logprobs
        nll = s.totalNLL
        perplexity = s.perplexity
    }

    enum CodingKeys: String, CodingKey { case tokenIds = "token_ids", logprobs, nll, perplexity }
}
