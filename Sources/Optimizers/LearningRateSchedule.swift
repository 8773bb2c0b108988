import Foundation

/// A learning-rate multiplier as a pure function of the step index: optional linear warm-up followed by a
/// constant, cosine-decayed or linearly decayed rate. The scheduled learning rate of step k is `base × multiplier(atStep: k)`.
///
/// Pure in the step so that a run resumed from a checkpoint, a replayed truncation, and every MPI rank all
/// see the same rate without carrying schedule state.
///
/// - warm-up (W steps): multiplier = (k + 1) / W for k < W, so step 0 already moves (1/W) and step W − 1
///   reaches the full rate (as `LinearLR(start_factor: 1/W)` stepped before each update);
/// - cosine over the remaining steps (Loshchilov & Hutter, "SGDR", ICLR 2017, without restarts):
///   p = (k − W) / (T − W) clamped to [0, 1], multiplier = f + (1 − f)·(1 + cos πp)/2, where T is the total
///   number of steps (warm-up included) and f the final fraction; after T the multiplier stays f;
/// - linear decay over the remaining steps: multiplier = 1 − (1 − f)·p with the same p (PyTorch's
///   `LinearLR(start_factor: 1, end_factor: f, total_iters: T − W)`).
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    /// What happens after the warm-up.
    public enum Decay: Sendable, Equatable, Codable {
        /// Hold the full rate.
        case constant
        /// Cosine from the full rate at the end of warm-up down to `finalFraction` of it at `totalSteps`.
        case cosine(totalSteps: Int, finalFraction: Double)
        /// A straight line from the full rate at the end of warm-up down to `finalFraction` at `totalSteps`.
        case linear(totalSteps: Int, finalFraction: Double)
    }

    /// Number of linear warm-up steps; 0 for none.
    public var warmupSteps: Int
    public var decay: Decay

    public init(warmupSteps: Int = 0, decay: Decay = .constant) {
        precondition(warmupSteps >= 0, "LearningRateSchedule: negative warm-up \(warmupSteps)")
        self.warmupSteps = warmupSteps
        self.decay = decay
    }

    /// The full rate at every step.
    public static let constant = LearningRateSchedule()

    /// Cosine decay over `totalSteps` to `finalFraction` (default 0) of the full rate, without warm-up.
    public static func cosine(totalSteps: Int, finalFraction: Double = 0) -> LearningRateSchedule {
        LearningRateSchedule(decay: .cosine(totalSteps: totalSteps, finalFraction: finalFraction))
    }

    /// Linear decay over `totalSteps` to `finalFraction` (default 0) of the full rate, without warm-up.
    public static func linear(totalSteps: Int, finalFraction: Double = 0) -> LearningRateSchedule {
        LearningRateSchedule(decay: .linear(totalSteps: totalSteps, finalFraction: finalFraction))
    }

    /// Linear warm-up over `warmupSteps`, then cosine decay until `totalSteps` (counted from step 0).
    public static func warmupCosine(warmupSteps: Int, totalSteps: Int,
                                    finalFraction: Double = 0) -> LearningRateSchedule {
        LearningRateSchedule(warmupSteps: warmupSteps,
                             decay: .cosine(totalSteps: totalSteps, finalFraction: finalFraction))
    }

    /// The multiplier of the base learning rate at step `step` (0-based).
    public func multiplier(atStep step: Int) -> Double {
        precondition(step >= 0, "LearningRateSchedule: negative step \(step)")
        if step < warmupSteps {
            return Double(step + 1) / Double(warmupSteps)
        }
        switch decay {
        case .constant:
            return 1
        case let .cosine(totalSteps, finalFraction):
            let decaySteps = totalSteps - warmupSteps
            guard decaySteps > 0 else { return finalFraction }
            let progress = min(1, Double(step - warmupSteps) / Double(decaySteps))
            return finalFraction + (1 - finalFraction) * 0.5 * (1 + cos(Double.pi * progress))
        case let .linear(totalSteps, finalFraction):
            let decaySteps = totalSteps - warmupSteps
            guard decaySteps > 0 else { return finalFraction }
            let progress = min(1, Double(step - warmupSteps) / Double(decaySteps))
            return 1 - (1 - finalFraction) * progress
        }
    }
}
