/// One problem in the configuration, shown as `file:line: key: reason`.
public struct ServerConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem this is, for tests to compare.
    public enum Code: Hashable, Sendable {
        case io, syntax, unknownKey, missingKey, wrongType, invalidValue
        case badListenAddress, duplicateListenAddress, badDuration, badName
        case duplicateOrigin, missingZoneFile
        /// A mapping key given twice (data center, check, service, …), or two service names equal
        /// ignoring case.
        case duplicateKey
        case unknownDataCenter, unknownCheck, unknownPolicy, unknownCheckType
        /// Negative or non-numeric weight, or every weight zero.
        case badWeight
        /// Latitude outside −90…90 or longitude outside −180…180.
        case badCoordinates
        case badAddress
        /// Malformed CIDR prefix, or one with bits set beyond its length.
        case badPrefix
        case badCountry, badContinent
        /// geo-nearest over a data center that has no `location`.
        case missingLocation
        /// A geo map without a `default` entry.
        case missingDefault
        /// TTL 0 or above 2^31−1, or degraded-ttl above ttl.
        case badTTL
        /// A check timeout not shorter than its interval.
        case badTimeout
        /// A data center without addresses.
        case noAddresses
        /// A service name without the final dot.
        case relativeName
        /// A file the configuration names (GeoIP database) that cannot be read.
        case missingFile
        /// A zone's `transfer.keys` or `primary-key` names a key `tsig-keys` does not define.
        case unknownTSIGKey
        /// A zone's `catalog-zone` names no zone with `catalog-role: generate`, or a generated
        /// catalog is given a file or is itself a member.
        case badCatalog
        /// A zone's `transfer.allow` holds a /0 prefix without `keys`: every address may transfer
        /// it, which must be written as `any`.
        case openTransfer
        /// A secondary zone's file whose directory is missing or not writable, or that is not a
        /// readable file.
        case unwritableZoneFile
    }

    public let code: Code
    public let file: String
    public let line: Int?
    /// The dotted key path (`tcp.idle-timeout`, `zones.origin`), nil for file-level problems.
    public let key: String?
    public let reason: String

    public init(_ code: Code, file: String, line: Int?, key: String?, _ reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let key { s += ": \(key)" }
        return s + ": " + reason
    }
}

/// Every problem found in a configuration file.
public struct ServerConfigErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [ServerConfigError]
    public init(_ errors: [ServerConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
