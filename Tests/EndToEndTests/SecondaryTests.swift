import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Meridian as a secondary (issue 10 item 2) of real primaries, all on loopback: Knot with a
/// journal (AXFR at start, IXFR after an edit and `knotc zone-reload` with Knot's NOTIFY, EXPIRE
/// with Knot stopped, a restart serving the stored copy), and a misbehaving primary
/// (Tests/Differential/fake_primary.py) whose bad transfers and NOTIFYs are each refused with the
/// old data still served and a log line naming the primary and the reason.
@Suite(.serialized) struct SecondaryTests {
    static let fakePrimary = E2E.repo.appendingPathComponent("Tests/Differential/fake_primary.py").path
    /// 32 bytes, base64.
    static let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg="

    /// A meridian started from `yaml` (its `listen` on `port`) in `dir`; restartable.
    final class Secondary {
        let dir: URL
        let port: UInt16
        let config: URL
        let log: URL
        var process: Process?

        init(dir: URL, port: UInt16, zones: String, extra: String = "") throws {
            self.dir = dir
            self.port = port
            config = dir.appendingPathComponent("meridian.yaml")
            log = dir.appendingPathComponent("meridian.log")
            let yaml = "listen: [\"127.0.0.1:\(port)\", \"[::1]:\(port)\"]\nworkers: 1\nlog-level: debug\n" + extra + "zones:\n" + zones
            try yaml.write(to: config, atomically: true, encoding: .utf8)
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            try start()
        }

        /// Starts the binary and waits until it answers on its port (any RCODE: a secondary without
        /// a copy answers SERVFAIL).
        func start() throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try E2E.meridianBinary())
            p.arguments = ["serve", "--config", config.path]
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            p.standardOutput = handle
            p.standardError = handle
            p.standardInput = FileHandle.nullDevice
            try p.run()
            process = p
            let ready = try E2E.eventually(30) { !(try SecondaryTests.query(self.port, "version.invalid.", "SOA").status.isEmpty) }
            if !ready { throw E2EError.setup("meridian did not answer on port \(port):\n\(logText)") }
        }

        func stop() {
            if let p = process, p.isRunning {
                p.terminate()
                p.waitUntilExit()
            }
            process = nil
        }

        var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        deinit { stop() }
    }

    /// knotd as a primary of `sec.example.` with a journal, sending NOTIFY to `notifyPort`.
    final class Knot: KnotDaemon {
        let zoneFile: URL

        init(dir: URL, notifyPort: UInt16, zone: String) throws {
            let port = try E2E.freePort()
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            zoneFile = dir.appendingPathComponent("sec.example.zone")
            try zone.write(to: zoneFile, atomically: true, encoding: .utf8)
            let text = KnotDaemon.head(dir: dir, port: port) + """
                remote:
                  - id: meridian
                    address: 127.0.0.1@\(notifyPort)
                acl:
                  - id: xfr
                    address: 127.0.0.0/8
                    action: transfer
                template:
                  - id: default
                    storage: \(dir.path)
                    zonefile-sync: -1
                    zonefile-load: difference-no-serial
                    journal-content: all
                zone:
                  - domain: sec.example.
                    file: sec.example.zone
                    notify: meridian
                    acl: xfr

                """
            try super.init(dir: dir, port: port, config: text, readyZone: "sec.example.")
        }

        func reload() throws { try knotc(["zone-reload", "sec.example."]) }
    }

    /// A full dig answer for `name type` from the server on `port` (127.0.0.1).
    static func query(_ port: UInt16, _ name: String, _ type: String, server: String = "127.0.0.1") throws -> DigResponse {
        let r = try E2E.run(try E2E.tool("dig"), ["@\(server)", "-p", "\(port)", "+time=1", "+tries=1", "+norecurse", "+noall", "+comments", "+answer", "+authority", "+additional", name, type], timeout: 10)
        return DigResponse.parseDig(r.stdout)
    }

    static func temporaryDirectory(_ label: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("store"), withIntermediateDirectories: true)
        return dir
    }

    static func zone(serial: Int, refresh: Int = 3600, retry: Int = 2, expire: Int = 3600, www: String = "192.0.2.10", extra: String = "") -> String {
        """
        $TTL 300
        @ IN SOA ns1 hostmaster \(serial) \(refresh) \(retry) \(expire) 60
        @ IN NS ns1
        @ IN MX 10 mail
        ns1 IN A 192.0.2.1
        www IN A \(www)
        mail IN A 192.0.2.2
        mail IN AAAA 2001:db8::2
        alias IN CNAME www
        txt IN TXT "hello world" "two"
        _sip._tcp IN SRV 10 60 5060 mail
        sub IN NS ns.sub
        ns.sub IN A 192.0.2.53
        \(extra)
        """
    }

    /// The questions whose answers Meridian and Knot must give alike.
    static let questions: [(String, String)] = [
        ("sec.example.", "SOA"), ("sec.example.", "NS"), ("sec.example.", "MX"), ("www.sec.example.", "A"),
        ("mail.sec.example.", "AAAA"), ("alias.sec.example.", "A"), ("txt.sec.example.", "TXT"),
        ("_sip._tcp.sec.example.", "SRV"), ("host.sub.sec.example.", "A"), ("nothing.sec.example.", "A"),
        ("www.sec.example.", "TXT"), ("new.sec.example.", "A"),
    ]

    /// Every section of each question's answer from Meridian equals Knot's, compared as sets
    /// (`answerOnly`: the status and the answer section, for a primary whose authority and
    /// additional sections follow other choices, as NSD's do).
    static func sameAnswers(_ meridian: UInt16, _ knot: UInt16, answerOnly: Bool = false) throws {
        for (name, type) in questions {
            let a = try query(meridian, name, type), b = try query(knot, name, type)
            #expect(a.status == b.status, "\(name) \(type): meridian \(a.status) knot \(b.status)")
            #expect(Set(a.answer) == Set(b.answer), "\(name) \(type): meridian \(a.answer) knot \(b.answer)")
            if answerOnly { continue }
            #expect(Set(a.authority) == Set(b.authority), "\(name) \(type): meridian \(a.authority) knot \(b.authority)")
            #expect(Set(a.additional.filter { !$0.contains("OPT") }) == Set(b.additional.filter { !$0.contains("OPT") }),
                    "\(name) \(type): meridian \(a.additional) knot \(b.additional)")
        }
    }

    @Test("Knot as primary: AXFR at start, IXFR after an edit with Knot's NOTIFY (served within 2 s), answers equal to Knot's, a restart serves the stored copy while Knot is down",
          .timeLimit(.minutes(3)))
    func knotPrimary() throws {
        let dir = try Self.temporaryDirectory("secondary-knot")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try E2E.freePort()
        let knot = try Knot(dir: dir.appendingPathComponent("knot"), notifyPort: port, zone: Self.zone(serial: 1))
        defer { knot.stop() }
        let meridian = try Secondary(dir: dir, port: port, zones: """
              - origin: sec.example.
                file: store/sec.example.zone
                primaries: ["127.0.0.1:\(knot.port)"]

            """)
        defer { meridian.stop() }
        let transferred = try E2E.eventually(15) { try Self.query(port, "www.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.10") } }
        #expect(transferred, "\(meridian.logText)\n\(knot.logText)")
        #expect(meridian.logText.contains("msg=\"secondary: zone transferred\" kind=AXFR primary=127.0.0.1:\(knot.port)"), "\(meridian.logText)")
        let stored = try String(contentsOf: dir.appendingPathComponent("store/sec.example.zone"), encoding: .utf8)
        #expect(stored.contains("www.sec.example.\t300\tIN\tA\t192.0.2.10"), "\(stored)")
        try Self.sameAnswers(port, knot.port)

        // An edit without a new serial: Knot computes the difference, bumps the serial, NOTIFYs.
        try Self.zone(serial: 1, www: "192.0.2.11", extra: "new IN A 192.0.2.77").write(to: knot.zoneFile, atomically: true, encoding: .utf8)
        let edited = Date()
        try knot.reload()
        let followed = try E2E.eventually(2) {
            try Self.query(port, "new.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.77") }
        }
        let took = Date().timeIntervalSince(edited)
        #expect(followed, "not served within 2 s:\n\(meridian.logText)\n\(knot.logText)")
        #expect(meridian.logText.contains("reason=NOTIFY"), "\(meridian.logText)")
        #expect(meridian.logText.contains("kind=\"IXFR (1 differences)\""), "\(meridian.logText)")
        #expect(knot.logText.contains("IXFR, outgoing"), "\(knot.logText)")
        print("secondary: edit to served on the secondary in \(String(format: "%.3f", took)) s")
        try Self.sameAnswers(port, knot.port)

        // Knot down, Meridian restarted: the stored copy serves at once.
        knot.stop()
        meridian.stop()
        try meridian.start()
        let soa = try Self.query(port, "sec.example.", "SOA")
        #expect(soa.status == "NOERROR" && soa.flags.contains("aa"), "\(soa)")
        #expect(try Self.query(port, "new.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.77") })
        let failed = E2E.eventually(10) {
            meridian.logText.contains("msg=\"secondary: refresh failed, old data still serving\" primary=127.0.0.1:\(knot.port)")
        }
        #expect(failed, "\(meridian.logText)")
        #expect(try Self.query(port, "www.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.11") })
    }

    @Test("EXPIRE: with Knot stopped the zone answers SERVFAIL once EXPIRE passes since the last refresh, also after a restart; Knot back, it answers again",
          .timeLimit(.minutes(3)))
    func expiry() throws {
        let dir = try Self.temporaryDirectory("secondary-expire")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try E2E.freePort()
        let knot = try Knot(dir: dir.appendingPathComponent("knot"), notifyPort: port, zone: Self.zone(serial: 5, refresh: 1, retry: 1, expire: 4))
        defer { knot.stop() }
        let meridian = try Secondary(dir: dir, port: port, zones: """
              - origin: sec.example.
                file: store/sec.example.zone
                primaries: ["127.0.0.1:\(knot.port)"]

            """)
        defer { meridian.stop() }
        #expect(try E2E.eventually(15) { try Self.query(port, "www.sec.example.", "A").status == "NOERROR" }, "\(meridian.logText)")
        // Refreshes (every second) keep it fresh past EXPIRE while Knot runs.
        usleep(5_000_000)
        #expect(try Self.query(port, "www.sec.example.", "A").status == "NOERROR", "\(meridian.logText)")
        #expect(meridian.logText.contains("secondary: zone is current"), "\(meridian.logText)")

        knot.stop()
        let stopped = Date()
        let expired = try E2E.eventually(8) { try Self.query(port, "www.sec.example.", "A").status == "SERVFAIL" }
        let after = Date().timeIntervalSince(stopped)
        #expect(expired, "\(meridian.logText)")
        #expect(after >= 2.5, "expired \(after) s after Knot stopped, before EXPIRE (4 s) since the last refresh")
        #expect(meridian.logText.contains("secondary: zone expired, answering SERVFAIL until a refresh succeeds"), "\(meridian.logText)")

        // A restart remembers the last refresh (the stored file's modification time).
        meridian.stop()
        try meridian.start()
        #expect(try Self.query(port, "www.sec.example.", "A").status == "SERVFAIL", "\(meridian.logText)")

        try knot.start()
        let back = try E2E.eventually(10) { try Self.query(port, "www.sec.example.", "A").status == "NOERROR" }
        #expect(back, "\(meridian.logText)")
    }

    @Test("the differential test's zones transferred from Knot: every answer of the Meridian secondary to peer_compare.py's corpus for them (about 8,000 queries) equal to Knot's, the primary's",
          .timeLimit(.minutes(3)))
    func differentialCorpusAgainstKnotPrimary() throws {
        let config = E2E.repo.appendingPathComponent("Tests/Fixtures/meridian.yaml")
        let zones: [(origin: String, file: String)] = [
            ("example.org.", "example.org.zone"), ("child.example.org.", "child.example.org.zone"), ("example.net.", "example.net.zone"),
        ]
        let listed = try String(contentsOf: config, encoding: .utf8)
        for z in zones {
            #expect(listed.contains("origin: \(z.origin)\n    file: zones/\(z.file)"), "Tests/Fixtures/meridian.yaml no longer lists \(z.origin)")
        }
        let dir = try Self.temporaryDirectory("secondary-differential")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try E2E.freePort()
        let knotPort = try E2E.freePort()
        let knotDir = dir.appendingPathComponent("knot")
        try FileManager.default.createDirectory(at: knotDir, withIntermediateDirectories: true)
        // Knot as servers.py's start_knot runs it for differential.py, and a primary for loopback.
        var conf = KnotDaemon.head(dir: knotDir, port: knotPort, server: "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n") + """
            remote:
              - id: meridian
                address: 127.0.0.1@\(port)
            acl:
              - id: xfr
                address: 127.0.0.1
                action: transfer
            template:
              - id: default
                storage: \(knotDir.path)
                zonefile-sync: -1
                zonefile-load: whole
                journal-content: none
                acl: xfr
                notify: meridian
            zone:

            """
        var secondaries = ""
        for z in zones {
            try FileManager.default.copyItem(at: E2E.repo.appendingPathComponent("Tests/Fixtures/zones/\(z.file)"),
                                             to: knotDir.appendingPathComponent(z.file))
            conf += "  - domain: \(z.origin)\n    file: \(z.file)\n"
            secondaries += "  - origin: \(z.origin)\n    file: store/\(z.file)\n    primaries: [\"127.0.0.1:\(knotPort)\"]\n"
        }
        let knot = try KnotDaemon(dir: knotDir, port: knotPort, config: conf, readyZone: "example.org.")
        defer { knot.stop() }
        let meridian = try Secondary(dir: dir, port: port, zones: secondaries)
        defer { meridian.stop() }
        for z in zones {
            let knotSOA = try Self.query(knotPort, z.origin, "SOA").answer
            let same = try E2E.eventually(30) {
                let r = try Self.query(port, z.origin, "SOA")
                return r.status == "NOERROR" && r.flags.contains("aa") && !knotSOA.isEmpty && r.answer == knotSOA
            }
            let meridianSOA = try Self.query(port, z.origin, "SOA").answer
            #expect(same, "\(z.origin): Knot \(knotSOA), Meridian \(meridianSOA)\n\(meridian.logText)\n\(knot.logText)")
            let parts = ["msg=\"secondary: zone transferred\" kind=AXFR primary=127.0.0.1:\(knotPort) ", " zone=\(z.origin)"]
            #expect(meridian.logText.split(separator: "\n").contains { line in parts.allSatisfy { line.contains($0) } }, "\(meridian.logText)")
        }
        // The Meridian secondary is peer_compare's "meridian", Knot its peer: only differential.py's
        // KNOWN classes of differences between Knot and Meridian are accepted.
        let compare = try E2E.run(try E2E.python(), [TransferPeerTests.compare, "zones", config.path, "\(port)", "knot", "\(knotPort)"],
                                  timeout: 300)
        print(compare.stdout)
        #expect(compare.status == 0, "\(compare.stdout.suffix(6000))\(compare.stderr)")
        let summary = compare.stdout.split(separator: "\n").first { $0.contains(" queries, ") } ?? ""
        #expect(summary.hasSuffix(" 0 unexplained") && !summary.hasPrefix("0 "), "\(compare.stdout.suffix(3000))")
        #expect(meridian.process?.isRunning == true && knot.process?.isRunning == true, "\(meridian.logText)\n\(knot.logText)")
    }

    @Test("a secondary without a stored copy answers SERVFAIL until its first transfer", .timeLimit(.minutes(2)))
    func noCopyAnswersServfail() throws {
        let dir = try Self.temporaryDirectory("secondary-nocopy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try E2E.freePort()
        let primaryPort = try E2E.freePort()  // nothing listens there
        let meridian = try Secondary(dir: dir, port: port, zones: """
              - origin: sec.example.
                file: store/sec.example.zone
                primaries: ["127.0.0.1:\(primaryPort)"]

            """)
        defer { meridian.stop() }
        let r = try Self.query(port, "www.sec.example.", "A")
        #expect(r.status == "SERVFAIL", "\(r)")
        #expect(try Self.query(port, "www.other.example.", "A").status == "REFUSED")
        let logged = E2E.eventually(10) { meridian.logText.contains("primary=127.0.0.1:\(primaryPort)") }
        #expect(logged, "\(meridian.logText)")
    }

    /// Sends a NOTIFY for fake.example. to Meridian at `server` (signed with `key`) and returns the RCODE.
    static func notify(_ port: UInt16, server: String = "127.0.0.1", key: String? = nil) throws -> String {
        // The RCODE is read from the raw answer: dnspython would reject an unsigned NOTAUTH (BADSIG).
        var script = "import socket, dns.message, dns.opcode, dns.rcode, dns.tsigkeyring\n"
        script += "m = dns.message.make_query('fake.example.', 'SOA'); m.set_opcode(dns.opcode.NOTIFY)\n"
        if let key { script += "m.use_tsig(dns.tsigkeyring.from_text({'xfr-key.': ('hmac-sha256', '\(key)')}), keyname='xfr-key.')\n" }
        script += "s = socket.socket(socket.AF_INET6 if ':' in '\(server)' else socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)\n"
        script += "s.sendto(m.to_wire(), ('\(server)', \(port)))\n"
        script += "data = s.recv(65535)\n"
        script += "assert data[:2] == m.to_wire()[:2] and data[2] & 0x80\n"
        script += "print(dns.rcode.to_text(data[3] & 15))\n"
        let r = try E2E.run(try E2E.python(), ["-c", script], timeout: 20)
        return (r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("bad transfers from a primary (cut short, malformed, serial backwards, broken TSIG MAC mid-stream) and NOTIFYs not allowed are each refused, the old data still served, with a log line",
          .timeLimit(.minutes(3)))
    func badPrimary() throws {
        let dir = try Self.temporaryDirectory("secondary-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try E2E.freePort()
        let primaryPort = try E2E.freePort()
        let modeFile = dir.appendingPathComponent("mode")
        try "good 10".write(to: modeFile, atomically: true, encoding: .utf8)
        let fake = Process()
        fake.executableURL = URL(fileURLWithPath: try E2E.python())
        fake.arguments = [Self.fakePrimary, "\(primaryPort)", modeFile.path, "xfr-key.", Self.secret]
        let fakeLog = dir.appendingPathComponent("fake.log")
        _ = FileManager.default.createFile(atPath: fakeLog.path, contents: nil)
        let handle = try FileHandle(forWritingTo: fakeLog)
        fake.standardOutput = handle
        fake.standardError = handle
        try fake.run()
        // SIGKILL: the test runner's blocked signals are inherited, so SIGTERM would not end Python.
        defer { if fake.isRunning { kill(fake.processIdentifier, SIGKILL); fake.waitUntilExit() } }
        let fakeText = { (try? String(contentsOf: fakeLog, encoding: .utf8)) ?? "" }
        #expect(E2E.eventually(10) { fakeText().contains("ready") }, "\(fakeText())")

        let adminPort = try E2E.freePort()
        let meridian = try Secondary(dir: dir, port: port, zones: """
              - origin: fake.example.
                file: store/fake.example.zone
                primaries: ["127.0.0.1:\(primaryPort)"]
                primary-key: xfr-key

            """, extra: "tsig-keys:\n  - { name: xfr-key, algorithm: hmac-sha256, secret: \(Self.secret) }\n"
                + "admin: { listen: \"127.0.0.1:\(adminPort)\", token: s3cret }\n")
        defer { meridian.stop() }
        let www = { try Self.query(port, "www.fake.example.", "A").answer }
        #expect(try E2E.eventually(15) { try www().contains { $0.hasSuffix("192.0.2.10") } }, "\(meridian.logText)\n\(fakeText())")
        #expect(try Self.query(port, "h399.fake.example.", "TXT").status == "NOERROR")

        let cases: [(mode: String, reason: String)] = [
            ("truncated 11", "the stream ended before the final SOA"),
            ("malformed 12", "IXFR message 2: malformed message"),
            ("good 3", "the primary's serial 3 is older than ours (10)"),
            ("badmac 13", "the TSIG MAC does not verify (BADSIG)"),
        ]
        for (mode, reason) in cases {
            try mode.write(to: modeFile, atomically: true, encoding: .utf8)
            #expect(try Self.notify(port, key: Self.secret) == "NOERROR", "\(mode)")
            let logged = E2E.eventually(10) {
                meridian.logText.split(separator: "\n").contains {
                    $0.contains("refresh failed, old data still serving") && $0.contains("primary=127.0.0.1:\(primaryPort)") && $0.contains(reason)
                }
            }
            #expect(logged, "\(mode): no log line with \"\(reason)\":\n\(meridian.logText.suffix(3000))\n\(fakeText().suffix(1000))")
            #expect(try www().contains { $0.hasSuffix("192.0.2.10") }, "\(mode): the old data is not served")
            #expect(try Self.query(port, "fake.example.", "SOA").answer.contains { $0.contains(" 10 3600 1 3600 60") }, "\(mode)")
        }
        // A NOTIFY from an address that is not a primary (::1), unsigned, or signed with a wrong key.
        #expect(try Self.notify(port, server: "::1", key: Self.secret) == "REFUSED")
        #expect(try Self.notify(port) == "REFUSED")
        #expect(try Self.notify(port, key: "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXIteHg=") == "NOTAUTH")
        let refusedLogged = E2E.eventually(5) {
            meridian.logText.contains("msg=\"secondary: NOTIFY refused\" client=::1") && meridian.logText.contains("zone=fake.example.")
        }
        #expect(refusedLogged, "\(meridian.logText.suffix(2000))")

        // A good transfer at last.
        try "good 14".write(to: modeFile, atomically: true, encoding: .utf8)
        #expect(try Self.notify(port, key: Self.secret) == "NOERROR")
        #expect(try E2E.eventually(10) { try www().contains { $0.hasSuffix("192.0.2.14") } }, "\(meridian.logText.suffix(2000))")

        // By hand: `meridian zone refresh` through the admin API; /status shows the secondary.
        try "good 15".write(to: modeFile, atomically: true, encoding: .utf8)
        let binary = try E2E.meridianBinary()
        let refresh = try E2E.run(binary, ["zone", "refresh", "--config", meridian.config.path, "fake.example."], timeout: 30)
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)")
        #expect(try E2E.eventually(10) { try www().contains { $0.hasSuffix("192.0.2.15") } }, "\(meridian.logText.suffix(2000))")
        #expect(meridian.logText.contains("reason=\"admin API\""), "\(meridian.logText.suffix(2000))")
        let unknown = try E2E.run(binary, ["zone", "refresh", "--config", meridian.config.path, "nosuch.example."], timeout: 30)
        #expect(unknown.status != 0 && unknown.stderr.contains("no secondary zone"), "\(unknown.stdout)\(unknown.stderr)")
        let status = try E2E.run(try E2E.tool("curl"), ["-s", "http://127.0.0.1:\(adminPort)/status"], timeout: 30)
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let secondaries = json?["secondaries"] as? [[String: Any]]
        #expect(secondaries?.count == 1, "\(status.stdout)")
        #expect(secondaries?.first?["serial"] as? Int == 15, "\(status.stdout)")
        #expect(secondaries?.first?["primary"] as? String == "127.0.0.1:\(primaryPort)", "\(status.stdout)")
        #expect(secondaries?.first?["expired"] as? Bool == false, "\(status.stdout)")
        #expect(secondaries?.first?["last_error"] == nil, "\(status.stdout)")
        let metrics = try E2E.run(try E2E.tool("curl"), ["-s", "http://127.0.0.1:\(adminPort)/metrics"], timeout: 30)
        #expect(metrics.stdout.contains("meridian_secondary_refresh_total{zone=\"fake.example.\",outcome=\"failed\"}")
                || metrics.stdout.contains("meridian_secondary_refresh_total{outcome=\"failed\",zone=\"fake.example.\"}"), "\(metrics.stdout.suffix(3000))")
        #expect(metrics.stdout.contains("meridian_zone_serial{zone=\"fake.example.\"} 15"), "\(metrics.stdout.suffix(3000))")
    }

    @Test("BIND as primary (ixfr-from-differences): AXFR at start, IXFR after an edit and SIGHUP with BIND's NOTIFY, answers equal to BIND's; a zone BIND transfers only with a TSIG key is transferred signed (BIND verifies the request, Meridian every message)",
          .timeLimit(.minutes(2)))
    func bindPrimary() throws {
        let named = try E2E.tool("named")
        let dir = try Self.temporaryDirectory("secondary-bind")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try E2E.freePort()
        let bindPort = try E2E.freePort()
        let bindDir = dir.appendingPathComponent("bind")
        try FileManager.default.createDirectory(at: bindDir, withIntermediateDirectories: true)
        let zoneFile = bindDir.appendingPathComponent("sec.example.zone")
        try Self.zone(serial: 1).write(to: zoneFile, atomically: true, encoding: .utf8)
        let signedFile = bindDir.appendingPathComponent("signed.example.zone")
        try Self.zone(serial: 7, www: "192.0.2.70").write(to: signedFile, atomically: true, encoding: .utf8)
        let conf = bindDir.appendingPathComponent("named.conf")
        try """
            options {
                directory "\(bindDir.path)";
                listen-on port \(bindPort) { 127.0.0.1; };
                listen-on-v6 { none; };
                pid-file "\(bindDir.path)/named.pid";
                recursion no;
                notify explicit;
                also-notify { 127.0.0.1 port \(port); };
                notify-source 127.0.0.1;
                allow-transfer { 127.0.0.1; };
                ixfr-from-differences yes;
                minimal-responses no-auth;   // as Knot and Meridian: no NS in the authority of positive answers
            };
            controls { };
            key "xfr-key" { algorithm hmac-sha256; secret "\(Self.secret)"; };
            zone "sec.example." { type primary; file "\(zoneFile.path)"; };
            zone "signed.example." { type primary; file "\(signedFile.path)"; allow-transfer { key xfr-key; }; notify no; };

            """.write(to: conf, atomically: true, encoding: .utf8)
        let log = bindDir.appendingPathComponent("named.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let bind = Process()
        bind.executableURL = URL(fileURLWithPath: named)
        bind.arguments = ["-g", "-c", conf.path, "-u", "root"]
        let handle = try FileHandle(forWritingTo: log)
        bind.standardOutput = handle
        bind.standardError = handle
        try bind.run()
        defer { if bind.isRunning { kill(bind.processIdentifier, SIGKILL); bind.waitUntilExit() } }
        let bindLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        #expect(try E2E.eventually(20) { try Self.query(bindPort, "sec.example.", "SOA").flags.contains("aa") }, "\(bindLog())")

        let meridian = try Secondary(dir: dir, port: port, zones: """
              - origin: sec.example.
                file: store/sec.example.zone
                primaries: ["127.0.0.1:\(bindPort)"]
              - origin: signed.example.
                file: store/signed.example.zone
                primaries: ["127.0.0.1:\(bindPort)"]
                primary-key: xfr-key

            """, extra: "tsig-keys:\n  - { name: xfr-key, algorithm: hmac-sha256, secret: \(Self.secret) }\n")
        defer { meridian.stop() }
        #expect(try E2E.eventually(15) { try Self.query(port, "www.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.10") } },
                "\(meridian.logText)\n\(bindLog())")
        #expect(meridian.logText.contains("kind=AXFR primary=127.0.0.1:\(bindPort)"), "\(meridian.logText)")
        try Self.sameAnswers(port, bindPort)
        // The signed zone: BIND refuses an unsigned AXFR of it, and Meridian's signed one succeeds.
        let unsigned = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(bindPort)", "signed.example.", "AXFR"], timeout: 10)
        #expect(!unsigned.stdout.contains("192.0.2.70") && (unsigned.stdout + unsigned.stderr).contains("REFUSED"),
                "\(unsigned.stdout)\n\(unsigned.stderr)")
        #expect(try E2E.eventually(15) { try Self.query(port, "www.signed.example.", "A").answer.contains { $0.hasSuffix("192.0.2.70") } },
                "\(meridian.logText)\n\(bindLog())")
        #expect(meridian.logText.contains("zone=signed.example.") && meridian.logText.contains("kind=AXFR primary=127.0.0.1:\(bindPort)"),
                "\(meridian.logText)")
        let signedLines = bindLog().split(separator: "\n").filter { $0.contains("signed.example") }
        #expect(signedLines.contains { $0.contains("key xfr-key") && $0.contains("transfer of 'signed.example/IN': AXFR started") },
                "\(signedLines.joined(separator: "\n"))")

        try Self.zone(serial: 2, www: "192.0.2.11", extra: "new IN A 192.0.2.77").write(to: zoneFile, atomically: true, encoding: .utf8)
        kill(bind.processIdentifier, SIGHUP)
        let followed = try E2E.eventually(5) {
            try Self.query(port, "new.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.77") }
        }
        #expect(followed, "\(meridian.logText)\n\(bindLog())")
        #expect(meridian.logText.contains("reason=NOTIFY"), "\(meridian.logText)")
        #expect(meridian.logText.contains("kind=\"IXFR (1 differences)\""), "\(meridian.logText)\n\(bindLog())")
        try Self.sameAnswers(port, bindPort)
    }

    @Test("NSD as primary: AXFR at start; after an edit and a restart of NSD, its NOTIFY brings the change, which NSD 4.6 (no IXFR out) answers AXFR-style and Meridian takes; answers equal to NSD's",
          .timeLimit(.minutes(2)))
    func nsdPrimary() throws {
        let nsd = try E2E.tool("nsd")
        let dir = try Self.temporaryDirectory("secondary-nsd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try E2E.freePort()
        let nsdPort = try E2E.freePort()
        let nsdDir = dir.appendingPathComponent("nsd")
        try FileManager.default.createDirectory(at: nsdDir, withIntermediateDirectories: true)
        let zoneFile = nsdDir.appendingPathComponent("sec.example.zone")
        try Self.zone(serial: 1).write(to: zoneFile, atomically: true, encoding: .utf8)
        let conf = nsdDir.appendingPathComponent("nsd.conf")
        try (PeerSecondary.nsdHead(dir: nsdDir, port: nsdPort) + """
            zone:
                name: sec.example.
                zonefile: sec.example.zone
                provide-xfr: 127.0.0.1 NOKEY
                notify: 127.0.0.1@\(port) NOKEY

            """).write(to: conf, atomically: true, encoding: .utf8)
        let out = nsdDir.appendingPathComponent("nsd.out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        // NSD 4.6 re-reads a zone file only when told over its control channel; a restart reads
        // it and sends NOTIFY to the zone's `notify` addresses.
        var process = Process()
        func startNSD() throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: nsd)
            process.arguments = ["-d", "-c", conf.path]
            let handle = try FileHandle(forWritingTo: out)
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }
        // SIGKILL: the test runner's blocked signals are inherited, so SIGTERM would not end it.
        func stopNSD() { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        try startNSD()
        defer { stopNSD() }
        let nsdLog = {
            ((try? String(contentsOf: nsdDir.appendingPathComponent("nsd.log"), encoding: .utf8)) ?? "")
                + ((try? String(contentsOf: out, encoding: .utf8)) ?? "")
        }
        #expect(try E2E.eventually(20) { try Self.query(nsdPort, "sec.example.", "SOA").flags.contains("aa") }, "\(nsdLog())")

        let meridian = try Secondary(dir: dir, port: port, zones: """
              - origin: sec.example.
                file: store/sec.example.zone
                primaries: ["127.0.0.1:\(nsdPort)"]

            """)
        defer { meridian.stop() }
        #expect(try E2E.eventually(15) { try Self.query(port, "www.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.10") } },
                "\(meridian.logText)\n\(nsdLog())")
        #expect(meridian.logText.contains("kind=AXFR primary=127.0.0.1:\(nsdPort)"), "\(meridian.logText)")
        try Self.sameAnswers(port, nsdPort, answerOnly: true)

        try Self.zone(serial: 2, www: "192.0.2.11", extra: "new IN A 192.0.2.77").write(to: zoneFile, atomically: true, encoding: .utf8)
        stopNSD()
        try startNSD()
        let followed = try E2E.eventually(10) {
            try Self.query(port, "new.sec.example.", "A").answer.contains { $0.hasSuffix("192.0.2.77") }
        }
        #expect(followed, "\(meridian.logText)\n\(nsdLog())")
        #expect(meridian.logText.contains("reason=NOTIFY"), "\(meridian.logText)")
        #expect(meridian.logText.contains("kind=\"AXFR-style IXFR\""), "\(meridian.logText)")
        try Self.sameAnswers(port, nsdPort, answerOnly: true)
    }
}
