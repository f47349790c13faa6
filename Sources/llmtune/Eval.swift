// `llmtune eval`: perplexity, multiple-choice (BIG-bench task.json, JSONL) and generation tasks, harness-style.
import ArgumentParser
import Foundation
import LLMTuneAdapters
import LLMTuneEvaluation
import LLMTuneGeneration
import LLMTuneHub
import LLMTuneModels
import LLMTuneTokenizers

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a model: perplexity, multiple-choice and generation tasks (lm-evaluation-harness definitions).",
        discussion: """
            Tasks (--task, repeatable):
              perplexity          rolling log-likelihood of --data (a text file, or JSONL with "text" per line):
                                  perplexity (per token), word_perplexity, byte_perplexity, bits_per_byte
              mc                  --data JSONL {"question"|"context", "choices", "answer"}: acc, acc_norm (+ stderr)
              bigbench:NAME       a BIG-bench JSON task from `llmtune pull bigbench` (or bigbench:PATH/task.json)
              generate            --data JSONL {"prompt", "reference"} or OpenAI evals {"input": [messages], "ideal"}:
                                  exact_match, contains, rouge_l, bleu (sacrebleu corpus BLEU)
            See docs/evaluation.md.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .customLong("task"), help: "perplexity, mc, generate or bigbench:NAME (repeatable).")
    var tasks: [String] = []
    @Option(help: "The data file for perplexity, mc and generate tasks.")
    var data: String?
    @Option(help: "Evaluate only the first N examples (documents for perplexity).")
    var limit: Int?
    @Option(name: .customLong("num-fewshot"), help: "Few-shot examples per multiple-choice prompt.")
    var numFewshot: Int = 0
    @Option(help: "Seed of the few-shot draw and of self-consistency sampling.")
    var seed: UInt64 = 1234
    @Option(name: .customLong("batch-size"), help: "Requests sharing one context prefill (never changes results).")
    var batchSize: Int = 32
    @Option(help: "Perplexity window in tokens (default: the model's context length).")
    var context: Int?
    @Option(help: "Perplexity: new tokens per window; below --context, windows overlap (default: --context).")
    var stride: Int?
    @Option(name: .customLong("max-tokens"), help: "Generation: most new tokens per answer.")
    var maxTokens: Int = 128
    @Option(name: .customLong("stop"), help: "Generation: stop string (repeatable; default \"\\n\\n\" for text prompts).")
    var stop: [String] = []
    @Flag(name: .customLong("ignore-case"), help: "Exact match / contains: compare lowercased.")
    var ignoreCase = false
    @Flag(name: .customLong("ignore-punctuation"), help: "Exact match / contains: drop ASCII punctuation.")
    var ignorePunctuation = false
    @Flag(name: .customLong("collapse-whitespace"), help: "Exact match / contains: collapse whitespace runs.")
    var collapseWhitespace = false
    @Flag(name: .customLong("no-trim"), help: "Exact match / contains: keep leading/trailing whitespace.")
    var noTrim = false
    @Flag(name: .customLong("chain-of-thought"), help: "Generation: append \"Let's think step by step.\" and extract the answer.")
    var chainOfThought = false
    @Option(name: .customLong("answer-pattern"), help: "Generation: regex whose first match (group 1 if any) is the answer (default with --chain-of-thought: \"The answer is X.\").")
    var answerPattern: String?
    @Option(name: .customLong("self-consistency"), help: "Generation: sample K reasoning paths and majority-vote the answers.")
    var selfConsistency: Int = 1
    @Option(help: "Generation: sampling temperature of self-consistency paths.")
    var temperature: Float = 0.7
    @Option(name: .customLong("rank-k"), help: "Generation: also score outputs as ranked lists: precision@k, average precision@k.")
    var rankK: Int?
    @Option(name: .customLong("compare-with"), help: "Run the same tasks on a second model (e.g. a merged fine-tune) and print them side by side; with --out also DIR/compare.html.")
    var compareWith: String?
    @Flag(help: "Compare base and base+adapter side by side (needs --adapter); with --out also DIR/compare.html.")
    var compare = false
    @Flag(help: "Print one JSON object: model, config, results per task and a flat metrics map.")
    var json = false
    @Flag(help: "Include per-example predictions / outputs in the JSON.")
    var samples = false
    @Option(help: "Also write the JSON report to DIR/eval.json.")
    var out: String?

    func validate() throws {
        if tasks.isEmpty { throw ValidationError("give at least one --task (perplexity, mc, generate, bigbench:NAME)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be >= 1, got \(limit)") }
        if numFewshot < 0 { throw ValidationError("--num-fewshot must be >= 0") }
        if batchSize < 1 { throw ValidationError("--batch-size must be >= 1") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be >= 1") }
        if selfConsistency < 1 { throw ValidationError("--self-consistency must be >= 1") }
        if temperature <= 0 && selfConsistency > 1 { throw ValidationError("--self-consistency needs --temperature > 0") }
        if let rankK, rankK < 1 { throw ValidationError("--rank-k must be >= 1") }
        if compare && modelOptions.adapter == nil { throw ValidationError("--compare needs --adapter DIR") }
        if compare && compareWith != nil { throw ValidationError("give either --compare or --compare-with, not both") }
        for task in tasks where ["perplexity", "mc", "generate"].contains(task) && data == nil {
            throw ValidationError("--task \(task) needs --data FILE")
        }
    }

    typealias TaskOutcome = (name: String, metrics: [(String, Double)], json: Any)

    func run() throws {
        let modelURL = try ModelStore().resolve(modelOptions.model)
        let loaded = try ModelRegistry.load(modelURL, options: LoadOptions(dequantize: modelOptions.dequantize))
        // With --compare the first run is the base alone; the adapter is applied for the second.
        let firstAdapter = compare ? nil : modelOptions.adapter
        if let firstAdapter { try applyAdapter(firstAdapter, to: loaded) }
        let results = try evaluate(loaded)
        var report = try makeReport(modelURL, loaded, results, adapter: firstAdapter)

        var comparison: Comparison? = nil
        var second: (label: String, url: URL, loaded: LoadedModel, adapter: String?)?
        if compare, let adapter = modelOptions.adapter {
            try applyAdapter(adapter, to: loaded)
            second = ("base+" + URL(fileURLWithPath: adapter).lastPathComponent, modelURL, loaded, adapter)
        } else if let other = compareWith {
            let otherURL = try ModelStore().resolve(other)
            let otherLoaded = try ModelRegistry.load(otherURL, options: LoadOptions(dequantize: modelOptions.dequantize))
            second = (otherURL.lastPathComponent, otherURL, otherLoaded, nil)
        }
        if let second {
            let otherResults = try evaluate(second.loaded)
            let otherReport = try makeReport(second.url, second.loaded, otherResults, adapter: second.adapter)
            let labels = [compare ? "base" : modelURL.lastPathComponent, second.label]
            comparison = Comparison(labels: labels, rows: zip(results, otherResults).flatMap { a, b in
                zip(a.metrics, b.metrics).map { ma, mb in
                    ComparisonRow(task: a.name, metric: ma.0, values: [ma.1, mb.1],
                                  standardErrors: [stderr(a, ma.0), stderr(b, mb.0)])
                }
            })
            let combined: [String: Any] = [
                "compare": labels,
                "runs": [try JSONSerialization.jsonObject(with: report), try JSONSerialization.jsonObject(with: otherReport)],
            ]
            report = try JSONSerialization.data(withJSONObject: combined, options: [.sortedKeys, .withoutEscapingSlashes])
        }
        if let out {
            let dir = URL(fileURLWithPath: (out as NSString).expandingTildeInPath, isDirectory: true)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try report.write(to: dir.appendingPathComponent("eval.json"), options: .atomic)
            if let comparison {
                let html = comparison.html(title: "llmtune eval: " + comparison.labels.joined(separator: " vs "))
                try Data(html.utf8).write(to: dir.appendingPathComponent("compare.html"), options: .atomic)
            }
        }
        if json {
            print(String(decoding: report, as: UTF8.self))
            return
        }
        if let comparison {
            print(comparison.table())
            if let out { print("report: \(out)/compare.html") }
            return
        }
        print("model \(modelURL.lastPathComponent)")
        for r in results {
            for (k, v) in r.metrics {
                let err = stderr(r, k).map { String(format: "± %.4f", $0) } ?? ""
                let name = r.name.padding(toLength: max(36, r.name.count), withPad: " ", startingAt: 0)
                let metric = k.padding(toLength: max(22, k.count), withPad: " ", startingAt: 0)
                print("\(name) \(metric) \(String(format: "%12.4f", v)) \(err)")
            }
        }
    }

    func stderr(_ outcome: TaskOutcome, _ metric: String) -> Double? {
        (outcome.json as? [String: Any])?["\(metric)_stderr"] as? Double
    }

    /// Runs every --task on one model.
    func evaluate(_ loaded: LoadedModel) throws -> [TaskOutcome] {
        let prependBOS = loaded.model.architecture.hasPrefix("gemma")   // as the harness does for Gemma
        var results: [TaskOutcome] = []
        for spec in tasks {
            let progress = ProgressLine(label: spec)
            switch spec {
            case "perplexity":
                var documents = try Perplexity.loadDocuments(dataURL())
                if let limit { documents = Array(documents.prefix(limit)) }
                let r = try Perplexity.evaluate(loaded.model, tokenizer: loaded.tokenizer, documents: documents,
                                                context: context, stride: stride, batchSize: batchSize,
                                                progress: progress.update)
                progress.finish()
                results.append((spec, [("perplexity", r.tokenPerplexity), ("word_perplexity", r.wordPerplexity),
                                       ("byte_perplexity", r.bytePerplexity), ("bits_per_byte", r.bitsPerByte)],
                                try jsonObject(r)))
            case "mc":
                let task = try MultipleChoiceTask.loadJSONL(dataURL())
                results.append(try multipleChoice(spec, task, loaded, prependBOS, progress))
            case "generate":
                let task = try GenerationTask.loadJSONL(dataURL())
                var options = GenerationTaskOptions()
                options.generation = GenerationOptions(maxTokens: maxTokens, sampling: .greedy, stopStrings: stop)
                options.normalization = TextNormalization(trim: !noTrim, ignoreCase: ignoreCase,
                                                          ignorePunctuation: ignorePunctuation,
                                                          collapseWhitespace: collapseWhitespace)
                options.limit = limit
                options.prependBOS = prependBOS
                options.chainOfThought = chainOfThought
                options.answerPattern = answerPattern
                options.selfConsistency = selfConsistency
                options.voteSampling = SamplingParameters(temperature: temperature, seed: seed)
                options.rankK = rankK
                let r = try GenerationEvaluation.evaluate(loaded.model, tokenizer: loaded.tokenizer, task: task,
                                                          options: options, encodeChat: { try loaded.encodeChat($0) },
                                                          progress: progress.update)
                progress.finish()
                var metrics = [("exact_match", r.exactMatch), ("contains", r.contains), ("rouge_l", r.rougeL),
                               ("bleu", r.bleu)]
                if let p = r.precisionAtK, let ap = r.averagePrecisionAtK {
                    metrics += [("precision_at_k", p), ("average_precision_at_k", ap)]
                }
                results.append((spec, metrics,
                                try jsonObject(r, dropping: samples ? [] : ["samples"])))
            case let s where s.hasPrefix("bigbench:"):
                let task = try MultipleChoiceTask.loadBigBench(bigBenchURL(String(s.dropFirst("bigbench:".count))))
                results.append(try multipleChoice(spec, task, loaded, prependBOS, progress))
            default:
                throw EvaluationError.invalidOption(name: "task", problem: "unknown task \(spec): use perplexity, mc, generate or bigbench:NAME")
            }
        }

        return results
    }

    func multipleChoice(_ spec: String, _ task: MultipleChoiceTask, _ loaded: LoadedModel, _ prependBOS: Bool,
                        _ progress: ProgressLine) throws -> TaskOutcome {
        let r = try MultipleChoice.evaluate(loaded.model, tokenizer: loaded.tokenizer, task: task,
                                            options: MultipleChoiceOptions(shots: numFewshot, seed: seed, limit: limit,
                                                                           batchSize: batchSize, prependBOS: prependBOS),
                                            progress: progress.update)
        progress.finish()
        return (spec, [("acc", r.accuracy), ("acc_norm", r.normalizedAccuracy)],
                try jsonObject(r, dropping: samples ? [] : ["predictions"]))
    }

    func dataURL() throws -> URL {
        guard let data else { throw EvaluationError.invalidOption(name: "data", problem: "this task needs --data FILE") }
        return URL(fileURLWithPath: (data as NSString).expandingTildeInPath)
    }

    /// bigbench:NAME from the pulled `bigbench` data set, or bigbench:PATH to a task.json.
    func bigBenchURL(_ name: String) throws -> URL {
        let path = (name as NSString).expandingTildeInPath
        if FileManager.default.fileExists(atPath: path) { return URL(fileURLWithPath: path) }
        let root: URL
        do {
            root = try ModelStore().resolve("bigbench")
        } catch {
            throw EvaluationError.invalidOption(name: "task", problem: "BIG-bench tasks are not pulled: run `llmtune pull bigbench` (\(error))")
        }
        let url = root.appendingPathComponent(name).appendingPathComponent("task.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            let known = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
                .filter { FileManager.default.fileExists(atPath: root.appendingPathComponent("\($0)/task.json").path) }.sorted()
            throw EvaluationError.invalidOption(name: "task", problem: "no BIG-bench task \(name) in \(root.path); known: "
                                                + known.joined(separator: ", ") + " (or give bigbench:PATH/task.json)")
        }
        return url
    }

    func jsonObject<T: Encodable>(_ value: T, dropping keys: [String] = []) throws -> Any {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var object = try JSONSerialization.jsonObject(with: encoder.encode(value))
        if var dict = object as? [String: Any] {
            for k in keys { dict.removeValue(forKey: k) }
            object = dict
        }
        return object
    }

    /// Applies a PEFT / mlx-lm adapter to the loaded model, in evaluation mode.
    func applyAdapter(_ path: String, to loaded: LoadedModel) throws {
        try AdapterSet.load(from: URL(fileURLWithPath: path), into: loaded.model).setTraining(false)
    }

    func makeReport(_ modelURL: URL, _ loaded: LoadedModel,
                    _ results: [TaskOutcome], adapter: String?) throws -> Data {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: modelURL.path, isDirectory: &isDirectory)
        let weights = isDirectory.boolValue ? modelURL.appendingPathComponent("model.safetensors") : modelURL
        let sha: Any = (try? SHA256.hexOfFile(at: weights).sha256) ?? NSNull()
        var config: [String: Any] = ["num_fewshot": numFewshot, "seed": seed, "batch_size": batchSize,
                                     "max_tokens": maxTokens, "tasks": tasks, "chain_of_thought": chainOfThought,
                                     "self_consistency": selfConsistency]
        if selfConsistency > 1 { config["temperature"] = Double(temperature) }
        if let answerPattern { config["answer_pattern"] = answerPattern }
        if let rankK { config["rank_k"] = rankK }
        if let limit { config["limit"] = limit }
        if let context { config["context"] = context }
        if let stride { config["stride"] = stride }
        if let data { config["data"] = data }
        if !stop.isEmpty { config["stop"] = stop }
        config["normalization"] = ["trim": !noTrim, "ignore_case": ignoreCase, "ignore_punctuation": ignorePunctuation,
                                   "collapse_whitespace": collapseWhitespace]
        var flat: [String: Any] = [:]
        var perTask: [String: Any] = [:]
        for r in results {
            perTask[r.name] = r.json
            for (k, v) in r.metrics { flat[results.count == 1 ? k : "\(r.name)/\(k)"] = v.isFinite ? v : NSNull() }
        }
        let report: [String: Any] = [
            "model": ["path": modelURL.path, "sha256": sha, "architecture": loaded.model.architecture,
                      "adapter": adapter.map { adapterDescription($0) } ?? NSNull()],
            "config": config, "results": perTask, "metrics": flat,
        ]
        return try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}

/// The adapter's path and the sha256 of its weights file.
func adapterDescription(_ path: String) -> [String: Any] {
    let dir = URL(fileURLWithPath: path)
    let weights = ["adapter_model.safetensors", "adapters.safetensors"].map { dir.appendingPathComponent($0) }
        .first { FileManager.default.fileExists(atPath: $0.path) }
    let sha: Any = weights.flatMap { try? SHA256.hexOfFile(at: $0).sha256 } ?? NSNull()
    return ["path": dir.path, "sha256": sha]
}

/// "\r label 120/800 15% ETA 42s" on standard error when it is a terminal, at most a few times a second.
final class ProgressLine {
    let label: String
    let start = Date()
    var last = Date.distantPast
    let enabled = isatty(2) != 0

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard enabled, Date().timeIntervalSince(last) > 0.25 || done == total else { return }
        last = Date()
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        FileHandle.standardError.write(Data(String(format: "\r%@ %d/%d %3.0f%% ETA %.0fs ", label, done, total,
                                                   100 * Double(done) / Double(max(total, 1)), eta).utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
