public import ServerConfig
public import Logging

/// A kind of health check. The monitor owns scheduling, timeouts, rise/fall and state; a checker
/// only probes one target and says pass, fail or drain (as gdnsd's `mon.c` and its plugins split it).
/// One instance serves every address that uses its check, concurrently.
///
/// Adding a kind is one file with a conforming type and one line in `HealthCheckers.registry`.
public protocol HealthChecker: Sendable {
    /// Validates the check's parameters. `logger` is for conditions worth one log line (the file
    /// check's missing file); per-check results go back as outcomes.
    init(definition: CheckDefinition, logger: Logger) throws(HealthError)
    /// Probes `target` once. Should give up by `timeout` (the monitor stops waiting shortly after
    /// and cancels the task) and stop promptly when the task is cancelled.
    func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome
}

/// The built-in checkers by type name.
public enum HealthCheckers {
    /// Type name (`type:` in the config) → checker.
    public static let registry: [String: any HealthChecker.Type] = [
        "tcp": TCPChecker.self,
        "http": HTTPChecker.self,
        "https": HTTPChecker.self,
        "dns": DNSChecker.self,
        "exec": ExecChecker.self,
        "file": FileChecker.self,
    ]

    /// True when `type` names a checker.
    public static func isKnown(_ type: String) -> Bool { registry[type] != nil }

    /// Builds the checker for `definition`: unknown types and bad parameters throw.
    public static func make(_ definition: CheckDefinition, logger: Logger) throws(HealthError) -> any HealthChecker {
        guard let kind = registry[definition.type] else {
            throw HealthError(check: definition.name, reason: "unknown check type '\(definition.type)'")
        }
        return try kind.init(definition: definition, logger: logger)
    }
}

/// What one probe found.
public struct CheckOutcome: Sendable, Equatable, CustomStringConvertible {
    /// The probe's verdict.
    public enum Verdict: Sendable, Equatable {
        case pass, fail, drain
    }

    public var verdict: Verdict
    /// Human-readable, stable from one probe to the next (no timings), so an unchanged result does
    /// not make a new snapshot.
    public var reason: String
    /// An operator's statement (the file check): applied at once, without rise/fall.
    public var immediate: Bool

    public init(_ verdict: Verdict, _ reason: String, immediate: Bool = false) {
        self.verdict = verdict
        self.reason = reason
        self.immediate = immediate
    }

    public static func pass(_ reason: String) -> CheckOutcome { CheckOutcome(.pass, reason) }
    public static func fail(_ reason: String) -> CheckOutcome { CheckOutcome(.fail, reason) }

    public var description: String { "\(verdict): \(reason)" }
}

/// A check definition that cannot be used.
public struct HealthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The check's name.
    public var check: String
    public var reason: String
    public init(check: String, reason: String) {
        self.check = check
        self.reason = reason
    }
    public var description: String { "check '\(check)': \(reason)" }
}

/// Runs `body`, cancelling it and throwing `CheckTimeout` once `timeout` has passed: for clients
/// whose own deadlines do not cover every step (AsyncHTTPClient's ends with the response head).
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask(operation: body)
        group.addTask {
            try await Task.sleep(for: timeout)
            throw CheckTimeout(timeout: timeout)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A check's own timeout passed.
struct CheckTimeout: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "timed out after \(timeout)" }
}
