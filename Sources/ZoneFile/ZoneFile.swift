public import DNSWire
public import DNSZone

/// One problem with a zone file, reported as `file:line: reason`.
public struct ZoneFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem this is, for tests to compare.
    public enum Code: Hashable, Sendable {
        case io
        case syntax
        case missingSOA
        case multipleSOA
        case missingApexNS
        case cnameWithOtherData
        case dataBelowDelegation
        case outOfZone
        case nameTooLong
        case badInclude
    }

    public let code: Code
    public let location: SourceLocation?
    public let reason: String

    public init(_ code: Code, at location: SourceLocation?, _ reason: String) {
        self.code = code
        self.location = location
        self.reason = reason
    }

    public var description: String {
        if let location { return "\(location): \(reason)" }
        return reason
    }
}

/// Every problem found in one zone (a zone is rejected as a whole).
public struct ZoneFileErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [ZoneFileError]
    public init(_ errors: [ZoneFileError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Reads RFC 1035 zone files through ldns and compiles them into `Zone` snapshots.
public enum ZoneFile {
    /// Reads, validates and compiles the zone file at `path` for `origin`.
    public static func load(origin: DNSName, path: String) throws(ZoneFileErrors) -> Zone {
        throw ZoneFileErrors([ZoneFileError(.io, at: nil, "\(path): zone file reading is not built yet")])
    }
}
