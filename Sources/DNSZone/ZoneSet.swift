public import DNSWire

/// An immutable set of zones served together; the query path reads it without locks.
/// A reload builds a new one and swaps the reference.
public final class ZoneSet: Sendable {
    public let zones: [Zone]
    /// Per zone: true when it must answer SERVFAIL (a secondary zone not yet transferred, or
    /// expired); the query path reads it once per query that finds a zone.
    public let unavailable: [Bool]
    private let apexes: NameTable
    /// The origin when exactly one zone is served: then finding the zone is one tail compare.
    private let single: [UInt8]?

    /// `unavailable`: the origins of the zones that answer SERVFAIL.
    public init(zones: [Zone], unavailable: Set<DNSName> = []) {
        self.zones = zones
        self.unavailable = zones.map { unavailable.contains($0.origin) }
        self.apexes = NameTable(keys: zones.map { $0.origin.lowercased().wire })
        self.single = zones.count == 1 ? zones[0].apex : nil
    }

    /// The zone with the longest origin that `name` (lower-case wire bytes) lies in, skipping
    /// suffixes that no origin is as long as; -1 when no zone encloses it. `below` excludes zones whose
    /// origin is `name` itself or longer, which finds the parent of a zone for DS queries.
    @inline(__always)
    public func zoneIndex(for name: UnsafeRawBufferPointer, shorterThan below: Int = Int.max) -> Int {
        let count = name.count
        if let single {
            let a = single.count
            guard a < below, count >= a else { return -1 }
            let matches = single.withUnsafeBytes { apex in NameTable.equal(name.baseAddress! + (count - a), apex.baseAddress!, a) }
            guard matches else { return -1 }
            // The tail must start on a label boundary.
            var i = 0
            while i < count - a { i += Int(name[i]) + 1 }
            return i == count - a ? 0 : -1
        }
        var i = 0
        while true {
            let suffix = count - i
            if suffix < below && apexes.hasKey(ofLength: suffix) {
                let z = apexes.find(name.baseAddress! + i, suffix)
                if z >= 0 { return Int(z) }
            }
            let len = Int(name[i])
            if len == 0 { return -1 }
            i += len + 1
        }
    }
}
