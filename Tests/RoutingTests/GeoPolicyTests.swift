import HealthModel
import DNSWire
import IPNet
import Routing
import ServerConfig
import Testing

/// Public prefixes with hand-set locations (documentation prefixes would count as reserved).
let geoTable = GeoNetworkTable(
    locations: [
        GeoLocation(latitude: 35.68, longitude: 139.69, countryCode: "JP", continentCode: "AS"),  // Tokyo
        GeoLocation(latitude: 48.86, longitude: 2.35, countryCode: "FR", continentCode: "EU"),  // Paris
        GeoLocation(latitude: -23.55, longitude: -46.63, countryCode: "BR", continentCode: "SA"),  // São Paulo
        GeoLocation(countryCode: "DE", continentCode: "EU"),  // a country without coordinates
    ],
    ipv4: [
        GeoNetwork(prefix: IPPrefix("60.0.0.0/8")!, location: 0),
        GeoNetwork(prefix: IPPrefix("90.0.0.0/9")!, location: 1),
        GeoNetwork(prefix: IPPrefix("90.128.0.0/9")!, location: 1),
        GeoNetwork(prefix: IPPrefix("177.0.0.0/8")!, location: 2),
        GeoNetwork(prefix: IPPrefix("91.0.0.0/16")!, location: 3),
    ])

func subnet(_ a: String) -> ClientInfo { ClientInfo(address: IPAddress(a)!, fromSubnet: true) }

func site(_ t: RoutingTable, _ a: RoutedAnswer) -> String {
    t.sites[Int(t.addresses[Int(a.selection.ids[0])].site)].name
}

@Suite struct GeoNearestTests {
    @Test func nearestThenNextNearestWithMergedScope() throws {
        let t = try table(service(.geoNearest(datacenters: ["iad", "dub", "nrt", "gru", "fra"], unlocated: ["dub", "iad"], pick: .roundRobin)), geo: geoTable)
        var state = RoutingState(seed: 1)
        let tokyo = t.answer(service: 0, ipv6: false, client: subnet("60.1.2.0"), health: health(t), state: &state)
        #expect(site(t, tokyo) == "nrt" && tokyo.selection.scope == 8)
        let paris = t.answer(service: 0, ipv6: false, client: subnet("90.200.0.0"), health: health(t), state: &state)
        #expect(site(t, paris) == "fra")
        #expect(paris.selection.scope == 8)  // the two /9 halves share a ranking: merged to 90.0.0.0/8
        let parisDown = t.answer(service: 0, ipv6: false, client: subnet("90.1.0.0"), health: health(t, down: ["fra"]), state: &state)
        #expect(site(t, parisDown) == "dub")  // Paris → Dublin 780 km, before Ashburn
        let brazil = t.answer(service: 0, ipv6: false, client: subnet("177.5.0.0"), health: health(t), state: &state)
        #expect(site(t, brazil) == "gru")
        let nowhere = t.answer(service: 0, ipv6: false, client: subnet("91.0.1.0"), health: health(t), state: &state)
        #expect(site(t, nowhere) == "dub")  // no coordinates: the unlocated order
        let resolverOnly = t.answer(service: 0, ipv6: false, client: ClientInfo(address: IPAddress("60.1.1.1")!, fromSubnet: false),
                                    health: health(t), state: &state)
        #expect(site(t, resolverOnly) == "nrt" && resolverOnly.selection.scope == 8)  // the resolver's network, 60.0.0.0/8
    }

    @Test func distancesAreGreatCircle() {
        let tokyo = Coordinates(latitude: 35.68, longitude: 139.69), dublin = Coordinates(latitude: 53.35, longitude: -6.26)
        #expect(abs(greatCircleDistance(tokyo, dublin) - 9_600) < 50)
        #expect(greatCircleDistance(tokyo, tokyo) == 0)
        // Across the antimeridian: flat degrees would call these 359° apart.
        let a = Coordinates(latitude: 0, longitude: 179.5), b = Coordinates(latitude: 0, longitude: -179.5)
        #expect(greatCircleDistance(a, b) < 120)
    }
}

@Suite struct GeoMapTests {
    @Test func countryThenContinentThenDefault() throws {
        let map: [(key: String, datacenters: [String])] = [
            (PolicyConfig.geoMapKey(country: "JP"), ["nrt", "iad"]),
            (PolicyConfig.geoMapKey(continent: "EU"), ["fra", "dub"]),
            ("default", ["iad"]),
        ]
        let t = try table(service(.geoMap(map: map, pick: .roundRobin)), geo: geoTable)
        var state = RoutingState(seed: 1)
        func ask(_ a: String, down: Set<String> = []) -> String {
            site(t, t.answer(service: 0, ipv6: false, client: subnet(a), health: health(t, down: down), state: &state))
        }
        #expect(ask("60.1.2.0") == "nrt")
        #expect(ask("60.1.2.0", down: ["nrt"]) == "iad")
        #expect(ask("90.1.2.0") == "fra")  // France: no country row, its continent's
        #expect(ask("91.0.1.0") == "fra")  // Germany without coordinates still has a continent
        #expect(ask("90.1.2.0", down: ["fra"]) == "dub")
        #expect(ask("177.5.0.0") == "iad")  // South America: the default
    }
}
