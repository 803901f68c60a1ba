import HealthModel
import DNSWire
import DNSZone
import IPNet
import QueryEngine
import Routing
import ServerConfig
import Testing

/// Two data centers, a geo-nearest and a round-robin service, and a hand-made location table with
/// public prefixes (documentation prefixes count as reserved and are never located).
struct RoutedFixture {
    let engine: QueryEngine

    static let tokyo = GeoLocation(latitude: 35.68, longitude: 139.69, countryCode: "JP", continentCode: "AS")
    static let dublin = GeoLocation(latitude: 53.35, longitude: -6.26, countryCode: "IE", continentCode: "EU")

    init(health: (RoutingTable) -> HealthSnapshot? = { _ in nil }) throws {
        let sites = [
            DataCenterConfig(name: "iad", location: Coordinates(latitude: 38.95, longitude: -77.45), country: "US", continent: "NA",
                             addresses: [AddressConfig(ip: IPAddress("192.0.2.10")!, checkTarget: nil, line: 1),
                                         AddressConfig(ip: IPAddress("2001:db8:1::10")!, checkTarget: nil, line: 1)], line: 1),
            DataCenterConfig(name: "nrt", location: Coordinates(latitude: 35.77, longitude: 140.39), country: "JP", continent: "AS",
                             addresses: [AddressConfig(ip: IPAddress("203.0.113.10")!, checkTarget: nil, line: 1),
                                         AddressConfig(ip: IPAddress("2001:db8:3::10")!, checkTarget: nil, line: 1)], line: 1),
            DataCenterConfig(name: "dub", location: Coordinates(latitude: 53.35, longitude: -6.26), country: "IE", continent: "EU",
                             addresses: [AddressConfig(ip: IPAddress("198.51.100.10")!, checkTarget: nil, line: 1)], line: 1),
        ]
        let services = [
            ServiceConfig(name: try DNSName("geo.example.com."), policy: .geoNearest(datacenters: ["iad", "nrt", "dub"], unlocated: nil, pick: .roundRobin),
                          check: "web", ttl: 30, degradedTTL: 5, maxAnswers: nil, whenAllDown: .failOpen, line: 1),
            ServiceConfig(name: try DNSName("rr.example.com."), policy: .roundRobin(datacenters: ["iad", "nrt"]),
                          check: nil, ttl: 60, degradedTTL: 5, maxAnswers: nil, whenAllDown: .failOpen, line: 2),
            // dub has no IPv6 address: AAAA is empty for everyone
            ServiceConfig(name: try DNSName("v4.example.com."), policy: .geoNearest(datacenters: ["dub"], unlocated: nil, pick: .roundRobin),
                          check: nil, ttl: 60, degradedTTL: 5, maxAnswers: nil, whenAllDown: .failOpen, line: 3),
        ]
        let geo = GeoNetworkTable(
            locations: [Self.tokyo, Self.dublin],
            ipv4: [GeoNetwork(prefix: IPPrefix("60.0.0.0/8")!, location: 0), GeoNetwork(prefix: IPPrefix("80.0.0.0/8")!, location: 1)],
            ipv6: [GeoNetwork(prefix: IPPrefix("2400::/12")!, location: 0)])
        let routing = try RoutingTable(config: RoutingConfiguration(datacenters: sites, services: services), geo: geo)
        let zones = ZoneSet(zones: [Zone(origin: try DNSName("example.com."), records: [
            record("example.com.", .soa, R.soa(minimum: 300)),
            record("example.com.", .ns, R.name("ns1.example.com.")),
            record("ns1.example.com.", .a, R.a(192, 0, 2, 1)),
            record("alias.example.com.", .cname, R.name("geo.example.com.")),
        ])])
        let services_ = ServiceSet(routing: routing, zones: zones)
        engine = QueryEngine(zones: zones, services: services_, health: health(routing).map { routing.health($0) })
    }

    func ask(_ name: String, _ type: RRType, ecs: (UInt16, UInt8, [UInt8])? = nil, from resolver: String = "127.0.0.1") throws -> Message? {
        let q = Message.query(name: try DNSName(name), type: type, edns: (1232, false),
                              clientSubnet: ecs.map { (family: $0.0, sourcePrefixLength: $0.1, address: $0.2) })
        var out = [UInt8](repeating: 0, count: QueryEngine.responseBufferSize)
        var state = RoutingState(seed: 9)
        let n = q.withUnsafeBytes { qb in
            out.withUnsafeMutableBytes { engine.respond(to: qb, from: IPAddress(resolver)!, over: .udp, into: $0, state: &state) }
        }
        return n == 0 ? nil : try Message(decoding: Array(out[0..<n]))
    }
}

func addresses(_ m: Message?) -> [String] {
    (m?.answer ?? []).filter { $0.type == .a || $0.type == .aaaa }.map { IPAddress(bytes: $0.rdata)!.description }
}

@Suite struct ServiceAnswerTests {
    @Test func nearestDataCenterForTheECSSubnetWithItsScope() throws {
        let f = try RoutedFixture()
        let tokyo = try f.ask("geo.example.com.", .a, ecs: (1, 24, [60, 1, 2]))
        #expect(addresses(tokyo) == ["203.0.113.10"])
        #expect(tokyo?.answer.first?.ttl == 30 && tokyo?.flags ?? 0 & Header.aa != 0)
        let ecs = try #require(tokyo?.clientSubnet)
        #expect(ecs.family == 1 && ecs.sourcePrefixLength == 24 && ecs.address == [60, 1, 2])
        #expect(ecs.scopePrefixLength == 8)  // the merged network 60.0.0.0/8: never narrower than the match
        let dublin = try f.ask("geo.example.com.", .a, ecs: (1, 16, [80, 7]))
        #expect(addresses(dublin) == ["198.51.100.10"] && dublin?.clientSubnet?.scopePrefixLength == 8)
        let v6 = try f.ask("geo.example.com.", .aaaa, ecs: (2, 48, [0x24, 0x01, 0, 0, 0, 1]))
        #expect(addresses(v6) == ["2001:db8:3::10"] && v6?.clientSubnet?.scopePrefixLength == 12)
    }

    @Test func resolverAddressWhenThereIsNoUsableSubnet() throws {
        let f = try RoutedFixture()
        let bySource = try f.ask("geo.example.com.", .a, from: "60.9.9.9")
        #expect(addresses(bySource) == ["203.0.113.10"] && bySource?.clientSubnet == nil)
        let privateSubnet = try f.ask("geo.example.com.", .a, ecs: (1, 24, [10, 1, 2]), from: "80.1.1.1")
        #expect(addresses(privateSubnet) == ["198.51.100.10"])  // located by the resolver, not 10.1.2.0/24
        // RFC 7871 §7.2.1: the answer is intended for 10.0.0.0/8 (every ECS address there is located
        // by this resolver), not for all of IPv4: scope 0 would hand Dublin to Tokyo from a cache.
        #expect(privateSubnet?.clientSubnet?.scopePrefixLength == 8)
        #expect(privateSubnet?.clientSubnet?.sourcePrefixLength == 24 && privateSubnet?.clientSubnet?.address == [10, 1, 2])
        let zeroSource = try f.ask("geo.example.com.", .a, ecs: (1, 0, []), from: "60.9.9.9")
        #expect(addresses(zeroSource) == ["192.0.2.10"])  // not located at all: the listed order
        #expect(zeroSource?.clientSubnet?.scopePrefixLength == 0)
    }

    /// Special-purpose ECS addresses: the resolver decides, the block is the scope. From a resolver
    /// in Tokyo and one in Dublin the same subnet gets different data centers, so scope 0 (valid
    /// for every client) would be wrong for both.
    @Test(arguments: [
        ((UInt16(1), UInt8(24), [UInt8](arrayLiteral: 100, 64, 7)), UInt8(10)),  // shared address space (CGNAT)
        ((1, 24, [127, 0, 0]), 8),  // loopback
        ((1, 16, [192, 168]), 16),
        ((1, 24, [172, 20, 1]), 12),
        ((2, 48, [0xFD, 0, 0, 1, 0, 0]), 7),  // unique-local
        ((2, 128, [UInt8](repeating: 0, count: 15) + [1]), 128),  // ::1
    ])
    func specialPurposeSubnetsGetTheirBlockAsScope(_ ecs: (UInt16, UInt8, [UInt8]), block: UInt8) throws {
        let f = try RoutedFixture()
        let fromTokyo = try #require(try f.ask("geo.example.com.", .a, ecs: ecs, from: "60.9.9.9"))
        let fromDublin = try #require(try f.ask("geo.example.com.", .a, ecs: ecs, from: "80.1.1.1"))
        #expect(addresses(fromTokyo) == ["203.0.113.10"] && addresses(fromDublin) == ["198.51.100.10"])
        for m in [fromTokyo, fromDublin] {
            #expect(m.clientSubnet?.scopePrefixLength == block && m.clientSubnet?.sourcePrefixLength == ecs.1
                    && m.clientSubnet?.address == ecs.2, "\(String(describing: m.clientSubnet))")
        }
    }

    /// AAAA for a service whose data centers have no IPv6 address: NODATA for every client, scope 0
    /// whoever asks; A from the same clients is routed with a scope.
    @Test func emptyAnswerForEveryoneHasScopeZero() throws {
        let f = try RoutedFixture()
        for ecs: (UInt16, UInt8, [UInt8]) in [(1, 24, [60, 1, 2]), (1, 16, [80, 7]), (1, 24, [10, 1, 2]), (2, 48, [0x24, 0x01, 0, 0, 0, 1]), (1, 24, [8, 8, 8])] {
            let m = try #require(try f.ask("v4.example.com.", .aaaa, ecs: ecs, from: "60.9.9.9"))
            #expect(m.rcode == .noError && m.answer.isEmpty && m.authority.first?.type == .soa, "\(ecs)")
            #expect(m.clientSubnet?.scopePrefixLength == 0 && m.clientSubnet?.address == ecs.2, "\(ecs): \(String(describing: m.clientSubnet))")
        }
        let a = try f.ask("v4.example.com.", .a, ecs: (1, 24, [60, 1, 2]))
        #expect(addresses(a) == ["198.51.100.10"] && a?.clientSubnet?.scopePrefixLength == 0)  // one data center for all: /0 merged
    }

    @Test func nextNearestWhenTheNearestIsDown() throws {
        let f = try RoutedFixture { routing in
            let states = routing.addresses.map { routing.sites[Int($0.site)].name == "nrt" ? HealthState.down : .up }
            return HealthSnapshot(states: states, changing: states.map { _ in false }, since: states.map { _ in 0 }, reasons: states.map { _ in "" })
        }
        let m = try f.ask("geo.example.com.", .a, ecs: (1, 24, [60, 1, 2]))
        #expect(addresses(m) == ["198.51.100.10"])  // Tokyo → Dublin (9,600 km) is nearer than Tokyo → Ashburn (10,900 km)
        #expect(m?.answer.first?.ttl == 5)
    }

    @Test func scopeZeroWhereTheAnswerDoesNotDependOnTheClient() throws {
        let f = try RoutedFixture()
        let rr = try f.ask("rr.example.com.", .a, ecs: (1, 24, [60, 1, 2]))
        #expect(Set(addresses(rr)) == ["192.0.2.10", "203.0.113.10"] && rr?.clientSubnet?.scopePrefixLength == 0)
        let stat = try f.ask("ns1.example.com.", .a, ecs: (1, 24, [60, 1, 2]))
        #expect(stat?.clientSubnet?.scopePrefixLength == 0 && stat?.clientSubnet?.address == [60, 1, 2])
        let none = try f.ask("ns1.example.com.", .a)
        #expect(none?.opt != nil && none?.clientSubnet == nil)
    }

    @Test func otherTypesAndChains() throws {
        let f = try RoutedFixture()
        let mx = try #require(try f.ask("geo.example.com.", .mx))
        #expect(mx.rcode == .noError && mx.answer.isEmpty && mx.authority.first?.type == .soa)
        let chain = try #require(try f.ask("alias.example.com.", .a, ecs: (1, 24, [60, 1, 2])))
        #expect(chain.answer.map(\.type) == [.cname, .a] && addresses(chain) == ["203.0.113.10"])
        #expect(chain.answer.last?.owner == (try DNSName("geo.example.com.")))
    }

    @Test(arguments: [
        ("unknown family", (UInt16(3), UInt8(24), [UInt8](arrayLiteral: 60, 1, 2))),
        ("IPv4 prefix over 32", (1, 33, [60, 1, 2, 3, 4])),
        ("address longer than the prefix", (1, 16, [60, 1, 2])),
        ("address shorter than the prefix", (1, 24, [60, 1])),
        ("bits beyond the prefix", (1, 20, [60, 1, 0xFF])),
        ("IPv6 prefix over 128", (2, 129, Array(repeating: 0x24, count: 17))),
    ])
    func malformedSubnetsGetFORMERR(_ c: (String, (UInt16, UInt8, [UInt8]))) throws {
        let f = try RoutedFixture()
        let m = try #require(try f.ask("geo.example.com.", .a, ecs: c.1))
        #expect(m.rcode == .formErr, "\(c.0)")
        #expect(m.answer.isEmpty)
    }
}
