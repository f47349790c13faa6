// Learning-rate schedules: linear warmup from 0, then cosine, linear or constant decay to a floor. The factors
// are those of transformers' optimization.py (get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup,
// get_constant_schedule_with_warmup; the floor as in get_cosine_with_min_lr_schedule_with_warmup), evaluated
// at the 0-based index of the optimizer step, as LambdaLR does: step 0 of a warmed-up run uses learning rate 0.

import Foundation

/// The learning rate of every optimizer step of a run.
public struct LearningRateSchedule: Sendable, Equatable {
    public var kind: ScheduleKind
    /// Peak learning rate.
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    /// The decay ends at `peak × minimumRatio`.
    public var minimumRatio: Double

    public init(kind: ScheduleKind, peak: Double, warmupSteps: Int, totalSteps: Int, minimumRatio: Double = 0) {
        self.kind = kind
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minimumRatio = minimumRatio
    }

    /// The schedule `arguments` describe for a run of `totalSteps`.
    public init(arguments: TrainingArguments, totalSteps: Int) {
        self.init(kind: arguments.schedule, peak: arguments.learningRate,
                  warmupSteps: arguments.resolvedWarmupSteps(totalSteps: totalSteps), totalSteps: totalSteps,
                  minimumRatio: arguments.minLearningRateRatio)
    }

    /// Multiplier of the peak at 0-based step `step`.
    public func factor(at step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        let decay: Double
        switch kind {
        case .constant: return 1
        case .linear: decay = max(0, 1 - progress)
        case .cosine: decay = max(0, 0.5 * (1 + cos(Double.pi * min(progress, 1))))
        }
        return minimumRatio + (1 - minimumRatio) * decay
    }

    /// Learning rate at 0-based step `step`.
    public func learningRate(at step: Int) -> Double { peak * factor(at: step) }
}
