public import DNSWire

/// An immutable set of zones served together; the query path reads it without locks.
public final class ZoneSet: Sendable {
    public let zones: [Zone]

    public init(zones: [Zone]) {
        self.zones = zones
    }
}

/// One zone compiled for answering.
public final class Zone: Sendable {
    public let origin: DNSName

    /// Compiles validated records (see ZoneFile for validation) into a zone snapshot.
    public init(origin: DNSName, records: [ZoneRecord]) {
        self.origin = origin
    }
}
