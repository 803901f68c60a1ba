import GeoIP
import IPNet
import Testing

@Suite struct GeoNetworkTableTests {
    let table: GeoNetworkTable
    init() throws { table = try GeoDatabase(path: Fixture.path).networks() }

    func entries(_ networks: [GeoNetwork], in table: GeoNetworkTable) -> [String: GeoLocation] {
        Dictionary(uniqueKeysWithValues: networks.map { ($0.prefix.description, table.locations[Int($0.location)]) })
    }

    @Test func walkReturnsExactlyTheFixtureNetworks() {
        let walked = entries(table.ipv4 + table.ipv6, in: table)
        let expected = Dictionary(uniqueKeysWithValues: Fixture.networks.map { ($0.0, $0.1) })
        #expect(walked == expected)
        #expect(table.ipv4.allSatisfy { !$0.address.isIPv6 } && table.ipv6.allSatisfy { $0.address.isIPv6 })
        #expect(table.ipv4.count == 10)
        // Each distinct data record decoded once (the writer stores equal records once).
        #expect(table.locations.count == 6)
        #expect(Set(table.locations).count == table.locations.count)
        // The fixture (mmdb-writer) links nothing back to ::/96 but ::/96 itself.
        #expect(table.ipv4Aliases == [IPPrefix("::/96")!])
    }

    @Test func explicitNetworkInsideADatabaseNetworkKeepsTheRest() throws {
        let berlin = GeoLocation(latitude: 52.52, longitude: 13.405, countryCode: "de", continentCode: "eu", city: "Berlin")
        let o = table.overlaying([(IPPrefix("3.84.0.0/16")!, berlin)])
        #expect(o.locations.count == table.locations.count + 1)
        #expect(o.locations.last?.countryCode == "DE")
        let e = entries(o.ipv4, in: o)
        #expect(e["3.84.0.0/16"] == berlin)
        #expect(e["3.80.0.0/12"] == Fixture.ashburn)  // still there: longest prefix wins in a PrefixMap
        let map = PrefixMap(table: o, decisions: (0..<UInt32(o.locations.count)).map { $0 }, unknown: .max)
        #expect(o.locations[Int(map.lookup(IPAddress("3.84.1.1")!).decision)] == berlin)
        #expect(map.lookup(IPAddress("3.84.1.1")!).prefixLength == 16)
        #expect(o.locations[Int(map.lookup(IPAddress("3.85.1.1")!).decision)] == Fixture.ashburn)
    }

    @Test func explicitNetworkContainingDatabaseNetworksReplacesThem() throws {
        let here = GeoLocation(latitude: 1, longitude: 2, countryCode: "SG", continentCode: "AS")
        let o = table.overlaying([(IPPrefix("198.0.0.0/8")!, here), (IPPrefix("2001:db8::/32")!, here)])
        let e4 = entries(o.ipv4, in: o)
        #expect(e4["198.0.0.0/8"] == here)
        #expect(e4["198.51.100.0/25"] == nil && e4["198.51.100.128/25"] == nil && e4["198.18.0.0/15"] == nil)
        #expect(e4["192.0.2.0/24"] == Fixture.tokyo)
        let e6 = entries(o.ipv6, in: o)
        #expect(e6.keys.filter { $0.hasPrefix("2001:db8") } == ["2001:db8::/32"])
        #expect(o.ipv4Aliases == table.ipv4Aliases)
    }

    @Test func explicitIPv6OverlappingAnAliasDropsTheAlias() {
        let o = table.overlaying([(IPPrefix("::c000:200/120")!, Fixture.dublin)])
        #expect(o.ipv4Aliases.isEmpty)
        let p = table.overlaying([(IPPrefix("::/64")!, Fixture.dublin)])
        #expect(p.ipv4Aliases.isEmpty)
        let q = table.overlaying([(IPPrefix("2001:db8::/32")!, Fixture.dublin)])
        #expect(q.ipv4Aliases == table.ipv4Aliases)
    }

    @Test func laterOfTwoIdenticalExplicitPrefixesWins() {
        let o = table.overlaying([(IPPrefix("10.0.0.0/8")!, Fixture.tokyo), (IPPrefix("10.0.0.0/8")!, Fixture.dublin)])
        let map = PrefixMap(table: o, decisions: (0..<UInt32(o.locations.count)).map { $0 }, unknown: .max)
        #expect(o.locations[Int(map.lookup(IPAddress("10.1.2.3")!).decision)] == Fixture.dublin)
    }
}
