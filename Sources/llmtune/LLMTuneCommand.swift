// The `llmtune` command: wiring only. Each subcommand lives in its own file.
import ArgumentParser

@main
struct LLMTuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmtune",
        abstract: "Load, run, score and fine-tune language models on a CPU.",
        subcommands: [Quickstart.self, Pull.self, Models.self, Generate.self, Chat.self, Score.self, Tokenize.self, Eval.self,
                      Embed.self, Train.self, Export.self, Doctor.self]
    )
}
