import Foundation
import Testing

/// Geo routing end to end, on real data: GeoLite2-City (2018, fetched from PyPI by
/// scripts/fetch-geolite2; the test fails when it cannot be fetched). Expected answers come from
/// the database itself, read by python3-maxminddb (Tests/Fixtures/routing/geo_expect.py), with the
/// nearest data center computed by haversine distance, never from meridian's output.
///
/// ECS scope (RFC 7871 §7.2.1: the widest prefix over which the answer is the same for every
/// client) is checked two ways: it is never narrower than the database network of the address
/// (scope ≤ that network's prefix length: every client of the network is in the same place, so a
/// longer scope would be needlessly narrow), and it is sound: every database network inside
/// ADDRESS/SCOPE is walked and must give the same nearest data center (20,000 random addresses
/// instead when a walk would pass 400,000 networks).

private let datacenters: [String: (Double, Double)] = [
    "iad": (38.95, -77.45), "dub": (53.35, -6.26), "nrt": (35.77, 140.39), "gru": (-23.43, -46.47), "fra": (50.03, 8.57),
]
private let answerAddress = ["iad": "192.0.2.1", "dub": "192.0.2.2", "nrt": "192.0.2.3", "gru": "192.0.2.4", "fra": "192.0.2.5"]
private let answerAddress6 = ["iad": "2001:db8:1::1", "dub": "2001:db8:2::1", "nrt": "2001:db8:3::1", "gru": "2001:db8:4::1", "fra": "2001:db8:5::1"]

/// Public prefixes and where they are, each verified against the database in the test (the
/// database's coordinates must lie within 100 km of the place).
private let places: [(ecs: String, place: String, near: (Double, Double))] = [
    ("1.0.16.0/24", "Tokyo", (35.68, 139.69)),
    ("87.32.0.0/24", "Dublin", (53.35, -6.26)),
    ("201.6.0.0/24", "São Paulo", (-23.55, -46.63)),
    ("80.81.192.0/24", "Frankfurt", (50.11, 8.68)),
    ("52.0.0.0/24", "Ashburn, Virginia", (39.04, -77.49)),
    ("2400:4050::/48", "Tokyo (IPv6)", (35.68, 139.69)),
]

private func km(_ a: (Double, Double), _ b: (Double, Double)) -> Double {
    let r = 6371.0088, p = Double.pi / 180
    let h = pow(sin((b.0 - a.0) * p / 2), 2) + cos(a.0 * p) * cos(b.0 * p) * pow(sin((b.1 - a.1) * p / 2), 2)
    return 2 * r * asin(sqrt(h))
}

private var datacentersJSON: String {
    "{" + datacenters.map { "\"\($0.key)\": [\($0.value.0), \($0.value.1)]" }.joined(separator: ", ") + "}"
}

/// What the database says of `address`.
private struct DBEntry: Decodable {
    var address: String
    var prefix: Int
    var city: String?
    var country: String?
    var continent: String?
    var location: [Double]?
}

private func lookup(_ db: String, _ addresses: [String]) throws -> [DBEntry] {
    let py = try RoutingFixtures.pythonWithMaxMind()
    let script = RoutingFixtures.dir.appendingPathComponent("geo_expect.py").path
    let r = try E2E.run(py, [script, db, "lookup", datacentersJSON] + addresses, timeout: 60)
    guard r.status == 0 else { throw E2EError.setup("geo_expect.py lookup: \(r.stderr)") }
    return try r.stdout.split(separator: "\n").map { try JSONDecoder().decode(DBEntry.self, from: Data($0.utf8)) }
}

/// The nearest data center to `location`, by haversine, computed here.
private func nearest(_ location: (Double, Double)) -> String {
    datacenters.min { km(location, $0.value) < km(location, $1.value) }!.key
}

@Suite("Routing end to end: geo on GeoLite2 with ECS", .serialized)
struct RoutingGeoTests {
    /// One meridian for every part: loading GeoLite2 takes a debug build several seconds of CPU.
    @Test("geo-nearest, geo-map, resolver location, private ECS with its block as scope, scope 0, kdig", .timeLimit(.minutes(3)))
    func geo() throws {
        let db = try RoutingFixtures.geolite2()
        let server = try RoutedMeridian()
        defer { server.remove() }
        try server.start(routing: try RoutingFixtures.config("geo.yaml", ["DB": db]))
        try nearestWithScope(server, db)
        try resolverAddress(server)
        try privateSubnet(server)
        try scopeZero(server)
        try geoMap(server, db)
        #expect(server.process?.isRunning == true, "meridian exited:\n\(server.logText)")
    }

    /// ECS subnets in Tokyo, Dublin, São Paulo, Frankfurt and Virginia get the nearest data center
    /// and a sound, wide scope.
    func nearestWithScope(_ server: RoutedMeridian, _ db: String) throws {
        let entries = try lookup(db, places.map { String($0.ecs.split(separator: "/")[0]) })
        var seen: Set<String> = []
        for (place, entry) in zip(places, entries) {
            guard let loc = entry.location else {
                Issue.record("\(place.ecs) (\(place.place)) has no location in GeoLite2: \(entry)")
                continue
            }
            let location = (loc[0], loc[1])
            #expect(km(location, place.near) < 100, "\(place.ecs) is not in \(place.place) per GeoLite2: \(entry)")
            let expected = nearest(location)
            seen.insert(expected)
            let v6 = place.ecs.contains(":")
            let sent = place.ecs.split(separator: "/")
            for tcp in [false, true] {
                let r = try server.query("geo.example.com.", v6 ? "AAAA" : "A", ecs: place.ecs, tcp: tcp)
                let want = v6 ? answerAddress6[expected]! : answerAddress[expected]!
                #expect(r.status == "NOERROR" && r.records.map(\.data) == [want] && r.ttls == [60],
                        "\(place.place) \(place.ecs) tcp=\(tcp): nearest is \(expected) (\(want)):\n\(r)")
                guard let ecs = r.ecs else {
                    Issue.record("\(place.place): no ECS option in the response:\n\(r)")
                    continue
                }
                // RFC 7871 §7.2.1: family, source prefix and address echoed as sent
                #expect(ecs.address == String(sent[0]) && ecs.source == Int(sent[1])!, "\(place.ecs): ECS not echoed:\n\(r)")
                #expect(ecs.scope >= 1 && ecs.scope <= entry.prefix,
                        "\(place.ecs): scope \(ecs.scope) must be 1…\(entry.prefix) (the database network is /\(entry.prefix)):\n\(r)")
                if !tcp {
                    try expectSound(db: db, address: String(sent[0]), scope: ecs.scope, want: expected)
                }
            }
        }
        #expect(seen == Set(datacenters.keys), "the sample should reach every data center, reached \(seen)")
    }

    private func expectSound(db: String, address: String, scope: Int, want: String) throws {
        let py = try RoutingFixtures.pythonWithMaxMind()
        let script = RoutingFixtures.dir.appendingPathComponent("geo_expect.py").path
        // Clients without a location get the unlocated order, by default the listed order: iad first.
        let r = try E2E.run(py, [script, db, "sound", datacentersJSON, "iad", "\(address)/\(scope)"], timeout: 120)
        #expect(r.status == 0, "geo_expect.py sound: \(r.stderr)")
        #expect(r.stdout.contains("\"sound\": true") && r.stdout.contains("\"answer\": \"\(want)\""),
                "scope /\(scope) for \(address) covers clients with another nearest data center: \(r.stdout)")
    }

    /// The resolver's address locates the client without ECS; no ECS in, none out.
    func resolverAddress(_ server: RoutedMeridian) throws {
        // 127.0.0.2 is placed in Tokyo and 127.0.0.3 in São Paulo by the config's explicit networks.
        let tokyo = try server.query("geo.example.com.", source: "127.0.0.2")
        #expect(tokyo.records.map(\.data) == [answerAddress[nearest((35.68, 139.69))]!], "resolver in Tokyo:\n\(tokyo)")
        #expect(tokyo.ecs == nil, "a query without ECS must get no ECS option:\n\(tokyo)")
        let saoPaulo = try server.query("geo.example.com.", tcp: true, source: "127.0.0.3")
        #expect(saoPaulo.records.map(\.data) == [answerAddress[nearest((-23.55, -46.63))]!], "resolver in São Paulo:\n\(saoPaulo)")
        #expect(saoPaulo.ecs == nil, "\(saoPaulo)")
        // 127.0.0.1 is nowhere: the unlocated order (the listed order) answers iad
        let nowhere = try server.query("geo.example.com.")
        #expect(nowhere.records.map(\.data) == [answerAddress["iad"]!], "unlocated resolver:\n\(nowhere)")
        #expect(nowhere.ecs == nil, "\(nowhere)")
    }

    /// Private and documentation ECS addresses fall back to the resolver's address, with the
    /// special-purpose block as scope (never 0: the answer is the resolver's, not everybody's).
    func privateSubnet(_ server: RoutedMeridian) throws {
        for (ecs, block) in [("10.1.2.0/24", 8), ("192.168.7.0/24", 16), ("198.51.100.0/24", 24), ("fd00:1::/48", 7)] {
            // from the resolver "in São Paulo": gru, whatever the private subnet
            let r = try server.query("geo.example.com.", ecs: ecs, source: "127.0.0.3")
            #expect(r.records.map(\.data) == [answerAddress["gru"]!], "\(ecs) from 127.0.0.3 must be located by the resolver:\n\(r)")
            let sent = ecs.split(separator: "/")
            #expect(r.ecs?.address == String(sent[0]) && r.ecs?.source == Int(sent[1]) && r.ecs?.scope == block,
                    "\(ecs): echoed with scope \(block) expected:\n\(r)")
        }
    }

    /// Round-robin and weighted answers do not depend on the client: scope 0; kdig +subnet too.
    func scopeZero(_ server: RoutedMeridian) throws {
        for name in ["rr.example.com.", "w.example.com."] {
            for ecs in ["1.0.16.0/24", "87.32.0.0/24", "2400:4050::/48"] {
                let r = try server.query(name, ecs: ecs)
                #expect(!r.records.isEmpty && r.addresses.isSubset(of: ["192.0.2.1", "192.0.2.2"]), "\(name) \(ecs):\n\(r)")
                #expect(r.ecs?.scope == 0 && r.ecs?.address == String(ecs.split(separator: "/")[0]), "\(name) \(ecs): scope 0 expected:\n\(r)")
            }
        }
        // a static name: scope 0 as well
        let s = try server.query("static.example.com.", ecs: "1.0.16.0/24")
        #expect(s.records.map(\.data) == ["192.0.2.99"] && s.ecs?.scope == 0, "static name with ECS:\n\(s)")

        // kdig: its own ECS encoder, over UDP and TCP
        let kdig = try E2E.tool("kdig")
        for tcp in [false, true] {
            var args = ["@127.0.0.1", "-p", "\(server.port)", "+time=2", "+retry=0", "+subnet=201.6.0.0/24"]
            if tcp { args.append("+tcp") }
            let out = try E2E.run(kdig, args + ["geo.example.com.", "A"], timeout: 10).stdout
            #expect(out.contains("status: NOERROR") && out.contains("\t\(answerAddress["gru"]!)"), "kdig São Paulo tcp=\(tcp):\n\(out)")
            let ecsLine = out.split(separator: "\n").first { $0.contains("CLIENT-SUBNET:") }.map(String.init) ?? ""
            let value = ecsLine.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            let parts = value.split(separator: "/")
            #expect(parts.count == 3 && parts[0] == "201.6.0.0" && parts[1] == "24" && (Int(parts[2]) ?? 0) >= 1,
                    "kdig: ECS 201.6.0.0/24/scope≥1 expected:\n\(out)")
        }
    }

    /// geo-map: country before continent, then the default, from the database's country and continent.
    func geoMap(_ server: RoutedMeridian, _ db: String) throws {
        let entries = try lookup(db, places.map { String($0.ecs.split(separator: "/")[0]) })
        var rows: Set<String> = []
        for (place, entry) in zip(places, entries) {
            // The map of geo.yaml: JP → nrt, IE → dub, continent EU → fra, default → iad.
            let expected = switch (entry.country ?? "", entry.continent ?? "") {
            case ("JP", _): "nrt"
            case ("IE", _): "dub"
            case (_, "EU"): "fra"
            default: "iad"
            }
            rows.insert(expected)
            let v6 = place.ecs.contains(":")
            let r = try server.query("map.example.com.", v6 ? "AAAA" : "A", ecs: place.ecs)
            let want = (v6 ? answerAddress6 : answerAddress)[expected]!
            #expect(r.records.map(\.data) == [want], "\(place.ecs) (\(entry.country ?? "?"), \(entry.continent ?? "?")) → \(expected):\n\(r)")
            #expect((r.ecs?.scope ?? 0) >= 1 && (r.ecs?.scope ?? 99) <= entry.prefix,
                    "\(place.ecs): geo-map scope within 1…/\(entry.prefix):\n\(r)")
        }
        #expect(rows == ["nrt", "dub", "fra", "iad"], "the sample should reach every map row, reached \(rows)")
    }
}
