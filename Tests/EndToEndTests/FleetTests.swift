import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fleet of three Meridians sharing health through a real etcd (issue 11, membership and health
/// by quorum), all on loopback: each instance registers under its lease and publishes its own
/// checks' verdicts; an address is answered only while a majority of the live instances see it up,
/// so one instance's broken view cannot take a data center down for the fleet, two can, and an
/// instance that dies stops counting when its lease expires.
@Suite(.serialized) struct FleetTests {
    /// etcd on free loopback ports, its data in a temporary directory `dir` that the test may
    /// use too (removed with the object); stopped with SIGKILL (the test runner's blocked signals
    /// are inherited, so SIGTERM would not end it).
    final class Etcd {
        /// Each member's client port; `clientPort` is the first's.
        let clientPorts: [UInt16]
        var clientPort: UInt16 { clientPorts[0] }
        let processes: [Process]
        let log: URL
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-fleet-\(UUID().uuidString)")

        /// A cluster of `members` (1: a single etcd).
        init(members: Int = 1) throws {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var clients: [UInt16] = [], peers: [UInt16] = []
            for _ in 0..<members {
                clients.append(try E2E.freePort())
                peers.append(try E2E.freePort())
            }
            clientPorts = clients
            log = dir.appendingPathComponent("etcd.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let cluster = peers.enumerated().map { "m\($0.offset)=http://127.0.0.1:\($0.element)" }.joined(separator: ",")
            var started: [Process] = []
            for i in 0..<members {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: try E2E.tool("etcd"))
                p.arguments = [
                    "--name", "m\(i)", "--data-dir", dir.appendingPathComponent("etcd-data-\(i)").path,
                    "--listen-client-urls", "http://127.0.0.1:\(clients[i])", "--advertise-client-urls", "http://127.0.0.1:\(clients[i])",
                    "--listen-peer-urls", "http://127.0.0.1:\(peers[i])", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peers[i])",
                    "--initial-cluster", cluster, "--initial-cluster-token", dir.lastPathComponent,
                ]
                let handle = try FileHandle(forWritingTo: log)
                handle.seekToEndOfFile()
                p.standardOutput = handle
                p.standardError = handle
                try p.run()
                started.append(p)
            }
            processes = started
            guard try E2E.eventually(30, { try self.keys("/").status == 0 }) else {
                throw E2EError.setup("etcd did not start:\n\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
        }

        /// The endpoints for a `fleet:` section, every member's.
        var endpoints: String { clientPorts.map { "\"http://127.0.0.1:\($0)\"" }.joined(separator: ", ") }

        /// `etcdctl get --prefix --keys-only PREFIX`, asking every member still running.
        func keys(_ prefix: String) throws -> E2E.Output {
            let live = zip(clientPorts, processes).filter { $0.1.isRunning }.map { "http://127.0.0.1:\($0.0)" }.joined(separator: ",")
            return try E2E.run(try E2E.tool("etcdctl"), ["--endpoints", live, "get", "--prefix", "--keys-only", prefix], timeout: 10)
        }

        /// Kills member `i`.
        func kill(member i: Int) {
            if processes[i].isRunning { Glibc.kill(processes[i].processIdentifier, SIGKILL); processes[i].waitUntilExit() }
        }

        func stop() {
            for i in processes.indices { kill(member: i) }
        }

        deinit {
            stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    /// Instance `name` of fleet `prod`: one service over data centers a (192.0.2.1) and b
    /// (192.0.2.2), health from its own operator file.
    static func instance(_ name: String, etcd: Etcd, admin: UInt16? = nil, whenDisconnected: String = "local", ttl: Int = 30) throws -> (RoutedMeridian, URL) {
        let server = try RoutedMeridian()
        let stateFile = server.dir.appendingPathComponent("operator-state")
        try server.start(routing: routing(name, etcd: etcd, admin: admin, stateFile: stateFile, whenDisconnected: whenDisconnected, ttl: ttl))
        return (server, stateFile)
    }

    /// The configuration of instance `name` after its zone.
    static func routing(_ name: String, etcd: Etcd, admin: UInt16?, stateFile: URL, leaseTTL: String = "2s",
                        whenDisconnected: String = "local", ttl: Int = 30) -> String {
        """
            \(admin.map { "admin: { listen: \"127.0.0.1:\($0)\", token: s3cret }\n" } ?? "")fleet:
              endpoints: [\(etcd.endpoints)]
              name: prod
              instance: \(name)
              lease-ttl: \(leaseTTL)
              when-disconnected: \(whenDisconnected)
            datacenters:
              a: { addresses: [192.0.2.1], location: [53.35, -6.26] }
              b: { addresses: [192.0.2.2], location: [38.95, -77.45] }
            checks:
              operator: { type: file, path: "\(stateFile.path)", interval: 100ms, timeout: 50ms, jitter: 0 }
            services:
              www.example.com.: { datacenters: [a, b], check: operator, ttl: \(ttl) }

            """
    }

    /// Instances one, two and three of fleet `prod`, started in that order; `admin`,
    /// `whenDisconnected` and `ttl` give each its own settings.
    struct Trio {
        let servers: [RoutedMeridian]
        /// Each instance's operator state file (its `file` check).
        let states: [URL]
        /// All three logs, for failure messages.
        func logs() -> String { servers.map(\.logText).joined(separator: "\n----\n") }
        func remove() { for s in servers { s.remove() } }
    }

    static func trio(_ etcd: Etcd, admin: [UInt16?] = [nil, nil, nil], whenDisconnected: [String] = ["local", "local", "local"],
                     ttl: [Int] = [30, 30, 30]) throws -> Trio {
        var servers: [RoutedMeridian] = [], states: [URL] = []
        for (i, name) in ["one", "two", "three"].enumerated() {
            let (server, state) = try instance(name, etcd: etcd, admin: admin[i], whenDisconnected: whenDisconnected[i], ttl: ttl[i])
            servers.append(server)
            states.append(state)
        }
        return Trio(servers: servers, states: states)
    }

    static func servesB(_ server: RoutedMeridian) throws -> Bool {
        try server.query("www.example.com.").records.contains { $0.data == "192.0.2.2" }
    }

    @Test("three instances: one instance's down verdict is outvoted, two take the data center down everywhere, a dead instance's vote lapses with its lease",
          .timeLimit(.minutes(3)))
    func quorumAcrossInstances() throws {
        let etcd = try Etcd()
        defer { etcd.stop() }
        let trio = try Self.trio(etcd)
        defer { trio.remove() }
        let (one, two, three, logs) = (trio.servers[0], trio.servers[1], trio.servers[2], trio.logs)
        let (oneState, twoState) = (trio.states[0], trio.states[1])

        // All three registered under their leases, with their verdicts.
        let registered = try E2E.eventually(15) {
            let k = try etcd.keys("/prod/").stdout
            return ["one", "two", "three"].allSatisfy { k.contains("/prod/members/\($0)") && k.contains("/prod/verdicts/\($0)") }
        }
        let keys = try etcd.keys("/prod/").stdout
        #expect(registered, "\(keys)\n\(logs())")
        #expect(try [one, two, three].allSatisfy(Self.servesB))

        // One instance sees b down: outvoted, b stays in every answer, its own included.
        try "b down\n".write(to: oneState, atomically: true, encoding: .utf8)
        #expect(one.waitForLog(after: 0, within: 10, [["health state changed", "datacenter=b", "to=down"]]) != nil, "\(one.logText)")
        Thread.sleep(forTimeInterval: 1)
        #expect(try [one, two, three].allSatisfy(Self.servesB), "one instance's verdict took b down:\n\(logs())")

        // A second one agrees: 2 of 3 say down, and b leaves the answers of all three.
        try "b down\n".write(to: twoState, atomically: true, encoding: .utf8)
        let gone = try E2E.eventually(10) { try [one, two, three].allSatisfy { try !Self.servesB($0) } }
        #expect(gone, "\(logs())")
        #expect(try three.query("www.example.com.").records.contains { $0.data == "192.0.2.1" })

        // Three restarts (its own checks say b up): it reads the fleet before its first answer,
        // which already leaves b out.
        three.stop()
        let threeState = three.dir.appendingPathComponent("operator-state")
        try three.start(routing: Self.routing("three", etcd: etcd, admin: nil, stateFile: threeState, leaseTTL: "30s"))
        #expect(try !Self.servesB(three), "\(three.logText)")
        #expect(three.logText.contains("fleet: view read before answering"), "\(three.logText)")
        // A graceful stop revokes the lease: with a 30 s TTL, the membership goes at once.
        #expect(try E2E.eventually(15) { try etcd.keys("/prod/members/three").stdout.contains("three") }, "\(three.logText)")
        three.stop()
        #expect(try E2E.eventually(10) { try !etcd.keys("/prod/members/three").stdout.contains("three") }, "\(three.logText)")
        try three.start(routing: Self.routing("three", etcd: etcd, admin: nil, stateFile: threeState))

        // Instance two dies: its lease lapses (2 s) and its verdict with it; one says down, three
        // says up, an even split is up (no half of a fleet takes a site down), and b returns.
        if let p = two.process {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let back = try E2E.eventually(15) { try Self.servesB(three) && Self.servesB(one) }
        #expect(back, "\(logs())")
        #expect(try !etcd.keys("/prod/members/").stdout.contains("/prod/members/two"))
    }

    @Test("etcd unreachable: each instance keeps the last fleet view; under when-disconnected: local it merges its own fresh verdicts into it, under freeze it does not",
          .timeLimit(.minutes(3)))
    func etcdUnreachable() throws {
        let etcd = try Etcd()
        defer { etcd.stop() }
        let admin = try E2E.freePort()
        let trio = try Self.trio(etcd, admin: [admin, nil, nil], whenDisconnected: ["local", "freeze", "local"])
        defer { trio.remove() }
        let (one, two, three, logs) = (trio.servers[0], trio.servers[1], trio.servers[2], trio.logs)
        let (oneState, twoState) = (trio.states[0], trio.states[1])
        #expect(try E2E.eventually(15) { try etcd.keys("/prod/verdicts/").stdout.split(separator: "\n").count == 3 }, "\(logs())")
        let browser = try Browser()
        defer { browser.remove() }
        #expect(DOM(try browser.dumpDOM("http://127.0.0.1:\(admin)/")).element(id: "fleet")?["hidden"] != nil, "no fleet banner while connected")
        try "b down\n".write(to: oneState, atomically: true, encoding: .utf8)
        try "b down\n".write(to: twoState, atomically: true, encoding: .utf8)
        #expect(try E2E.eventually(10) { try [one, two, three].allSatisfy { try !Self.servesB($0) } }, "\(logs())")

        etcd.stop()
        #expect(E2E.eventually(15) { [one, two, three].allSatisfy { $0.logText.contains("fleet: etcd unreachable") } }, "\(logs())")
        // The last view stands: b stays out everywhere; the status page says why.
        #expect(try [one, two, three].allSatisfy { try !Self.servesB($0) }, "\(logs())")
        let html = try browser.dumpDOM("http://127.0.0.1:\(admin)/")
        #expect(DOM(html).element(id: "fleet")?["hidden"] == nil && html.contains("Fleet prod: etcd unreachable."), "\(html.suffix(3000))")
        // Instance one's checks now see b up: its own verdict replaces its last one in its view
        // (one up, two down, three up: a majority up), while three's view is unchanged.
        try "b up\n".write(to: oneState, atomically: true, encoding: .utf8)
        #expect(try E2E.eventually(10) { try Self.servesB(one) }, "\(one.logText)")
        #expect(try !Self.servesB(three), "\(three.logText)")
        // Instance two (freeze) sees b up too, and keeps the frozen view: b stays out there.
        try "b up\n".write(to: twoState, atomically: true, encoding: .utf8)
        #expect(two.waitForLog(after: 0, within: 10, [["health state changed", "datacenter=b", "to=up"]]) != nil, "\(two.logText)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try !Self.servesB(two), "\(two.logText)")
    }

    /// `POST /datacenters/b/drain` (or undrain) on the admin API at `port`; the JSON answer.
    static func drain(_ port: UInt16, _ action: String) throws -> [String: Any] {
        let r = try E2E.run(try E2E.tool("curl"), [
            "-s", "-X", "POST", "-H", "Authorization: Bearer s3cret",
            "http://127.0.0.1:\(port)/datacenters/b/\(action)?who=alice&why=power%20work",
        ], timeout: 10)
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? ["raw": r.stdout]
    }

    /// The fleet object of /status on the admin API at `port`, with its member names.
    static func status(_ port: UInt16) -> (fleet: [String: Any], members: [String])? {
        guard let r = try? E2E.run(try E2E.tool("curl"), ["-s", "http://127.0.0.1:\(port)/status"], timeout: 10),
              let json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any],
              let fleet = json["fleet"] as? [String: Any]
        else { return nil }
        return (fleet, (fleet["members"] as? [[String: Any]])?.compactMap { $0["instance"] as? String } ?? [])
    }

    @Test("a drain on one instance is written to etcd with who and why and applied by every instance; an undrain on another ends it everywhere",
          .timeLimit(.minutes(3)))
    func fleetWideDrain() throws {
        let etcd = try Etcd()
        defer { etcd.stop() }
        let (oneAdmin, twoAdmin) = (try E2E.freePort(), try E2E.freePort())
        // Instance three serves b with a TTL of 300 (its configuration is not the others').
        let trio = try Self.trio(etcd, admin: [oneAdmin, twoAdmin, nil], ttl: [30, 30, 300])
        defer { trio.remove() }
        let (one, two, three, logs) = (trio.servers[0], trio.servers[1], trio.servers[2], trio.logs)
        #expect(try E2E.eventually(15) { try etcd.keys("/prod/members/").stdout.split(separator: "\n").count == 3 }, "\(logs())")
        #expect(try E2E.eventually(10) { Self.status(oneAdmin)?.members.count == 3 }, "instance one sees all three members")

        let drained = try Self.drain(oneAdmin, "drain")
        #expect(drained["fleet"] as? Bool == true && drained["drained"] as? Bool == true, "\(drained)")
        // Safe after the largest TTL any instance serves for b: three's 300 s, not one's own 30 s.
        #expect(drained["largest_ttl"] as? Int == 300, "\(drained)")
        let when = Date().timeIntervalSince1970
        #expect(abs((drained["safe_after"] as? Double ?? 0) - (when + 300)) < 30, "\(drained)")
        #expect(try E2E.eventually(10) { try [one, two, three].allSatisfy { try !Self.servesB($0) } }, "\(logs())")
        let record = try E2E.run(try E2E.tool("etcdctl"), ["--endpoints", "http://127.0.0.1:\(etcd.clientPort)", "get", "--print-value-only", "/prod/drains/b"],
                                 timeout: 10).stdout
        #expect(record.contains("\"who\":\"alice\"") && record.contains("\"why\":\"power work\"") && record.contains("safeAfter"), "\(record)")

        // /status shows the fleet: connected, three live members, all counted, the drain; each
        // address with the served (fleet) state and this instance's own.
        let status = try E2E.run(try E2E.tool("curl"), ["-s", "http://127.0.0.1:\(oneAdmin)/status"], timeout: 10).stdout
        let json = (try? JSONSerialization.jsonObject(with: Data(status.utf8))) as? [String: Any]
        let fleet = json?["fleet"] as? [String: Any]
        #expect(fleet?["connected"] as? Bool == true && fleet?["instance"] as? String == "one" && fleet?["quorum"] as? String == "majority", "\(status)")
        #expect((fleet?["members"] as? [[String: Any]])?.compactMap { $0["instance"] as? String } == ["one", "three", "two"], "\(status)")
        #expect(fleet?["observers"] as? [String] == ["one", "three", "two"], "\(status)")
        #expect((fleet?["drains"] as? [[String: Any]])?.first?["who"] as? String == "alice", "\(status)")
        // The status page draws the fleet: both data centers on the map at their coordinates
        // (b drained), the three instances with their configuration digests, and each address's
        // observers; a screenshot is kept.
        for _ in 0..<4 { _ = try one.query("www.example.com.") }
        let browser = try Browser()
        defer { browser.remove() }
        let page = "http://127.0.0.1:\(oneAdmin)/"
        let dom = DOM(try browser.dumpDOM(page))
        #expect(dom.element(id: "fleet-section")?["hidden"] == nil, "the fleet section is shown")
        #expect(dom.elements(class: "land").count == 9, "the continents' outlines are drawn")
        let marks = dom.elements(class: "map-dc")
        #expect(Set(marks.compactMap { $0["data-name"] }) == ["a", "b"], "\(marks)")
        #expect(marks.first { $0["data-name"] == "b" }?["data-state"] == "drain" && marks.first { $0["data-name"] == "a" }?["data-state"] == "up",
                "\(marks)")
        #expect(Double(marks.first { $0["data-name"] == "a" }?["data-share"] ?? "") == 1.0, "a had every routed answer: \(marks)")
        // Each instance's file differs (its name, its state file), so the other two show drift
        // against this one's digest.
        let members = dom.elements(class: "fleet-member")
        let digests = Dictionary(((fleet?["members"] as? [[String: Any]]) ?? []).compactMap { m in
            (m["instance"] as? String).map { ($0, m["config_digest"] as? String ?? "") } }, uniquingKeysWith: { a, _ in a })
        #expect(members.compactMap { $0["data-instance"] } == ["one", "three", "two"], "\(members)")
        #expect(members.allSatisfy { $0["data-drift"] == String(digests[$0["data-instance"] ?? ""] != digests["one"]) }, "\(members) \(digests)")
        #expect(dom.elements(class: "observer").count >= 6, "three observers for each of a and b")
        let artifacts = E2E.repo.appendingPathComponent("Tests/.artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let png = artifacts.appendingPathComponent("status-page-fleet.png")
        try? FileManager.default.removeItem(at: png)
        try browser.screenshot(page, to: png.path, dark: false)
        #expect(((try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0) > 10_000, "a screenshot of the fleet page")

        let b = ((json?["datacenters"] as? [[String: Any]])?.first { $0["name"] as? String == "b" }?["addresses"] as? [[String: Any]])?.first
        #expect(b?["state"] as? String == "drain" && b?["local"] as? String == "up", "\(status)")
        // The quorum's inputs: every live observer's own verdict on the address.
        let observers = b?["observers"] as? [[String: Any]]
        #expect(observers?.compactMap { $0["instance"] as? String } == ["one", "three", "two"]
                && observers?.allSatisfy { $0["state"] as? String == "up" } == true, "\(status)")

        // The undrain from the CLI on another instance (its configuration names its admin API).
        let undrained = try E2E.run(try E2E.meridianBinary(), ["drain", "b", "--undrain", "--config", two.configURL.path], timeout: 30)
        #expect(undrained.status == 0 && undrained.stdout.contains("b undrained on every instance of the fleet"), "\(undrained)")
        #expect(try E2E.eventually(10) { try [one, two, three].allSatisfy(Self.servesB) }, "\(logs())")
        #expect(try etcd.keys("/prod/drains/").stdout.isEmpty)
    }

    @Test("meridian push: checks the configuration, diffs it against the one stored in etcd, stores it; a push against a stale revision is refused with the diff against the new one; a broken file is refused with file:line",
          .timeLimit(.minutes(2)))
    func push() throws {
        let etcd = try Etcd()
        defer { etcd.stop() }
        let dir = etcd.dir
        try FileManager.default.copyItem(at: RoutingFixtures.zone, to: dir.appendingPathComponent("example.com.zone"))
        let config = dir.appendingPathComponent("meridian.yaml")
        func write(ttl: Int, extra: String = "") throws {
            try """
                listen: ["127.0.0.1:5399"]
                zones:
                  - { origin: example.com., file: example.com.zone }
                fleet:
                  endpoints: ["http://127.0.0.1:\(etcd.clientPort)"]
                  name: prod
                  instance: ops
                datacenters:
                  a: { addresses: [192.0.2.1] }
                  b: { addresses: [192.0.2.2] }
                services:
                  www.example.com.: { datacenters: [a, b], ttl: \(ttl) }
                \(extra)
                """.write(to: config, atomically: true, encoding: .utf8)
        }
        let meridian = try E2E.meridianBinary()
        func push(_ args: [String] = []) throws -> E2E.Output {
            try E2E.run(meridian, ["push", "--config", config.path] + args, timeout: 60)
        }
        func stored() throws -> String {
            try E2E.run(try E2E.tool("etcdctl"), ["--endpoints", "http://127.0.0.1:\(etcd.clientPort)", "get", "--print-value-only", "/prod/config"],
                        timeout: 10).stdout
        }
        func revision(_ out: String) -> Int64? {
            out.split(separator: "\n").first { $0.hasPrefix("pushed") }.flatMap { $0.split(separator: " ").last }.flatMap { Int64($0) }
        }

        try write(ttl: 30)
        let first = try push()
        #expect(first.status == 0 && first.stdout.contains("no configuration stored yet"), "\(first)")
        let r1 = try #require(revision(first.stdout), "\(first)")
        #expect(try stored().contains("ttl: 30"))

        // An edit: the diff against the stored one, then stored at a new revision.
        try write(ttl: 45)
        let dry = try push(["--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("fleet prod revision \(r1)") && dry.stdout.contains("www.example.com."), "\(dry)")
        #expect(try stored().contains("ttl: 30"), "a dry run stores nothing")
        let second = try push(["--revision", "\(r1)"])
        let r2 = try #require(revision(second.stdout), "\(second)")
        let afterSecond = try stored()
        #expect(r2 > r1 && afterSecond.contains("ttl: 45"))

        // Another operator reviewed revision r1 and pushes now: refused, nothing overwritten.
        try write(ttl: 60)
        let stale = try push(["--revision", "\(r1)"])
        #expect(stale.status == 3 && stale.stderr.contains("at revision \(r2), not \(r1)") && stale.stdout.contains("revision \(r2)"), "\(stale)")
        #expect(try stored().contains("ttl: 45"))

        // A broken configuration never reaches etcd.
        try write(ttl: 0)
        let broken = try push()
        #expect(broken.status == 1 && broken.stderr.contains("meridian.yaml:"), "\(broken)")
        #expect(try stored().contains("ttl: 45"))
    }

    @Test("config-source: etcd: instances serve the pushed configuration (keeping their own listen and fleet settings), follow each push, and keep the old one when a push does not load on them, saying why in their membership record",
          .timeLimit(.minutes(3)))
    func configFromEtcd() throws {
        let etcd = try Etcd()
        defer { etcd.stop() }
        let dir = etcd.dir
        let ops = dir.appendingPathComponent("ops")
        try FileManager.default.createDirectory(at: ops, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: RoutingFixtures.zone, to: ops.appendingPathComponent("example.com.zone"))
        let pushed = ops.appendingPathComponent("meridian.yaml")
        func push(ttl: Int, zones extra: String = "") throws {
            try """
                listen: ["127.0.0.1:5399"]
                zones:
                  - { origin: example.com., file: example.com.zone }
                \(extra)fleet:
                  endpoints: ["http://127.0.0.1:\(etcd.clientPort)"]
                  name: prod
                  instance: ops
                datacenters:
                  a: { addresses: [192.0.2.1] }
                  b: { addresses: [192.0.2.2] }
                services:
                  www.example.com.: { datacenters: [a, b], ttl: \(ttl) }

                """.write(to: pushed, atomically: true, encoding: .utf8)
            let r = try E2E.run(try E2E.meridianBinary(), ["push", "--config", pushed.path], timeout: 60)
            #expect(r.status == 0, "push: \(r)")
        }
        try push(ttl: 30)
        func bootstrap(_ name: String) -> String {
            """
            fleet:
              endpoints: ["http://127.0.0.1:\(etcd.clientPort)"]
              name: prod
              instance: \(name)
              lease-ttl: 2s
              config-source: etcd

            """
        }
        let one = try RoutedMeridian(), two = try RoutedMeridian()
        defer { one.remove(); two.remove() }
        try one.start(routing: bootstrap("one"))
        try two.start(routing: bootstrap("two"))
        let logs = { [one, two].map(\.logText).joined(separator: "\n----\n") }
        func ttls() throws -> [Int] { try [one, two].map { try $0.query("www.example.com.").records.first?.ttl ?? -1 } }
        // The bootstrap files have no services: what answers is the pushed configuration.
        #expect(try ttls() == [30, 30], "\(logs())")
        #expect(one.logText.contains("fleet: serving the configuration stored in etcd"), "\(one.logText)")

        try push(ttl: 45)
        #expect(try E2E.eventually(15) { try ttls() == [45, 45] }, "\(logs())")

        // A push naming a zone file only the operator's directory has: it does not load on the
        // instances, which keep serving the last one and say why.
        try "$TTL 300\n@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n@ IN NS ns\nns IN A 192.0.2.53\n"
            .write(to: ops.appendingPathComponent("other.zone"), atomically: true, encoding: .utf8)
        try push(ttl: 60, zones: "  - { origin: other.example., file: other.zone }\n")
        let reported = try E2E.eventually(15) {
            let records = try E2E.run(try E2E.tool("etcdctl"), ["--endpoints", "http://127.0.0.1:\(etcd.clientPort)", "get", "--prefix",
                                                                 "--print-value-only", "/prod/members/"], timeout: 10).stdout
            return records.components(separatedBy: "configProblem").count == 3 && records.contains("other.zone")
        }
        #expect(reported, "\(logs())")
        #expect(try ttls() == [45, 45], "\(logs())")
    }

    @Test("a three-member etcd cluster: killing the member every instance talks to first changes no answer; the fleet still follows a majority",
          .timeLimit(.minutes(3)))
    func oneEtcdMemberDown() throws {
        let etcd = try Etcd(members: 3)
        defer { etcd.stop() }
        let trio = try Self.trio(etcd)
        defer { trio.remove() }
        let (one, two, three, logs) = (trio.servers[0], trio.servers[1], trio.servers[2], trio.logs)
        let (oneState, twoState) = (trio.states[0], trio.states[1])
        #expect(try E2E.eventually(15) { try etcd.keys("/prod/members/").stdout.split(separator: "\n").count == 3 }, "\(logs())")
        #expect(try [one, two, three].allSatisfy(Self.servesB))

        etcd.kill(member: 0)
        // Every instance moves to another member and reads the fleet again; nothing it answers changes.
        #expect(try [one, two, three].allSatisfy(Self.servesB), "\(logs())")
        try "b down\n".write(to: oneState, atomically: true, encoding: .utf8)
        try "b down\n".write(to: twoState, atomically: true, encoding: .utf8)
        #expect(try E2E.eventually(20) { try [one, two, three].allSatisfy { try !Self.servesB($0) } }, "\(logs())")
        #expect(try E2E.eventually(10) { try etcd.keys("/prod/members/").stdout.split(separator: "\n").count == 3 },
                "three instances still registered through the other members")
    }
}
