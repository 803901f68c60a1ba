import HealthModel

/// The health of one address as the monitor keeps it: the checks' state with its rise/fall
/// streak, and the operator's drain.
struct AddressHealth: Sendable, Equatable {
    /// What the checks say, after hysteresis.
    var state: HealthState
    /// Consecutive results against `state` so far.
    var streak = 0
    /// When `state` began, seconds since 1970.
    var since: Double
    /// The last result, with the streak when one runs.
    var reason: String
    /// Taken out by the operator (admin API): published as drain whatever the checks say.
    var drained = false

    /// What the snapshot shows.
    var published: (state: HealthState, changing: Bool, reason: String) {
        drained ? (.drain, false, "drained by operator") : (state, streak > 0, reason)
    }

    /// Applies one check result; returns the state change it makes, if any. `immediate` results
    /// and drains take effect at once; otherwise `rise` passes bring a down (or drained) address up
    /// and `fall` failures take an up one down. A failure of a drained address makes it down at
    /// once: neither serves, so there is no flapping to damp.
    mutating func apply(_ outcome: CheckOutcome, rise: Int, fall: Int, now: Double) -> (from: HealthState, to: HealthState)? {
        let target: HealthState = switch outcome.verdict {
        case .pass: .up
        case .fail: .down
        case .drain: .drain
        }
        guard target != state else {
            streak = 0
            reason = outcome.reason
            return nil
        }
        streak += 1
        let needed = outcome.immediate || target == .drain || state == .drain && target == .down ? 1 : target == .up ? rise : fall
        guard streak >= needed else {
            reason = "\(outcome.reason) (\(streak) of \(needed) to \(target))"
            return nil
        }
        let from = state
        state = target
        streak = 0
        since = now
        reason = outcome.reason
        return (from, target)
    }
}
