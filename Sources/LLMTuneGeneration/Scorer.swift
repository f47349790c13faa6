// Log-likelihood of text under the model: the quantity perplexity and multiple-choice evaluation use.
import Foundation
import LLMTuneModels
import LLMTuneTensor

/// Per-token log-probabilities of a token sequence.
public struct TokenScores: Codable, Sendable {
    /// The scored tokens.
    public var tokenIds: [Int]
    /// logprobs[i] = log p(tokenIds[i + 1] | tokenIds[0...i]); one fewer than tokenIds.
    public var logprobs: [Double]
    /// Negative log-likelihood summed over the predicted tokens.
    public var totalNLL: Double { -logprobs.reduce(0, +) }
    /// exp(mean NLL).
    public var perplexity: Double { logprobs.isEmpty ? .nan : exp(totalNLL / Double(logprobs.count)) }

    enum CodingKeys: String, CodingKey { case tokenIds = "token_ids", logprobs }
}

public enum Scorer {
    /// Scores every token after the first. Sequences longer than the context are scored in rolling windows:
    /// each token is predicted exactly once, with as much preceding context as the window allows.
    public static func score(_ model: LanguageModel, tokens: [Int], window: Int? = nil) throws -> TokenScores {
        guard tokens.count >= 2 else {
            throw ModelError.invalidConfig(key: "text", file: "input",
                                           problem: "needs at least 2 tokens to score, found \(tokens.count)")
        }
        let L = min(window ?? model.contextLength, model.contextLength)
        var logprobs: [Double] = []
        logprobs.reserveCapacity(tokens.count - 1)
        var next = 1                        // first token not yet predicted
        while next < tokens.count {
            // Windows of L tokens, each predicting the tokens not predicted yet (lm-evaluation-harness's rolling
            // windows): the first window predicts tokens 1..<L, the next L..<2L-1, and so on.
            let predictEnd = min(tokens.count, next + L - 1)
            let start = max(0, predictEnd - L)
            let windowTokens = Array(tokens[start..<predictEnd])
            let logp = Autograd.noGrad { model.logits(windowTokens).logSoftmax() }   // (W, V)
            let V = model.vocabularySize
            let lp = logp.contiguous()
            for target in next..<predictEnd {
                let row = target - 1 - start
                logprobs.append(Double(lp.pointer[row * V + tokens[target]]))
            }
            next = predictEnd
        }
        return TokenScores(tokenIds: tokens, logprobs: logprobs)
    }
}
