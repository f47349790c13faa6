// Records to (tokens, loss mask): one masking mechanism for every format. A record is rendered into text
// segments, each marked target or not:
//   text               [text: target]
//   prompt/completion  [prompt][completion: target]             (plain concatenation, as mlx-lm's
//                                                                 completions without a template)
//   Alpaca             [Stanford Alpaca prompt][output: target]  (tatsu-lab/stanford_alpaca train.py)
//   chat               the chat template's rendering; each assistant turn's content and its end-of-turn
//                      token are targets, headers / user / system turns are not (LLaMA-Factory's
//                      multi-turn mask; mlx-lm masks only the last turn)
// The full text is tokenized once; at each segment boundary the tokens of the text before it must be a
// prefix of the full tokens, which gives the boundary's token index. If a BPE merge crosses a boundary
// (rare: boundaries sit next to special tokens or newlines), the record's segments are tokenized one by
// one and concatenated instead (counted as `boundaryMerges`), so masks are always exact, at the price
// of a tokenization that can differ slightly from what the model sees at inference for that record.

import Foundation
import LLMTuneTokenizers

/// One training record after templating and tokenization. lossMask[i] == true: token i is a target
/// (predicted from tokens 0..<i). Prompt tokens are false unless trainOnPrompt.
public struct TokenizedExample: Codable, Sendable, Equatable {
    public var tokens: [Int]
    public var lossMask: [Bool]

    public init(tokens: [Int], lossMask: [Bool]) {
        precondition(tokens.count == lossMask.count, "tokens and lossMask must have the same length")
        self.tokens = tokens
        self.lossMask = lossMask
    }

    /// Number of tokens.
    public var count: Int { tokens.count }
    /// Number of target tokens (positions 1... with a true mask; position 0 is never predicted).
    public var targetCount: Int { lossMask.dropFirst().reduce(0) { $0 + ($1 ? 1 : 0) } }
}

/// Renders and tokenizes records with one tokenizer and one set of options.
public struct ExampleEncoder: Sendable {
    public let tokenizer: any Tokenizer
    public let options: DatasetOptions
    /// The chat template, resolved lazily: nil until a chat record (or an "as chat" option) needs it.
    private var template: ChatTemplate?
    private let templateError: DatasetError?
    /// Tokens the tokenizer's post-processor puts before a text (e.g. Llama's BOS); used for non-chat formats.
    let specialPrefix: [Int]

    /// Resolves the chat template (options.chatTemplate, else the tokenizer's own). A template that cannot be
    /// resolved only fails when a record needs it.
    public init(tokenizer: any Tokenizer, options: DatasetOptions) {
        self.tokenizer = tokenizer
        self.options = options
        do {
            template = try tokenizer.resolveChatTemplate(name: options.chatTemplate)
            templateError = nil
        } catch {
            template = nil
            templateError = .chatTemplate(message: "\(error)")
        }
        let probe = "a"
        let plain = tokenizer.encode(probe, addSpecialTokens: false)
        let full = tokenizer.encode(probe, addSpecialTokens: true)
        if let start = full.firstRange(of: plain)?.lowerBound { specialPrefix = Array(full[..<start]) } else {
            specialPrefix = []
        }
    }

    /// The chat template in use (throws if none could be resolved).
    public func chatTemplate() throws -> ChatTemplate {
        if let template { return template }
        throw templateError ?? .chatTemplate(message: "no chat template")
    }

    /// A text segment of a rendered record.
    public struct Segment: Sendable, Equatable {
        public var text: String
        public var isTarget: Bool
        public init(_ text: String, isTarget: Bool) {
            self.text = text
            self.isTarget = isTarget
        }
    }

    /// The record as text segments, and whether the tokenizer's special prefix (BOS) goes first.
    public func segments(for content: RecordContent) throws -> (segments: [Segment], specialPrefix: Bool) {
        switch content {
        case .text(let text):
            return ([Segment(text, isTarget: true)], true)
        case .promptCompletion(let prompt, let completion):
            if options.promptCompletionAsChat {
                return (try chatSegments([.user(prompt), .assistant(completion)]), false)
            }
            return ([Segment(prompt, isTarget: false), Segment(completion, isTarget: true)], true)
        case .instruction(let instruction, let input, let output):
            if options.alpacaAsChat {
                let user = input.isEmpty ? instruction : instruction + "\n\n" + input
                return (try chatSegments([.user(user), .assistant(output)]), false)
            }
            return ([Segment(Self.alpacaPrompt(instruction: instruction, input: input), isTarget: false),
                     Segment(output, isTarget: true)], true)
        case .chat(let messages):
            return (try chatSegments(messages), false)
        }
    }

    /// The Stanford Alpaca prompt for an instruction and an optional input.
    public static func alpacaPrompt(instruction: String, input: String) -> String {
        let head = "Below is an instruction that describes a task"
        let tail = "Write a response that appropriately completes the request.\n\n### Instruction:\n" + instruction
        if input.isEmpty { return head + ". " + tail + "\n\n### Response:\n" }
        return head + ", paired with an input that provides further context. " + tail + "\n\n### Input:\n" + input
            + "\n\n### Response:\n"

    }

    /// Chat segments: the template's rendering cut at each assistant turn's start (after its header) and end
    /// (after its end-of-turn token; trailing whitespace such as ChatML's "\n" stays a prompt token).
    func chatSegments(_ messages: [ChatMessage]) throws -> [Segment] {
        let template = try chatTemplate()
        let full = Array(template.render(messages: messages, addGenerationPrompt: false).utf8)
        var segments: [Segment] = []
        var cursor = 0
        for (index, message) in messages.enumerated() where message.role == "assistant" {
            let before = Array(template.render(messages: Array(messages[..<index]), addGenerationPrompt: true).utf8)
            let through = Array(template.render(messages: Array(messages[...index]), addGenerationPrompt: false).utf8)
            guard before.count >= cursor, full.starts(with: before), full.starts(with: through),
                  through.count >= before.count else {
                throw DatasetError.chatTemplate(message: "the \(template.kind.rawValue) template does not render "
                    + "conversations incrementally, so assistant turns cannot be masked")
            }
            var end = through.count
            while end > before.count, [0x20, 0x0A, 0x0D, 0x09].contains(full[end - 1]) { end -= 1 }
            if before.count > cursor {
                segments.append(Segment(Self.text(full[cursor..<before.count]), isTarget: false))
            }
            segments.append(Segment(Self.text(full[before.count..<end]), isTarget: true))
            cursor = end
        }
        if cursor < full.count { segments.append(Segment(Self.text(full[cursor...]), isTarget: false)) }
        return segments
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Tokens and loss mask of a record (not yet truncated to `maxLength`).
    public func encode(_ content: RecordContent) throws -> TokenizedExample {
        try encodeReporting(content).example
    }

    /// The example and whether its segments had to be tokenized piece by piece.
    func encodeReporting(_ content: RecordContent) throws -> (example: TokenizedExample, piecewise: Bool) {
        let (rendered, wantsPrefix) = try segments(for: content)
        var (tokens, mask, piecewise) = tokenize(rendered)
        if wantsPrefix && !specialPrefix.isEmpty && !tokens.starts(with: specialPrefix) {
            tokens.insert(contentsOf: specialPrefix, at: 0)
            mask.insert(contentsOf: Array(repeating: false, count: specialPrefix.count), at: 0)
        }
        if options.addEOS, let eos = tokenizer.eosTokenIds.first {
            // The last target run must end with an end token; append the EOS if it does not.
            if let last = mask.lastIndex(of: true) {
                var start = last
                while start > 0 && mask[start - 1] { start -= 1 }
                let endIds = Set(tokenizer.eosTokenIds)
                if !tokens[start...last].contains(where: endIds.contains) {
                    tokens.insert(eos, at: last + 1)
                    mask.insert(true, at: last + 1)
                }
            }
        }
        if options.trainOnPrompt {
            let prefixCount = wantsPrefix && tokens.starts(with: specialPrefix) ? specialPrefix.count : 0
            for i in prefixCount..<mask.count { mask[i] = true }
        }
        return (TokenizedExample(tokens: tokens, lossMask: mask), piecewise)
    }

    /// Tokens, mask and whether the pieces were tokenized separately.
    func tokenize(_ segments: [Segment]) -> (tokens: [Int], mask: [Bool], piecewise: Bool) {
        // Merge neighbours with the same flag: boundaries only where the mask changes.
        var merged: [Segment] = []
        for segment in segments where !segment.text.isEmpty {
            if let last = merged.last, last.isTarget == segment.isTarget {
                merged[merged.count - 1].text += segment.text
            } else {
                merged.append(segment)
            }
        }
        let full = merged.map(\.text).joined()
        let tokens = tokenizer.encode(full, addSpecialTokens: false)
        var mask = [Bool](repeating: false, count: tokens.count)
        var prefix = ""
        var boundaries: [Int] = [0]
        var aligned = true
        for segment in merged.dropLast() {
            prefix += segment.text
            let head = tokenizer.encode(prefix, addSpecialTokens: false)
            guard head.count >= boundaries.last!, tokens.starts(with: head) else {
                aligned = false
                break
            }
            boundaries.append(head.count)
        }
        if aligned {
            boundaries.append(tokens.count)
            for (index, segment) in merged.enumerated() where segment.isTarget {
                for i in boundaries[index]..<boundaries[index + 1] { mask[i] = true }
            }
            return (tokens, mask, false)
        }
        var pieceTokens: [Int] = []
        var pieceMask: [Bool] = []
        for segment in merged {
            let ids = tokenizer.encode(segment.text, addSpecialTokens: false)
            pieceTokens += ids
            pieceMask += [Bool](repeating: segment.isTarget, count: ids.count)
        }
        return (pieceTokens, pieceMask, true)
    }
}
