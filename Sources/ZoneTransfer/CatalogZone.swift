public import DNSWire
public import DNSZone

/// A catalog zone (RFC 9432, schema version 2) listing member zones, so that secondaries which
/// consume catalogs (Knot's `catalog-role: interpret`, BIND's `catalog-zones`) add and remove the
/// members by themselves. Its contents are what RFC 9432 §4 asks for and nothing else:
///
/// ```
/// catalog.        0 SOA invalid. invalid. SERIAL 3600 600 2147483646 0
/// catalog.        0 NS  invalid.
/// version.catalog. 0 TXT "2"
/// <unique-id>.zones.catalog. 0 PTR member.
/// ```
///
/// The member's unique ID (RFC 9432 §4.1: "a unique label ... MUST be unique within the catalog")
/// is derived from its name, so it is the same on every run and every instance, and a secondary
/// never sees a member re-added under a new ID (which would make it drop and re-transfer the zone,
/// RFC 9432 §5.4) merely because Meridian restarted.
public enum CatalogZone {
    /// The members' TTL and the SOA's: RFC 9432 §4 says the TTLs of a catalog's records carry no
    /// meaning; 0 keeps a resolver from caching a catalog that is queried directly.
    static let ttl: UInt32 = 0
    /// SOA REFRESH: a consumer that missed a NOTIFY checks the catalog again within the hour.
    static let refresh: UInt32 = 3600
    /// SOA RETRY after a failed refresh.
    static let retry: UInt32 = 600
    /// SOA EXPIRE: the largest value RFC 1982 arithmetic leaves meaningful, so a consumer cut off
    /// from Meridian never drops the member zones because their catalog expired (as Knot's
    /// generated catalogs).
    static let expire: UInt32 = 2_147_483_646

    /// The unique-ID label of `member`: 16 hexadecimal digits of the 64-bit FNV-1a hash of its
    /// lower-cased wire form.
    public static func uniqueID(of member: DNSName) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in member.lowercased().wire {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The serial of a new version of a catalog: the time in seconds since 1970 (so a restart,
    /// which cannot know the last serial served, still goes forward), or one more than `previous`
    /// when that is not behind it in RFC 1982 order (two changes within a second).
    public static func nextSerial(after previous: UInt32?, now: UInt32) -> UInt32 {
        guard let previous else { return now }
        let ahead = now &- previous
        return ahead != 0 && ahead < 0x8000_0000 ? now : previous &+ 1
    }

    /// The records of the catalog `origin` at `serial` listing `members` (each once, in the order given).
    public static func records(origin: DNSName, members: [DNSName], serial: UInt32) throws(DNSWireError) -> [ZoneRecord] {
        let here = SourceLocation(file: "catalog \(origin)", line: 0)
        let invalid = try DNSName("invalid.")
        var soa = invalid.wire + invalid.wire
        for value in [serial, refresh, retry, expire, 0] {
            soa += [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
        }
        var records = [
            ZoneRecord(owner: origin, type: .soa, ttl: ttl, rdata: soa, location: here),
            ZoneRecord(owner: origin, type: .ns, ttl: ttl, rdata: invalid.wire, location: here),
            ZoneRecord(owner: try DNSName("version", origin: origin), type: .txt, ttl: ttl, rdata: [1, UInt8(ascii: "2")], location: here),
        ]
        let zones = try DNSName("zones", origin: origin)
        for member in members {
            records.append(ZoneRecord(owner: try DNSName(uniqueID(of: member), origin: zones), type: .ptr, ttl: ttl,
                                      rdata: member.wire, location: here))
        }
        return records
    }
}

extension CatalogZone {
    /// The most members a consumed catalog may list. A catalog is data from another server: a
    /// hostile or broken one listing millions of members would make Meridian open as many zone
    /// files and refresh timers. 10,000 is far above what one catalog of a real deployment holds
    /// (Knot's tests use hundreds) and keeps a load bounded; the members past it are skipped and logged.
    public static let maxMembers = 10_000

    /// One member of a consumed catalog: its unique-ID label (RFC 9432 §4.1) and its name.
    public struct Member: Sendable, Equatable {
        public var id: String
        public var name: DNSName
        public init(id: String, name: DNSName) {
            self.id = id
            self.name = name
        }
    }

    /// The members the catalog `origin` lists in `records` (RFC 9432 §4.1: a PTR at
    /// `<unique-id>.zones.<catalog>`; every other record, such as properties below a member or
    /// `version`, is ignored), in the order given, with a line for each entry skipped: a PTR that
    /// is not exactly one label below `zones`, a target that is not made of letters, digits, `-` and
    /// `_` (it names a file on disk, so `/`, `.` inside a label and the like are refused), the catalog
    /// itself or a name below it, a member listed twice (the first is kept, RFC 9432 §4.1 says a
    /// member must appear once), a unique ID used twice, and the members past `maxMembers`.
    public static func members(origin: DNSName, records: [ZoneRecord], limit: Int = maxMembers)
        -> (members: [Member], problems: [String]) {
        var members: [Member] = []
        var problems: [String] = []
        var names: Set<DNSName> = []
        var ids: Set<String> = []
        guard let zones = try? DNSName("zones", origin: origin) else { return ([], ["catalog \(origin): no room for zones.\(origin)"]) }
        var over = 0
        for record in records where record.type == .ptr {
            guard record.owner.parent == zones, let label = record.owner.labels.first else { continue }
            let id = String(decoding: label, as: UTF8.self).lowercased()
            guard let name = try? DNSName(wire: record.rdata) else {
                problems.append("catalog \(origin): \(record.owner): PTR target is not a domain name; skipped")
                continue
            }
            let labels = name.labels
            let allowed: (UInt8) -> Bool = { b in
                (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) || b == 0x2d || b == 0x5f
            }
            if labels.isEmpty || labels.contains(where: { $0.isEmpty || !$0.allSatisfy(allowed) }) {
                problems.append("catalog \(origin): \(record.owner): member \(name) is not a name of letters, digits, - and _; skipped")
                continue
            }
            if name.isSubdomain(of: origin) {
                problems.append("catalog \(origin): \(record.owner): member \(name) is the catalog or a name in it; skipped")
                continue
            }
            if names.contains(name.lowercased()) {
                problems.append("catalog \(origin): \(record.owner): member \(name) is listed twice; the first is kept")
                continue
            }
            if ids.contains(id) {
                problems.append("catalog \(origin): \(record.owner): unique ID \(id) is used twice; \(name) skipped")
                continue
            }
            if members.count >= limit {
                over += 1
                continue
            }
            names.insert(name.lowercased())
            ids.insert(id)
            members.append(Member(id: id, name: name.lowercased()))
        }
        if over > 0 {
            problems.append("catalog \(origin): \(over) members past the limit of \(limit) skipped")
        }
        return (members, problems)
    }
}
