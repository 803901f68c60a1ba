import HealthModel
import DNSWire
import IPNet
import Routing
import ServerConfig
import Testing

/// Data centers with documentation addresses: two IPv4 and one IPv6 each.
let testSites: [DataCenterConfig] = [
    ("iad", 38.95, -77.45, "US", "NA", 10), ("dub", 53.35, -6.26, "IE", "EU", 20), ("nrt", 35.77, 140.39, "JP", "AS", 30),
    ("gru", -23.43, -46.47, "BR", "SA", 40), ("fra", 50.03, 8.57, "DE", "EU", 50),
].map { name, lat, lon, country, continent, n in
    DataCenterConfig(
        name: name, location: Coordinates(latitude: lat, longitude: lon), country: country, continent: continent,
        addresses: [
            AddressConfig(ip: IPAddress("192.0.2.\(n)")!, checkTarget: nil, line: 1),
            AddressConfig(ip: IPAddress("192.0.2.\(n + 1)")!, checkTarget: nil, line: 1),
            AddressConfig(ip: IPAddress("2001:db8::\(n)")!, checkTarget: nil, line: 1),
        ], line: 1)
}

func service(_ policy: PolicyConfig, ttl: UInt32 = 30, maxAnswers: Int? = nil, whenAllDown: AllDownBehaviour = .failOpen) -> ServiceConfig {
    ServiceConfig(name: try! DNSName("www.example.com."), policy: policy, check: "web", ttl: ttl, degradedTTL: 5,
                  maxAnswers: maxAnswers, whenAllDown: whenAllDown, line: 1)
}

func table(_ s: ServiceConfig, geo: GeoNetworkTable? = nil) throws -> RoutingTable {
    try RoutingTable(config: RoutingConfiguration(datacenters: testSites, services: [s]), geo: geo)
}

/// Health with the addresses of the named data centers down.
func health(_ t: RoutingTable, down: Set<String> = [], changing: Set<String> = []) -> RoutingHealth {
    let n = t.addresses.count
    let names = t.addresses.map { t.sites[Int($0.site)].name }
    return t.health(HealthSnapshot(
        states: names.map { down.contains($0) ? .down : .up }, changing: names.map { changing.contains($0) },
        since: Array(repeating: 0, count: n), reasons: Array(repeating: "", count: n)))
}

let resolver = ClientInfo(address: IPAddress("127.0.0.1")!, fromSubnet: false)

func ips(_ t: RoutingTable, _ a: RoutedAnswer) -> [String] {
    (0..<a.selection.count).map { t.addresses[Int(a.selection.ids[$0])].ip.description }
}

@Suite struct RoundRobinTests {
    @Test func rotatesEveryHealthyAddressAndSkipsDownOnes() throws {
        let t = try table(service(.roundRobin(datacenters: ["iad", "dub"])))
        var state = RoutingState(seed: 7)
        let h = health(t)
        let first = t.answer(service: 0, ipv6: false, client: resolver, health: h, state: &state)
        let second = t.answer(service: 0, ipv6: false, client: resolver, health: h, state: &state)
        #expect(Set(ips(t, first)) == ["192.0.2.10", "192.0.2.11", "192.0.2.20", "192.0.2.21"])
        #expect(ips(t, second) == Array(ips(t, first).dropFirst()) + [ips(t, first)[0]])
        #expect(first.selection.scope == 0 && first.ttl == 30)
        let down = t.answer(service: 0, ipv6: false, client: resolver, health: health(t, down: ["iad"]), state: &state)
        #expect(Set(ips(t, down)) == ["192.0.2.20", "192.0.2.21"])
        #expect(down.ttl == 5)  // a candidate is down: degraded TTL
        let v6 = t.answer(service: 0, ipv6: true, client: resolver, health: h, state: &state)
        #expect(Set(ips(t, v6)) == ["2001:db8::10", "2001:db8::20"])
    }

    @Test func capsAtMaxAnswers() throws {
        let t = try table(service(.roundRobin(datacenters: ["iad", "dub", "nrt"]), maxAnswers: 2))
        var state = RoutingState(seed: 1)
        #expect(t.answer(service: 0, ipv6: false, client: resolver, health: health(t), state: &state).selection.count == 2)
    }

    @Test func failsOpenOrAnswersNothingWhenAllAreDown() throws {
        var state = RoutingState(seed: 1)
        let open = try table(service(.roundRobin(datacenters: ["iad"])))
        let a = open.answer(service: 0, ipv6: false, client: resolver, health: health(open, down: ["iad"]), state: &state)
        #expect(a.failedOpen && Set(ips(open, a)) == ["192.0.2.10", "192.0.2.11"] && a.ttl == 5)
        let closed = try table(service(.roundRobin(datacenters: ["iad"]), whenAllDown: .noData))
        let b = closed.answer(service: 0, ipv6: false, client: resolver, health: health(closed, down: ["iad"]), state: &state)
        #expect(!b.failedOpen && b.selection.count == 0)
    }

    @Test func changingStateShortensTheTTL() throws {
        let t = try table(service(.roundRobin(datacenters: ["iad", "dub"])))
        var state = RoutingState(seed: 1)
        #expect(t.answer(service: 0, ipv6: false, client: resolver, health: health(t, changing: ["dub"]), state: &state).ttl == 5)
    }
}

@Suite struct WeightedTests {
    func shares(_ t: RoutingTable, _ h: RoutingHealth, draws: Int = 100_000, seed: UInt64 = 42) -> [String: Double] {
        var state = RoutingState(seed: seed)
        var counts: [String: Int] = [:]
        for _ in 0..<draws {
            let a = t.answer(service: 0, ipv6: false, client: resolver, health: h, state: &state)
            let site = t.sites[Int(t.addresses[Int(a.selection.ids[0])].site)].name
            counts[site, default: 0] += 1
        }
        return counts.mapValues { Double($0) / Double(draws) }
    }

    @Test(arguments: [UInt64(1), 42, 20261129])
    func sharesMatchTheWeightsWithinOnePoint(seed: UInt64) throws {
        let t = try table(service(.weighted(datacenters: [("iad", 5), ("dub", 3), ("nrt", 2)], perAddress: false)))
        let s = shares(t, health(t), seed: seed)
        #expect(abs(s["iad", default: 0] - 0.5) < 0.01)
        #expect(abs(s["dub", default: 0] - 0.3) < 0.01)
        #expect(abs(s["nrt", default: 0] - 0.2) < 0.01)
    }

    @Test func downSitesShareTheirWeightOutAndStandbyWaits() throws {
        let t = try table(service(.weighted(datacenters: [("iad", 1), ("dub", 1), ("gru", 0)], perAddress: false)))
        let s = shares(t, health(t, down: ["iad"]), draws: 10_000)
        #expect(s["dub"] == 1.0)  // the standby is not used while a weighted one is up
        let standby = shares(t, health(t, down: ["iad", "dub"]), draws: 1_000)
        #expect(standby["gru"] == 1.0)
    }

    @Test func perAddressWeights() throws {
        let t = try table(service(.weighted(datacenters: [("iad", 1), ("dub", 3)], perAddress: true)))
        var state = RoutingState(seed: 3)
        var perIP: [String: Int] = [:]
        for _ in 0..<100_000 {
            let a = t.answer(service: 0, ipv6: false, client: resolver, health: health(t), state: &state)
            #expect(a.selection.count == 1)
            perIP[ips(t, a)[0], default: 0] += 1
        }
        #expect(abs(Double(perIP["192.0.2.20", default: 0]) / 100_000 - 0.375) < 0.01)
        #expect(abs(Double(perIP["192.0.2.10", default: 0]) / 100_000 - 0.125) < 0.01)
    }
}

@Suite struct FailoverTests {
    @Test func firstStepThatIsUpAnswers() throws {
        let t = try table(service(.failover([.roundRobin(datacenters: ["iad"]), .roundRobin(datacenters: ["dub"]),
                                             .weighted(datacenters: [("nrt", 1)], perAddress: false)])))
        var state = RoutingState(seed: 1)
        #expect(Set(ips(t, t.answer(service: 0, ipv6: false, client: resolver, health: health(t), state: &state)))
                == ["192.0.2.10", "192.0.2.11"])
        #expect(Set(ips(t, t.answer(service: 0, ipv6: false, client: resolver, health: health(t, down: ["iad"]), state: &state)))
                == ["192.0.2.20", "192.0.2.21"])
        let last = t.answer(service: 0, ipv6: false, client: resolver, health: health(t, down: ["iad", "dub"]), state: &state)
        #expect(Set(ips(t, last)).isSubset(of: ["192.0.2.30", "192.0.2.31"]))
    }
}
