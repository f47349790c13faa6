// `llmtune quickstart`: the whole loop on a real model in a few minutes. Pulls SmolLM2-135M-Instruct and the
// Pang & Lee movie-review sentences, measures zero-shot accuracy on held-out reviews, trains a LoRA on the
// quantized base as loaded (QLoRA) with a live progress bar, and measures again on the same reviews.
import ArgumentParser
import Foundation
import LLMTuneAdapters
import LLMTuneData
import LLMTuneGeneration
import LLMTuneHub
import LLMTuneModels
import LLMTuneTensor
import LLMTuneTokenizers

struct Quickstart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pull a real model and data, fine-tune a sentiment LoRA on this CPU, show accuracy before and after.")

    @Option(name: .shortAndLong, help: "Base model.")
    var model = "smollm2-135m-instruct"
    @Option(name: .customLong("held-out"), help: "Held-out reviews scored before and after training.")
    var heldOut = 200
    @Option(help: "Optimizer steps.")
    var steps = 150
    @Option(name: .customLong("batch-size"), help: "Reviews per step.")
    var batchSize = 8
    @Option(name: .customLong("learning-rate"), help: "Peak learning rate.")
    var learningRate: Float = 5e-4
    @Option(help: "LoRA rank.")
    var rank = 8
    @Option(help: "Random seed (split, initialisation, data order).")
    var seed: UInt64 = 0
    @Flag(help: "Train on an fp32 copy of the base instead of its quantized blocks (more memory).")
    var dequantize = false
    @Option(name: .shortAndLong, help: "Output folder for the adapter, metrics and report.")
    var output = "runs/quickstart"
    @Flag(help: "Print the final summary as one JSON object.")
    var json = false

    func run() throws {
        let start = Date()
        let store = ModelStore(log: { printError($0) })
        printError("== 1. Pull the model and the data")
        let modelPath = try store.pull(model).path
        let csv = try store.pull("sentiment").path
        let loaded = try ModelRegistry.load(modelPath, options: LoadOptions(dequantize: dequantize))
        let (train, held) = try SentimentData.load(csv: csv, heldOut: heldOut, seed: seed)
        printError("   \(model): \(loaded.model.layerCount) layers, "
                   + (dequantize ? "fp32 copy of the weights" : "weights as stored (quantized)"))
        printError("   sentiment: \(train.count) training reviews, \(held.count) held out")

        printError("\n== 2. Zero-shot, before training")
        let judge = SentimentJudge(loaded: loaded)
        let shown = Array(held.prefix(4))
        let before = try judge.accuracy(held)
        let beforeAnswers = try shown.map { try judge.answer($0.sentence) }
        for (example, answer) in zip(shown, beforeAnswers) {
            printError("   \(Self.clip(example.sentence)) -> \(answer.debugDescription) (gold \(example.label.rawValue))")
        }
        printError(String(format: "   held-out accuracy: %.1f%%", 100 * before))

        printError("\n== 3. Train a LoRA (r=\(rank), all linear layers) on the " + (dequantize ? "fp32 base" : "quantized base"))
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let dataFile = URL(fileURLWithPath: output).appendingPathComponent("train.jsonl")
        try SentimentData.jsonLines(train).write(to: dataFile, atomically: true, encoding: .utf8)
        // The held-out reviews as an OpenAI-evals generation task, for `llmtune eval --compare` afterwards.
        let heldOutFile = URL(fileURLWithPath: output).appendingPathComponent("heldout.jsonl")
        try Self.evalLines(held).write(to: heldOutFile, atomically: true, encoding: .utf8)
        var settings = TrainSettings()
        settings.model = model
        settings.data = dataFile.path
        settings.rank = rank
        settings.alpha = Float(2 * rank)
        settings.targets = "all-linear"
        settings.steps = steps
        settings.batchSize = batchSize
        settings.seqLen = 256
        settings.learningRate = learningRate
        settings.warmupSteps = max(1, steps / 15)
        settings.seed = seed
        settings.output = output + "/adapter"
        settings.validationFraction = 0.05
        settings.evalEvery = max(10, steps / 5)
        settings.evalBatches = 4
        settings.checkpointEvery = 50
        settings.dequantize = dequantize
        let (result, _) = try TrainingJob(settings: settings).run(preloaded: loaded, log: { printError("   " + $0) })

        printError("\n== 4. The same held-out reviews, after training")
        let after = try judge.accuracy(held)
        for example in shown {
            printError("   \(Self.clip(example.sentence)) -> \(try judge.answer(example.sentence).debugDescription) "
                       + "(gold \(example.label.rawValue))")
        }
        let wall = Date().timeIntervalSince(start)
        printError(String(format: "   held-out accuracy: %.1f%% -> %.1f%% (%d reviews); training %.0f s, total %.0f s",
                          100 * before, 100 * after, held.count, result.wallSeconds, wall))
        printError("   adapter: \(output)/adapter")
        printError("   next:    llmtune eval --model \(model) --adapter \(output)/adapter --compare --task generate "
                   + "--data \(output)/heldout.jsonl --max-tokens 4 --out \(output)/eval")
        if json {
            try printJSON(QuickstartReport(accuracyBefore: before, accuracyAfter: after, heldOut: held.count,
                                           trainingSeconds: result.wallSeconds, totalSeconds: wall,
                                           tokensPerSecond: result.tokensPerSecond, adapter: output + "/adapter"))
        }
    }

    static func clip(_ s: String) -> String { s.count <= 60 ? s : String(s.prefix(57)) + "..." }

    /// {"input": [{"role": "user", "content": prompt}], "ideal": label} per line (OpenAI evals' chat format).
    static func evalLines(_ examples: [SentimentExample]) throws -> String {
        struct Line: Encodable { var input: [ChatMessage]; var ideal: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try examples.map {
            String(decoding: try encoder.encode(Line(input: [.user(SentimentData.prompt(for: $0.sentence))],
                                                      ideal: $0.label.rawValue)), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }
}

struct QuickstartReport: Encodable {
    var accuracyBefore: Double
    var accuracyAfter: Double
    var heldOut: Int
    var trainingSeconds: Double
    var totalSeconds: Double
    var tokensPerSecond: Double
    var adapter: String
    enum CodingKeys: String, CodingKey {
        case accuracyBefore = "accuracy_before", accuracyAfter = "accuracy_after", heldOut = "held_out"
        case trainingSeconds = "training_seconds", totalSeconds = "total_seconds"
        case tokensPerSecond = "tokens_per_second", adapter
    }
}

/// Asks the model for a review's sentiment in a chat turn.
struct SentimentJudge {
    let loaded: LoadedModel
    let labels = SentimentLabel.allCases

    /// Held-out accuracy: the label whose answer (the label word and the end of turn) is the more likely
    /// continuation of the prompt (log-likelihood, as evaluation harnesses score multiple choice).
    func accuracy(_ examples: [SentimentExample]) throws -> Double {
        var correct = 0
        let template = try loaded.tokenizer.resolveChatTemplate()
        for example in examples {
            let prompt = template.encode([.user(SentimentData.prompt(for: example.sentence))],
                                         tokenizer: loaded.tokenizer, addGenerationPrompt: true)
            let answers = labels.map { loaded.tokenizer.encode($0.rawValue, addSpecialTokens: false) }
            var scores: [Double]
            if answers.allSatisfy({ $0.count == 1 }) {
                // One-token answers: one forward pass of the prompt scores them all.
                let logits = Autograd.noGrad {
                    loaded.model.forward(tokens: prompt, batch: 1, cache: nil, lastOnly: true).contiguous()
                }
                scores = answers.map { Double(logits.pointer[$0[0]]) }
            } else {
                scores = try answers.map { answer in
                    try Scorer.score(loaded.model, tokens: prompt + answer).logprobs.suffix(answer.count).reduce(0, +)
                }
            }
            let bestLabel = labels[scores.indices.max { scores[$0] < scores[$1] } ?? 0]
            if bestLabel == example.label { correct += 1 }
        }
        return Double(correct) / Double(max(1, examples.count))
    }

    /// The model's own greedy answer (a few tokens).
    func answer(_ sentence: String) throws -> String {
        let prompt = try loaded.encodeChat([.user(SentimentData.prompt(for: sentence))])
        let generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer)
        return try generator.generate(prompt: prompt, options: GenerationOptions(maxTokens: 4, sampling: .greedy)).text
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
