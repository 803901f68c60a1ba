import Foundation
import Testing

/// scripts/smoke run against a real meridian with routing, a file health check and an admin
/// listener, all on loopback: it passes while the answers hold only addresses that are up, and
/// fails (exit 1, FAIL lines) on a zone the server does not serve and on a service that answers
/// with addresses that are down (every candidate down: fail open).
@Suite("scripts/smoke end to end", .serialized)
struct SmokeTests {
    @Test("ok against a healthy deployment over IPv4 and IPv6; FAIL on an unserved zone and on down addresses in answers")
    func smoke() throws {
        let curl = try E2E.tool("curl")
        _ = try E2E.tool("dig")
        _ = try E2E.python(["yaml"])

        let server = try RoutedMeridian()
        defer { server.remove() }
        let adminPort = try E2E.freePort()
        let admin = "http://127.0.0.1:\(adminPort)"
        let operatorState = server.dir.appendingPathComponent("operator-state")
        try writeAtomically("iad down\n", to: operatorState)
        try server.start(routing: """
            admin: { listen: "127.0.0.1:\(adminPort)" }
            datacenters:
              iad: { addresses: [192.0.2.10, "2001:db8:1::10"] }
              dub: { addresses: [198.51.100.10, "2001:db8:2::10"] }
            checks:
              operator: { type: file, path: "\(operatorState.path)", interval: 100ms, timeout: 50ms, jitter: 0 }
            services:
              rr.example.com.: { policy: round-robin, datacenters: [iad, dub], check: operator, ttl: 40 }

            """)

        /// The state of every data center in GET /status (empty while the admin API is not up).
        func states() -> [String: String] {
            guard let r = try? E2E.run(curl, ["-s", "-m", "10", admin + "/status"], timeout: 20),
                  let json = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
                  let sites = json["datacenters"] as? [[String: Any]]
            else { return [:] }
            return Dictionary(uniqueKeysWithValues: sites.compactMap { s in
                (s["name"] as? String).map { ($0, s["state"] as? String ?? "") }
            })
        }
        func smoke(_ args: [String]) throws -> (status: Int32, lines: [String]) {
            let script = E2E.repo.appendingPathComponent("scripts/smoke").path
            let r = try E2E.run("/bin/bash", [script, "--port", "\(server.port)", "--admin", admin] + args, timeout: 300)
            return (r.status, r.stdout.split(separator: "\n").map(String.init))
        }

        // iad is down: the status says so and the answers have left it out.
        var ready = try waitFor(60) {
            try states() == ["iad": "down", "dub": "up"] && server.query("rr.example.com.").addresses == ["198.51.100.10"]
        }
        #expect(ready != nil, "iad down in /status and the answers: \(states()) \(server.show("rr.example.com."))")

        let passing = try smoke(["--config", server.configURL.path, "127.0.0.1"])
        let expected = [
            "ok   status \(admin)/status: 1 zones, 1 services, 4 data-center addresses",
            "ok   SOA example.com. udp", "ok   SOA example.com. tcp", "ok   NS example.com. udp", "ok   NS example.com. tcp",
            "ok   A rr.example.com. udp: 198.51.100.10 (dub)", "ok   AAAA rr.example.com. udp: 2001:db8:2::10 (dub)",
            "ok   addresses rr.example.com.: 2 A and AAAA records",
            "ok   ECS rr.example.com. A 81.2.69.0/24: scope /0",
            "ok   REFUSED smoke-test.invalid. udp",
            "smoke: 10 checks against 127.0.0.1 port \(server.port), 10 ok, 0 failed",
        ]
        #expect(passing.status == 0 && passing.lines == expected, "\(passing.lines.joined(separator: "\n"))")

        // Zones from GET /status (no --config), over IPv6.
        let six = try smoke(["::1"])
        #expect(six.status == 0 && six.lines.last == "smoke: 10 checks against ::1 port \(server.port), 10 ok, 0 failed",
                "\(six.lines.joined(separator: "\n"))")

        // A configuration naming a zone this server does not serve: REFUSED, so its checks fail.
        let next = server.dir.appendingPathComponent("next.yaml")
        try """
            zones:
              - { origin: example.com., file: example.com.zone }
              - { origin: example.org., file: example.org.zone }

            """.write(to: next, atomically: true, encoding: .utf8)
        let unserved = try smoke(["--config", next.path, "127.0.0.1"])
        #expect(unserved.status == 1)
        for type in ["SOA", "NS"] {
            for transport in ["udp", "tcp"] {
                #expect(unserved.lines.contains("FAIL \(type) example.org. \(transport): REFUSED"), "\(unserved.lines)")
                #expect(unserved.lines.contains("ok   \(type) example.com. \(transport)"), "\(unserved.lines)")
            }
        }
        #expect(unserved.lines.last == "smoke: 14 checks against 127.0.0.1 port \(server.port), 10 ok, 4 failed")

        // Every candidate down: the service fails open and answers with addresses that are down.
        try writeAtomically("iad down\ndub down\n", to: operatorState)
        ready = try waitFor(60) {
            try states() == ["iad": "down", "dub": "down"]
                && server.query("rr.example.com.").addresses == ["192.0.2.10", "198.51.100.10"]
        }
        #expect(ready != nil, "every data center down in /status, the answer fails open: \(states()) \(server.show("rr.example.com."))")
        let down = try smoke(["127.0.0.1"])
        #expect(down.status == 1)
        let failA = down.lines.first { $0.hasPrefix("FAIL A rr.example.com. udp: ") } ?? ""
        #expect(failA.contains("192.0.2.10 (iad) is down") && failA.contains("198.51.100.10 (dub) is down"), "\(down.lines)")
        let failAAAA = down.lines.first { $0.hasPrefix("FAIL AAAA rr.example.com. udp: ") } ?? ""
        #expect(failAAAA.contains("2001:db8:1::10 (iad) is down") && failAAAA.contains("2001:db8:2::10 (dub) is down"), "\(down.lines)")
        #expect(down.lines.contains("ok   SOA example.com. udp"), "\(down.lines)")
        #expect(down.lines.last == "smoke: 10 checks against 127.0.0.1 port \(server.port), 8 ok, 2 failed")
    }
}
