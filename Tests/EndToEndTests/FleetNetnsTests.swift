import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Three Meridians of one fleet, each in its own network namespace, sharing health through etcd
/// in a fourth (issue 11, health by quorum): each instance checks the backend itself, over its
/// own veth pair, and the test cuts one instance's path to the backend with a blackhole route in
/// that instance's namespace, so one observer really sees the backend down while the others see
/// it up. At every step the three instances give the same answers to the same 1,000 ECS client
/// subnets. Nothing here touches the host's interfaces, addresses or routes.
@Suite(.serialized) struct FleetNetnsTests {
    /// The namespaces: `core` holds etcd (10.231.100.1) and the health-check backend (10.231.100.2
    /// and .3, both on its loopback); instance `i` (1...3) reaches them over its own veth pair,
    /// 10.231.i.2 → 10.231.i.1.
    final class Lab {
        let ip: String
        let core: String
        let instances: [String]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-fleet-netns-\(UUID().uuidString)")
        private var etcdProcess: Process?
        private var backend: Process?
        static let etcdAddress = "10.231.100.1"
        static let etcdPort = 2379
        /// The backend of data center b (the address the test cuts) and of a and c (never cut).
        static let cutTarget = "10.231.100.2", keptTarget = "10.231.100.3"
        static let backendPort = 8080

        init() throws {
            ip = try E2E.tool("ip")
            let tag = "\(getpid() % 100_000)"
            core = "mrf-core-\(tag)"
            instances = (1...3).map { "mrf-i\($0)-\(tag)" }
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            // Left over by an earlier run of this test that was killed (the names are its own).
            for ns in [core] + instances { _ = try? E2E.run(ip, ["netns", "del", ns], timeout: 30) }
            try sh(["netns", "add", core])
            try sh(["-n", core, "link", "set", "lo", "up"])
            for a in [Self.etcdAddress, Self.cutTarget, Self.keptTarget] { try sh(["-n", core, "addr", "add", "\(a)/32", "dev", "lo"]) }
            for (i, ns) in instances.enumerated() {
                let n = i + 1
                try sh(["netns", "add", ns])
                try sh(["-n", core, "link", "add", "mrf\(n)c\(tag)", "type", "veth", "peer", "name", "eth0", "netns", ns])
                try sh(["-n", core, "addr", "add", "10.231.\(n).1/24", "dev", "mrf\(n)c\(tag)"])
                try sh(["-n", core, "link", "set", "mrf\(n)c\(tag)", "up"])
                try sh(["-n", ns, "addr", "add", "10.231.\(n).2/24", "dev", "eth0"])
                try sh(["-n", ns, "link", "set", "eth0", "up"])
                try sh(["-n", ns, "link", "set", "lo", "up"])
                try sh(["-n", ns, "route", "add", "default", "via", "10.231.\(n).1"])
            }
            let b = Process()
            b.executableURL = URL(fileURLWithPath: ip)
            b.arguments = ["netns", "exec", core, "/usr/bin/python3", RoutingFixtures.dir.appendingPathComponent("backend.py").path,
                           "tcp", "\(Self.backendPort)", "0.0.0.0"]
            b.standardInput = FileHandle.nullDevice
            b.standardOutput = FileHandle.nullDevice
            b.standardError = FileHandle.nullDevice
            try b.run()
            backend = b
            try startEtcd()
        }

        func sh(_ args: [String]) throws {
            let r = try E2E.run(ip, args, timeout: 30)
            guard r.status == 0 else { throw E2EError.setup("ip \(args.joined(separator: " ")): \(r.stderr)") }
        }

        var etcdLog: URL { dir.appendingPathComponent("etcd.log") }

        /// etcd in the core namespace, its data kept across a restart.
        func startEtcd() throws {
            if !FileManager.default.fileExists(atPath: etcdLog.path) { _ = FileManager.default.createFile(atPath: etcdLog.path, contents: nil) }
            let url = "http://\(Self.etcdAddress):\(Self.etcdPort)"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ip)
            p.arguments = ["netns", "exec", core, try E2E.tool("etcd"), "--name", "core", "--data-dir", dir.appendingPathComponent("etcd-data").path,
                           "--listen-client-urls", url, "--advertise-client-urls", url,
                           "--listen-peer-urls", "http://\(Self.etcdAddress):2380", "--initial-advertise-peer-urls", "http://\(Self.etcdAddress):2380",
                           "--initial-cluster", "core=http://\(Self.etcdAddress):2380"]
            let handle = try FileHandle(forWritingTo: etcdLog)
            handle.seekToEndOfFile()
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            etcdProcess = p
            guard try E2E.eventually(30, { try self.etcdKeys("/").status == 0 }) else {
                throw E2EError.setup("etcd did not start:\n\((try? String(contentsOf: etcdLog, encoding: .utf8)) ?? "")")
            }
        }

        func etcdKeys(_ prefix: String) throws -> E2E.Output {
            try E2E.run(ip, ["netns", "exec", core, try E2E.tool("etcdctl"), "--endpoints", "http://\(Self.etcdAddress):\(Self.etcdPort)",
                             "get", "--prefix", "--keys-only", prefix], timeout: 10)
        }

        func stopEtcd() {
            if let p = etcdProcess, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            etcdProcess = nil
        }

        /// Cuts (or restores) instance `i`'s path to b's backend: a blackhole route in its own
        /// namespace, so only its checks fail; etcd and the other backend stay reachable.
        func cut(_ i: Int, _ on: Bool = true) throws {
            try sh(["-n", instances[i], "route", on ? "add" : "del", "blackhole", "\(Self.cutTarget)/32"])
        }

        deinit {
            stopEtcd()
            if let b = backend, b.isRunning { kill(b.processIdentifier, SIGKILL); b.waitUntilExit() }
            for ns in [core] + instances { _ = try? E2E.run(ip, ["netns", "del", ns], timeout: 30) }
            try? FileManager.default.removeItem(at: dir)
        }
    }

    /// The check's interval and fall: b leaves every answer within interval × fall + 2 s of a
    /// majority losing it.
    static let interval = 1.0, fall = 2

    /// Instance `name`'s configuration: geo-nearest over Dublin (a), Virginia (b) and Tokyo (c),
    /// GeoLite2 locating the ECS subnets, every address checked by TCP at the core's backend.
    static func routing(_ name: String, db: String, admin: UInt16) -> String {
        """
        admin: { listen: "127.0.0.1:\(admin)", token: s3cret }
        transfer-serial-interval: 1s
        fleet:
          endpoints: ["http://\(Lab.etcdAddress):\(Lab.etcdPort)"]
          name: prod
          instance: \(name)
          lease-ttl: 2s
        geoip: { database: "\(db)" }
        datacenters:
          a: { location: [53.35, -6.26], addresses: [{ ip: 192.0.2.1, check: "\(Lab.keptTarget):\(Lab.backendPort)" }] }
          b: { location: [38.95, -77.45], addresses: [{ ip: 192.0.2.2, check: "\(Lab.cutTarget):\(Lab.backendPort)" }] }
          c: { location: [35.77, 140.39], addresses: [{ ip: 192.0.2.3, check: "\(Lab.keptTarget):\(Lab.backendPort)" }] }
        checks:
          web: { type: tcp, interval: \(Int(interval * 1000))ms, timeout: 300ms, jitter: 0, rise: 1, fall: \(fall) }
        services:
          geo.example.com.: { policy: geo-nearest, datacenters: [a, b, c], check: web, ttl: 30, degraded-ttl: 5 }

        """
    }

    @Test("three instances in their own network namespaces: one cut path changes no answer anywhere; a majority takes b out of every answer within interval × fall + 2 s; a drain on one is everywhere within 2 s; etcd down and back converges; 1,000 ECS subnets answered alike by all three at every step",
          .timeLimit(.minutes(6)))
    func realPathsCut() throws {
        let lab = try Lab()
        let db = try RoutingFixtures.geolite2()
        let py = try E2E.python(["dns"])
        let script = RoutingFixtures.dir.deletingLastPathComponent().appendingPathComponent("fleet/ecs-answers.py").path
        var servers: [RoutedMeridian] = [], admins: [UInt16] = []
        defer { for s in servers { s.remove() } }
        for (i, ns) in lab.instances.enumerated() {
            let admin = try E2E.freePort()
            let server = try RoutedMeridian(namespace: ns)
            servers.append(server)
            admins.append(admin)
            // Transferable, so health changes move the zone's serial.
            try server.start(routing: Self.routing(["one", "two", "three"][i], db: db, admin: admin),
                             zoneOptions: "    transfer: { allow: [127.0.0.1/32] }\n")
        }
        let logs = { servers.map(\.logText).joined(separator: "\n----\n") }
        #expect(try E2E.eventually(20) { try lab.etcdKeys("/prod/verdicts/").stdout.split(separator: "\n").count == 3 }, "\(logs())")

        /// Each instance's answers to the same 1,000 subnets.
        func collect() throws -> [[String]] {
            try servers.map { s in
                let (exe, args) = try s.inNamespace(py, [script, "\(s.port)", "geo.example.com.", "1000", "11"])
                let r = try E2E.run(exe, args, timeout: 180)
                return r.stdout.split(separator: "\n").map(String.init)
            }
        }
        /// The answers at `step`, which must be equal line for line on the three instances.
        func answers(_ step: String) throws -> [String] {
            let all = try collect()
            #expect(all[0].count == 1000, "\(step): \(all[0].count) answers")
            for i in 1..<3 {
                let differ = zip(all[0], all[i]).filter { $0 != $1 }
                #expect(differ.isEmpty && all[i].count == all[0].count,
                        "\(step): instance \(i + 1) answers \(differ.count) of 1,000 subnets otherwise, e.g. \(differ.prefix(3))")
            }
            return all[0]
        }
        func serves(_ s: RoutedMeridian, _ address: String, subnet: String) throws -> Bool {
            try s.query("geo.example.com.", ecs: subnet).addresses.contains(address)
        }

        /// The SOA serial each instance's membership record gives for example.com. and the one it answers.
        func serials() throws -> [(recorded: Int, served: Int)] {
            try servers.enumerated().map { i, s in
                let r = try E2E.run(lab.ip, ["netns", "exec", lab.core, try E2E.tool("etcdctl"), "--endpoints", "http://\(Lab.etcdAddress):\(Lab.etcdPort)",
                                             "get", "--print-value-only", "/prod/members/\(["one", "two", "three"][i])"], timeout: 10)
                let record = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
                let zones = (record?["record"] as? [String: Any])?["zones"] as? [[String: Any]]
                let recorded = zones?.first { $0["name"] as? String == "example.com." }?["serial"] as? Int ?? -1
                let soa = try s.query("example.com.", "SOA").answer.first?.split(separator: " ").dropFirst(6).first.flatMap { Int($0) } ?? -2
                return (recorded, soa)
            }
        }
        let firstSerials = try serials()
        #expect(firstSerials.allSatisfy { $0.recorded == $0.served }, "\(firstSerials)")

        // All up: every subnet answered alike, some of them with b and some with a.
        let before = try answers("all up")
        let bSubnet = try #require(before.first { $0.contains("/192.0.2.2") }?.split(separator: " ").first.map(String.init), "\(before.prefix(5))")
        let share = Dictionary(grouping: before.map { $0.split(separator: " ").dropFirst(3).joined(separator: " ") }, by: { $0 }).mapValues(\.count)
        print("fleet netns: answers to the 1,000 subnets with all up: \(share)")
        let aSubnet = try #require(before.first { $0.contains("/192.0.2.1") }?.split(separator: " ").first.map(String.init), "\(before.prefix(5))")

        // One instance's path to b is cut: its own checks see b down, yet no answer changes anywhere.
        try lab.cut(0)
        #expect(servers[0].waitForLog(after: 0, within: 10, [["health state changed", "datacenter=b", "to=down"]]) != nil, "\(servers[0].logText)")
        Thread.sleep(forTimeInterval: Self.interval)
        #expect(try answers("one observer sees b down") == before)

        // A second instance's path is cut: b leaves every instance's answers within interval × fall + 2 s.
        let bound = Self.interval * Double(Self.fall) + 2
        let cutAt = Date()
        try lab.cut(1)
        let gone = try waitFor(bound, from: cutAt) { try servers.allSatisfy { try !serves($0, "192.0.2.2", subnet: bSubnet) } }
        #expect(gone != nil, "b still answered \(bound) s after a majority lost it:\n\(logs())")
        print("fleet netns: b out of all three instances' answers \(gone ?? -1) s after the majority's cut (bound \(bound) s)")
        let without = try answers("a majority sees b down")
        #expect(!without.contains { $0.contains("/192.0.2.2") } && without != before)

        // A drain of a on instance three is in every instance's answers within 2 s.
        let (curl, drainArgs) = try servers[2].inNamespace(try E2E.tool("curl"), [
            "-s", "-X", "POST", "-H", "Authorization: Bearer s3cret", "http://127.0.0.1:\(admins[2])/datacenters/a/drain?who=test",
        ])
        let drained = try E2E.run(curl, drainArgs, timeout: 10)
        let drainedAt = Date()
        #expect(drained.stdout.contains("\"fleet\" : true"), "\(drained)")
        let out = try waitFor(2, from: drainedAt) { try servers.allSatisfy { try !serves($0, "192.0.2.1", subnet: aSubnet) } }
        #expect(out != nil, "the drain was not in every answer within 2 s:\n\(logs())")
        print("fleet netns: the drain in all three instances' answers \(out ?? -1) s after it was made (bound 2 s)")
        let drainedAnswers = try answers("a drained, b down")
        #expect(!drainedAnswers.contains { $0.contains("/192.0.2.1") || $0.contains("/192.0.2.2") })

        // The paths come back and the drain ends: every answer is what it was.
        let (curl2, undrainArgs) = try servers[1].inNamespace(try E2E.tool("curl"), [
            "-s", "-X", "POST", "-H", "Authorization: Bearer s3cret", "http://127.0.0.1:\(admins[1])/datacenters/a/undrain",
        ])
        #expect(try E2E.run(curl2, undrainArgs, timeout: 10).stdout.contains("\"drained\" : false"))
        try lab.cut(0, false)
        try lab.cut(1, false)
        #expect(try E2E.eventually(15) { try servers.allSatisfy { try serves($0, "192.0.2.2", subnet: bSubnet) && serves($0, "192.0.2.1", subnet: aSubnet) } },
                "\(logs())")
        #expect(try E2E.eventually(10) { try collect().allSatisfy { $0 == before } })
        #expect(try answers("restored") == before)

        // etcd goes away: every instance keeps its last view. Two paths are cut while it is away;
        // each of those two merges its own fresh verdict with the others' last ones (one of
        // three), so nothing changes until etcd is back, when the fleet converges on b down.
        lab.stopEtcd()
        #expect(E2E.eventually(15) { servers.allSatisfy { $0.logText.contains("fleet: etcd unreachable") } }, "\(logs())")
        let marks = servers.map(\.logMark)
        try lab.cut(0)
        try lab.cut(1)
        for i in 0..<2 {
            #expect(servers[i].waitForLog(after: marks[i], within: 10, [["health state changed", "datacenter=b", "to=down"]]) != nil, "\(servers[i].logText)")
        }
        Thread.sleep(forTimeInterval: Self.interval)
        #expect(try answers("etcd down, two paths cut") == before)
        try lab.startEtcd()
        #expect(try E2E.eventually(20) { try servers.allSatisfy { try !serves($0, "192.0.2.2", subnet: bSubnet) } }, "\(logs())")
        #expect(try answers("etcd back") == without)
        // Health raised the served serials (the service name's records changed); each membership
        // record says what its instance serves now.
        #expect(try E2E.eventually(10) { try zip(serials(), firstSerials).allSatisfy { $0.recorded == $0.served && $0.served != $1.served } },
                "\((try? serials()).map { "\($0)" } ?? "") after \(firstSerials)")
    }
}
