import Foundation
import Testing

/// The admin HTTP API of a running meridian, over curl on loopback: status, drain and undrain with
/// a bearer token, reload with a broken zone file.
@Suite("Admin HTTP API end to end", .serialized)
struct AdminAPITests {
    @Test("status, drain (out of the answers, safe-after = now + TTL), undrain, reload with a broken file")
    func adminAPI() throws {
        let curl = try E2E.tool("curl")
        let server = try RoutedMeridian()
        defer { server.remove() }
        let adminPort = try E2E.freePort()
        try "s3cret\n".write(to: server.dir.appendingPathComponent("admin-token"), atomically: true, encoding: .utf8)
        try server.start(routing: """
            admin: { listen: "127.0.0.1:\(adminPort)", token-file: admin-token }
            datacenters:
              iad: { addresses: [192.0.2.10] }
              dub: { addresses: [198.51.100.10] }
            services:
              rr.example.com.: { policy: round-robin, datacenters: [iad, dub], ttl: 40 }

            """)
        let base = "http://127.0.0.1:\(adminPort)"
        func call(_ method: String, _ path: String, token: String? = "s3cret") throws -> (code: Int, body: [String: Any]) {
            var args = ["-s", "-m", "30", "-X", method, "-w", "\n%{http_code}", base + path]
            if let token { args += ["-H", "Authorization: Bearer \(token)"] }
            let r = try E2E.run(curl, args, timeout: 40)
            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let code = Int(lines.last ?? "") ?? 0
            let json = lines.dropLast().joined(separator: "\n")
            let body = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
            return (code, body)
        }
        func site(_ status: [String: Any], _ name: String) -> [String: Any]? {
            (status["datacenters"] as? [[String: Any]])?.first { $0["name"] as? String == name }
        }
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? call("GET", "/status", token: nil))?.code == 200
            if !ready { usleep(100_000) }
        }
        let status = try call("GET", "/status", token: nil)
        #expect(status.code == 200)
        #expect((status.body["zones"] as? [[String: Any]])?.first?["origin"] as? String == "example.com.")
        #expect((status.body["zones"] as? [[String: Any]])?.first?["serial"] as? Int == 2024060101)
        #expect(site(status.body, "iad")?["state"] as? String == "up")

        #expect(try call("POST", "/datacenters/iad/drain", token: nil).code == 401)
        #expect(try call("POST", "/datacenters/iad/drain", token: "wrong").code == 401)
        #expect(try call("POST", "/datacenters/nowhere/drain").code == 404)
        let before = Date().timeIntervalSince1970
        let drained = try call("POST", "/datacenters/iad/drain")
        #expect(drained.code == 200 && drained.body["drained"] as? Bool == true)
        #expect(drained.body["largest_ttl"] as? Int == 40)
        let safeAfter = drained.body["safe_after"] as? Double ?? 0
        #expect(safeAfter >= before + 40 && safeAfter <= Date().timeIntervalSince1970 + 40, "safe_after = drain time + the largest TTL")
        var out = try waitFor(5) { try server.query("rr.example.com.").records.map(\.data) == ["198.51.100.10"] }
        #expect(out != nil, "a drained data center leaves the answers: \(server.show("rr.example.com."))")
        #expect(site(try call("GET", "/status", token: nil).body, "iad")?["state"] as? String == "drain")

        #expect(try call("POST", "/datacenters/iad/undrain").code == 200)
        out = try waitFor(5) { Set(try server.query("rr.example.com.").records.map(\.data)) == ["192.0.2.10", "198.51.100.10"] }
        #expect(out != nil, "undrained: back in the answers: \(server.show("rr.example.com."))")

        // A broken zone file: 422 with file:line, and the old data keeps serving.
        let zone = server.dir.appendingPathComponent("example.com.zone")
        let handle = try FileHandle(forWritingTo: zone)
        handle.seekToEndOfFile()
        handle.write(Data("broken !!\n".utf8))
        try handle.close()
        #expect(try call("POST", "/reload", token: nil).code == 401)
        let reload = try call("POST", "/reload")
        #expect(reload.code == 422 && reload.body["ok"] as? Bool == false)
        let problems = reload.body["problems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("example.com.zone:") }, "\(problems)")
        #expect(try server.query("example.com.", "SOA").status == "NOERROR")
        #expect(Set(try server.query("rr.example.com.").records.map(\.data)) == ["192.0.2.10", "198.51.100.10"])
        let last = try call("GET", "/status", token: nil).body["last_reload"] as? [String: Any]
        #expect(last?["ok"] as? Bool == false)
    }
}
