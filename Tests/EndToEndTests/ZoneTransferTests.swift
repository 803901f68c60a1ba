import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Outgoing AXFR (RFC 5936) against real peers: kdig and dnspython read the transfer and compare it
/// with the zone file as a set of records, SOA first and last; access control answers REFUSED;
/// TSIG-signed transfers are verified message by message by kdig and dnspython; and Knot, as a
/// secondary of Meridian, loads the zone by AXFR and then answers like Meridian.
@Suite(.serialized) struct ZoneTransferTests {
    static let fixture = E2E.repo.appendingPathComponent("Tests/Fixtures/zones/transfer.zone")
    static let helper = E2E.repo.appendingPathComponent("Tests/Differential/axfr_compare.py").path
    /// 32 bytes, base64 (as keymgr -t prints them).
    static let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg="
    static let otherSecret = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXIteHg="

    /// A meridian serving the fixture as open.example. (transfers to loopback), v6only.example.
    /// (transfers to ::1 only), closed.example. (no transfer key), signed.example. (loopback and
    /// the key xfr-key), and big.example. (5,000 records, for `bigZone`) when `big` is given.
    static func server(big: URL? = nil) throws -> (MeridianProcess, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-xfr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var zones: [(String, URL)] = []
        for origin in ["open.example.", "v6only.example.", "closed.example.", "signed.example."] {
            let copy = dir.appendingPathComponent(origin + "zone")
            try FileManager.default.copyItem(at: fixture, to: copy)
            zones.append((origin, copy))
        }
        if let big { zones.append(("big.example.", big)) }
        let extra = """
            tsig-keys:
              - { name: xfr-key, algorithm: hmac-sha256, secret: \(secret) }
              - { name: other-key, algorithm: hmac-sha256, secret: \(otherSecret) }

            """
        let keys = [
            "open.example.": "    transfer: { allow: [127.0.0.1/32, \"::1/128\"] }\n",
            "v6only.example.": "    transfer:\n      allow: [\"::1/128\"]\n",
            "signed.example.": "    transfer: { allow: [127.0.0.0/8], keys: [xfr-key] }\n",
            "big.example.": "    transfer: { allow: [127.0.0.1/32] }\n",
        ]
        return (try MeridianProcess(zones: zones, extra: extra, zoneKeys: keys), dir)
    }

    static func python(_ args: [String]) throws -> E2E.Output {
        try E2E.run(try E2E.python(), [helper] + args, timeout: 120)
    }

    /// kdig's AXFR output compared with the zone file by the helper.
    static func kdigMatches(_ port: UInt16, _ origin: String, _ zoneFile: String, extra: [String] = []) throws -> (E2E.Output, E2E.Output) {
        let kdig = try E2E.tool("kdig")
        let out = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", "+stats"] + extra + [origin, "AXFR"], timeout: 60)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-\(UUID().uuidString).txt")
        try out.stdout.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return (out, try python(["kdig", zoneFile, origin, file.path]))
    }

    @Test("kdig AXFR over TCP returns every record of the zone file, SOA first and last; dnspython agrees",
          .timeLimit(.minutes(2)))
    func kdigTransfersTheWholeZone() throws {
        let (server, dir) = try Self.server()
        defer { server.stop(); try? FileManager.default.removeItem(at: dir) }
        let (kdig, compared) = try Self.kdigMatches(server.port, "open.example.", Self.fixture.path)
        #expect(kdig.status == 0, "\(kdig.stdout)\(kdig.stderr)")
        #expect(!kdig.stdout.contains("WARNING") && !kdig.stderr.contains("WARNING"), "\(kdig.stdout)\(kdig.stderr)")
        #expect(compared.status == 0, "\(compared.stdout)\(compared.stderr)\n\(kdig.stdout)")
        #expect(compared.stdout.hasPrefix("ok 20 records"), "\(compared.stdout)")
        let xfr = try Self.python(["xfr", Self.fixture.path, "open.example.", "\(server.port)"])
        #expect(xfr.status == 0 && xfr.stdout.hasPrefix("ok 20 records in 1 messages"), "\(xfr.stdout)\(xfr.stderr)")
        // An ordinary query on the same server still answers as before.
        let dig = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(server.port)", "+tcp", "+short", "www.open.example.", "A"], timeout: 10)
        #expect(dig.stdout.contains("mail.open.example.") && dig.stdout.contains("192.0.2.2"), "\(dig.stdout)")
    }

    @Test("a zone of 5,000 records comes through whole in several messages", .timeLimit(.minutes(3)))
    func bigZoneNeedsSeveralMessages() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-xfr-big-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var text = "$TTL 300\n@ IN SOA ns1 hostmaster 7 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
        for i in 0..<5000 {
            text += "host\(i) IN A 10.\(i / 65536).\((i / 256) % 256).\(i % 256)\n"
            if i % 5 == 0 { text += "host\(i) IN TXT \"record number \(i) with some padding to make it longer\"\n" }
        }
        let big = dir.appendingPathComponent("big.example.zone")
        try text.write(to: big, atomically: true, encoding: .utf8)
        let (server, serverDir) = try Self.server(big: big)
        defer { server.stop(); try? FileManager.default.removeItem(at: serverDir) }
        let xfr = try Self.python(["xfr", big.path, "big.example.", "\(server.port)"])
        #expect(xfr.status == 0, "\(xfr.stdout)\(xfr.stderr)")
        #expect(xfr.stdout.hasPrefix("ok 6003 records"), "\(xfr.stdout)")
        let messages = Int(xfr.stdout.split(separator: " ").dropLast().last ?? "") ?? 0
        #expect(messages > 1, "\(xfr.stdout)")
        let (kdig, compared) = try Self.kdigMatches(server.port, "big.example.", big.path)
        #expect(kdig.status == 0 && compared.status == 0, "\(compared.stdout)\(compared.stderr)\(kdig.stderr)")
        #expect(kdig.stdout.contains("messages"), "\(kdig.stdout.suffix(300))")
    }

    @Test("a zone without transfer access, or a client outside it, gets REFUSED; AXFR over UDP is NOTIMP",
          .timeLimit(.minutes(2)))
    func refusedAndNotImplemented() throws {
        let (server, dir) = try Self.server()
        defer { server.stop(); try? FileManager.default.removeItem(at: dir) }
        let port = "\(server.port)"
        for origin in ["closed.example.", "v6only.example."] {
            let r = try Self.python(["rcode", origin, port, "tcp"])
            #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "REFUSED", "\(origin): \(r.stdout)\(r.stderr)")
        }
        // Not the apex of a zone served.
        let below = try Self.python(["rcode", "www.open.example.", port, "tcp"])
        #expect(below.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "REFUSED", "\(below.stdout)\(below.stderr)")
        let udp = try Self.python(["rcode", "open.example.", port, "udp"])
        #expect(udp.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "NOTIMP", "\(udp.stdout)\(udp.stderr)")
        // From ::1 the v6-only zone transfers.
        let kdig = try E2E.tool("kdig")
        let v6 = try E2E.run(kdig, ["@::1", "-p", port, "+noall", "+answer", "v6only.example.", "AXFR"], timeout: 30)
        #expect(v6.stdout.split(separator: "\n").filter { $0.contains("\tSOA\t") || $0.contains(" SOA ") }.count == 2, "\(v6.stdout)\(v6.stderr)")
        // kdig reports the refusal too.
        let refused = try E2E.run(kdig, ["@127.0.0.1", "-p", port, "closed.example.", "AXFR"], timeout: 30)
        #expect(refused.stdout.contains("REFUSED") || refused.stderr.contains("REFUSED"), "\(refused.stdout)\(refused.stderr)")
    }

    @Test("a TSIG-signed AXFR with an allowed key is signed in every message (kdig and dnspython verify); a wrong secret gets NOTAUTH; another key or none gets REFUSED",
          .timeLimit(.minutes(2)))
    func tsigSignedTransfers() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-xfr-tsig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Big enough for several signed messages.
        var text = "$TTL 300\n@ IN SOA ns1 hostmaster 7 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
        for i in 0..<3000 { text += "h\(i) IN TXT \"a signed transfer needs more than one message, so here is padding \(i)\"\n" }
        let big = dir.appendingPathComponent("big.example.zone")
        try text.write(to: big, atomically: true, encoding: .utf8)
        let (server, serverDir) = try Self.server(big: big)
        defer { server.stop(); try? FileManager.default.removeItem(at: serverDir) }
        let port = "\(server.port)"

        let (kdig, compared) = try Self.kdigMatches(server.port, "signed.example.", Self.fixture.path, extra: ["-y", "hmac-sha256:xfr-key:\(Self.secret)"])
        #expect(kdig.status == 0, "\(kdig.stdout)\(kdig.stderr)")
        #expect(!kdig.stdout.contains("WARNING") && !kdig.stderr.contains("WARNING") && !kdig.stderr.contains("TSIG"), "\(kdig.stdout)\(kdig.stderr)")
        #expect(compared.status == 0, "\(compared.stdout)\(compared.stderr)")
        let xfr = try Self.python(["xfr", Self.fixture.path, "signed.example.", port, "xfr-key", Self.secret])
        #expect(xfr.status == 0 && xfr.stdout.hasPrefix("ok 20 records"), "\(xfr.stdout)\(xfr.stderr)")

        // Several signed messages: big.example. allows 127.0.0.1 with any key or none, so a signed
        // request is answered signed.
        let (bigKdig, bigCompared) = try Self.kdigMatches(server.port, "big.example.", big.path, extra: ["-y", "hmac-sha256:xfr-key:\(Self.secret)"])
        #expect(bigKdig.status == 0 && !bigKdig.stderr.contains("WARNING") && bigCompared.status == 0,
                "\(bigCompared.stdout)\(bigCompared.stderr)\(bigKdig.stderr)")
        let bigXfr = try Self.python(["xfr", big.path, "big.example.", port, "xfr-key", Self.secret])
        #expect(bigXfr.status == 0, "\(bigXfr.stdout)\(bigXfr.stderr)")
        let messages = Int(bigXfr.stdout.split(separator: " ").dropLast().last ?? "") ?? 0
        #expect(messages > 1, "\(bigXfr.stdout)")

        let wrong = try Self.python(["rcode", "signed.example.", port, "tcp", "xfr-key", Self.otherSecret])
        #expect(wrong.stdout.hasPrefix("NOTAUTH"), "\(wrong.stdout)\(wrong.stderr)")
        let unknown = try Self.python(["rcode", "signed.example.", port, "tcp", "nobody-key", Self.secret])
        #expect(unknown.stdout.hasPrefix("NOTAUTH"), "\(unknown.stdout)\(unknown.stderr)")
        let other = try Self.python(["rcode", "signed.example.", port, "tcp", "other-key", Self.otherSecret])
        #expect(other.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "REFUSED", "\(other.stdout)\(other.stderr)")
        let unsigned = try Self.python(["rcode", "signed.example.", port, "tcp"])
        #expect(unsigned.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "REFUSED", "\(unsigned.stdout)\(unsigned.stderr)")
    }

    @Test("Knot as a secondary loads the zone from Meridian by AXFR and answers like Meridian", .timeLimit(.minutes(2)))
    func knotSecondary() throws {
        let kdig = try E2E.tool("kdig")
        let (server, dir) = try Self.server()
        defer { server.stop(); try? FileManager.default.removeItem(at: dir) }
        let knotPort = try E2E.freePort()
        let knotDir = dir.appendingPathComponent("knot")
        try FileManager.default.createDirectory(at: knotDir, withIntermediateDirectories: true)
        let knot = try KnotDaemon(dir: knotDir, port: knotPort, config: KnotDaemon.head(dir: knotDir, port: knotPort) + """
            key:
              - id: xfr-key
                algorithm: hmac-sha256
                secret: \(Self.secret)
            remote:
              - id: meridian
                address: 127.0.0.1@\(server.port)
              - id: meridian-signed
                address: 127.0.0.1@\(server.port)
                key: xfr-key
            template:
              - id: default
                storage: \(knotDir.path)
                zonefile-sync: -1
                zonefile-load: none
                journal-content: none
            zone:
              - domain: open.example.
                master: meridian
              - domain: signed.example.
                master: meridian-signed

            """)
        defer { knot.stop() }
        let logText = { knot.logText }

        // Both zones are loaded once Knot answers their SOA with AA.
        for origin in ["open.example.", "signed.example."] {
            let loaded = try E2E.eventually(30) { try knot.serves(origin) }
            #expect(loaded, "Knot did not load \(origin):\n\(logText())\n\(server.logText)")
        }
        #expect(logText().contains("AXFR"), "\(logText())")

        let questions: [(String, String)] = [
            ("open.example.", "SOA"), ("open.example.", "NS"), ("open.example.", "MX"), ("www.open.example.", "A"),
            ("x.wild.open.example.", "TXT"), ("a.b.c.open.example.", "A"), ("_sip._tcp.open.example.", "SRV"),
            ("text.open.example.", "TXT"), ("caa.open.example.", "CAA"), ("mail.open.example.", "A"),
            ("ns1.signed.example.", "AAAA"), ("sub.open.example.", "DS"),
        ]
        for (name, type) in questions {
            func ask(_ port: UInt16) throws -> Set<String> {
                let r = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", name, type], timeout: 10)
                return Set(DigResponse.parseKdig(r.stdout).answer)
            }
            let fromMeridian = try ask(server.port)
            let fromKnot = try ask(knotPort)
            #expect(!fromMeridian.isEmpty, "\(name) \(type)")
            #expect(fromMeridian == fromKnot, "\(name) \(type): meridian \(fromMeridian) knot \(fromKnot)")
        }
        // The referral and its glue, served by Knot from the transferred delegation.
        let referral = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(knotPort)", "+noall", "+authority", "+additional", "host.sub.open.example.", "A"], timeout: 10)
        #expect(referral.stdout.contains("ns.sub.open.example.") && referral.stdout.contains("192.0.2.53"), "\(referral.stdout)")
    }
}
