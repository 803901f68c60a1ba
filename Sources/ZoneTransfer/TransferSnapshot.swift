public import DNSWire
public import DNSZone

/// One record as a secondary receives it, in wire form: the owner in lower case, uncompressed;
/// the RDATA as the zone holds it. Class IN.
public struct TransferRecord: Hashable, Sendable {
    public var owner: [UInt8]
    public var type: RRType
    public var ttl: UInt32
    public var rdata: [UInt8]
    public init(owner: [UInt8], type: RRType, ttl: UInt32, rdata: [UInt8]) {
        self.owner = owner
        self.type = type
        self.ttl = ttl
        self.rdata = rdata
    }
}

/// What secondaries receive for one zone at one serial: the compiled zone (its SOA carries the
/// serial served, to queries and transfers alike) and the records rendered for the service names
/// inside it, which the zone itself does not hold (routing answers them per query). AXFR sends
/// both; the IXFR journal records the differences between successive snapshots.
public struct TransferSnapshot: Sendable {
    public let zone: Zone
    /// Records rendered for service names, sorted by owner then type; empty for a zone without any.
    public let serviceRecords: [TransferRecord]
    public init(zone: Zone, serviceRecords: [TransferRecord] = []) {
        self.zone = zone
        self.serviceRecords = serviceRecords
    }
    /// The serial secondaries see, nil for a zone without SOA.
    public var serial: UInt32? { zone.serial }
}
