/// What the health checks say of one answer address.
public enum HealthState: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// Passing (or never checked: an address without a check is always up).
    case up
    /// Failing: left out of answers.
    case down
    /// Taken out of rotation by an operator (file check or admin API): left out like `down`.
    case drain

    /// True when answers may carry the address.
    ///
    /// Inlinable and a pattern match, not `==`: routing asks it for every candidate of every routed
    /// query, from another module, where a call to the synthesized `==` would cost more than the test.
    @inlinable
    public var isServing: Bool {
        if case .up = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .up: return "up"
        case .down: return "down"
        case .drain: return "drain"
        }
    }
}

/// The health of every answer address at one moment, indexed by address ID (the position of the
/// address in the routing configuration's address table). Immutable: the health monitor builds a
/// new one on every change and the query path reads whichever is current.
public struct HealthSnapshot: Sendable {
    /// The state of each address.
    public let states: [HealthState]
    /// True while an address's checks disagree with its state (counting toward rise or fall):
    /// answers that depend on it get the shortened TTL.
    public let changing: [Bool]
    /// When each address entered its state (seconds since 1970), for status and `explain`.
    public let since: [Double]
    /// Why each address is in its state: the last check's result.
    public let reasons: [String]

    public init(states: [HealthState], changing: [Bool], since: [Double], reasons: [String]) {
        precondition(states.count == changing.count && states.count == since.count && states.count == reasons.count)
        self.states = states
        self.changing = changing
        self.since = since
        self.reasons = reasons
    }

    /// Every address up, never checked: the state before any check has run and nothing was saved.
    public static func allUp(count: Int, at time: Double = 0) -> HealthSnapshot {
        HealthSnapshot(
            states: Array(repeating: .up, count: count), changing: Array(repeating: false, count: count),
            since: Array(repeating: time, count: count), reasons: Array(repeating: "not checked yet", count: count))
    }
}
