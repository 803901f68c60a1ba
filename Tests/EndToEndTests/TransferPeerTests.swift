import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Knot, NSD and BIND as secondaries of Meridian (issue 10, item 5, for what Meridian does as a
/// primary): the AXFR at start, every answer equal to Meridian's own, the NOTIFY after a reload
/// served within 2 s, TSIG required and a wrong key refused, an address outside the ACL refused,
/// and NOTIFY's retries to a secondary that never answers.
@Suite(.serialized) struct TransferPeerTests {
    static let fixture = E2E.repo.appendingPathComponent("Tests/Fixtures/zones/transfer.zone")
    static let compare = E2E.repo.appendingPathComponent("Tests/Differential/peer_compare.py").path
    static let secret = ZoneTransferTests.secret
    static let otherSecret = ZoneTransferTests.otherSecret
    /// A secret for other-key that is not Meridian's.
    static let wrongSecret = "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3JvbmcteHg="

    /// A Meridian serving the fixture under four origins: open.example. (transfer to 127.0.0.1,
    /// NOTIFY to `notify`), signed.example. (127.0.0.0/8 with xfr-key, NOTIFY signed),
    /// wrongkey.example. (127.0.0.0/8 with other-key) and acl.example. (127.0.0.1 only).
    static func primary(notify: [UInt16], extra: String = "") throws -> MeridianProcess {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-peers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }  // MeridianProcess copies the files
        var zones: [(String, URL)] = []
        for origin in ["open.example.", "signed.example.", "wrongkey.example.", "acl.example."] {
            let copy = dir.appendingPathComponent(origin + "zone")
            try FileManager.default.copyItem(at: fixture, to: copy)
            zones.append((origin, copy))
        }
        let notifyList = notify.isEmpty ? "" : "    notify: [" + notify.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", ") + "]\n"
        let yaml = """
            tsig-keys:
              - { name: xfr-key, algorithm: hmac-sha256, secret: \(secret) }
              - { name: other-key, algorithm: hmac-sha256, secret: \(otherSecret) }

            """ + extra
        let keys = [
            "open.example.": "    transfer: { allow: [127.0.0.1/32] }\n" + notifyList,
            "signed.example.": "    transfer: { allow: [127.0.0.0/8], keys: [xfr-key] }\n" + notifyList,
            "wrongkey.example.": "    transfer: { allow: [127.0.0.0/8], keys: [other-key] }\n",
            "acl.example.": "    transfer: { allow: [127.0.0.1/32] }\n",
        ]
        return try MeridianProcess(zones: zones, extra: yaml, zoneKeys: keys)
    }

    /// peer_compare.py: every answer of the secondary for the zone's names equal to Meridian's.
    static func sameAnswers(_ zoneFile: URL, _ origin: String, meridian: UInt16, _ peer: PeerSecondary) throws -> E2E.Output {
        try E2E.run(try E2E.python(), [compare, "answers", zoneFile.path, origin, "\(meridian)", peer.kind.rawValue, "\(peer.port)"],
                    timeout: 300)
    }

    /// The zone file a test edits: the fixture with a new serial and one more name.
    static func edited(serial: UInt32, newName: String) throws -> String {
        var text = try String(contentsOf: fixture, encoding: .utf8)
        text = text.replacingOccurrences(of: "2024010101", with: "\(serial)")
        text += "\(newName) IN A 192.0.2.99\n"
        return text
    }

    /// The bytes and records kdig received for a transfer (`+stats`: "Received 224 B (1 messages, 5 records)").
    static func received(_ port: UInt16, _ origin: String, _ type: String) throws -> (bytes: Int, records: Int)? {
        let r = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(port)", "+noall", "+stats", origin, type], timeout: 30)
        guard let line = r.stdout.split(separator: "\n").first(where: { $0.contains("Received ") && $0.contains(" records)") }) else { return nil }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "(" })
        guard let b = words.firstIndex(of: "Received"), b + 1 < words.count, let bytes = Int(words[b + 1]),
              let r = words.firstIndex(where: { $0.hasPrefix("records") }), r > 0, let records = Int(words[r - 1]) else { return nil }
        return (bytes, records)
    }

    /// After the reload to serial 2024010102 (one A record added), the secondary took the change
    /// by IXFR, not AXFR: Meridian logged an incremental transfer of it before this test's own
    /// query, and its answer to the same question (IXFR from serial 2024010101) is the change alone, 5 records (the
    /// new SOA, the old SOA, the new SOA, the added A, the new SOA; RFC 1995 §4), in fewer bytes
    /// than its AXFR. Each secondary logs a transfer of open.example. (unsigned: a MAC would change
    /// the size) of exactly those bytes; Knot also names it IXFR, and BIND (at debug level 3) says
    /// it requested IXFR and got an incremental response, for the signed zone too.
    static func expectIXFR(_ peer: PeerSecondary, meridian: MeridianProcess) throws {
        let served = meridian.logText.split(separator: "\n").filter {
            $0.contains("msg=\"transfer out: done\"") && $0.contains("zone=open.example.") && $0.contains("serial=2024010102")
        }
        #expect(served.contains { $0.contains("kind=\"IXFR, incremental (1 versions)\"") && $0.contains("client=127.0.0.1") },
                "\(peer.kind): Meridian logged no incremental transfer of open.example.: \(served)")
        let ixfr = try Self.received(meridian.port, "open.example.", "IXFR=2024010101")
        let axfr = try Self.received(meridian.port, "open.example.", "AXFR")
        #expect(ixfr?.records == 5, "Meridian's IXFR from 2024010101: \(String(describing: ixfr))")
        guard let ixfr, let axfr, ixfr.bytes < axfr.bytes else {
            Issue.record("Meridian's IXFR answer \(String(describing: ixfr)) is not smaller than its AXFR \(String(describing: axfr))")
            return
        }
        let line: [String] = switch peer.kind {
        case .knot: ["[open.example.] IXFR, incoming", "finished", " \(ixfr.bytes) bytes"]
        case .nsd: ["zone open.example. received update to serial 2024010102", "of \(ixfr.bytes) bytes"]
        case .bind: ["transfer of 'open.example/IN'", "Transfer completed: 1 messages, 5 records, \(ixfr.bytes) bytes"]
        }
        let deadline = Date().addingTimeInterval(10)
        #expect(peer.waitLogLine(line, until: deadline),
                "\(peer.kind) logged no transfer of \(ixfr.bytes) bytes (Meridian's IXFR answer; its AXFR is \(axfr.bytes)) for open.example. serial 2024010102:\n\(peer.logText.suffix(6000))")
        if peer.kind == .bind {
            for zone in ["open.example", "signed.example"] {
                let asked = peer.waitLogLine(["transfer of '\(zone)/IN'", "requesting IXFR for serial 2024010101"], until: deadline)
                let incremental = peer.waitLogLine(["transfer of '\(zone)/IN'", "got incremental response"], until: deadline)
                #expect(asked && incremental, "bind did not take \(zone) by IXFR:\n\(peer.logText.suffix(6000))")
            }
        }
    }

    @Test("each standard secondary: AXFR at start, answers equal to Meridian's, TSIG required, a wrong key and an address outside the ACL refused, the NOTIFY after a reload served within 2 s and the change taken by IXFR",
          .timeLimit(.minutes(5)), arguments: PeerKind.allCases)
    func secondaryFollowsMeridian(kind: PeerKind) throws {
        let testStart = Date().addingTimeInterval(-1)
        let peerPort = try E2E.freePort()
        let server = try Self.primary(notify: [peerPort])
        defer { server.stop() }
        let zones = [
            SecondaryZone(origin: "open.example."),
            SecondaryZone(origin: "signed.example.", key: "xfr-key"),
            SecondaryZone(origin: "wrongkey.example.", key: "other-key"),
            SecondaryZone(origin: "acl.example.", source: "127.0.0.2"),
        ]
        let peer = try PeerSecondary(kind, port: peerPort, primaryPort: server.port, zones: zones,
                                     keys: ["xfr-key": Self.secret, "other-key": Self.wrongSecret])
        defer { peer.stop() }

        // AXFR at start, unsigned and signed.
        for origin in ["open.example.", "signed.example."] {
            let loaded = try peer.waitServing(origin, serial: 2024010101, until: Date().addingTimeInterval(30))
            #expect(loaded, "\(kind) did not load \(origin):\n\(peer.logText)\n\(server.logText)")
        }
        // Every answer for the zone's names as Meridian's.
        for origin in ["open.example.", "signed.example."] {
            let same = try Self.sameAnswers(Self.fixture, origin, meridian: server.port, peer)
            #expect(same.status == 0, "\(kind) \(origin):\n\(same.stdout)\(same.stderr)")
        }

        // The wrong key: Meridian answers NOTAUTH (BADSIG), the secondary says so and never serves
        // the zone; 127.0.0.2 is outside acl.example.'s ACL: REFUSED, logged.
        let tsigFailure: [PeerKind: [String]] = [
            .knot: ["[wrongkey.example.] refresh", "failed to verify TSIG"],
            .nsd: ["zone wrongkey.example.", "bad tsig signature"],
            .bind: ["zone wrongkey.example/IN: refresh: failure", "tsig indicates error"],
        ]
        let aclFailure: [PeerKind: [String]] = [
            .knot: ["[acl.example.] AXFR, incoming", "REFUSED"],
            .nsd: ["zone acl.example. received error code REFUSED"],
            .bind: ["transfer of 'acl.example/IN'", "Transfer status: REFUSED"],
        ]
        let sawTSIG = peer.waitLogLine(tsigFailure[kind]!, until: Date().addingTimeInterval(30))
        #expect(sawTSIG, "\(kind) logged no TSIG failure for wrongkey.example.:\n\(peer.logText)")
        let sawACL = peer.waitLogLine(aclFailure[kind]!, until: Date().addingTimeInterval(30))
        #expect(sawACL, "\(kind) logged no refusal for acl.example.:\n\(peer.logText)")

        // The NOTIFY after an edit and a reload: both zones served at the new serial within 2 s.
        let openFile = server.dir.appendingPathComponent("zones/open.example.zone")
        let signedFile = server.dir.appendingPathComponent("zones/signed.example.zone")
        try Self.edited(serial: 2024010102, newName: "added").write(to: openFile, atomically: true, encoding: .utf8)
        try Self.edited(serial: 2024010102, newName: "added").write(to: signedFile, atomically: true, encoding: .utf8)
        let reloaded = Date()
        kill(server.process.processIdentifier, SIGHUP)
        let bar = reloaded.addingTimeInterval(2)
        for origin in ["open.example.", "signed.example."] {
            let fresh = try peer.waitServing(origin, serial: 2024010102, until: bar)
            let now = try peer.soa(origin)
            #expect(fresh, "\(kind) did not serve \(origin) serial 2024010102 within 2 s of the reload (now \(now)):\n\(peer.logText)\n\(server.logText)")
        }
        let elapsed = Date().timeIntervalSince(reloaded)
        print("\(kind): both zones at the new serial \(String(format: "%.3f", elapsed)) s after SIGHUP")
        let added = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(peer.port)", "+short", "added.open.example.", "A"], timeout: 10)
        #expect(added.stdout.contains("192.0.2.99"), "\(kind): \(added.stdout)")
        #expect(server.logText.contains("notify: acknowledged"), "\(server.logText)")
        try Self.expectIXFR(peer, meridian: server)
        let editedCopy = server.dir.appendingPathComponent("edited.zone")
        try Self.edited(serial: 2024010102, newName: "added").write(to: editedCopy, atomically: true, encoding: .utf8)
        let again = try Self.sameAnswers(editedCopy, "open.example.", meridian: server.port, peer)
        #expect(again.status == 0, "\(kind) after the edit:\n\(again.stdout)\(again.stderr)")

        // Still never served: the zone with the wrong key and the one outside the ACL.
        for origin in ["wrongkey.example.", "acl.example."] {
            let s = try peer.soa(origin)
            #expect(!(s.status == "NOERROR" && s.aa), "\(kind) serves \(origin): \(s)\n\(peer.logText)")
        }
        // And Meridian itself refused 127.0.0.2 and the wrong MAC (NOTAUTH, TSIG error BADSIG), seen from kdig.
        let kdig = try E2E.tool("kdig")
        let fromOutside = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(server.port)", "-b", "127.0.0.2", "acl.example.", "AXFR"], timeout: 30)
        #expect(fromOutside.stdout.contains("REFUSED") || fromOutside.stderr.contains("REFUSED"), "\(fromOutside.stdout)\(fromOutside.stderr)")
        // BIND wrote nothing in its system directories (everything went to the temp dir).
        if kind == .bind {
            peer.stop()
            var written: [String] = []
            for d in ["/var/cache/bind", "/var/lib/bind", "/run/named", "/etc/bind"] {
                let e = FileManager.default.enumerator(at: URL(fileURLWithPath: d), includingPropertiesForKeys: [.contentModificationDateKey])
                while let f = e?.nextObject() as? URL {
                    if let m = try? f.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate, m > testStart {
                        written.append(f.path)
                    }
                }
            }
            #expect(written.isEmpty, "named wrote outside its temp dir: \(written)")
        }
        // TSIG required: an unsigned AXFR of signed.example. from 127.0.0.1 is REFUSED.
        let unsigned = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(server.port)", "signed.example.", "AXFR"], timeout: 30)
        #expect(unsigned.stdout.contains("REFUSED") || unsigned.stderr.contains("REFUSED"), "\(unsigned.stdout)\(unsigned.stderr)")
        let wrongMAC = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(server.port)", "-y", "hmac-sha256:other-key:\(Self.wrongSecret)", "wrongkey.example.", "AXFR"], timeout: 30)
        #expect(wrongMAC.stdout.contains("BADSIG") || wrongMAC.stderr.contains("BADSIG"), "\(wrongMAC.stdout)\(wrongMAC.stderr)")
    }

    /// A UDP socket on 127.0.0.1 that the test holds and never answers from, and its port.
    static func silentSocket() throws -> (Int32, UInt16) {
        for _ in 0..<20 {
            let port = try E2E.freePort()
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            a.sin_port = port.bigEndian
            let bound = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if bound { return (fd, port) }
            close(fd)
        }
        throw E2EError.setup("no UDP port to bind on 127.0.0.1")
    }

    /// One datagram from `fd` within `timeout` seconds, or nil.
    static func receive(_ fd: Int32, timeout: Double) -> [UInt8]? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(max(0, timeout) * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65535)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }

    @Test("NOTIFY to a secondary that never answers: 5 sends of the same NOTIFY, each wait longer than the last, then Meridian gives up, logged and counted in meridian_notify_total",
          .timeLimit(.minutes(2)))
    func notifyRetriesThenGivesUp() throws {
        let (fd, silentPort) = try Self.silentSocket()
        defer { close(fd) }
        // Read from before Meridian starts (it notifies at start), stamping each datagram as it comes.
        let received = Mutex<[([UInt8], Date)]>([])
        let stopReading = Mutex(false)
        let reader = DispatchGroup()
        reader.enter()
        DispatchQueue.global().async {
            while !stopReading.withLock({ $0 }) {
                if let m = Self.receive(fd, timeout: 0.2) { received.withLock { $0.append((m, Date())) } }
            }
            reader.leave()
        }
        defer { stopReading.withLock { $0 = true }; reader.wait() }
        let adminPort = try E2E.freePort()
        let server = try Self.primary(notify: [silentPort], extra: "admin: { listen: \"127.0.0.1:\(adminPort)\", token: s3cret }\n")
        defer { server.stop() }
        // Two zones notify the socket (open.example. unsigned, signed.example. signed): each is
        // sent 5 times with its own ID; 1 + 2 + 4 + 8 + 16 s after its first send Meridian gives up.
        func gaveUp() -> Int { server.logText.components(separatedBy: "notify: no answer, giving up").count - 1 }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && gaveUp() < 2 { usleep(100_000) }
        // Nothing more after giving up.
        let countAtGiveUp = received.withLock { $0.count }
        usleep(1_000_000)
        #expect(received.withLock { $0.count } == countAtGiveUp, "a NOTIFY after giving up")
        var arrivals: [String: [(Date, UInt16, Bool)]] = [:]
        for (m, at) in received.withLock({ $0 }) {
            #expect(m.count >= 12 && (m[2] >> 3) & 0x0F == 4 && m[2] & 0x80 == 0, "not a NOTIFY: \(m.prefix(12))")
            guard m.count >= 12 else { continue }
            // The question's name, from the wire (uncompressed labels after the header).
            var i = 12, labels: [String] = []
            while i < m.count, m[i] != 0, m[i] < 64, i + 1 + Int(m[i]) <= m.count {
                labels.append(String(decoding: m[(i + 1)...(i + Int(m[i]))], as: UTF8.self))
                i += 1 + Int(m[i])
            }
            let arcount = Int(m[10]) << 8 | Int(m[11])
            arrivals[labels.joined(separator: "."), default: []].append((at, UInt16(m[0]) << 8 | UInt16(m[1]), arcount > 0))
        }
        #expect(gaveUp() == 2, "Meridian did not give up on both zones within 60 s:\n\(server.logText)")
        for (zone, signed) in [("open.example", false), ("signed.example", true)] {
            let sends = arrivals[zone] ?? []
            #expect(sends.count == 5, "\(zone): \(sends.count) sends: \(arrivals.mapValues(\.count))")
            #expect(Set(sends.map(\.1)).count == 1, "\(zone): the retries changed the ID")
            #expect(sends.allSatisfy { $0.2 == signed }, "\(zone): signed \(sends.map(\.2)), expected \(signed)")
            let gaps = zip(sends.dropFirst(), sends).map { $0.0.0.timeIntervalSince($0.1.0) }
            print("notify retries to \(zone): gaps \(gaps.map { String(format: "%.2f", $0) }) s")
            #expect(zip(gaps.dropFirst(), gaps).allSatisfy { $0.0 > $0.1 }, "\(zone): the waits do not grow: \(gaps)")
        }
        let metrics = try OperationsTests.scrape("http://127.0.0.1:\(adminPort)/metrics")
        #expect(metrics["meridian_notify_total{outcome=sent}"] == 10, "\(metrics.filter { $0.key.hasPrefix("meridian_notify") })")
        #expect(metrics["meridian_notify_total{outcome=failed}"] == 2, "\(metrics.filter { $0.key.hasPrefix("meridian_notify") })")
        #expect((metrics["meridian_notify_total{outcome=acked}"] ?? 0) == 0)
        #expect(server.logText.contains("zone=open.example.") && server.logText.contains("attempts=5"), "\(server.logText)")
    }

    @Test("a 1,000,000-record zone transferred to Knot, NSD and BIND: each secondary's copy, by AXFR, sorted, is Meridian's",
          .timeLimit(.minutes(15)))
    func millionRecordZone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-million-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let zone = dir.appendingPathComponent("bench.example.zone")
        let gen = try E2E.run(try E2E.python(), [E2E.repo.appendingPathComponent("Benchmarks/gen-zone.py").path,
                                                 "--records", "1000000", "-o", zone.path], timeout: 300)
        #expect(gen.status == 0, "\(gen.stderr)")
        let started = Date()
        let server = try MeridianProcess(zones: [("bench.example.", zone)],
                                         zoneKeys: ["bench.example.": "    transfer: { allow: [127.0.0.1/32] }\n"], readyTimeout: 600)
        defer { server.stop() }
        let loaded = Date()
        print("million: meridian loaded in \(String(format: "%.1f", loaded.timeIntervalSince(started))) s")
        let sorted = { (port: UInt16, name: String) throws -> URL in
            let out = dir.appendingPathComponent("\(name).sorted")
            let r = try E2E.run("/bin/sh", ["-c", "\(try E2E.tool("kdig")) @127.0.0.1 -p \(port) +noall +answer bench.example. AXFR | LC_ALL=C sort > \(out.path)"],
                                timeout: 600)
            #expect(r.status == 0, "\(r.stderr)")
            return out
        }
        let fromMeridian = try sorted(server.port, "meridian")
        // gen-zone.py writes one record a line (comments and blank lines aside): about 1,000,000.
        let records = try String(contentsOf: zone, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix(";") && !$0.hasPrefix("$") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        #expect(records >= 1_000_000, "gen-zone.py wrote \(records) records")
        let lines = try String(contentsOf: fromMeridian, encoding: .utf8).split(separator: "\n").count
        #expect(lines == records + 1, "Meridian's AXFR has \(lines) records (the zone's \(records) and the closing SOA expected)")
        for kind in [PeerKind.knot, .nsd, .bind] {
            let port = try E2E.freePort()
            let zones = [SecondaryZone(origin: "bench.example.")]
            let t0 = Date()
            let peer = try PeerSecondary(kind, port: port, primaryPort: server.port, zones: zones)
            defer { peer.stop() }
            let served = try peer.waitServing("bench.example.", until: Date().addingTimeInterval(600))
            #expect(served, "\(kind) did not load the 1,000,000-record zone within 600 s:\n\(peer.logText.suffix(3000))")
            print("million: \(kind) served the zone \(String(format: "%.1f", Date().timeIntervalSince(t0))) s after it started")
            let copy = try sorted(peer.port, kind.rawValue)
            let same = try E2E.run("/usr/bin/cmp", [fromMeridian.path, copy.path], timeout: 120)
            #expect(same.status == 0, "\(kind)'s copy differs from Meridian's: \(same.stdout)\(same.stderr)")
            print("million: \(kind)'s copy compared in \(String(format: "%.1f", Date().timeIntervalSince(t0))) s from its start")
            try? FileManager.default.removeItem(at: copy)
        }
    }
}
