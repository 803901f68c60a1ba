import DNSWire
import HealthModel
import IPNet
import Routing
import ServiceTransfer
import Testing
import ZoneTransfer

private func name(_ s: String) -> DNSName { try! DNSName(s) }
private func address(_ s: String) -> AddressConfig { AddressConfig(ip: IPAddress(s)!, checkTarget: nil, line: 1) }

/// iad: two IPv4 and one IPv6 address; nrt and dub: one IPv4 each; lon: one IPv6 only.
private let datacenters = [
    DataCenterConfig(name: "iad", location: Coordinates(latitude: 38.9, longitude: -77.4), country: "US", continent: "NA",
                     addresses: [address("192.0.2.1"), address("192.0.2.2"), address("2001:db8::1")], line: 1),
    DataCenterConfig(name: "nrt", location: Coordinates(latitude: 35.7, longitude: 139.7), country: "JP", continent: "AS",
                     addresses: [address("192.0.2.11")], line: 2),
    DataCenterConfig(name: "dub", location: Coordinates(latitude: 53.3, longitude: -6.3), country: "IE", continent: "EU",
                     addresses: [address("192.0.2.21")], line: 3),
    DataCenterConfig(name: "lon", location: nil, country: nil, continent: nil, addresses: [address("2001:db8::5")], line: 4),
]

private func service(_ owner: String, _ policy: PolicyConfig, transfer: TransferMode = .healthy, allDown: AllDownBehaviour = .failOpen,
                     maxAnswers: Int? = nil, ttl: UInt32 = 30) -> ServiceConfig {
    ServiceConfig(name: name(owner), policy: policy, check: "web", ttl: ttl, degradedTTL: 5, maxAnswers: maxAnswers,
                  whenAllDown: allDown, transfer: transfer, line: 1)
}

private func table(_ services: [ServiceConfig]) throws -> RoutingTable {
    try RoutingTable(config: RoutingConfiguration(datacenters: datacenters, services: services), geo: nil)
}

/// Every address of the data centers in `down` down (`drain` for those in `drained`), the rest up.
private func health(_ t: RoutingTable, down: Set<String> = [], drained: Set<String> = []) -> HealthSnapshot {
    let states: [HealthState] = t.addresses.map { a in
        let site = t.sites[Int(a.site)].name
        return down.contains(site) ? .down : drained.contains(site) ? .drain : .up
    }
    let n = states.count
    return HealthSnapshot(states: states, changing: Array(repeating: false, count: n), since: Array(repeating: 0, count: n),
                          reasons: Array(repeating: "", count: n))
}

/// The rendered records of one zone as `owner type address` lines, in the order rendered.
private func lines(_ t: RoutingTable, _ h: HealthSnapshot, origin: String = "example.com.") -> [String] {
    let records = ServiceRecords.render(t, health: h, origins: [name(origin)])[name(origin)] ?? []
    return records.map { r in "\(try! DNSName(wire: r.owner)) \(r.type) \(IPAddress(bytes: r.rdata)!) \(r.ttl)" }
}

@Suite struct ServiceRecordsTests {
    @Test func roundRobinIsEveryUpAddressWhateverTheRotationAndMaxAnswers() throws {
        let t = try table([service("rr.example.com.", .roundRobin(datacenters: ["iad", "nrt"]), maxAnswers: 1)])
        #expect(lines(t, health(t)) == [
            "rr.example.com. A 192.0.2.1 30", "rr.example.com. A 192.0.2.2 30", "rr.example.com. A 192.0.2.11 30",
            "rr.example.com. AAAA 2001:db8::1 30",
        ])
        // iad held the only IPv6 address: AAAA fails open, per family as queries do.
        #expect(lines(t, health(t, down: ["iad"])) == ["rr.example.com. A 192.0.2.11 30", "rr.example.com. AAAA 2001:db8::1 30"])
        #expect(lines(t, health(t, drained: ["nrt"])) == [
            "rr.example.com. A 192.0.2.1 30", "rr.example.com. A 192.0.2.2 30", "rr.example.com. AAAA 2001:db8::1 30",
        ])
        // Identical health, identical records.
        #expect(ServiceRecords.render(t, health: health(t, down: ["nrt"]), origins: [name("example.com.")])
            == ServiceRecords.render(t, health: health(t, down: ["nrt"]), origins: [name("example.com.")]))
    }

    @Test func weightedIsEveryWeightedCandidateUpThenTheStandbys() throws {
        let t = try table([service("w.example.com.", .weighted(datacenters: [("iad", 3), ("nrt", 1), ("dub", 0)], perAddress: false),
                                   maxAnswers: 1)])
        // Whole data centers answer in a fixed order: max-answers 1 keeps iad's first address only.
        #expect(lines(t, health(t)) == ["w.example.com. A 192.0.2.1 30", "w.example.com. A 192.0.2.11 30", "w.example.com. AAAA 2001:db8::1 30"])
        // The AAAA fails open (no IPv6 address up), as queries do.
        #expect(lines(t, health(t, down: ["iad"])) == ["w.example.com. A 192.0.2.11 30", "w.example.com. AAAA 2001:db8::1 30"])
        // Both weighted ones down: the standby.
        #expect(lines(t, health(t, down: ["iad", "nrt"])) == ["w.example.com. A 192.0.2.21 30", "w.example.com. AAAA 2001:db8::1 30"])
    }

    @Test func weightedPerAddressIsEachUpAddress() throws {
        let t = try table([service("w.example.com.", .weighted(datacenters: [("iad", 1), ("dub", 1)], perAddress: true), maxAnswers: 1)])
        #expect(lines(t, health(t, down: ["dub"])) == [
            "w.example.com. A 192.0.2.1 30", "w.example.com. A 192.0.2.2 30", "w.example.com. AAAA 2001:db8::1 30",
        ])
    }

    @Test func geoNearestIsTheFirstUpOfTheUnlocatedOrder() throws {
        let t = try table([service("geo.example.com.", .geoNearest(datacenters: ["iad", "nrt", "dub"], unlocated: ["nrt", "iad"], pick: .roundRobin))])
        // IPv4: nrt; IPv6: nrt has none, so iad's.
        #expect(lines(t, health(t)) == ["geo.example.com. A 192.0.2.11 30", "geo.example.com. AAAA 2001:db8::1 30"])
        #expect(lines(t, health(t, down: ["nrt"])) == [
            "geo.example.com. A 192.0.2.1 30", "geo.example.com. A 192.0.2.2 30", "geo.example.com. AAAA 2001:db8::1 30",
        ])
        // dub is not in the unlocated order: nobody unlocated gets it, even with nrt and iad down,
        // so fail-open answers with the unlocated order as if all were up.
        #expect(lines(t, health(t, down: ["nrt", "iad"])) == ["geo.example.com. A 192.0.2.11 30", "geo.example.com. AAAA 2001:db8::1 30"])
    }

    @Test func geoPickRandomIsEveryUpAddressAndRoundRobinTheFirstMaxAnswers() throws {
        let random = try table([service("geo.example.com.", .geoNearest(datacenters: ["iad"], unlocated: nil, pick: .random), maxAnswers: 1)])
        #expect(lines(random, health(random)) == [
            "geo.example.com. A 192.0.2.1 30", "geo.example.com. A 192.0.2.2 30", "geo.example.com. AAAA 2001:db8::1 30",
        ])
        let ordered = try table([service("geo.example.com.", .geoNearest(datacenters: ["iad"], unlocated: nil, pick: .roundRobin), maxAnswers: 1)])
        #expect(lines(ordered, health(ordered)) == ["geo.example.com. A 192.0.2.1 30", "geo.example.com. AAAA 2001:db8::1 30"])
    }

    @Test func geoMapIsTheDefaultRow() throws {
        let t = try table([service("map.example.com.", .geoMap(map: [("JP", ["nrt"]), ("default", ["dub", "iad"])], pick: .roundRobin))])
        #expect(lines(t, health(t)) == ["map.example.com. A 192.0.2.21 30", "map.example.com. AAAA 2001:db8::1 30"])
        #expect(lines(t, health(t, down: ["dub"])) == [
            "map.example.com. A 192.0.2.1 30", "map.example.com. A 192.0.2.2 30", "map.example.com. AAAA 2001:db8::1 30",
        ])
        // A map without default: unlocated clients get nothing, so fail-open has nothing either.
        let noDefault = try table([service("map.example.com.", .geoMap(map: [("JP", ["nrt"])], pick: .roundRobin))])
        #expect(lines(noDefault, health(noDefault)).isEmpty)
    }

    @Test func failoverIsTheFirstStepWithAnUpAddress() throws {
        let t = try table([service("fo.example.com.", .failover([.roundRobin(datacenters: ["dub"]), .roundRobin(datacenters: ["iad", "nrt"])]))])
        // IPv4 from dub; dub has no IPv6, so the AAAA comes from the second step.
        #expect(lines(t, health(t)) == ["fo.example.com. A 192.0.2.21 30", "fo.example.com. AAAA 2001:db8::1 30"])
        #expect(lines(t, health(t, down: ["dub"])) == [
            "fo.example.com. A 192.0.2.1 30", "fo.example.com. A 192.0.2.2 30", "fo.example.com. A 192.0.2.11 30",
            "fo.example.com. AAAA 2001:db8::1 30",
        ])
    }

    @Test func allDownFollowsWhenAllDown() throws {
        let t = try table([
            service("open.example.com.", .roundRobin(datacenters: ["nrt", "lon"]), allDown: .failOpen),
            service("closed.example.com.", .roundRobin(datacenters: ["nrt", "lon"]), allDown: .noData),
        ])
        #expect(lines(t, health(t, down: ["nrt", "lon"])) == ["open.example.com. A 192.0.2.11 30", "open.example.com. AAAA 2001:db8::5 30"])
        // Per family, as queries: IPv6 down only, IPv4 still answers.
        #expect(lines(t, health(t, down: ["lon"])) == [
            "closed.example.com. A 192.0.2.11 30", "open.example.com. A 192.0.2.11 30", "open.example.com. AAAA 2001:db8::5 30",
        ])
    }

    @Test func allAddressesIgnoresHealthAndOmitIsAbsent() throws {
        let t = try table([
            service("all.example.com.", .failover([.roundRobin(datacenters: ["dub"]), .roundRobin(datacenters: ["nrt"])]), transfer: .allAddresses, ttl: 60),
            service("gone.example.com.", .roundRobin(datacenters: ["iad"]), transfer: .omit),
        ])
        let expected = ["all.example.com. A 192.0.2.11 60", "all.example.com. A 192.0.2.21 60"]
        #expect(lines(t, health(t)) == expected)
        #expect(lines(t, health(t, down: ["dub", "nrt", "iad"])) == expected)
    }

    @Test func recordsGoToTheLongestEnclosingZoneSortedCanonically() throws {
        let t = try table([
            service("b.example.com.", .roundRobin(datacenters: ["nrt"])),
            service("a.sub.example.com.", .roundRobin(datacenters: ["dub"])),
            service("Z.example.com.", .roundRobin(datacenters: ["dub", "nrt"])),
            service("a.example.com.", .roundRobin(datacenters: ["nrt"])),
            service("www.other.net.", .roundRobin(datacenters: ["nrt"])),
        ])
        let zones = ServiceRecords.render(t, health: health(t), origins: [name("example.com."), name("sub.example.com."), name("empty.org.")])
        #expect(Set(zones.keys) == [name("example.com."), name("sub.example.com.")])
        let owners = (zones[name("example.com.")] ?? []).map { r in "\(try! DNSName(wire: r.owner)) \(IPAddress(bytes: r.rdata)!)" }
        #expect(owners == ["a.example.com. 192.0.2.11", "b.example.com. 192.0.2.11", "z.example.com. 192.0.2.11", "z.example.com. 192.0.2.21"])
        #expect((zones[name("sub.example.com.")] ?? []).count == 1)
    }

    /// The rendering is the union of what the query path answers an unlocated client: 400 answers
    /// per family (every rotation, many random draws) under several health states, each policy.
    @Test func equalsTheUnionOfQueryAnswersToAnUnlocatedClient() throws {
        let t = try table([
            service("rr.example.com.", .roundRobin(datacenters: ["iad", "nrt"]), maxAnswers: 2),
            service("w.example.com.", .weighted(datacenters: [("iad", 3), ("nrt", 1), ("dub", 0)], perAddress: false)),
            service("wa.example.com.", .weighted(datacenters: [("iad", 1), ("dub", 1)], perAddress: true)),
            service("geo.example.com.", .geoNearest(datacenters: ["iad", "nrt", "dub"], unlocated: ["nrt", "iad"], pick: .random)),
            service("map.example.com.", .geoMap(map: [("JP", ["nrt"]), ("default", ["dub", "iad"])], pick: .roundRobin), maxAnswers: 1),
            service("fo.example.com.", .failover([.roundRobin(datacenters: ["dub"]), .weighted(datacenters: [("iad", 1), ("lon", 1)], perAddress: false)])),
            service("nd.example.com.", .roundRobin(datacenters: ["nrt", "lon"]), allDown: .noData),
        ])
        let client = ClientInfo(address: IPAddress("203.0.113.9")!, fromSubnet: false, locatable: false)
        for down: Set<String> in [[], ["iad"], ["nrt"], ["dub"], ["dub", "nrt"], ["iad", "nrt", "dub", "lon"]] {
            let snapshot = health(t, down: down)
            let routingHealth = t.health(snapshot)
            for index in t.services.indices {
                var answered = Set<Int32>()
                var state = RoutingState(seed: 42)
                for ipv6 in [false, true] {
                    for _ in 0..<400 {
                        let answer = t.answer(service: index, ipv6: ipv6, client: client, health: routingHealth, state: &state)
                        for k in 0..<answer.selection.count { answered.insert(answer.selection.ids[k]) }
                    }
                }
                let rendered = t.transferAddresses(service: index, health: snapshot)
                #expect(Set(rendered) == answered, "\(t.services[index].name) with \(down.sorted()) down")
            }
        }
    }
}
