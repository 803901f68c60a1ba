import Foundation
import Testing

/// Health end to end: real backends on 127.0.0.1 started by the test (HTTP and TCP servers from
/// Tests/Fixtures/routing/backend.py, an exec script driven by a file, an operator state file),
/// meridian with Tests/Fixtures/routing/health.yaml. Bounds come from the config: a data center
/// leaves the answers within interval × fall after its backend fails (and not before
/// interval × (fall − 1): hysteresis), comes back within interval × rise, answers carry the
/// degraded TTL (7) while anything is down or changing and the full TTL (60) otherwise.

private let interval = 0.2, fall = 3.0, rise = 2.0, execFall = 2.0
/// Scheduling slack on a loaded two-core machine: one check's duration, publishing, one dig.
private let margin = 0.5

private struct Rig {
    let server: RoutedMeridian
    let http: [Backend]
    let tcp: [Backend]

    var dir: URL { server.dir }

    func values(interval: String = "200ms", timeout: String = "150ms", rise: Int = 2) -> [String: String] {
        ["HTTP1": "\(http[0].port)", "HTTP2": "\(http[1].port)", "TCP1": "\(tcp[0].port)", "TCP2": "\(tcp[1].port)",
         "DIR": dir.path, "FIX": RoutingFixtures.dir.path, "INTERVAL": interval, "TIMEOUT": timeout, "RISE": "\(rise)"]
    }

    func setExec(_ dc: String, _ state: String) throws {
        try writeAtomically(state + "\n", to: dir.appendingPathComponent("exec-\(dc)"))
    }

    func setOperator(_ text: String) throws {
        try writeAtomically(text, to: dir.appendingPathComponent("operator-state"))
    }

    static func make() throws -> Rig {
        let server = try RoutedMeridian()
        var ports: Set<UInt16> = [server.port]
        func port() throws -> UInt16 {
            while true {
                let p = try E2E.freePort()
                if ports.insert(p).inserted { return p }
            }
        }
        let rig = Rig(server: server, http: [Backend("http", port: try port()), Backend("http", port: try port())],
                      tcp: [Backend("tcp", port: try port()), Backend("tcp", port: try port())])
        for b in rig.http + rig.tcp { try b.start() }
        try rig.setExec("e1", "up")
        try rig.setExec("e2", "up")
        try rig.setOperator("# every data center up\n")
        return rig
    }
}

/// Waits until `name` answers exactly `addresses`; returns the seconds since `from`.
private func until(_ server: RoutedMeridian, _ name: String, is addresses: Set<String>, within limit: Double,
                   from: Date = Date(), sawChanging: UnsafeMutablePointer<Bool>? = nil) throws -> Double? {
    try waitFor(limit, from: from) {
        let r = try server.query(name)
        if r.addresses != addresses, r.ttls == [7] { sawChanging?.pointee = true }
        return r.addresses == addresses && r.status == "NOERROR"
    }
}

@Suite("Routing end to end: health checks against real loopback backends", .serialized)
struct RoutingHealthTests {
    @Test("http, tcp, exec and file checks: down within interval × fall, back after rise, degraded TTL, all down",
          .timeLimit(.minutes(2)))
    func checks() throws {
        let rig = try Rig.make()
        defer { rig.server.remove() }
        try rig.server.start(routing: try RoutingFixtures.config("health.yaml", rig.values()))
        let s = rig.server
        // Everything up and steady: every address, full TTL.
        let steady: [(String, Set<String>)] = [
            ("http.example.com.", ["192.0.2.11", "192.0.2.12"]), ("tcp.example.com.", ["198.51.100.21", "198.51.100.22"]),
            ("exec.example.com.", ["203.0.113.31", "203.0.113.32"]), ("file.example.com.", ["203.0.113.41", "203.0.113.42"]),
        ]
        for (name, all) in steady {
            let t = try waitFor(3) { let r = try s.query(name); return r.addresses == all && r.ttls == [60] }
            #expect(t != nil, "\(name): all up with TTL 60 expected:\n\(s.show(name))")
        }

        // HTTP: kill h2's server.
        var changing = false
        var t0 = Date()
        rig.http[1].kill()
        var t = try until(s, "http.example.com.", is: ["192.0.2.11"], within: interval * fall + margin + 2, from: t0,
                          sawChanging: &changing)
        #expect(t != nil && t! <= interval * fall + margin, "http: h2 left after \(t ?? -1) s; bound \(interval * fall + margin) s\n\(s.logText.suffix(3000))")
        #expect(t == nil || t! >= interval * (fall - 1) - 0.02, "http: h2 left after \(t!) s, before fall = 3 failures could happen")
        #expect(changing, "while h2 was failing but not yet down, answers should carry the degraded TTL 7")
        var r = try s.query("http.example.com.")
        #expect(r.ttls == [7], "degraded TTL while h2 is down:\n\(r)")
        #expect(s.logText.contains("health state changed"), "state change not logged:\n\(s.logText.suffix(2000))")
        // bring it back
        try rig.http[1].start()
        t0 = Date()
        t = try until(s, "http.example.com.", is: ["192.0.2.11", "192.0.2.12"], within: interval * rise + margin + 2, from: t0)
        #expect(t != nil && t! <= interval * rise + margin, "http: h2 back after \(t ?? -1) s; bound \(interval * rise + margin) s")
        #expect(t == nil || t! >= interval * (rise - 1) - 0.1, "http: h2 back after \(t!) s, before rise = 2 passes could happen")
        let full = try waitFor(2) { try s.query("http.example.com.").ttls == [60] }
        #expect(full != nil, "TTL back to 60 once steady:\n\(s.show("http.example.com."))")
        // all down, fail-open: every address, degraded TTL
        let changes = s.logText.components(separatedBy: "health state changed").count
        t0 = Date()
        rig.http[0].kill()
        rig.http[1].kill()
        t = try waitFor(interval * fall + margin + 2, from: t0) {
            s.logText.components(separatedBy: "health state changed").count >= changes + 2
        }
        #expect(t != nil, "http: both going down should be logged:\n\(s.logText.suffix(2000))")
        r = try s.query("http.example.com.")
        #expect(r.addresses == ["192.0.2.11", "192.0.2.12"] && r.ttls == [7], "all down, fail-open: both, TTL 7:\n\(r)")

        // TCP: kill t1; then both → NODATA (when-all-down: nodata)
        t0 = Date()
        rig.tcp[0].kill()
        t = try until(s, "tcp.example.com.", is: ["198.51.100.22"], within: interval * fall + margin + 2, from: t0)
        #expect(t != nil && t! <= interval * fall + margin, "tcp: t1 left after \(t ?? -1) s")
        #expect(t == nil || t! >= interval * (fall - 1) - 0.02, "tcp: t1 left after \(t!) s, too early for fall = 3")
        rig.tcp[1].kill()
        t0 = Date()
        t = try waitFor(interval * fall + margin + 2, from: t0) {
            let r = try s.query("tcp.example.com.")
            return r.status == "NOERROR" && r.answer.isEmpty
        }
        #expect(t != nil && t! <= interval * fall + margin, "tcp: all down → NODATA within the bound, took \(t ?? -1) s")
        r = try s.query("tcp.example.com.")
        #expect(r.status == "NOERROR" && r.answer.isEmpty && r.dig.authority == [DigResponse.norm(RoutingFixtures.soa)],
                "NODATA with the SOA expected:\n\(r)")
        try rig.tcp[0].start()
        t0 = Date()
        t = try until(s, "tcp.example.com.", is: ["198.51.100.21"], within: interval * rise + margin + 2, from: t0)
        #expect(t != nil && t! <= interval * rise + margin, "tcp: t1 back after \(t ?? -1) s")

        // exec: the script fails for e2 (fall 2)
        t0 = Date()
        try rig.setExec("e2", "down")
        t = try until(s, "exec.example.com.", is: ["203.0.113.31"], within: interval * execFall + margin + 2, from: t0)
        #expect(t != nil && t! <= interval * execFall + margin, "exec: e2 left after \(t ?? -1) s")
        #expect(t == nil || t! >= interval * (execFall - 1) - 0.02, "exec: e2 left after \(t!) s, too early for fall = 2")
        r = try s.query("exec.example.com.")
        #expect(r.ttls == [7], "exec: degraded TTL:\n\(r)")
        t0 = Date()
        try rig.setExec("e2", "up")
        t = try until(s, "exec.example.com.", is: ["203.0.113.31", "203.0.113.32"], within: interval * rise + margin + 2, from: t0)
        #expect(t != nil && t! <= interval * rise + margin, "exec: e2 back after \(t ?? -1) s")

        // file: immediate verdicts, re-read within its 100 ms interval
        t0 = Date()
        try rig.setOperator("f2 down\n")
        t = try until(s, "file.example.com.", is: ["203.0.113.41"], within: 3, from: t0)
        #expect(t != nil && t! <= 0.1 + margin, "file: f2 left after \(t ?? -1) s")
        r = try s.query("file.example.com.")
        #expect(r.ttls == [7], "file: degraded TTL:\n\(r)")
        try rig.setOperator("f1 drain\nf2 down\n")
        t = try waitFor(0.1 + margin + 2) {
            let r = try s.query("file.example.com.")
            return r.status == "NOERROR" && r.answer.isEmpty
        }
        #expect(t != nil, "file: f1 drained and f2 down → NODATA:\n\(s.show("file.example.com."))")
        t0 = Date()
        try rig.setOperator("f1 up\n")
        t = try until(s, "file.example.com.", is: ["203.0.113.41", "203.0.113.42"], within: 3, from: t0)
        #expect(t != nil && t! <= 0.1 + margin, "file: both back after \(t ?? -1) s")
        #expect(s.process?.isRunning == true, "meridian exited:\n\(s.logText)")
    }

    @Test("a restart starts from the saved health state, before any check runs", .timeLimit(.minutes(2)))
    func restartKeepsState() throws {
        let rig = try Rig.make()
        defer { rig.server.remove() }
        let s = rig.server
        try s.start(routing: try RoutingFixtures.config("health.yaml", rig.values()))
        let mark = s.logMark
        rig.http[1].kill()
        try rig.setExec("e1", "down")
        // The event: the monitor logs each change as it publishes it (and saves the state file,
        // which SIGTERM saves again). Its bound: fall (3) failed checks, one interval apart.
        let limit = interval * fall + margin + 2
        let changed = s.waitForLog(after: mark, within: limit, [
            ["health state changed", "datacenter=h2", "to=down"], ["health state changed", "datacenter=e1", "to=down"],
        ])
        try #require(changed != nil, "h2 and e1 should go down within \(limit) s:\n\(s.logText.suffix(3000))")
        var t = try until(s, "http.example.com.", is: ["192.0.2.11"], within: 1)
        #expect(t != nil, "h2 is down: out of the answers")
        t = try until(s, "exec.example.com.", is: ["203.0.113.32"], within: 1)
        #expect(t != nil, "e1 is down: out of the answers")
        s.stop()
        let stateFile = s.dir.appendingPathComponent("health-state.json")
        #expect(FileManager.default.fileExists(atPath: stateFile.path), "no health state file was written")

        // Both backends are healthy again, but the checks now run every 5 s and need 3 passes to
        // rise: for the first 10 s only the saved state can say anything.
        try rig.http[1].start()
        try rig.setExec("e1", "up")
        let slow = rig.values(interval: "5s", timeout: "1s", rise: 3)
        let started = Date()
        try s.start(routing: try RoutingFixtures.config("health.yaml", slow))
        for i in 0..<3 {
            var r = try s.query("http.example.com.")
            #expect(r.addresses == ["192.0.2.11"] && r.ttls == [7], "#\(i), \(Date().timeIntervalSince(started)) s after restart: h2 was down, must still be out:\n\(r)")
            r = try s.query("exec.example.com.", tcp: true)
            #expect(r.addresses == ["203.0.113.32"] && r.ttls == [7], "#\(i) after restart: e1 was down, must still be out:\n\(r)")
            usleep(300_000)
        }
        var r = try s.query("tcp.example.com.")
        #expect(r.addresses == ["198.51.100.21", "198.51.100.22"], "saved up states stay up:\n\(r)")

        // Control: without the state file every address starts up and is checked at once.
        s.stop()
        try FileManager.default.removeItem(at: stateFile)
        try s.start(routing: try RoutingFixtures.config("health.yaml", slow))
        r = try s.query("http.example.com.")
        #expect(r.addresses == ["192.0.2.11", "192.0.2.12"], "without saved state, h2 (healthy) is answered at once:\n\(r)")
    }
}
