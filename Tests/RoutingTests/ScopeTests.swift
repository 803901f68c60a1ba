import HealthModel
import DNSWire
import IPNet
import Routing
import ServerConfig
import Testing

/// The ECS scope of answers that the ECS address did not decide (RFC 7871 §7.2.1): a private,
/// shared, loopback or other special-purpose ECS address is located by the resolver's address, and
/// the answer holds for the special-purpose block, never for every client; an answer that is the
/// same for every client (round-robin, weighted, an empty answer nobody could avoid) has scope 0.
@Suite struct FallbackScopeTests {
    /// A client as the query path builds it: from `resolver`, with ECS `subnet` (`address/length`).
    func client(_ subnet: String?, resolver: String = "60.1.1.1") -> ClientInfo {
        let prefix = subnet.map { IPPrefix($0)! }
        return ClientInfo(resolver: IPAddress(resolver)!, subnet: prefix?.address, sourcePrefixLength: prefix?.length ?? 0)
    }

    @Test func theClientRule() {
        let none = client(nil)
        #expect(none.address == IPAddress("60.1.1.1")! && !none.fromSubnet && none.locatable && none.fallbackScope == nil)
        let zero = client("0.0.0.0/0")
        #expect(zero.address == IPAddress("60.1.1.1")! && !zero.fromSubnet && !zero.locatable)
        let tokyo = client("60.9.9.0/24", resolver: "177.5.0.1")
        #expect(tokyo.address == IPAddress("60.9.9.0")! && tokyo.fromSubnet && tokyo.fallbackScope == nil)
        for (ecs, block) in [("10.1.2.0/24", UInt8(8)), ("100.64.7.0/24", 10), ("127.0.0.0/24", 8), ("192.168.7.0/24", 16),
                             ("172.20.0.0/16", 12), ("fd00:1::/48", 7), ("::1/128", 128)] {
            let c = client(ecs, resolver: "177.5.0.1")
            #expect(c.address == IPAddress("177.5.0.1")! && !c.fromSubnet && c.locatable && c.fallbackScope == block, "\(ecs)")
        }
    }

    /// geo-nearest from a resolver in Tokyo (60.0.0.0/8 in the table): a special-purpose ECS
    /// address gets the resolver's data center with the block as scope, on the first-choice path,
    /// on the next-nearest path (first choice down) and in `explain`'s trace alike.
    @Test(arguments: [("10.1.2.0/24", UInt8(8)), ("100.64.7.0/24", 10), ("127.0.0.0/24", 8), ("192.168.7.0/24", 16),
                      ("172.20.0.0/16", 12), ("198.18.0.0/24", 15), ("fd00:1::/48", 7)])
    func specialPurposeSubnetGetsItsBlock(ecs: String, block: UInt8) throws {
        let t = try table(service(.geoNearest(datacenters: ["iad", "dub", "nrt", "gru", "fra"], unlocated: ["dub", "iad"], pick: .roundRobin)), geo: geoTable)
        var state = RoutingState(seed: 1)
        let v6 = ecs.contains(":")
        let up = t.answer(service: 0, ipv6: v6, client: client(ecs), health: health(t), state: &state)
        #expect(site(t, up) == "nrt" && up.selection.scope == block, "\(ecs): scope \(up.selection.scope)")
        let down = t.answer(service: 0, ipv6: v6, client: client(ecs), health: health(t, down: ["nrt"]), state: &state)
        #expect(site(t, down) != "nrt" && down.selection.scope == block, "\(ecs), nrt down: scope \(down.selection.scope)")
        var tracer = RecordingTracer()
        let traced = t.answer(service: 0, ipv6: v6, client: client(ecs), health: health(t), state: &state, tracer: &tracer)
        #expect(site(t, traced) == "nrt" && traced.selection.scope == block)
        #expect(tracer.events.contains { if case .located(_, _, let s) = $0 { s == block } else { false } }, "\(tracer.events)")
    }

    /// The same private subnet from resolvers on two continents: each gets its own data center,
    /// which is why neither answer may be cached for every client (scope 0).
    @Test func privateSubnetsFromDifferentResolversDiffer() throws {
        let t = try table(service(.geoNearest(datacenters: ["iad", "dub", "nrt", "gru", "fra"], unlocated: nil, pick: .roundRobin)), geo: geoTable)
        var state = RoutingState(seed: 1)
        let tokyo = t.answer(service: 0, ipv6: false, client: client("10.1.2.0/24", resolver: "60.1.1.1"), health: health(t), state: &state)
        let brazil = t.answer(service: 0, ipv6: false, client: client("10.1.2.0/24", resolver: "177.5.0.1"), health: health(t), state: &state)
        #expect(site(t, tokyo) == "nrt" && site(t, brazil) == "gru")
        #expect(tokyo.selection.scope == 8 && brazil.selection.scope == 8)
        // geo-map too: the resolver's row, the block's scope
        let map = try table(service(.geoMap(map: [(PolicyConfig.geoMapKey(country: "JP"), ["nrt"]), ("default", ["iad"])], pick: .roundRobin)), geo: geoTable)
        let jp = map.answer(service: 0, ipv6: false, client: client("100.64.0.0/10", resolver: "60.1.1.1"), health: health(map), state: &state)
        #expect(site(map, jp) == "nrt" && jp.selection.scope == 10)
    }

    /// Without ECS the resolver's prefix-map network decided (no option goes out; the scope is
    /// what the query log and `explain` show). SOURCE PREFIX-LENGTH 0 locates nobody: scope 0.
    @Test func noSubnetAndSourceZero() throws {
        let t = try table(service(.geoNearest(datacenters: ["iad", "dub", "nrt", "gru", "fra"], unlocated: ["dub", "iad"], pick: .roundRobin)), geo: geoTable)
        var state = RoutingState(seed: 1)
        let none = t.answer(service: 0, ipv6: false, client: client(nil, resolver: "177.5.0.1"), health: health(t), state: &state)
        #expect(site(t, none) == "gru" && none.selection.scope == 8)  // 177.0.0.0/8
        let zero = t.answer(service: 0, ipv6: false, client: client("0.0.0.0/0", resolver: "177.5.0.1"), health: health(t), state: &state)
        #expect(site(t, zero) == "dub" && zero.selection.scope == 0)  // the unlocated order
    }

    /// Policies that do not look at the client keep scope 0, whatever the ECS address.
    @Test(arguments: ["10.1.2.0/24", "100.64.7.0/24", "60.9.9.0/24"])
    func clientIndependentPoliciesKeepZero(ecs: String) throws {
        var state = RoutingState(seed: 3)
        for policy in [PolicyConfig.roundRobin(datacenters: ["iad", "dub"]), .weighted(datacenters: [("iad", 1), ("dub", 2)], perAddress: false),
                       .failover([.roundRobin(datacenters: ["iad"]), .roundRobin(datacenters: ["dub"])])] {
            let t = try table(service(policy), geo: geoTable)
            let a = t.answer(service: 0, ipv6: false, client: client(ecs), health: health(t), state: &state)
            #expect(a.selection.count > 0 && a.selection.scope == 0, "\(policy) \(ecs)")
        }
    }

    /// Data centers with IPv4 only (`dub`, `gru`) and one with both (`iad`).
    func mixedTable(_ policy: PolicyConfig, whenAllDown: AllDownBehaviour = .failOpen) throws -> RoutingTable {
        func dc(_ name: String, _ lat: Double, _ lon: Double, _ ips: [String]) -> DataCenterConfig {
            DataCenterConfig(name: name, location: Coordinates(latitude: lat, longitude: lon), country: nil, continent: nil,
                             addresses: ips.map { AddressConfig(ip: IPAddress($0)!, checkTarget: nil, line: 1) }, line: 1)
        }
        let sites = [dc("iad", 38.95, -77.45, ["192.0.2.10", "2001:db8::10"]), dc("dub", 53.35, -6.26, ["192.0.2.20"]),
                     dc("gru", -23.43, -46.47, ["192.0.2.40"])]
        return try RoutingTable(config: RoutingConfiguration(datacenters: sites, services: [service(policy, whenAllDown: whenAllDown)]), geo: geoTable)
    }

    /// An AAAA query for a service without any IPv6 address is empty for every client: scope 0,
    /// from Tokyo, Paris, São Paulo, a private subnet or an unlocated one alike.
    @Test(arguments: ["60.1.2.0/24", "90.200.0.0/16", "177.5.0.0/24", "10.1.2.0/24", "91.0.1.0/24", "2400::/32"])
    func emptyForEveryClientHasScopeZero(ecs: String) throws {
        var state = RoutingState(seed: 1)
        for policy in [PolicyConfig.geoNearest(datacenters: ["dub", "gru"], unlocated: nil, pick: .roundRobin),
                       .geoMap(map: [(PolicyConfig.geoMapKey(continent: "SA"), ["gru"]), ("default", ["dub"])], pick: .roundRobin)] {
            let t = try mixedTable(policy)
            let a = t.answer(service: 0, ipv6: true, client: client(ecs), health: health(t), state: &state)
            #expect(a.selection.count == 0 && a.selection.scope == 0, "\(policy) \(ecs): scope \(a.selection.scope)")
            let v4 = t.answer(service: 0, ipv6: false, client: client(ecs), health: health(t), state: &state)
            #expect(v4.selection.count == 1, "\(policy) \(ecs): A still answered")
        }
        // when-all-down: nodata with every candidate down is NODATA for everybody as well
        let t = try mixedTable(.geoNearest(datacenters: ["iad", "dub", "gru"], unlocated: nil, pick: .roundRobin), whenAllDown: .noData)
        let allDown = t.answer(service: 0, ipv6: false, client: client(ecs), health: health(t, down: ["iad", "dub", "gru"]), state: &state)
        #expect(allDown.selection.count == 0 && allDown.selection.scope == 0, "all down \(ecs): scope \(allDown.selection.scope)")
    }

    /// When the emptiness depends on the client (a geo-map row with IPv4 only, another with IPv6),
    /// the empty answer keeps the scope of the row that decided it.
    @Test func emptyForSomeClientsKeepsItsScope() throws {
        var state = RoutingState(seed: 1)
        let t = try mixedTable(.geoMap(map: [(PolicyConfig.geoMapKey(continent: "SA"), ["gru"]), ("default", ["iad"])], pick: .roundRobin))
        let brazil = t.answer(service: 0, ipv6: true, client: client("177.5.0.0/24"), health: health(t), state: &state)
        #expect(brazil.selection.count == 0 && brazil.selection.scope == 8, "scope \(brazil.selection.scope)")
        let tokyo = t.answer(service: 0, ipv6: true, client: client("60.1.2.0/24"), health: health(t), state: &state)
        #expect(ips(t, tokyo) == ["2001:db8::10"])
    }
}
