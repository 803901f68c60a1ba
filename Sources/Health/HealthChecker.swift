public import HealthModel
public import Logging

/// A kind of health check. The monitor owns scheduling, timeouts, rise/fall and state; a checker
/// only probes one target and says pass, fail or drain (as gdnsd's `mon.c` and its plugins split it).
/// One instance serves every address that uses its check, concurrently.
///
/// Adding a kind is one file with a conforming type and one line in `HealthCheckers.registry`.
public protocol HealthChecker: Sendable {
    /// The parameters a check of this kind takes (besides type, interval, timeout, jitter, rise and
    /// fall), which the configuration layer validates through ``HealthCheckers/kinds``.
    static var parameters: [CheckParameter] { get }
    /// Makes the checker from a definition whose parameters are valid and in normal form. Throws
    /// only for what the definition cannot show (a program not on the PATH). `logger` is for
    /// conditions worth one log line (the file check's missing file); per-check results go back as outcomes.
    init(definition: CheckDefinition, logger: Logger) throws(HealthError)
    /// Probes `target` once. Should give up by `timeout` (the monitor stops waiting shortly after
    /// and cancels the task) and stop promptly when the task is cancelled.
    func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome
}

/// The built-in checkers by type name.
public enum HealthCheckers {
    /// Type name (`type:` in the config) → checker, in the order kinds are listed to operators.
    static let registry: [(name: String, checker: any HealthChecker.Type)] = [
        ("tcp", TCPChecker.self),
        ("http", HTTPChecker.self),
        ("https", HTTPChecker.self),
        ("dns", DNSChecker.self),
        ("exec", ExecChecker.self),
        ("file", FileChecker.self),
    ]

    /// Every kind and the parameters its checker declares: what the configuration layer validates against.
    public static let kinds = CheckKinds(registry.map { ($0.name, $0.checker.parameters) })

    /// Builds the checker for `definition`. Its parameters are checked against the kind's
    /// declarations first (definitions made in code skip the configuration layer), so an unknown
    /// type, an unknown, missing or invalid parameter throws with the reason the configuration
    /// layer would give.
    public static func make(_ definition: CheckDefinition, logger: Logger) throws(HealthError) -> any HealthChecker {
        guard let kind = registry.first(where: { $0.name == definition.type })?.checker else {
            throw HealthError(.unknownKind, check: definition.name, reason: "unknown check type '\(definition.type)'")
        }
        var normal = definition
        for (name, value) in definition.parameters {
            guard let parameter = kind.parameters.first(where: { $0.name == name }) else {
                throw HealthError(.badParameter, check: definition.name, reason: "'\(name)' is not a parameter of \(definition.type) checks")
            }
            // A command is stored as its words already; every other value normalizes to its stored form.
            let written: CheckParameter.Value = parameter.kind == .command ? .list(definition.list(name) ?? []) : .scalar(value)
            switch parameter.normalize(written) {
            case .success(let text): normal.parameters[name] = text
            case .failure(let problem): throw HealthError(.badParameter, check: definition.name, reason: "\(name) \(problem)")
            }
        }
        for parameter in kind.parameters where parameter.isRequired && definition.parameters[parameter.name] == nil {
            throw HealthError(.badParameter, check: definition.name, reason: "a \(definition.type) check needs '\(parameter.name)'")
        }
        return try kind.init(definition: normal, logger: logger)
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
    /// What kind of problem it is, for tests and callers; `reason` is for people.
    public enum Code: String, Sendable, Equatable {
        /// The check's type names no checker.
        case unknownKind
        /// A parameter is unknown, missing or invalid.
        case badParameter
        /// An exec check's program is not on the PATH.
        case commandNotFound
        /// An address refers to a check that is not defined.
        case unknownCheck
    }

    public var code: Code
    /// The check's name.
    public var check: String
    public var reason: String
    public init(_ code: Code, check: String, reason: String) {
        self.code = code
        self.check = check
        self.reason = reason
    }
    public var description: String { "check '\(check)': \(reason)" }
}
