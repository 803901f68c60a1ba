import Foundation
import Testing

/// `meridian explain`: the decision trace from the configuration, the zones and the saved health,
/// as text and as JSON, checked against what the configuration and the state file say.
@Suite("meridian explain", .serialized)
struct ExplainTests {
    /// Three data centers, London and Tokyo placed by explicit networks, Dublin saved as down.
    func fixture() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-explain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: RoutingFixtures.zone, to: dir.appendingPathComponent("example.com.zone"))
        try """
            listen: ["127.0.0.1:1"]
            zones:
              - origin: example.com.
                file: example.com.zone
            geoip:
              networks:
                81.2.69.0/24: { location: [51.51, -0.13], country: GB, continent: EU }
                1.0.16.0/20: { location: [35.69, 139.69], country: JP, continent: AS }
            datacenters:
              iad: { location: [38.95, -77.45], addresses: [{ ip: 192.0.2.10, check: "127.0.0.1:9" }] }
              dub: { location: [53.35, -6.26], addresses: [{ ip: 198.51.100.10, check: "127.0.0.1:9" }] }
              nrt: { location: [35.77, 140.39], addresses: [{ ip: 203.0.113.10, check: "127.0.0.1:9" }] }
            checks:
              web: { type: tcp, interval: 10s, timeout: 1s }
            health:
              state-file: state.json
            services:
              geo.example.com.:
                policy: geo-nearest
                datacenters: [iad, dub, nrt]
                check: web
                ttl: 30
                degraded-ttl: 5
            """.write(to: dir.appendingPathComponent("m.yaml"), atomically: true, encoding: .utf8)
        // The state a server saved: Dublin's address down since a known time, for a known reason.
        try """
            {"version": 1, "addresses": [
              {"datacenter": "dub", "ip": "198.51.100.10", "target": "127.0.0.1:9", "check": "web", "state": "down",
               "since": 1795960000, "reason": "connection refused", "drained": false}]}
            """.write(to: dir.appendingPathComponent("state.json"), atomically: true, encoding: .utf8)
        return dir
    }

    func explain(_ dir: URL, _ args: [String]) throws -> E2E.Output {
        try E2E.run(try E2E.meridianBinary(), ["explain", "--config", dir.appendingPathComponent("m.yaml").path] + args, timeout: 60)
    }

    @Test("text: located network, candidates with distance and saved health, the choice, answer, TTL, scope")
    func text() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try explain(dir, ["geo.example.com", "--ecs", "81.2.69.0/24"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        #expect(out.contains("located by the ECS subnet 81.2.69.0: 81.2.69.0/24 (geoip.networks"), "\(out)")
        #expect(out.contains("(GB, EU)"), "\(out)")
        // London: Dublin is nearest (about 460 km) but saved down, so the next nearest answers.
        #expect(out.contains("dub: down, choice 1"), "\(out)")
        #expect(out.contains("198.51.100.10 down since 2026-11-29T") && out.contains("connection refused"), "\(out)")
        #expect(out.contains("iad: up, choice 2"), "\(out)")
        #expect(out.contains("geo.example.com. 5 IN A 192.0.2.10"), "degraded TTL while a candidate is down:\n\(out)")
        #expect(out.contains("TTL 5, ECS scope /24"), "\(out)")
    }

    @Test("JSON for tools, and a client located by the resolver's address")
    func json() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try explain(dir, ["geo.example.com", "--ecs", "1.0.17.0/24", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["service"] as? String == "geo.example.com.")
        #expect(object["answer"] as? [String] == ["geo.example.com. 5 IN A 203.0.113.10"])
        #expect(object["scope"] as? Int == 20)
        let located = try #require(object["located"] as? [String: Any])
        #expect(located["country"] as? String == "JP" && located["source"] as? String == "ECS subnet")
        let candidates = try #require(object["candidates"] as? [[String: Any]])
        #expect(candidates.first?["datacenter"] as? String == "nrt" && candidates.first?["up"] as? Bool == true)
        let resolver = try explain(dir, ["geo.example.com", "--client", "81.2.69.7"])
        #expect(resolver.stdout.contains("located by the resolver address 81.2.69.7"), "\(resolver.stdout)")
        #expect(resolver.stdout.contains("ECS scope - (no ECS in the query)"), "\(resolver.stdout)")
        let static_ = try explain(dir, ["ns1.example.com", "--ecs", "81.2.69.0/24"])
        #expect(static_.stdout.contains("not a service name") && static_.stdout.contains("ECS scope /0"), "\(static_.stdout)")
    }

    /// iad with one of its two addresses saved down, dub down, nrt drained; a DNAME in the zone.
    func statesFixture() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-explain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let zone = try String(contentsOf: RoutingFixtures.zone, encoding: .utf8) + "old     IN DNAME example.net.\n"
        try zone.write(to: dir.appendingPathComponent("example.com.zone"), atomically: true, encoding: .utf8)
        try """
            listen: ["127.0.0.1:1"]
            zones:
              - origin: example.com.
                file: example.com.zone
            datacenters:
              iad: { addresses: [{ ip: 192.0.2.10, check: "127.0.0.1:9" }, { ip: 192.0.2.11, check: "127.0.0.1:9" }] }
              dub: { addresses: [{ ip: 198.51.100.10, check: "127.0.0.1:9" }] }
              nrt: { addresses: [{ ip: 203.0.113.10, check: "127.0.0.1:9" }] }
            checks:
              web: { type: tcp, interval: 10s, timeout: 1s }
            health:
              state-file: state.json
            services:
              rr.example.com.: { policy: round-robin, datacenters: [iad, dub, nrt], check: web, ttl: 30 }
              fo.example.com.: { policy: failover, failover: [dub, nrt], check: web, ttl: 30 }
            """.write(to: dir.appendingPathComponent("m.yaml"), atomically: true, encoding: .utf8)
        func entry(_ dc: String, _ ip: String, _ state: String, drained: Bool = false) -> String {
            #"{"datacenter": "\#(dc)", "ip": "\#(ip)", "target": "127.0.0.1:9", "check": "web", "state": "\#(state)", "#
                + #""since": 1795960000, "reason": "saved", "drained": \#(drained)}"#
        }
        let entries = [entry("iad", "192.0.2.11", "down"), entry("dub", "198.51.100.10", "down"),
                       entry("nrt", "203.0.113.10", "up", drained: true)]
        try #"{"version": 1, "addresses": [\#(entries.joined(separator: ", "))]}"#
            .write(to: dir.appendingPathComponent("state.json"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test("data center states from their addresses: up, partly up, down, drained")
    func datacenterStates() throws {
        let dir = try statesFixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try explain(dir, ["rr.example.com"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("iad: partly up (1 of 2 addresses up), round-robin member"), "\(r.stdout)")
        #expect(r.stdout.contains("dub: down, round-robin member"), "\(r.stdout)")
        #expect(r.stdout.contains("nrt: drained, round-robin member"), "a drained data center is not called down:\n\(r.stdout)")
        #expect(r.stdout.contains("203.0.113.10 drain"), "\(r.stdout)")
        #expect(r.stdout.contains("answer (NOERROR):\n  rr.example.com. 5 IN A 192.0.2.10\nTTL"), "\(r.stdout)")
        let json = try explain(dir, ["rr.example.com", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let candidates = try #require(object["candidates"] as? [[String: Any]])
        #expect(candidates.map { $0["state"] as? String } == ["partly up (1 of 2 addresses up)", "down", "drained"], "\(candidates)")
        #expect(candidates.map { $0["up"] as? Bool } == [true, false, false], "\(candidates)")
    }

    @Test("fail open of a failover: what was answered (its first step), each data center once and as its health says")
    func failOpenFailover() throws {
        let dir = try statesFixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try explain(dir, ["fo.example.com"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        #expect(out.contains("answer (NOERROR):\n  fo.example.com. 5 IN A 198.51.100.10\nTTL"), "only step 1 (dub) answers:\n\(out)")
        #expect(out.contains("every candidate is down: answered as if every address were up (fail open), with dub\n"), "\(out)")
        #expect(!out.contains("all of them"), "\(out)")
        #expect(out.components(separatedBy: "  dub: ").count == 2 && out.components(separatedBy: "  nrt: ").count == 2,
                "each candidate once:\n\(out)")
        #expect(out.contains("dub: down, round-robin member") && out.contains("nrt: drained, round-robin member"), "\(out)")
        #expect(!out.contains("dub: up"), "dub's only address is down:\n\(out)")
        #expect(out.contains("failover chose: step 1 of 2"), "\(out)")
        let json = try explain(dir, ["fo.example.com", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["failedOpen"] as? Bool == true && object["failedOpenWith"] as? [String] == ["dub"], "\(json.stdout)")
    }

    @Test("a DNAME as presentation text; a name outside every zone is REFUSED, not answered from the zone data")
    func dnameAndOutside() throws {
        let dir = try statesFixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dname = try explain(dir, ["www.old.example.com"])
        #expect(dname.status == 0, "\(dname.stderr)")
        #expect(dname.stdout.contains("  old.example.com. 3600 IN DNAME example.net.\n"), "\(dname.stdout)")
        #expect(dname.stdout.contains("  www.old.example.com. 3600 IN CNAME www.example.net.\n"), "\(dname.stdout)")
        #expect(!dname.stdout.contains("\\#"), "no RFC 3597 hex:\n\(dname.stdout)")
        #expect(dname.stdout.contains("not a service name: answered from the zone data"), "\(dname.stdout)")
        let outside = try explain(dir, ["www.example.org"])
        #expect(outside.status == 0, "\(outside.stderr)")
        #expect(outside.stdout.contains("outside every zone served, so REFUSED"), "\(outside.stdout)")
        #expect(!outside.stdout.contains("answered from the zone data"), "\(outside.stdout)")
        #expect(outside.stdout.contains("answer (REFUSED):"), "\(outside.stdout)")
        let json = try explain(dir, ["www.example.org", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["zone"] == nil && object["rcode"] as? String == "REFUSED", "\(json.stdout)")
        let inside = try explain(dir, ["static.example.com", "--json"])
        let insideObject = try #require(try JSONSerialization.jsonObject(with: Data(inside.stdout.utf8)) as? [String: Any])
        #expect(insideObject["zone"] as? String == "example.com.", "\(inside.stdout)")
    }
}
