import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A meridian primary in a temporary directory that the test edits, reloads (SIGHUP) and restarts
/// over the same files, so its journal directory outlives the process.
private final class Primary {
    let dir: URL
    let port: UInt16
    let zoneFile: URL
    let log: URL
    private var process: Process?

    init(zone: String, zoneKeys: String, transfer: String = "{ allow: [127.0.0.1/32] }", extra: String = "") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-ixfr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        port = try E2E.freePort()
        zoneFile = dir.appendingPathComponent("ixfr.example.zone")
        log = dir.appendingPathComponent("meridian.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        try zone.write(to: zoneFile, atomically: true, encoding: .utf8)
        let yaml = """
            listen: ["127.0.0.1:\(port)", "[::1]:\(port)"]
            workers: 1
            \(extra)
            zones:
              - origin: ixfr.example.
                file: ixfr.example.zone
                transfer: \(transfer)
            \(zoneKeys)
            """
        try yaml.write(to: dir.appendingPathComponent("meridian.yaml"), atomically: true, encoding: .utf8)
        try start()
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try E2E.meridianBinary())
        p.arguments = ["serve", "--config", dir.appendingPathComponent("meridian.yaml").path]
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard p.isRunning else { throw E2EError.setup("meridian exited:\n\(logText)") }
            if (try? soaSerial(port)) != nil { return }
            usleep(100_000)
        }
        throw E2EError.setup("meridian did not answer within 30 s:\n\(logText)")
    }

    func stop() {
        if let p = process, p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
        process = nil
    }

    /// Writes `zone` and reloads; returns the log lines the reload wrote, once it is done or rejected.
    @discardableResult
    func reload(_ zone: String) throws -> String {
        try zone.write(to: zoneFile, atomically: true, encoding: .utf8)
        let before = logText.count
        guard let pid = process?.processIdentifier else { throw E2EError.setup("not running") }
        kill(pid, SIGHUP)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let new = String(logText.dropFirst(before))
            if new.contains("reload: done") || new.contains("reload: rejected") { return new }
            usleep(20_000)
        }
        throw E2EError.setup("no reload within 10 s:\n\(logText)")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// The serial of the SOA the server on `port` answers for ixfr.example., nil when it does not.
private func soaSerial(_ port: UInt16, name: String = "ixfr.example.") throws -> UInt32? {
    let r = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(port)", "+time=1", "+retry=0", "+short", name, "SOA"], timeout: 5)
    let fields = r.stdout.split(whereSeparator: \.isWhitespace)
    return fields.count >= 3 ? UInt32(fields[2]) : nil
}

/// A version of the test zone: `serial`, and `hosts` A records h0…h(n-1) whose last octet is `octet`.
private func zone(serial: UInt32, hosts: Int = 3, octet: Int = 1, extra: String = "") -> String {
    var text = "$TTL 300\n@ IN SOA ns1 hostmaster \(serial) 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n"
    for i in 0..<hosts { text += "h\(i) IN A 192.0.2.\(octet)\n" }
    return text + extra
}

/// One kdig IXFR over TCP: the answer records as (type, SOA serial).
private func kdigIXFR(_ port: UInt16, serial: UInt32) throws -> (records: [(type: String, serial: UInt32?)], text: String) {
    let args = ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", "+tcp", "ixfr.example.", "IXFR=\(serial)"]
    let r = try E2E.run(try E2E.tool("kdig"), args, timeout: 30)
    var records: [(String, UInt32?)] = []
    for line in r.stdout.split(separator: "\n") where !line.hasPrefix(";") {
        let f = line.split(whereSeparator: \.isWhitespace)
        guard f.count >= 5 else { continue }
        records.append((String(f[3]), f[3] == "SOA" && f.count >= 7 ? UInt32(f[6]) : nil))
    }
    return (records, r.stdout + r.stderr)
}

/// One dig IXFR over UDP, not retried over TCP: the answer as (type, SOA serial) and the flags.
private func digUDP(_ port: UInt16, serial: UInt32) throws -> (records: [(type: String, serial: UInt32?)], flags: Set<String>, text: String) {
    let r = try E2E.run(try E2E.tool("dig"), ["@127.0.0.1", "-p", "\(port)", "+notcp", "+ignore", "+noall", "+comments", "+answer",
                                              "ixfr.example.", "IXFR=\(serial)"], timeout: 30)
    let parsed = DigResponse.parseDig(r.stdout)
    let records = parsed.answer.map { line -> (type: String, serial: UInt32?) in
        let f = line.split(separator: " ")
        return (f.count > 3 ? String(f[3]) : "", f.count > 6 && f[3] == "SOA" ? UInt32(f[6]) : nil)
    }
    return (records, parsed.flags, r.stdout + r.stderr)
}

/// Outgoing IXFR (RFC 1995) from the journal, over TCP and UDP, against kdig, dnspython and Knot;
/// the journal surviving a restart; the serial policy and a backwards serial on reload.
@Suite(.serialized) struct IXFRTests {
    static let helper = E2E.repo.appendingPathComponent("Tests/Differential/ixfr_check.py").path

    /// dnspython applies Meridian's IXFR answer from `old` (the client's zone file) and compares
    /// the result with `new`.
    static func apply(_ port: UInt16, old: String, new: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ixfr-apply-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (a, b) = (dir.appendingPathComponent("old.zone"), dir.appendingPathComponent("new.zone"))
        try old.write(to: a, atomically: true, encoding: .utf8)
        try new.write(to: b, atomically: true, encoding: .utf8)
        let r = try E2E.run(try E2E.python(), [helper, "apply", "ixfr.example.", "\(port)", a.path, b.path], timeout: 60)
        return r.stdout + r.stderr
    }

    @Test("kdig and dnspython over TCP: current or newer → the SOA; covered → the changes, which dnspython applies to get the new zone; too old → the whole zone; a restart still answers from the journal",
          .timeLimit(.minutes(3)))
    func ixfrOverTCP() throws {
        let v10 = zone(serial: 10), v11 = zone(serial: 11, octet: 2), v12 = zone(serial: 12, octet: 2, extra: "new IN TXT \"added in 12\"\n")
        let primary = try Primary(zone: v10, zoneKeys: "")
        #expect(try primary.reload(v11).contains("reload: done"))
        #expect(try primary.reload(v12).contains("reload: done"))
        #expect(try soaSerial(primary.port) == 12)

        for serial: UInt32 in [12, 13] {
            let current = try kdigIXFR(primary.port, serial: serial)
            #expect(current.records.count == 1 && current.records.first?.serial == 12, "IXFR=\(serial): \(current.text)")
        }
        func checkCovered() throws {
            let covered = try kdigIXFR(primary.port, serial: 10)
            // SOA 12; SOA 10, 3 removed, SOA 11, 3 added; SOA 11, SOA 12, 1 added; SOA 12.
            #expect(covered.records.compactMap(\.serial) == [12, 10, 11, 11, 12, 12], "\(covered.text)")
            #expect(covered.records.count == 6 + 3 + 3 + 1, "\(covered.text)")
            #expect(!covered.text.contains("WARNING"), "\(covered.text)")
            #expect(try kdigIXFR(primary.port, serial: 11).records.compactMap(\.serial) == [12, 11, 12, 12])
            for (old, name) in [(v10, "10"), (v11, "11")] {
                let applied = try Self.apply(primary.port, old: old, new: v12)
                #expect(applied.hasPrefix("ok incremental 7 records"), "from \(name): \(applied)")
            }
        }
        try checkCovered()
        // Too old for the journal: the whole zone inside the IXFR answer (RFC 1995 §4).
        let old = try kdigIXFR(primary.port, serial: 9)
        #expect(old.records.first?.serial == 12 && old.records.dropFirst().first?.type == "NS" && old.records.last?.serial == 12, "\(old.text)")
        #expect(old.records.count == 8, "\(old.text)")
        #expect(try Self.apply(primary.port, old: zone(serial: 9, hosts: 1), new: v12).hasPrefix("ok axfr-style 7 records"))

        // The journal is on disk: after a restart the same answers.
        primary.stop()
        let files = try FileManager.default.contentsOfDirectory(atPath: primary.dir.appendingPathComponent("journal").path)
        #expect(files == ["ixfr.example.journal"])
        try primary.start()
        try checkCovered()
    }

    @Test("IXFR over UDP (dig): current → the SOA; a small change fits → the changes; a large one → the SOA with TC=1 (dig then gets it over TCP); a client outside the transfer ACL → REFUSED",
          .timeLimit(.minutes(2)))
    func ixfrOverUDP() throws {
        let primary = try Primary(zone: zone(serial: 1), zoneKeys: "")
        try primary.reload(zone(serial: 2, octet: 9, extra: "one IN TXT \"small change\"\n"))
        let current = try digUDP(primary.port, serial: 2)
        #expect(current.records.count == 1 && current.records.first?.serial == 2 && !current.flags.contains("tc"), "\(current.text)")
        #expect(current.flags.contains("aa"), "\(current.text)")
        let small = try digUDP(primary.port, serial: 1)
        #expect(small.records.compactMap(\.serial) == [2, 1, 2, 2] && !small.flags.contains("tc"), "\(small.text)")
        #expect(small.records.count == 4 + 3 + 4, "\(small.text)")

        // 200 records changed: far over 1232 bytes. The SOA alone with TC=1 (RFC 1995 §2).
        try primary.reload(zone(serial: 3, hosts: 200, octet: 7))
        let large = try digUDP(primary.port, serial: 2)
        #expect(large.flags.contains("tc") && large.records.count == 1 && large.records.first?.serial == 3, "\(large.text)")
        // dig retries over TCP and gets the changes (about 4 KB, more than UDP carried):
        // SOA 3; SOA 2, 4 removed, SOA 3, 200 added; SOA 3.
        let retried = try E2E.run(try E2E.tool("dig"), ["@127.0.0.1", "-p", "\(primary.port)", "+notcp", "ixfr.example.", "IXFR=2"], timeout: 30)
        let lines = retried.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") && $0.contains("\tIN\t") }
        #expect(lines.count == 4 + 4 + 200, "\(retried.stdout)")

        // From ::1, outside allow: REFUSED over UDP as over TCP.
        for transport in ["+notcp", "+tcp"] {
            let refused = try E2E.run(try E2E.tool("kdig"), ["@::1", "-p", "\(primary.port)", transport, "+ignore", "ixfr.example.", "IXFR=2"], timeout: 30)
            #expect((refused.stdout + refused.stderr).contains("REFUSED"), "\(transport): \(refused.stdout)\(refused.stderr)")
        }
        // Ordinary queries over UDP are unaffected.
        let a = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(primary.port)", "+short", "h0.ixfr.example.", "A"], timeout: 10)
        #expect(a.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "192.0.2.7")
    }

    @Test("a reload with a serial that goes backwards is refused with the SOA's file:line and the old zone keeps serving; serial-policy increment raises the serial of an edit without one",
          .timeLimit(.minutes(2)))
    func serialPolicy() throws {
        let keep = try Primary(zone: zone(serial: 2026_120_105), zoneKeys: "")
        let refused = try keep.reload(zone(serial: 2026_120_104, octet: 3))
        #expect(refused.contains("reload: rejected"), "\(refused)")
        #expect(refused.contains("\(keep.zoneFile.path):2: the SOA serial 2026120104 is not newer than the serial 2026120105 served"), "\(refused)")
        #expect(try soaSerial(keep.port) == 2026_120_105)
        let a = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(keep.port)", "+short", "h0.ixfr.example.", "A"], timeout: 10)
        #expect(a.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "192.0.2.1")
        // keep: an edit without a new serial is served, with a warning naming the file.
        let warned = try keep.reload(zone(serial: 2026_120_105, octet: 4))
        #expect(warned.contains("reload: done") && warned.contains("\(keep.zoneFile.path):2: warning: zone ixfr.example. changed but its SOA serial 2026120105 did not"), "\(warned)")
        #expect(try soaSerial(keep.port) == 2026_120_105)

        let inc = try Primary(zone: zone(serial: 7), zoneKeys: "    serial-policy: increment\n")
        try inc.reload(zone(serial: 7, octet: 5))
        #expect(try soaSerial(inc.port) == 8)
        // Unchanged content: the raised serial stays; another edit raises it again, even with the
        // file's serial below the served one.
        try inc.reload(zone(serial: 7, octet: 5) + "; a comment only\n")
        #expect(try soaSerial(inc.port) == 8)
        try inc.reload(zone(serial: 3, octet: 6))
        #expect(try soaSerial(inc.port) == 9)
        // Queries, AXFR and IXFR see the raised serial, and IXFR carries the edits.
        let ixfr = try kdigIXFR(inc.port, serial: 7)
        #expect(ixfr.records.compactMap(\.serial) == [9, 7, 8, 8, 9, 9], "\(ixfr.text)")
        #expect(try Self.apply(inc.port, old: zone(serial: 7), new: zone(serial: 9, octet: 6)).hasPrefix("ok incremental"))
        // A restart reads the same file (serial 3) and serves serial 9 again: the journal knows it.
        inc.stop()
        try inc.start()
        #expect(try soaSerial(inc.port) == 9)
        #expect(try kdigIXFR(inc.port, serial: 8).records.compactMap(\.serial) == [9, 8, 9, 9])
    }

    @Test("a TSIG-signed IXFR of several messages is signed in every one (kdig verifies); unsigned → REFUSED, a wrong secret → NOTAUTH/BADSIG",
          .timeLimit(.minutes(2)))
    func signedIXFR() throws {
        let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg="
        let primary = try Primary(
            zone: zone(serial: 1), zoneKeys: "", transfer: "{ allow: [127.0.0.1/32], keys: [xfr-key] }",
            extra: "tsig-keys:\n  - { name: xfr-key, algorithm: hmac-sha256, secret: \(secret) }\n")
        // 3,000 new TXT records: more than one 64 KiB message.
        var bulk = ""
        for i in 0..<3000 { bulk += "t\(i) IN TXT \"padding so that the increment needs several messages \(i)\"\n" }
        #expect(try primary.reload(zone(serial: 2, extra: bulk)).contains("reload: done"))
        let kdig = try E2E.tool("kdig")
        let signed = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(primary.port)", "-y", "hmac-sha256:xfr-key:\(secret)", "+tcp", "+noall", "+answer", "+stats",
                                        "ixfr.example.", "IXFR=1"], timeout: 60)
        let lines = signed.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") && $0.contains("\tIN\t") }
        #expect(lines.count == 4 + 3000, "\(signed.stdout.suffix(500))\(signed.stderr)")
        #expect(!signed.stdout.contains("WARNING") && !signed.stderr.contains("WARNING") && !signed.stderr.contains("TSIG"), "\(signed.stderr)")
        let messages = signed.stdout.split(separator: "\n").first { $0.contains("Received") && $0.contains("messages") }
        #expect(messages.map { !$0.contains(" 1 messages") && !$0.contains("(1 messages") } ?? false, "\(signed.stdout.suffix(300))")
        let unsigned = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(primary.port)", "+tcp", "ixfr.example.", "IXFR=1"], timeout: 30)
        #expect((unsigned.stdout + unsigned.stderr).contains("REFUSED"), "\(unsigned.stdout)\(unsigned.stderr)")
        let wrong = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(primary.port)", "-y", "hmac-sha256:xfr-key:b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXIteHg=",
                                       "+tcp", "ixfr.example.", "IXFR=1"], timeout: 30)
        // NOTAUTH with TSIG error BADSIG, which kdig reports by the TSIG error's name.
        #expect((wrong.stdout + wrong.stderr).contains("BADSIG"), "\(wrong.stdout)\(wrong.stderr)")
    }

    @Test("Knot as a secondary: after an edit and a reload, NOTIFY brings it the change by IXFR within 2 s, and it answers the changed name like Meridian",
          .timeLimit(.minutes(2)))
    func knotFollowsByIXFR() throws {
        let kdig = try E2E.tool("kdig")
        let knotPort = try E2E.freePort()
        let primary = try Primary(zone: zone(serial: 100), zoneKeys: "    notify: [\"127.0.0.1:\(knotPort)\"]\n")
        let knotDir = primary.dir.appendingPathComponent("knot")
        try FileManager.default.createDirectory(at: knotDir, withIntermediateDirectories: true)
        let knot = try KnotDaemon(dir: knotDir, port: knotPort, config: KnotDaemon.head(dir: knotDir, port: knotPort) + """
            remote:
              - id: meridian
                address: 127.0.0.1@\(primary.port)
            acl:
              - id: notify-from-meridian
                address: 127.0.0.1
                action: notify
            template:
              - id: default
                storage: \(knotDir.path)
                zonefile-sync: -1
                zonefile-load: none
            zone:
              - domain: ixfr.example.
                master: meridian
                acl: notify-from-meridian

            """)
        defer { knot.stop() }
        let logText = { knot.logText }

        #expect(E2E.eventually(30) { (try? soaSerial(knotPort)) == 100 }, "Knot did not load the zone:\n\(logText())")
        #expect(logText().contains("AXFR, incoming"), "\(logText())")

        let before = logText().count
        let started = Date()
        try primary.reload(zone(serial: 101, extra: "changed IN A 192.0.2.101\n"))
        let deadline = started.addingTimeInterval(2)
        var answer = ""
        while Date() < deadline {
            answer = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(knotPort)", "+short", "changed.ixfr.example.", "A"], timeout: 5).stdout
            if !answer.isEmpty { break }
            usleep(50_000)
        }
        let elapsed = Date().timeIntervalSince(started)
        let after = String(logText().dropFirst(before))
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "192.0.2.101", "after \(elapsed) s:\n\(after)\n\(primary.logText)")
        #expect(after.contains("IXFR, incoming") && after.contains("finished") && !after.contains("AXFR"), "\(after)")
        #expect(try soaSerial(knotPort) == 101)
        // Knot answers the changed and unchanged names like Meridian.
        for (name, type) in [("changed.ixfr.example.", "A"), ("h1.ixfr.example.", "A"), ("ixfr.example.", "SOA"), ("ixfr.example.", "NS")] {
            func ask(_ port: UInt16) throws -> Set<String> {
                Set(DigResponse.parseKdig(try E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", name, type], timeout: 10).stdout).answer)
            }
            let (m, k) = (try ask(primary.port), try ask(knotPort))
            #expect(!m.isEmpty && m == k, "\(name) \(type): meridian \(m) knot \(k)")
        }
        print("Knot fetched the change by IXFR \(String(format: "%.2f", elapsed)) s after the reload began")
    }
}
