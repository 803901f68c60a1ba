import HealthModel
import DNSWire
import GeoIP
import IPNet
import Routing
import ServerConfig
import Testing

/// Dual-stack data centers (documentation addresses) and one with IPv4 only.
private func datacenter(_ name: String, _ lat: Double, _ lon: Double, _ n: Int, ipv6: Bool = true) -> DataCenterConfig {
    var addresses = [AddressConfig(ip: IPAddress("192.0.2.\(n)")!, checkTarget: nil, line: 1)]
    if ipv6 { addresses.append(AddressConfig(ip: IPAddress("2001:db8::\(n)")!, checkTarget: nil, line: 1)) }
    return DataCenterConfig(name: name, location: Coordinates(latitude: lat, longitude: lon), country: nil, continent: nil,
                            addresses: addresses, line: 1)
}

private let iad = datacenter("iad", 38.95, -77.45, 10)
private let dub = datacenter("dub", 53.35, -6.26, 20)
private let nrt = datacenter("nrt", 35.77, 140.39, 30)
private let nrtIPv4Only = datacenter("nrt", 35.77, 140.39, 30, ipv6: false)

private func named(_ name: String, _ policy: PolicyConfig, ttl: UInt32 = 30) -> ServiceConfig {
    ServiceConfig(name: try! DNSName(name), policy: policy, check: nil, ttl: ttl, degradedTTL: 5, maxAnswers: nil,
                  whenAllDown: .failOpen, line: 1)
}

/// The committed MMDB fixture's networks (Tests/Fixtures/geo/make-fixture.py).
private func fixtureNetworks() throws -> GeoNetworkTable {
    let here = #filePath.split(separator: "/").dropLast(2).joined(separator: "/")
    return try GeoDatabase(path: "/" + here + "/Fixtures/geo/test-city.mmdb").networks()
}

/// Explicit networks laid over nothing, as `geoip.networks` without a database.
private func networks(_ list: [(String, String, Double, Double)]) -> GeoNetworkTable {
    GeoNetworkTable().overlaying(list.map { prefix, country, lat, lon in
        (IPPrefix(prefix)!, GeoLocation(latitude: lat, longitude: lon, countryCode: country))
    })
}

/// The diff of two configurations, each with its table built as `Deployment` builds it.
private func diff(_ current: RoutingConfiguration, _ proposed: RoutingConfiguration,
                  geo: GeoNetworkTable?, proposedGeo: GeoNetworkTable? = nil, limit: Int = 20) throws -> RoutingDiff {
    RoutingDiff(current: current, try RoutingTable(config: current, geo: geo),
                proposed: proposed, try RoutingTable(config: proposed, geo: proposedGeo ?? geo), limit: limit)
}

@Suite struct RoutingDiffTests {
    @Test func aTokyoDataCenterTakesTheJapaneseNetworksFromDublin() throws {
        let geo = try fixtureNetworks()
        let current = RoutingConfiguration(datacenters: [iad, dub], services: [
            named("app.example.com.", .geoNearest(datacenters: ["iad", "dub"], unlocated: nil, pick: .roundRobin))])
        let proposed = RoutingConfiguration(datacenters: [iad, dub, nrt], services: [
            named("app.example.com.", .geoNearest(datacenters: ["iad", "dub", "nrt"], unlocated: nil, pick: .roundRobin))])
        let d = try diff(current, proposed, geo: geo)
        #expect(d.changed)
        #expect(d.datacenters.map(\.name) == ["nrt"] && d.datacenters[0].change == .added)
        let service = try #require(d.services.first)
        #expect(d.services.count == 1 && service.name == "app.example.com." && service.change == .changed)
        #expect(service.changes.map(\.description) == ["data centers [iad, dub]→[iad, dub, nrt]"])
        let clients = try #require(service.clients)
        // Tokyo is nearer Dublin (9,600 km) than Ashburn (10,900 km): every Japanese network moves
        // from Dublin to Tokyo, and nothing else (São Paulo stays with Ashburn, the unlocated with iad).
        let dubToNrt = ClientMoves.Choice(a: "dub", aaaa: "dub") == clients.moves.first?.from
            && ClientMoves.Choice(a: "nrt", aaaa: "nrt") == clients.moves.first?.to
        #expect(clients.moves.count == 1 && dubToNrt, "\(clients.moves)")
        #expect(clients.countries.map(\.country) == ["JP"])
        // 13.112.0.0/14 and 192.0.2.0/24; 2406:da14::/32 and 2001:db8:1::/48 (IPv4 aliases not walked twice).
        #expect(clients.total.ipv4Prefixes == 2 && clients.total.ipv4Addresses == 262_144 + 256)
        #expect(clients.total.ipv6Prefixes == 2 && clients.total.ipv6Addresses == 0x1p96 + 0x1p80)
        #expect(clients.countries[0].clients == clients.total)
        #expect(clients.prefixes.map(\.prefix) == ["13.112.0.0/14", "192.0.2.0/24", "2001:db8:1::/48", "2406:da14::/32"])
    }

    @Test func aRemovedAndAnAddedServiceAreReportedByName() throws {
        let kept = named("a.example.com.", .roundRobin(datacenters: ["iad"]))
        let current = RoutingConfiguration(datacenters: [iad, dub], services: [
            kept, named("b.example.com.", .roundRobin(datacenters: ["iad", "dub"]))])
        let proposed = RoutingConfiguration(datacenters: [iad, dub], services: [
            kept, named("c.example.com.", .geoNearest(datacenters: ["dub"], unlocated: nil, pick: .roundRobin))])
        let d = try diff(current, proposed, geo: nil)
        #expect(d.services == [
            ServiceDiff(name: "c.example.com.", change: .added, changes: [.configured(.geoNearest(datacenters: ["dub"], unlocated: nil, pick: .roundRobin))]),
            ServiceDiff(name: "b.example.com.", change: .removed, changes: [.configured(.roundRobin(datacenters: ["iad", "dub"]))]),
        ])
        #expect(d.services.map { $0.changes.map(\.description) } == [["geo-nearest [dub]"], ["round-robin [iad, dub]"]])
        #expect(d.changed && d.datacenters.isEmpty)
    }

    @Test func aWeightsChangeReportsWeightsAndShares() throws {
        let current = RoutingConfiguration(datacenters: [iad, dub], services: [
            named("api.example.com.", .weighted(datacenters: [("iad", 3), ("dub", 1)], perAddress: false))])
        let proposed = RoutingConfiguration(datacenters: [iad, dub], services: [
            named("api.example.com.", .weighted(datacenters: [("iad", 2), ("dub", 1)], perAddress: false), ttl: 60)])
        let d = try diff(current, proposed, geo: nil)
        let service = try #require(d.services.first)
        #expect(service.changes.map(\.description) == ["weights iad 3→2, dub 1→1; shares 75%→67% / 25%→33%", "TTL 30→60"])
        #expect(service.clients == nil)  // weighted answers do not depend on the client
    }

    @Test func aMapEntryOfAnIPv4OnlyDataCenterAnswersAAAAEmpty() throws {
        let map: [(key: String, datacenters: [String])] = [("JP", ["nrt"]), ("default", ["iad"])]
        let current = RoutingConfiguration(datacenters: [iad, nrt], services: [
            named("m.example.com.", .geoMap(map: map, pick: .roundRobin))])
        let proposed = RoutingConfiguration(datacenters: [iad, nrtIPv4Only], services: [
            named("m.example.com.", .geoMap(map: map, pick: .roundRobin))])
        let geo = networks([("1.0.16.0/20", "JP", 35.69, 139.69), ("2406:da14::/32", "JP", 35.69, 139.69)])
        let d = try diff(current, proposed, geo: geo)
        #expect(d.emptyAnswers == [EmptyAnswer(service: "m.example.com.", type: .aaaa, list: EmptyAnswer.List(.mapEntry("JP"), ["nrt"]))])
        #expect(d.emptyAnswers.first?.isNew == true)
        #expect(d.datacenters.first?.changes.map(\.description) == ["addresses -2001:db8::30"])
        // Japanese AAAA queries now have no address: their first choice moves from nrt to none.
        let clients = try #require(d.services.first?.clients)
        #expect(clients.moves.map { "\($0.from) → \($0.to)" } == ["nrt → nrt (AAAA none)"])
        #expect(clients.total.ipv4Prefixes == 1 && clients.total.ipv4Addresses == 4096 && clients.total.ipv6Prefixes == 1)
        // The same configuration on both sides: the empty answer is not new, and nothing changes.
        let again = try diff(proposed, proposed, geo: geo)
        #expect(again.emptyAnswers.map(\.isNew) == [false] && !again.changed && again.services.isEmpty)
    }

    @Test func aFailoverAnswersEmptyOnlyWhenEveryStepDoesAndKeepsEachStepsList() throws {
        let lab1 = datacenter("lab1", 0, 0, 40, ipv6: false), lab2 = datacenter("lab2", 0, 0, 50, ipv6: false)
        let failover = PolicyConfig.failover([.roundRobin(datacenters: ["lab1"]), .roundRobin(datacenters: ["lab1", "lab2"])])
        let config = RoutingConfiguration(datacenters: [iad, lab1, lab2], services: [
            named("x.example.com.", failover),
            named("y.example.com.", .failover([.roundRobin(datacenters: ["lab1"]), .roundRobin(datacenters: ["iad"])]))])
        let d = try diff(config, config, geo: nil)
        let steps: [[EmptyAnswer.List]] = [[EmptyAnswer.List(.datacenters, ["lab1"])], [EmptyAnswer.List(.datacenters, ["lab1", "lab2"])]]
        #expect(d.emptyAnswers == [EmptyAnswer(service: "x.example.com.", type: .aaaa, list: EmptyAnswer.List(.failover(steps), ["lab1", "lab2"]))])
    }

    @Test func aNarrowerNetworkMovesOnlyItsOwnAddressesAndCountsItsNewCountry() throws {
        let service = named("m.example.com.", .geoMap(map: [("JP", ["nrt"]), ("FR", ["dub"]), ("default", ["iad"])], pick: .roundRobin))
        let config = RoutingConfiguration(datacenters: [iad, dub, nrt], services: [service])
        let before = networks([("60.0.0.0/8", "JP", 35.69, 139.69)])
        let after = networks([("60.0.0.0/8", "JP", 35.69, 139.69), ("60.128.0.0/10", "FR", 48.86, 2.35)])
        let d = try diff(config, config, geo: before, proposedGeo: after)
        let clients = try #require(d.services.first?.clients)
        #expect(d.services.first?.changes == [])  // the service is unchanged; its clients move
        #expect(clients.prefixes.map { "\($0.prefix) \($0.from) → \($0.to)" } == ["60.128.0.0/10 nrt → dub"])
        #expect(clients.countries.map(\.country) == ["FR"] && clients.total.ipv4Addresses == 1 << 22)
    }

    @Test func adjacentMovingHalvesAreCountedAsOnePrefix() throws {
        // Two /9 networks with different rankings but the same first choice, both moving to dub:
        // one /8 moves, of two countries.
        let geo = networks([("90.0.0.0/9", "FR", 48.86, 2.35), ("90.128.0.0/9", "DE", 52.52, 13.4), ("91.0.0.0/8", "DE", 52.52, 13.4)])
        let current = RoutingConfiguration(datacenters: [iad, dub, nrt], services: [
            named("m.example.com.", .geoMap(map: [("FR", ["iad", "dub"]), ("DE", ["iad", "nrt"]), ("default", ["iad"])], pick: .roundRobin))])
        let proposed = RoutingConfiguration(datacenters: [iad, dub, nrt], services: [
            named("m.example.com.", .geoMap(map: [("FR", ["dub"]), ("DE", ["iad", "nrt"]), ("default", ["iad"])], pick: .roundRobin))])
        let d = try diff(current, proposed, geo: geo)
        let clients = try #require(d.services.first?.clients)
        #expect(d.services.first?.changes.map(\.description) == ["map FR [iad, dub]→[dub]"])
        #expect(clients.prefixes.map(\.prefix) == ["90.0.0.0/9"] && clients.total.ipv4Prefixes == 1)

        let both = RoutingConfiguration(datacenters: [iad, dub, nrt], services: [
            named("m.example.com.", .geoMap(map: [("FR", ["dub"]), ("DE", ["dub"]), ("default", ["iad"])], pick: .roundRobin))])
        let moved = try #require(try diff(current, both, geo: geo).services.first?.clients)
        #expect(moved.prefixes.map(\.prefix) == ["90.0.0.0/7"] && moved.total.ipv4Prefixes == 1)
        #expect(moved.countries.map(\.country) == ["DE", "FR"])  // DE: 90.128.0.0/9 and 91.0.0.0/8
        #expect(moved.countries.map(\.clients.ipv4Addresses) == [3 << 23, 1 << 23])
    }

    @Test func theLimitBoundsCountriesAndPrefixesAndSaysHowManyWereLeftOff() throws {
        let geo = networks([("60.0.0.0/8", "JP", 35.69, 139.69), ("90.0.0.0/8", "FR", 48.86, 2.35), ("177.0.0.0/8", "BR", -23.55, -46.63)])
        let current = RoutingConfiguration(datacenters: [iad, dub], services: [
            named("m.example.com.", .geoNearest(datacenters: ["iad"], unlocated: nil, pick: .roundRobin))])
        let proposed = RoutingConfiguration(datacenters: [iad, dub], services: [
            named("m.example.com.", .geoMap(map: [("default", ["dub"])], pick: .roundRobin))])
        let d = try diff(current, proposed, geo: geo, limit: 1)
        let clients = try #require(d.services.first?.clients)
        #expect(d.services.first?.changes.map(\.description) == ["policy geo-nearest [iad]→geo-map {default: [dub]}"])
        // Everything moves iad → dub: the three networks and the unlocated rest of both families.
        #expect(clients.total.ipv4Addresses == 1 << 32 && clients.total.ipv6Addresses == 0x1p128)
        #expect(clients.countries.count == 1 && clients.countriesLeftOff == 3)  // JP, FR, BR and unknown
        #expect(clients.prefixes.count == 1 && clients.total.ipv4Prefixes + clients.total.ipv6Prefixes > 1)
    }
}
