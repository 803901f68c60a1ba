import DNSWire
import DNSZone
import Testing
import ZoneTransfer

/// The catalog Meridian generates (RFC 9432 version 2): its records, the members' unique IDs and
/// the serials of successive versions.
@Suite struct CatalogZoneTests {
    @Test("the catalog holds SOA and NS at the apex, version TXT \"2\" and one PTR per member under zones")
    func records() throws {
        let origin = try DNSName("catalog.example.")
        let members = [try DNSName("a.example."), try DNSName("B.Example.")]
        let records = try CatalogZone.records(origin: origin, members: members, serial: 77)
        #expect(records.count == 5)
        #expect(records[0].owner == origin && records[0].type == .soa)
        #expect(records[0].rdata.withUnsafeBytes { $0.u32(at: $0.count - 20) } == 77)
        let invalid = try DNSName("invalid.")
        let version = try DNSName("version.catalog.example.")
        #expect(records[1].type == .ns && records[1].rdata == invalid.wire)
        #expect(records[2].owner == version && records[2].type == .txt && records[2].rdata == [1, 0x32])
        for (record, member) in zip(records[3...], members) {
            let owner = try DNSName(CatalogZone.uniqueID(of: member) + ".zones.catalog.example.")
            #expect(record.type == .ptr && record.rdata == member.wire && record.owner == owner)
        }
        // A zone compiled from them has the serial.
        #expect(Zone(origin: origin, records: records).serial == 77)
    }

    @Test("a member's unique ID is 16 hex digits from its name: the same in any case, different between names")
    func uniqueIDs() throws {
        let a = CatalogZone.uniqueID(of: try DNSName("a.example."))
        #expect(a.count == 16 && a.allSatisfy(\.isHexDigit))
        #expect(a == CatalogZone.uniqueID(of: try DNSName("A.EXAMPLE.")))
        let names = (0..<1000).map { try! DNSName("zone\($0).example.") }
        #expect(Set(names.map(CatalogZone.uniqueID)).count == 1000)
    }

    @Test("a new catalog version's serial is the time, or one more than the last when the time is not ahead of it")
    func serials() {
        #expect(CatalogZone.nextSerial(after: nil, now: 1_800_000_000) == 1_800_000_000)
        #expect(CatalogZone.nextSerial(after: 1_700_000_000, now: 1_800_000_000) == 1_800_000_000)
        #expect(CatalogZone.nextSerial(after: 1_800_000_000, now: 1_800_000_000) == 1_800_000_001)
        #expect(CatalogZone.nextSerial(after: 1_800_000_005, now: 1_800_000_000) == 1_800_000_006)
        // Across the wrap: 2^32 - 1 then the time 5 is ahead in RFC 1982 order.
        #expect(CatalogZone.nextSerial(after: UInt32.max, now: 5) == 5)
    }
}
