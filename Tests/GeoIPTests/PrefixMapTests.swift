import GeoIP
import IPNet
import Testing

@Suite struct PrefixMapTests {
    static let unknown: UInt32 = 999

    func table(_ networks: [(String, UInt32)], locations: Int = 4) -> GeoNetworkTable {
        var t = GeoNetworkTable(locations: (0..<locations).map { GeoLocation(latitude: Double($0), longitude: 0) })
        for (text, location) in networks {
            let n = GeoNetwork(prefix: IPPrefix(text)!, location: location)
            if n.address.isIPv6 { t.ipv6.append(n) } else { t.ipv4.append(n) }
        }
        return t
    }

    func lookup(_ map: PrefixMap, _ address: String) -> (UInt32, UInt8) {
        let r = map.lookup(IPAddress(address)!)
        return (r.decision, r.prefixLength)
    }

    @Test func adjacentHalvesWithTheSameDecisionMerge() {
        let t = table([("192.0.2.0/25", 0), ("192.0.2.128/25", 1)])
        let map = PrefixMap(table: t, decisions: [7, 7, 8, 9], unknown: Self.unknown)
        #expect(lookup(map, "192.0.2.1") == (7, 24))
        #expect(lookup(map, "192.0.2.200") == (7, 24))
    }

    @Test func adjacentHalvesWithDifferentDecisionsStaySeparate() {
        let t = table([("192.0.2.0/25", 0), ("192.0.2.128/25", 1)])
        let map = PrefixMap(table: t, decisions: [7, 8, 8, 9], unknown: Self.unknown)
        #expect(lookup(map, "192.0.2.1") == (7, 25))
        #expect(lookup(map, "192.0.2.200") == (8, 25))
        // 192.0.3.0/24 is unknown, its neighbour 192.0.2.0/24 is not: the widest all-unknown prefix is /24.
        #expect(lookup(map, "192.0.3.1") == (Self.unknown, 24))
        #expect(lookup(map, "192.0.0.1") == (Self.unknown, 23))
    }

    @Test func unknownSpaceMerges() {
        let empty = PrefixMap(table: table([]), decisions: [1, 2, 3, 4], unknown: Self.unknown)
        #expect(lookup(empty, "8.8.8.8") == (Self.unknown, 0))
        #expect(lookup(empty, "2001:db8::1") == (Self.unknown, 0))
        let t = table([("128.0.0.0/1", 0), ("2000::/3", 1)])
        let map = PrefixMap(table: t, decisions: [1, 2, 3, 4], unknown: Self.unknown)
        #expect(lookup(map, "10.0.0.1") == (Self.unknown, 1))
        #expect(lookup(map, "200.0.0.1") == (1, 1))
        #expect(lookup(map, "2a00::1") == (2, 3))
        #expect(lookup(map, "fe80::1") == (Self.unknown, 1))
        #expect(lookup(map, "::1") == (Self.unknown, 3))  // 2000::/3 is its sibling
    }

    @Test func aLocationDecidingLikeUnknownMergesWithUnknownSpace() {
        let t = table([("10.0.0.0/8", 0)])
        let map = PrefixMap(table: t, decisions: [Self.unknown, 0, 0, 0], unknown: Self.unknown)
        #expect(lookup(map, "10.1.1.1") == (Self.unknown, 0))
    }

    @Test func longestPrefixWinsAndScopesNarrowAroundIt() {
        let t = table([("10.0.0.0/8", 0), ("10.1.0.0/16", 1), ("10.1.2.0/24", 0)])
        let map = PrefixMap(table: t, decisions: [5, 6, 7, 8], unknown: Self.unknown)
        #expect(lookup(map, "10.1.2.3") == (5, 24))
        #expect(lookup(map, "10.1.3.3") == (6, 24))  // 10.1.3.0/24 is the widest all-6 block around it
        #expect(lookup(map, "10.1.128.1") == (6, 17))
        #expect(lookup(map, "10.2.0.1") == (5, 15))
        #expect(lookup(map, "10.128.0.1") == (5, 9))
        #expect(lookup(map, "11.0.0.1") == (Self.unknown, 8))
    }

    @Test func hostRoutesAndFullDepth() {
        let t = table([("192.0.2.1/32", 0), ("2001:db8::1/128", 1)])
        let map = PrefixMap(table: t, decisions: [5, 6, 7, 8], unknown: Self.unknown)
        #expect(lookup(map, "192.0.2.1") == (5, 32))
        #expect(lookup(map, "192.0.2.0") == (Self.unknown, 32))
        #expect(lookup(map, "2001:db8::1") == (6, 128))
        #expect(lookup(map, "2001:db8::") == (Self.unknown, 128))
        #expect(lookup(map, "2001:db8::2") == (Self.unknown, 127))
    }

    @Test func ipv4AliasesAnswerFromTheIPv4Networks() {
        var t = table([("192.0.2.0/24", 0), ("192.0.2.0/25", 1), ("2001:db8::/32", 2)])
        t.ipv4Aliases = [IPPrefix("::/96")!, IPPrefix("::ffff:0:0/96")!, IPPrefix("2002::/16")!, IPPrefix("2001::/32")!]
        let map = PrefixMap(table: t, decisions: [5, 6, 7, 8], unknown: Self.unknown)
        #expect(lookup(map, "::ffff:192.0.2.200") == (5, 121))
        #expect(lookup(map, "::192.0.2.1") == (6, 121))
        #expect(lookup(map, "2002:c000:0280::1") == (5, 16 + 25))  // 6to4 of 192.0.2.128
        #expect(lookup(map, "2001:0:c000:201::") == (6, 32 + 25))  // Teredo server 192.0.2.1
        #expect(lookup(map, "2001:0:808:808::") == (Self.unknown, 32 + 1))
        #expect(lookup(map, "2001:db8::1") == (7, 32))
        // The unknown space next to an alias does not swallow it.
        #expect(lookup(map, "2001:1::1").1 >= 32)
        #expect(lookup(map, "2003::1") == (Self.unknown, 16))
        #expect(lookup(map, "::fffe:0:1").1 >= 96)
    }

    @Test func agreesWithTheDatabaseOnTheFixture() throws {
        let db = try GeoDatabase(path: Fixture.path)
        let t = try db.networks()
        let map = PrefixMap(table: t, decisions: (0..<UInt32(t.locations.count)).map { $0 }, unknown: .max)
        var rng = SeededGenerator(seed: 3)
        var addresses: [IPAddress] = []
        // Random addresses inside and near every fixture network, and anywhere.
        for (text, _) in Fixture.networks {
            let p = IPPrefix(text)!
            let near = IPPrefix(address: p.address.masked(to: p.length - 2), length: p.length - 2)!
            for _ in 0..<200 { addresses.append(near.randomAddress(using: &rng)) }
        }
        for _ in 0..<5000 {
            addresses.append(IPAddress(ipv4: UInt32.random(in: 0...UInt32.max, using: &rng)))
            addresses.append(IPAddress(high: rng.next(), low: rng.next(), isIPv6: true))
        }
        for a in addresses { try expectAgreement(map, db, t, a) }
    }
}

/// The map's decision (a location index) and prefix agree with libmaxminddb's answer for `a`.
func expectAgreement(_ map: PrefixMap, _ db: GeoDatabase, _ t: GeoNetworkTable, _ a: IPAddress) throws {
    let m = map.lookup(a)
    if let found = try db.lookup(a) {
        #expect(m.decision != .max && t.locations[Int(m.decision)] == found.location, "\(a)")
        #expect(Int(m.prefixLength) <= found.prefixLength, "\(a): map /\(m.prefixLength), libmaxminddb /\(found.prefixLength)")
    } else {
        #expect(m.decision == .max, "\(a)")
    }
}

extension IPPrefix {
    /// A random address inside the prefix.
    func randomAddress(using rng: inout some RandomNumberGenerator) -> IPAddress {
        let ones = IPAddress(high: .max, low: .max, isIPv6: true).masked(to: length)
        var a = address
        a.high |= rng.next() & ~ones.high
        a.low |= rng.next() & ~ones.low
        if !a.isIPv6 { a.high &= 0xFFFF_FFFF_0000_0000; a.low = 0 }
        return a
    }
}
