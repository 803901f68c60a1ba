/// Every failure of the GeoIP module: what went wrong (`code`) and a human-readable `reason` that
/// names the database file.
public struct GeoIPError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// The database could not be opened: missing, unreadable or not a MaxMind DB.
        case open
        /// The search tree or the data section is inconsistent (a corrupt or truncated file).
        case corrupt
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}
