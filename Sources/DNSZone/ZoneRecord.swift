public import DNSWire

/// Where a record or a problem came from: a zone file and a line in it.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
    public var description: String { "\(file):\(line)" }
}

/// One resource record as read from a zone file, before it is compiled into a `Zone`.
public struct ZoneRecord: Hashable, Sendable {
    public var owner: DNSName
    public var type: RRType
    public var rrClass: RRClass
    public var ttl: UInt32
    /// Uncompressed wire-format RDATA.
    public var rdata: [UInt8]
    public var location: SourceLocation

    public init(owner: DNSName, type: RRType, rrClass: RRClass = .in, ttl: UInt32, rdata: [UInt8], location: SourceLocation) {
        self.owner = owner
        self.type = type
        self.rrClass = rrClass
        self.ttl = ttl
        self.rdata = rdata
        self.location = location
    }
}

/// Something a zone file holds that is loaded but never served, reported as `file:line: warning: reason`.
public struct ZoneWarning: Hashable, Sendable, CustomStringConvertible {
    public let location: SourceLocation
    public let reason: String
    public init(at location: SourceLocation, _ reason: String) {
        self.location = location
        self.reason = reason
    }
    public var description: String { "\(location): warning: \(reason)" }
}
