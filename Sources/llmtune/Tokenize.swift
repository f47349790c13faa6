// `llmtune tokenize`: token ids and pieces of a text.
import ArgumentParser
import LLMTuneModels

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the token ids and pieces of a text.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The text to tokenize.")
    var text: String
    @Flag(name: .customLong("no-special-tokens"), help: "Do not add the tokenizer's BOS/EOS rules.")
    var noSpecialTokens = false
    @Flag(help: "Print one JSON object with `ids` and `pieces`.")
    var json = false

    func run() throws {
        let tokenizer = try modelOptions.loadTokenizer()
        let ids = tokenizer.encode(text, addSpecialTokens: !noSpecialTokens)
        let pieces = ids.map { tokenizer.token(for: $0) ?? "" }
        if json {
            try printJSON(TokenizeReport(ids: ids, pieces: pieces))
        } else {
            for (id, piece) in zip(ids, pieces) { print("\(id)\t\(piece.debugDescription)") }
            print("\(ids.count) tokens")
        }
    }
}

struct TokenizeReport: Encodable {
    var ids: [Int]
    var pieces: [String]
}
