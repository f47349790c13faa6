// `llmtune chat`: an interactive multi-turn conversation. The KV cache carries over between turns, so each
// turn only runs its new tokens.
import ArgumentParser
import Foundation
import LLMTuneGeneration
import LLMTuneModels
import LLMTuneTokenizers

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model in the terminal (/reset clears the conversation, /exit or Ctrl-D quits).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "System message.")
    var system: String?
    @Option(help: "Chat template to use when the checkpoint's is not recognised: \(ChatTemplate.builtInNames.joined(separator: ", ")).")
    var template: String?
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        let loaded = try modelOptions.load()
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        var messages: [ChatMessage] = system.map { [ChatMessage(role: "system", content: $0)] } ?? []
        let opening = messages
        printError("Chatting with \(modelOptions.model). /reset clears the conversation, /exit quits.")
        while true {
            printFlushed("> ")
            guard let line = readLine() else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/exit" || text == "/quit" { break }
            if text == "/reset" {
                messages = opening
                generator.reset()
                printError("(conversation cleared)")
                continue
            }
            messages.append(ChatMessage(role: "user", content: text))
            let ids = try loaded.encodeChat(messages, template: template)
            let result = try generator.generate(prompt: ids, options: sampling.generationOptions) { piece in
                printFlushed(piece)
                return true
            }
            printFlushed("\n")
            messages.append(ChatMessage(role: "assistant", content: result.text))
        }
    }
}
