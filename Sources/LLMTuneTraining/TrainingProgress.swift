// Progress of a run: the events the trainer reports through its callback, and a printer for them — one live
// line rewritten with \r on a terminal, plain lines every N steps otherwise (logs, CI, pipes).
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the trainer reports. The callback returns false to stop the run after the current step (a checkpoint,
/// the adapter and the report are still written).
public enum TrainingEvent {
    /// The run starts at `startStep` completed steps (non-zero when resumed) of `totalSteps`.
    case started(startStep: Int, totalSteps: Int, resumedFrom: URL?)
    /// One optimizer step finished (its validation loss included when computed).
    case step(StepMetrics)
    /// A validation loss was computed after `step`; `improved` when it is the best so far (saved to best/).
    case evaluation(step: Int, loss: Double, improved: Bool)
    /// A checkpoint was written.
    case checkpoint(step: Int, url: URL)
    /// Early stopping ended the run.
    case earlyStopped(step: Int, bestStep: Int, bestLoss: Double)
}

/// Prints training progress to stderr (or anywhere through `write`).
public final class ProgressPrinter {
    /// Rewrite one line in place (true on a terminal).
    public let live: Bool
    /// Plain mode prints every this many steps (and the last one).
    public let every: Int
    private let write: (String) -> Void
    private var lastValidation: Double?
    private var lineOpen = false

    /// `live` defaults to whether stderr is a terminal; `write` defaults to stderr.
    public init(live: Bool = isatty(2) != 0, every: Int = 1, write: ((String) -> Void)? = nil) {
        self.live = live
        self.every = max(1, every)
        self.write = write ?? { text in fputs(text, stderr); fflush(stderr) }
    }

    /// Handles one event; always returns true (never stops the run). Usable directly as the trainer's callback.
    @discardableResult
    public func handle(_ event: TrainingEvent) -> Bool {
        switch event {
        case let .started(start, total, resumed):
            if let resumed { emit("Resuming from \(resumed.lastPathComponent) (step \(start) of \(total))") }
        case let .step(m):
            if let v = m.validationLoss { lastValidation = v }
            if live {
                write("\r" + Self.line(m, validation: lastValidation, barWidth: 20) + "\u{1B}[K")
                lineOpen = true
                if m.step == m.totalSteps { write("\n"); lineOpen = false }
            } else if m.step % every == 0 || m.step == m.totalSteps || m.validationLoss != nil {
                write(Self.line(m, validation: lastValidation, barWidth: 0) + "\n")
            }
        case let .evaluation(step, loss, improved):
            if !live { write("step \(step): validation loss \(Self.format(loss))\(improved ? " (best)" : "")\n") }
        case .checkpoint:
            break
        case let .earlyStopped(step, bestStep, bestLoss):
            emit("Early stopping at step \(step): best validation loss \(Self.format(bestLoss)) at step \(bestStep)")
        }
        return true
    }

    private func emit(_ message: String) {
        if lineOpen { write("\n"); lineOpen = false }
        write(message + "\n")
    }

    /// "[#####-----] step 12/100 | loss 2.3456 | val 2.1234 | lr 1.00e-04 | 1234 tok/s | ETA 1m23s | mem 512 MB"
    public static func line(_ m: StepMetrics, validation: Double?, barWidth: Int) -> String {
        var parts: [String] = []
        var head = "step \(m.step)/\(m.totalSteps)"
        if barWidth > 0 {
            let filled = m.totalSteps > 0 ? min(barWidth, barWidth * m.step / m.totalSteps) : 0
            head = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled)
                + "] " + head
        }
        parts.append(head)
        parts.append("loss \(format(m.loss))")
        if let validation { parts.append("val \(format(validation))") }
        parts.append("lr " + String(format: "%.2e", m.learningRate))
        parts.append(String(format: "%.0f tok/s", m.tokensPerSecond))
        parts.append("ETA " + duration(m.remainingSeconds))
        parts.append("mem \(m.residentMemoryBytes / (1 << 20)) MB")
        return parts.joined(separator: " | ")
    }

    static func format(_ x: Double) -> String { String(format: "%.4f", x) }

    /// 83 -> "1m23s", 3725 -> "1h02m05s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
