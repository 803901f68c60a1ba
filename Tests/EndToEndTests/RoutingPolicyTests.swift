import Foundation
import Testing

/// Policies end to end (Tests/Fixtures/routing/policies.yaml): weighted shares over thousands of
/// answers, weight 0 as standby, round-robin rotation, max-answers, AAAA, failover, over UDP and
/// TCP, IPv4 and IPv6. (geo-map by country and continent is in RoutingGeoTests, on GeoLite2.)

private let a4: Set<String> = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
private let a6: Set<String> = ["2001:db8::a1", "2001:db8::a2"]
private let b = "198.51.100.1", c = "203.0.113.1", standby = "203.0.113.200"

private func start() throws -> RoutedMeridian {
    let server = try RoutedMeridian()
    try writeAtomically("# all up\n", to: server.dir.appendingPathComponent("operator-state"))
    try server.start(routing: try RoutingFixtures.config("policies.yaml", ["DIR": server.dir.path]))
    return server
}

/// Writes the operator file and waits until `name` answers `addresses` 20 times in a row: one
/// matching answer proves nothing for a weighted service, which answers the lighter data center
/// alone a quarter of the time while the heavier one is still up.
private func setOperator(_ server: RoutedMeridian, _ text: String, until name: String, is addresses: Set<String>) throws {
    try writeAtomically(text, to: server.dir.appendingPathComponent("operator-state"))
    let t = try waitFor(3) { try (0..<20).allSatisfy { _ in try server.query(name).addresses == addresses } }
    #expect(t != nil, "after \"\(text)\": \(name) should answer \(addresses):\n\(server.show(name))")
}

@Suite("Routing end to end: policies", .serialized)
struct RoutingPolicyTests {
    @Test("weighted: shares within 3 points over 4000 answers; weight 0 only when the others are down",
          .timeLimit(.minutes(2)))
    func weighted() throws {
        let server = try start()
        defer { server.remove() }
        let n = 4000
        let answers = try server.batch("wt.example.com.", count: n)
        #expect(server.diagnostics == 0, "dig diagnostics instead of answers: \(server.diagnosticLines)")
        #expect(answers.count + server.diagnostics == n, "\(answers.count) answers to \(n) queries")
        let share = { (ip: String) in Double(answers.count { $0 == ip }) / Double(max(answers.count, 1)) * 100 }
        #expect(abs(share(b) - 75) <= 3, "b (weight 3 of 4) got \(share(b)) %")
        #expect(abs(share(c) - 25) <= 3, "c (weight 1 of 4) got \(share(c)) %")
        #expect(share(standby) == 0, "the standby (weight 0) answered while others were up: \(share(standby)) %")
        #expect(Set(answers).isSubset(of: [b, c]), "unexpected answers \(Set(answers))")
        // b down: all c; b and c down: the standby
        try setOperator(server, "b down\n", until: "wt.example.com.", is: [c])
        let onlyC = try server.batch("wt.example.com.", count: 200)
        #expect(onlyC.count == 200 && Set(onlyC) == [c], "b down: only c expected, got \(Set(onlyC)), dig said \(server.diagnosticLines)")
        try setOperator(server, "b down\nc down\n", until: "wt.example.com.", is: [standby])
        let onlyS = try server.batch("wt.example.com.", count: 200)
        #expect(onlyS.count == 200 && Set(onlyS) == [standby], "b and c down: the standby expected, got \(onlyS.count) × \(Set(onlyS)), dig said \(server.diagnosticLines)")
        let r = try server.query("wt.example.com.", tcp: true)
        #expect(r.records.map(\.data) == [standby] && r.ttls == [5], "standby over TCP with the degraded TTL (default min(ttl, 5)):\n\(r)")
    }

    @Test("round-robin: all addresses, rotating; max-answers; AAAA; UDP and TCP")
    func roundRobin() throws {
        let server = try start()
        defer { server.remove() }
        var firsts: Set<String> = []
        for i in 0..<8 {
            let r = try server.query("all.example.com.", tcp: i % 2 == 1)
            #expect(r.addresses == a4 && r.records.count == 4 && r.ttls == [30], "all four, TTL 30:\n\(r)")
            if let f = r.records.first { firsts.insert(f.data) }
        }
        #expect(firsts.count >= 2, "round-robin order never rotated over 8 responses: first was always \(firsts)")
        var seen: Set<String> = []
        for i in 0..<8 {
            let r = try server.query("max.example.com.", tcp: i % 2 == 0)
            #expect(r.records.count == 2 && r.addresses.isSubset(of: a4), "max-answers 2:\n\(r)")
            seen.formUnion(r.addresses)
        }
        #expect(seen == a4, "max-answers with rotation should reach all four addresses over 8 answers, saw \(seen)")
        for tcp in [false, true] {
            let r = try server.query("all.example.com.", "AAAA", tcp: tcp, server: "::1")
            #expect(r.addresses == a6 && r.records.count == 2, "AAAA over \(tcp ? "TCP" : "UDP") ::1:\n\(r)")
        }
        // b down: c (IPv4 only) is the failover choice for A; for AAAA no candidate is up (c and s
        // have no IPv6 address), so the service fails open to b's, with the degraded TTL
        try setOperator(server, "b down\n", until: "fo.example.com.", is: [c])
        let r = try server.query("fo.example.com.", "AAAA")
        #expect(r.records.map(\.data) == ["2001:db8::b1"] && r.ttls == [5], "AAAA with no IPv6 candidate up: fail-open to b:\n\(r)")
        // other types at a service name: NODATA
        let mx = try server.query("all.example.com.", "MX")
        #expect(mx.status == "NOERROR" && mx.answer.isEmpty, "MX at a service name:\n\(mx)")
    }

    @Test("failover: the first healthy entry of the list")
    func failover() throws {
        let server = try start()
        defer { server.remove() }
        var r = try server.query("fo.example.com.")
        #expect(r.records.map(\.data) == [b] && r.ttls == [30], "failover, all up: b:\n\(r)")
        r = try server.query("fo.example.com.", "AAAA", tcp: true)
        #expect(r.records.map(\.data) == ["2001:db8::b1"], "failover AAAA: b's:\n\(r)")
        try setOperator(server, "b down\n", until: "fo.example.com.", is: [c])
        try setOperator(server, "198.51.100.1 down\nc down\n", until: "fo.example.com.", is: [standby])
        try setOperator(server, "c down\n", until: "fo.example.com.", is: [b])
        // every entry down: fail open (the default) answers every entry
        try setOperator(server, "b down\nc down\ns down\n", until: "fo.example.com.", is: [b])
        r = try server.query("fo.example.com.")
        #expect(r.records.map(\.data) == [b] && r.ttls == [5], "all down, fail-open: the first entry again, degraded TTL:\n\(r)")
    }
}
