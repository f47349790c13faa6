// `llmtune embed`: sentence embeddings of texts with an encoder model (e.g. all-minilm-l6-v2).
import ArgumentParser
import Foundation
import LLMTuneHub
import LLMTuneModels

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sentence embeddings of texts (mean-pooled, normalised as the model's sentence-transformers files say).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "A text to embed (repeatable).")
    var text: [String] = []
    @Option(help: "A UTF-8 file with one text per line (empty lines are skipped).")
    var file: String?
    @Option(name: .customLong("batch-size"), help: "Texts encoded together.")
    var batchSize: Int = 32
    @Flag(help: "Print one JSON object {\"model\", \"dimensions\", \"embeddings\"}.")
    var json = false

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be > 0, got \(batchSize)") }
        guard !text.isEmpty || file != nil else { throw ValidationError("give at least one --text or a --file") }
    }

    func run() throws {
        var texts = text
        if let file {
            let url = URL(fileURLWithPath: (file as NSString).expandingTildeInPath)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ValidationError("cannot read --file \(url.path): check the path and its permissions")
            }
            guard let content = String(data: data, encoding: .utf8) else {
                throw ValidationError("--file \(url.path) is not valid UTF-8")
            }
            texts += content.split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        guard !texts.isEmpty else { throw ValidationError("no texts to embed (the file has no non-empty lines)") }
        let url = try ModelStore().resolve(modelOptions.model)
        let embedder = try EmbeddingModelLoader.loadEmbedder(url, options: LoadOptions(dequantize: modelOptions.dequantize))
        let embeddings = try embedder.embed(texts, batchSize: batchSize)
        if json {
            try printJSON(EmbedReport(model: modelOptions.model, dimensions: embedder.dimensions, embeddings: embeddings))
            return
        }
        for (i, (t, e)) in zip(texts, embeddings).enumerated() {
            let head = e.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: ", ")
            print("[\(i)] \(t.debugDescription) -> \(e.count) dims: [\(head), ...]")
        }
        if texts.count >= 2 {
            print("cosine similarities:")
            for i in 0..<texts.count {
                for j in (i + 1)..<texts.count {
                    let s = SentenceEmbedder.cosineSimilarity(embeddings[i], embeddings[j])
                    print("  [\(i)] ~ [\(j)]: \(String(format: "%.4f", s))")
                }
            }
        }
    }
}

struct EmbedReport: Encodable {
    var model: String
    var dimensions: Int
    var embeddings: [[Float]]
}
