// `llmtune generate`: one prompt, streamed continuation.
import ArgumentParser
import Foundation
import LLMTuneGeneration
import LLMTuneModels
import LLMTuneTokenizers

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a prompt, streaming tokens.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The prompt text.")
    var prompt: String
    @Flag(help: "Wrap the prompt in the model's chat template as a user message.")
    var chat = false
    @Option(help: "System message (with --chat).")
    var system: String?
    @Option(help: "Chat template to use when the checkpoint's is not recognised: \(ChatTemplate.builtInNames.joined(separator: ", ")).")
    var template: String?
    @OptionGroup var sampling: SamplingOptions
    @Flag(help: "Print one JSON object (text, token_ids, finish_reason, timings) instead of streaming.")
    var json = false

    func run() throws {
        let loaded = try modelOptions.load()
        var ids: [Int]
        if chat {
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
            ids = try loaded.encodeChat(messages, template: template)
        } else {
            ids = loaded.tokenizer.encode(prompt, addSpecialTokens: true)
        }
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        let result = try generator.generate(prompt: ids, options: sampling.generationOptions) { piece in
            if !json { printFlushed(piece) }
            return true
        }
        if json {
            try printJSON(GenerateReport(result))
        } else {
            printFlushed("\n")
            printError(String(format: "[%d prompt tokens, %.1f tokens/s prefill; %d new tokens, %.1f tokens/s decode; %@]",
                              result.promptTokens, result.prefillTokensPerSecond, result.tokenIds.count,
                              result.decodeTokensPerSecond, result.finishReason.rawValue))
        }
    }
}

struct GenerateReport: Encodable {
    var text: String
    var tokenIds: [Int]
    var finishReason: String
    var promptTokens: Int
    var prefillTokensPerSecond: Double
    var decodeTokensPerSecond: Double

    init(_ r: GenerationResult) {
        text = r.text
        tokenIds = r.tokenIds
        finishReason = r.finishReason.rawValue
        promptTokens = r.promptTokens
        prefillTokensPerSecond = r.prefillTokensPerSecond
        decodeTokensPerSecond = r.decodeTokensPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case text, tokenIds = "token_ids", finishReason = "finish_reason", promptTokens = "prompt_tokens"
        case prefillTokensPerSecond = "prefill_tokens_per_second", decodeTokensPerSecond = "decode_tokens_per_second"
    }
}
