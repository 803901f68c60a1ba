import Foundation
import Testing

/// End-to-end tests: the real meridian binary, queried with dig and kdig over UDP and
/// TCP, IPv4 and IPv6. Expected sections come from the zone files in zones/ and the
/// RFCs (and agree with what Knot DNS answers for the same zones), never from
/// meridian's own output.

private let zones: [(String, URL)] = [
    ("example.com.", E2E.repo.appendingPathComponent("zones/example.com.zone")),
    ("sub.example.com.", E2E.repo.appendingPathComponent("zones/sub.example.com.zone")),
    ("example.net.", E2E.repo.appendingPathComponent("zones/example.net.zone")),
]

private let fixtureZones: [(String, URL)] = [
    ("example.org.", E2E.repo.appendingPathComponent("Tests/Fixtures/zones/example.org.zone")),
    ("child.example.org.", E2E.repo.appendingPathComponent("Tests/Fixtures/zones/child.example.org.zone")),
    ("example.net.", E2E.repo.appendingPathComponent("Tests/Fixtures/zones/example.net.zone")),
]

/// One query and its exact expected response sections.
struct Case: Sendable, CustomStringConvertible {
    var name: String
    var type: String
    var status = "NOERROR"
    var aa = true
    var answer: [String] = []
    var authority: [String] = []
    var additional: [String] = []
    var description: String { "\(name) \(type)" }
}

private let soaCom = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024060101 7200 3600 1209600 300"

/// RFC 1034 4.3.2 (answers, CNAME chains, referrals), RFC 2308 (negative answers: SOA TTL
/// = min(SOA TTL 3600, MINIMUM 300)), RFC 4592 (wildcards), RFC 6672 (DNAME), RFC 9471 (glue).
private let cases: [Case] = [
    Case(name: "www.example.com.", type: "A", answer: ["www.example.com. 3600 IN A 192.0.2.80"]),
    Case(name: "www.example.com.", type: "AAAA", answer: ["www.example.com. 3600 IN AAAA 2001:db8::80"]),
    Case(name: "nonexistent.example.com.", type: "A", status: "NXDOMAIN", authority: [soaCom]),
    Case(name: "www.example.com.", type: "MX", authority: [soaCom]),
    Case(name: "ftp.example.com.", type: "A", answer: [
        "ftp.example.com. 3600 IN CNAME files.example.com.",
        "files.example.com. 3600 IN CNAME www.example.com.",
        "www.example.com. 3600 IN A 192.0.2.80",
    ]),
    Case(name: "anything.wild.example.com.", type: "TXT",
         answer: ["anything.wild.example.com. 3600 IN TXT \"synthesized from *.wild.example.com\""]),
    Case(name: "a.b.wild.example.com.", type: "A", answer: ["a.b.wild.example.com. 3600 IN A 203.0.113.7"]),
    Case(name: "x.wild.example.com.", type: "AAAA", authority: [soaCom]),
    Case(name: "example.com.", type: "MX", answer: ["example.com. 3600 IN MX 10 mail.example.com."],
         additional: ["mail.example.com. 3600 IN A 192.0.2.25", "mail.example.com. 3600 IN AAAA 2001:db8::25"]),
    Case(name: "example.com.", type: "NS",
         answer: ["example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.example.com."],
         additional: ["ns1.example.com. 3600 IN A 192.0.2.53", "ns1.example.com. 3600 IN AAAA 2001:db8::53",
                      "ns2.example.com. 3600 IN A 198.51.100.53", "ns2.example.com. 3600 IN AAAA 2001:db8:1::53"]),
    Case(name: "_sip._tcp.example.com.", type: "SRV", answer: ["_sip._tcp.example.com. 3600 IN SRV 10 60 5060 sip.example.com."],
         additional: ["sip.example.com. 3600 IN A 192.0.2.60"]),
    Case(name: "example.com.", type: "TXT", answer: ["example.com. 3600 IN TXT \"v=spf1 mx -all\""]),
    // delegation to name servers outside the zone: a referral without glue
    Case(name: "www.partner.example.com.", type: "A", aa: false,
         authority: ["partner.example.com. 3600 IN NS ns1.example.net.", "partner.example.com. 3600 IN NS ns2.example.net."]),
    // the child zone is served too: answers come from it, authoritatively
    Case(name: "www.sub.example.com.", type: "A", answer: ["www.sub.example.com. 3600 IN A 192.0.2.180"]),
    Case(name: "sub.example.com.", type: "NS",
         answer: ["sub.example.com. 3600 IN NS ns1.sub.example.com.", "sub.example.com. 3600 IN NS ns2.sub.example.com."],
         additional: ["ns1.sub.example.com. 3600 IN A 192.0.2.153", "ns2.sub.example.com. 3600 IN AAAA 2001:db8:2::53"]),
    // DS is answered from the parent side of the cut (RFC 4035 3.1.4.1)
    Case(name: "sub.example.com.", type: "DS",
         answer: ["sub.example.com. 3600 IN DS 31589 13 2 3490A6806D47F17A34C29E2CE80E8A999FFBE4BE9C72BB3E4F9A7F8C 20C4D6AB"]),
    Case(name: "nothing.sub.example.com.", type: "A", status: "NXDOMAIN",
         authority: ["sub.example.com. 300 IN SOA ns1.sub.example.com. hostmaster.example.com. 2024060101 7200 3600 1209600 300"]),
    // DNAME: the DNAME and a synthesized CNAME; the target is in another zone
    Case(name: "www.legacy.example.net.", type: "A", answer: [
        "legacy.example.net. 3600 IN DNAME example.com.",
        "www.legacy.example.net. 3600 IN CNAME www.example.com.",
    ]),
    // names outside every zone
    Case(name: "www.example.org.", type: "A", status: "REFUSED", aa: false),
]

enum Transport: String, CaseIterable, Sendable {
    case udp4, udp6, tcp4, tcp6
    var server: String { rawValue.hasSuffix("6") ? "::1" : "127.0.0.1" }
    var tcp: Bool { rawValue.hasPrefix("tcp") }
}

private func dig(_ server: MeridianProcess, _ t: Transport, _ args: [String]) throws -> DigResponse {
    let dig = try E2E.tool("dig")
    var a = ["@\(t.server)", "-p", "\(server.port)", "+time=2", "+tries=1",
             "+noall", "+comments", "+answer", "+authority", "+additional"]
    if t.tcp { a.append("+tcp") }
    let r = try E2E.run(dig, a + args, timeout: 10)
    return DigResponse.parseDig(r.stdout)
}

private func expectCase(_ c: Case, _ r: DigResponse, sections: Bool = true, via: String) {
    let expectedFlags: Set<String> = c.aa ? ["qr", "aa", "rd"] : ["qr", "rd"]
    #expect(r.status == c.status, "\(c) via \(via): status\n\(r.raw)")
    #expect(r.flags == expectedFlags, "\(c) via \(via): flags\n\(r.raw)")
    #expect(Set(r.answer) == Set(c.answer.map(DigResponse.norm)) && r.answer.count == c.answer.count,
            "\(c) via \(via): answer\n\(r.raw)")
    if sections {
        #expect(Set(r.authority) == Set(c.authority.map(DigResponse.norm)) && r.authority.count == c.authority.count,
                "\(c) via \(via): authority\n\(r.raw)")
        #expect(Set(r.additional) == Set(c.additional.map(DigResponse.norm)) && r.additional.count == c.additional.count,
                "\(c) via \(via): additional\n\(r.raw)")
    }
}

@Suite("End to end: the meridian binary queried with dig and kdig", .serialized)
struct EndToEndTests {
    @Test("dig: every example-zone case, exact sections", arguments: Transport.allCases)
    func digCases(_ t: Transport) throws {
        let server = try MeridianProcess(zones: zones)
        defer { server.stop() }
        for c in cases {
            expectCase(c, try dig(server, t, [c.name, c.type]), via: "dig \(t)")
        }
        #expect(server.process.isRunning, "meridian exited:\n\(server.logText)")
    }

    @Test("kdig: status, flags and answers over UDP and TCP", arguments: [false, true])
    func kdigCases(_ tcp: Bool) throws {
        let kdig = try E2E.tool("kdig")
        let server = try MeridianProcess(zones: zones)
        defer { server.stop() }
        for (i, c) in cases.enumerated() {
            let host = i % 2 == 0 ? "127.0.0.1" : "::1"
            var args = ["@\(host)", "-p", "\(server.port)", "+time=2", "+retry=0", "+noall", "+header", "+answer"]
            if tcp { args.append("+tcp") }
            let out = try E2E.run(kdig, args + [c.name, c.type], timeout: 10)
            // kdig prints long hex fields (the DS digest) unsplit, dig splits them: compare without spaces
            var r = DigResponse.parseKdig(out.stdout)
            r.answer = r.answer.map { $0.replacingOccurrences(of: " ", with: "") }
            var e = c
            e.answer = c.answer.map { DigResponse.norm($0).replacingOccurrences(of: " ", with: "") }
            expectCase(e, r, sections: false, via: "kdig \(tcp ? "tcp" : "udp") \(host)")
        }
    }

    @Test("the question is echoed with its case; answers keep the query's case (RFC 1034 3.1, RFC 4343)")
    func caseEcho() throws {
        let server = try MeridianProcess(zones: zones)
        defer { server.stop() }
        let dig = try E2E.tool("dig")
        let r = try E2E.run(dig, ["@127.0.0.1", "-p", "\(server.port)", "+time=2", "+tries=1", "+noall", "+question",
                                  "+answer", "WwW.ExAmPlE.CoM.", "A"], timeout: 10)
        #expect(r.stdout.contains(";WwW.ExAmPlE.CoM.\t"), "question not echoed with its case:\n\(r.stdout)")
        #expect(r.stdout.lowercased().contains("www.example.com.\t3600\tin\ta\t192.0.2.80"), "\(r.stdout)")
    }

    @Test("EDNS: OPT only when asked, DO echoed, BADVERS for version 1 (RFC 6891, RFC 3225)")
    func edns() throws {
        let server = try MeridianProcess(zones: zones)
        defer { server.stop() }
        let t = Transport.udp4
        var r = try dig(server, t, ["+noedns", "www.example.com.", "A"])
        #expect(!r.raw.contains("OPT PSEUDOSECTION"), "OPT without EDNS in the query:\n\(r.raw)")
        r = try dig(server, t, ["+dnssec", "www.example.com.", "A"])
        #expect(r.raw.contains("; EDNS: version: 0, flags: do;"), "DO not echoed:\n\(r.raw)")
        r = try dig(server, t, ["+edns=1", "+noednsnegotiation", "www.example.com.", "A"])
        #expect(r.status == "BADVERS", "EDNS version 1:\n\(r.raw)")
        #expect(r.raw.contains("; EDNS: version: 0"), "BADVERS must carry OPT version 0:\n\(r.raw)")
        r = try dig(server, t, ["+ednsopt=65001:abcd", "www.example.com.", "A"])
        #expect(r.status == "NOERROR" && r.answer.count == 1, "unknown option must be ignored:\n\(r.raw)")
    }

    @Test("truncation: TC over UDP when an RRset does not fit, never a partial RRset; TCP gets it all")
    func truncation() throws {
        let server = try MeridianProcess(zones: fixtureZones)
        defer { server.stop() }
        // "big" holds 15 TXT records, about 1 KB: more than 512, less than 1232; "huge" 50, about 3.5 KB.
        var r = try dig(server, .udp4, ["+noedns", "+ignore", "big.example.org.", "TXT"])
        #expect(r.flags.contains("tc"), "no TC for 1.2 KB without EDNS:\n\(r.raw)")
        #expect(r.answer.isEmpty || r.answer.count == 15, "partial RRset in a truncated answer:\n\(r.raw)")
        r = try dig(server, .udp4, ["+bufsize=1232", "+ignore", "big.example.org.", "TXT"])
        #expect(!r.flags.contains("tc") && r.answer.count == 15, "1232 bytes should hold big:\n\(r.raw)")
        r = try dig(server, .udp6, ["+bufsize=1232", "+ignore", "huge.example.org.", "TXT"])
        #expect(r.flags.contains("tc"), "huge (3.5 KB) must be truncated at 1232:\n\(r.raw)")
        #expect(r.answer.isEmpty || r.answer.count == 50, "partial RRset:\n\(r.raw)")
        r = try dig(server, .tcp4, ["huge.example.org.", "TXT"])
        #expect(!r.flags.contains("tc") && r.answer.count == 50, "TCP must carry all of huge:\n\(r.raw)")
        // The server's own maximum UDP payload is 1232 by default (issue 2; RFC 6891 6.2.5 and
        // DNS Flag Day 2020), as Knot's is: a client offering 4096 still gets TC for 3.5 KB.
        r = try dig(server, .udp4, ["+bufsize=4096", "+ignore", "huge.example.org.", "TXT"])
        #expect(r.flags.contains("tc") && (r.answer.isEmpty || r.answer.count == 50),
                "huge must be truncated at the server's 1232-byte maximum:\n\(r.raw)")
    }

    @Test("CHAOS id.server / version.server: REFUSED unless configured, answered when configured")
    func chaos() throws {
        let plain = try MeridianProcess(zones: zones)
        var r = try dig(plain, .udp4, ["-c", "CH", "-t", "TXT", "id.server."])
        #expect(r.status == "REFUSED" && r.answer.isEmpty, "unconfigured id.server:\n\(r.raw)")
        r = try dig(plain, .udp4, ["-c", "CH", "-t", "TXT", "version.server."])
        #expect(r.status == "REFUSED", "unconfigured version.server:\n\(r.raw)")
        plain.stop()
        let named = try MeridianProcess(zones: zones, extra: "identity: ns1.example.\nversion: \"meridian test\"\n")
        defer { named.stop() }
        r = try dig(named, .udp4, ["-c", "CH", "-t", "TXT", "id.server."])
        #expect(r.status == "NOERROR" && r.answer.count == 1 && r.answer.first?.contains("\"ns1.example.\"") == true,
                "configured id.server:\n\(r.raw)")
        r = try dig(named, .tcp4, ["-c", "CH", "-t", "TXT", "version.server."])
        #expect(r.status == "NOERROR" && r.answer.first?.contains("\"meridian test\"") == true,
                "configured version.server:\n\(r.raw)")
    }

    @Test("differential test against Knot and NSD (Tests/Differential/differential.py), one corpus group at a time",
          .timeLimit(.minutes(10)), arguments: Suites.groups(Suites.differential))
    func differential(group: String) throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        let run = try E2E.runSuite(Suites.differential, group: group, timeout: 540)
        #expect(run.status == 0, "\(run)")
    }

    @Test("malformed packets and TCP robustness (Tests/Differential/malformed.py), one group at a time",
          .timeLimit(.minutes(10)), arguments: Suites.groups(Suites.malformed))
    func malformed(group: String) throws {
        let run = try E2E.runSuite(Suites.malformed, group: group, timeout: 540)
        #expect(run.status == 0, "\(run)")
    }

    @Test("20 SIGHUP reloads under continuous UDP and TCP queries: none lost, none wrong, a broken file never replaces good data (Tests/Differential/reload.py)",
          .timeLimit(.minutes(5)), arguments: Suites.groups(Suites.reload))
    func reloadUnderLoad(group: String) throws {
        let run = try E2E.runSuite(Suites.reload, group: group, timeout: 240)
        #expect(run.status == 0, "\(run)")
    }
}
