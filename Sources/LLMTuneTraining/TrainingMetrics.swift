// What a run measures: per-step metrics (the callback's and metrics.jsonl's content), the history kept for the
// report and checkpoints, the process's memory (Linux /proc, as `ps` reads it), and the metrics.jsonl log.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The measurements of one optimizer step.
public struct StepMetrics: Sendable, Equatable {
    /// 1-based number of the step just taken.
    public var step: Int
    public var totalSteps: Int
    /// Token-weighted mean training loss over the step's micro-batches.
    public var loss: Double
    /// Learning rate used by this step.
    public var learningRate: Double
    /// Global gradient L2 norm before clipping.
    public var gradientNorm: Double
    /// Input tokens processed since the start of the run (resumed runs included).
    public var tokens: Int
    /// Input tokens per second of this step.
    public var tokensPerSecond: Double
    /// Wall time since the start of the run (resumed runs included).
    public var elapsedSeconds: Double
    /// Estimated seconds to the end.
    public var remainingSeconds: Double
    /// Validation loss, when it was computed after this step.
    public var validationLoss: Double?
    /// Resident memory of the process after the step, in bytes.
    public var residentMemoryBytes: Int

    /// The metrics.jsonl line: snake_case keys, numbers in shortest round-trip form.
    public var jsonLine: String {
        var fields = [
            "\"step\":\(step)", "\"loss\":\(json(loss))", "\"learning_rate\":\(json(learningRate))",
            "\"grad_norm\":\(json(gradientNorm))", "\"tokens\":\(tokens)",
            "\"tokens_per_second\":\(json(tokensPerSecond))", "\"elapsed_seconds\":\(json(elapsedSeconds))",
            "\"memory_bytes\":\(residentMemoryBytes)",
        ]
        if let v = validationLoss { fields.append("\"val_loss\":\(json(v))") }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// A finite number as JSON (null otherwise: JSON has no NaN).
func json(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }

/// One validation loss.
public struct ValidationPoint: Codable, Sendable, Equatable {
    public var step: Int
    public var loss: Double
}

/// Per-step series of a run, for the report and the result.
public struct TrainingHistory: Codable, Sendable, Equatable {
    public var steps: [Int] = []
    public var losses: [Double] = []
    public var learningRates: [Double] = []
    public var gradientNorms: [Double] = []
    public var tokensPerSecond: [Double] = []
    public var validation: [ValidationPoint] = []

    public init() {}

    mutating func append(_ m: StepMetrics) {
        steps.append(m.step)
        losses.append(m.loss)
        learningRates.append(m.learningRate)
        gradientNorms.append(m.gradientNorm)
        tokensPerSecond.append(m.tokensPerSecond)
        if let v = m.validationLoss { validation.append(ValidationPoint(step: m.step, loss: v)) }
    }
}

/// Memory of this process, from /proc/self (0 where unavailable).
public enum ProcessMemory {
    /// Resident set size now, in bytes (/proc/self/statm, second field, times the page size).
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Peak resident set size of the process, in bytes (VmHWM in /proc/self/status).
    public static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.dropFirst(6).split(separator: " ").first.flatMap { Int($0) } ?? 0
            return digits * 1024
        }
        return 0
    }
}

/// metrics.jsonl: one JSON object per step, appended and flushed as the run goes.
final class MetricsLog {
    let url: URL
    private let file: UnsafeMutablePointer<FILE>

    /// Opens the log. A fresh run starts it empty; a resumed run keeps the lines of steps up to `keepThrough`
    /// (those after the checkpoint are run again and logged again).
    init(url: URL, keepThrough: Int?) throws {
        self.url = url
        var kept = ""
        if let last = keepThrough, let old = try? String(contentsOf: url, encoding: .utf8) {
            for line in old.split(separator: "\n") {
                if let step = MetricsLog.step(of: line), step <= last { kept += line + "\n" }
            }
        }
        try writeDurably(Data(kept.utf8), to: url)
        guard let f = fopen(url.path, "a") else {
            throw TrainingError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
        }
        file = f
    }

    deinit { fclose(file) }

    func append(_ metrics: StepMetrics) {
        fputs(metrics.jsonLine + "\n", file)
        fflush(file)
    }

    /// The "step" value of a metrics line.
    static func step(of line: Substring) -> Int? {
        guard let data = line.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (object["step"] as? NSNumber)?.intValue
    }
}
