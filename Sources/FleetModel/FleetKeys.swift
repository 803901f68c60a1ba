/// The etcd key layout of one fleet. Every key lives under `/<fleet>/`:
///
/// - `/<fleet>/members/<instance>`: the instance's ``MemberRecord``, under its lease;
/// - `/<fleet>/verdicts/<instance>`: its ``VerdictSet``, under the same lease;
/// - `/<fleet>/drains/<datacenter>`: a fleet-wide ``DrainRecord`` (no lease: it outlives its author);
/// - `/<fleet>/config`: the configuration text `meridian push` stored (no lease).
///
/// One range read of ``prefix`` (or one watch of it) sees the whole fleet at one revision.
public struct FleetKeys: Sendable, Equatable {
    /// `/<fleet>/`.
    public let prefix: String

    /// The layout of fleet `fleet`, which must be a valid ``FleetKeys/isValidName(_:)``.
    public init(fleet: String) throws(FleetModelError) {
        guard Self.isValidName(fleet) else { throw .invalidName(fleet) }
        prefix = "/\(fleet)/"
    }

    public var membersPrefix: String { prefix + "members/" }
    public var verdictsPrefix: String { prefix + "verdicts/" }
    public var drainsPrefix: String { prefix + "drains/" }
    public var config: String { prefix + "config" }

    public func member(_ instance: String) -> String { membersPrefix + instance }
    public func verdicts(_ instance: String) -> String { verdictsPrefix + instance }
    public func drain(_ datacenter: String) -> String { drainsPrefix + datacenter }

    /// What a key under ``prefix`` names; nil for a key outside the layout (another version's,
    /// or one written by hand) or whose last part is not a valid name.
    public func parse(_ key: String) -> FleetKey? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        if rest == "config" { return .config }
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let name = String(rest[rest.index(after: slash)...])
        guard Self.isValidName(name) else { return nil }
        switch rest[..<slash] {
        case "members": return .member(name)
        case "verdicts": return .verdicts(name)
        case "drains": return .drain(name)
        default: return nil
        }
    }

    /// The longest name of a fleet, an instance or a data center in a key: a DNS label's length,
    /// so that an instance may be named after its host's first label.
    public static let maxNameLength = 63

    /// True for 1 to ``maxNameLength`` letters, digits, `-`, `_` and `.`, not `.` or `..`: a name
    /// that stays one path component of a key and reads the same in a log line.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maxNameLength, name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
    }
}

/// A key of the fleet layout, parsed.
public enum FleetKey: Sendable, Hashable {
    case member(String)
    case verdicts(String)
    case drain(String)
    case config
}

/// Why a fleet name, a record or a quorum is not valid. Each case has a stable ``code`` for logs.
public enum FleetModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A fleet, instance or data-center name that cannot be a key component.
    case invalidName(String)
    /// A record that is not the JSON of its kind, or a field out of range.
    case badRecord(String)
    /// A quorum that is not `majority`, `any`, `all` or a positive number.
    case invalidQuorum(String)

    public var code: String {
        switch self {
        case .invalidName: return "fleet.invalid-name"
        case .badRecord: return "fleet.bad-record"
        case .invalidQuorum: return "fleet.invalid-quorum"
        }
    }

    public var description: String {
        switch self {
        case .invalidName(let name):
            return "\(code): \"\(name)\" is not a fleet name (1-\(FleetKeys.maxNameLength) letters, digits, '-', '_', '.')"
        case .badRecord(let reason): return "\(code): \(reason)"
        case .invalidQuorum(let text): return "\(code): \"\(text)\" is not a quorum (majority, any, all or a number from 1)"
        }
    }
}
