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
