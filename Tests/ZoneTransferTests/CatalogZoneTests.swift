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

/// The members read from a consumed catalog (RFC 9432 §4.1), hostile content included: each
/// entry that cannot be a member is skipped with a line, never a crash.
@Suite struct CatalogZoneMemberTests {
    static let origin = try! DNSName("catalog.example.")
    static let here = SourceLocation(file: "test", line: 1)

    static func ptr(_ id: String, _ target: [UInt8]) -> ZoneRecord {
        ZoneRecord(owner: try! DNSName(id + ".zones.catalog.example."), type: .ptr, ttl: 0, rdata: target, location: here)
    }

    @Test("the members of a generated catalog read back, with their IDs; other records ignored")
    func roundTrip() throws {
        let members = [try DNSName("a.example."), try DNSName("b.example.")]
        var records = try CatalogZone.records(origin: Self.origin, members: members, serial: 1)
        // A property below a member (RFC 9432 §4.3) and a PTR elsewhere are not members.
        records.append(ZoneRecord(owner: try DNSName("group.x.zones.catalog.example."), type: .txt, ttl: 0, rdata: [1, 0x67], location: Self.here))
        records.append(ZoneRecord(owner: try DNSName("coo.x.zones.catalog.example."), type: .ptr, ttl: 0, rdata: try DNSName("c.example.").wire, location: Self.here))
        records.append(ZoneRecord(owner: try DNSName("x.other.catalog.example."), type: .ptr, ttl: 0, rdata: try DNSName("d.example.").wire, location: Self.here))
        let (read, problems) = CatalogZone.members(origin: Self.origin, records: records)
        #expect(read.map(\.name) == members && problems.isEmpty, "\(read) \(problems)")
        #expect(read.map(\.id) == members.map { CatalogZone.uniqueID(of: $0) })
    }

    @Test("hostile members: bad names, path characters, the catalog itself, duplicates, a reused ID, too many")
    func hostile() throws {
        let good = try DNSName("ok.example.").wire
        let records = [
            Self.ptr("a", [3, 0x61]),                              // truncated wire: not a name
            Self.ptr("b", [0]),                                    // the root
            Self.ptr("c", [5] + Array("..%2f".utf8) + [0]),        // dots inside a label
            Self.ptr("d", [6] + Array("a/../b".utf8) + [0]),       // a path
            Self.ptr("e", try DNSName("catalog.example.").wire),   // the catalog
            Self.ptr("f", try DNSName("x.catalog.example.").wire), // a name in it
            Self.ptr("g", good),
            Self.ptr("h", try DNSName("OK.example.").wire),        // a duplicate in another case
            Self.ptr("G", try DNSName("other.example.").wire),     // ID g again
        ]
        let (members, problems) = CatalogZone.members(origin: Self.origin, records: records)
        #expect(members == [CatalogZone.Member(id: "g", name: try DNSName("ok.example."))], "\(members)")
        #expect(problems.count == 8, "\(problems)")
        #expect(problems.contains { $0.contains("listed twice") } && problems.contains { $0.contains("used twice") }, "\(problems)")

        var many: [ZoneRecord] = []
        for i in 0..<25 { many.append(Self.ptr("m\(i)", try DNSName("z\(i).example.").wire)) }
        let limited = CatalogZone.members(origin: Self.origin, records: many, limit: 20)
        #expect(limited.members.count == 20 && limited.problems == ["catalog catalog.example.: 5 members past the limit of 20 skipped"], "\(limited.problems)")
    }
}
