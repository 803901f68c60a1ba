/// A named health check, as configured: how often it runs, its hysteresis, and its kind's own
/// parameters, already validated against the kind's declaration (``CheckKinds``).
public struct CheckDefinition: Sendable, Equatable {
    public var name: String
    /// The checker kind: `tcp`, `http`, `https`, `dns`, `exec`, `file` (one of ``CheckKinds``).
    public var type: String
    public var interval: Duration
    public var timeout: Duration
    /// Random spread of each interval, as a fraction (0.1 = ±10 %).
    public var jitter: Double
    /// Consecutive successes that bring a down address up.
    public var rise: Int
    /// Consecutive failures that take an up address down.
    public var fall: Int
    /// The kind's own settings in the normal form ``CheckParameter/normalize(_:)`` gives them
    /// (`port`, `path`, `expect`, …): scalars as text, `command` as its words joined by
    /// ``listSeparator``, `qtype` and `rcode` upper case, a file check's `path` absolute.
    public var parameters: [String: String]
    /// The configuration file's line; 0 for a check made in code.
    public var line: Int

    public init(name: String, type: String, interval: Duration, timeout: Duration, jitter: Double = 0.1,
                rise: Int = 2, fall: Int = 3, parameters: [String: String] = [:], line: Int = 0) {
        self.name = name
        self.type = type
        self.interval = interval
        self.timeout = timeout
        self.jitter = jitter
        self.rise = rise
        self.fall = fall
        self.parameters = parameters
        self.line = line
    }

    /// The separator of list parameters (U+001F, unit separator).
    public static let listSeparator: Character = "\u{1F}"

    /// The parameter `key` split into its list items.
    public func list(_ key: String) -> [String]? {
        parameters[key].map { $0.split(separator: Self.listSeparator, omittingEmptySubsequences: false).map(String.init) }
    }
}
