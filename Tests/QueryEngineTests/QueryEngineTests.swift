import HealthModel
import DNSWire
import DNSZone
import QueryEngine
import IPNet
import Routing
import Testing

/// Builds records without a zone file: RDATA encoders for the types these tests use.
enum R {
    static func name(_ s: String) -> [UInt8] { try! DNSName(s).wire }
    static func a(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> [UInt8] { [a, b, c, d] }
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func u32(_ v: UInt32) -> [UInt8] { u16(UInt16(v >> 16)) + u16(UInt16(v & 0xFFFF)) }
    static func soa(minimum: UInt32) -> [UInt8] {
        name("ns1.example.com.") + name("hostmaster.example.com.") + u32(2026112901) + u32(7200) + u32(3600) + u32(1209600) + u32(minimum)
    }
    static func txt(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
}

func record(_ owner: String, _ type: RRType, _ rdata: [UInt8], ttl: UInt32 = 3600) -> ZoneRecord {
    ZoneRecord(owner: try! DNSName(owner), type: type, ttl: ttl, rdata: rdata, location: SourceLocation(file: "test", line: 0))
}

/// example.com. with the shapes RFC 1034/2308/4592/6672 talk about; sub.example.com. is delegated.
let exampleZone = Zone(origin: try! DNSName("example.com."), records: [
    record("example.com.", .soa, R.soa(minimum: 300), ttl: 3600),
    record("example.com.", .ns, R.name("ns1.example.com.")),
    record("example.com.", .ns, R.name("ns2.example.net.")),
    record("example.com.", .mx, R.u16(10) + R.name("mail.example.com.")),
    record("ns1.example.com.", .a, R.a(192, 0, 2, 1)),
    record("mail.example.com.", .a, R.a(192, 0, 2, 2)),
    record("www.example.com.", .a, R.a(192, 0, 2, 3)),
    record("www.example.com.", .a, R.a(192, 0, 2, 4)),
    record("www.example.com.", .txt, R.txt("hello")),
    record("alias.example.com.", .cname, R.name("www.example.com.")),
    record("dangling.example.com.", .cname, R.name("nothing.example.com.")),
    record("loop1.example.com.", .cname, R.name("loop2.example.com.")),
    record("loop2.example.com.", .cname, R.name("loop1.example.com.")),
    record("*.wild.example.com.", .a, R.a(192, 0, 2, 9)),
    record("host.deep.wild.example.com.", .a, R.a(192, 0, 2, 10)),
    record("sub.example.com.", .ns, R.name("ns.sub.example.com.")),
    record("sub.example.com.", .ds, [0x30, 0x39, 8, 2] + Array(repeating: 0xAB, count: 32)),
    record("ns.sub.example.com.", .a, R.a(192, 0, 2, 53)),
    record("dn.example.com.", .dname, R.name("example.net.")),
    record("self.example.com.", .dname, R.name("x.self.example.com.")),
    record("svc.example.com.", .svcb, R.u16(1) + R.name("mail.example.com.")),
    record("mail.example.com.", .https, R.u16(1) + R.name(".")),
    record("big.example.com.", .txt, R.txt(String(repeating: "x", count: 200))),
    record("big.example.com.", .txt, R.txt(String(repeating: "y", count: 200))),
    record("big.example.com.", .txt, R.txt(String(repeating: "z", count: 200))),
])

let engine = QueryEngine(zones: ZoneSet(zones: [exampleZone]), options: {
    var o = QueryEngine.Options()
    o.identity = "ns1.test"
    return o
}())

/// Sends `query` through the engine and decodes the answer (nil when the engine stays silent).
func ask(_ query: [UInt8], over transport: Transport = .udp) throws -> Message? {
    var out = [UInt8](repeating: 0, count: QueryEngine.responseBufferSize)
    var state = RoutingState(seed: 1)
    let n = query.withUnsafeBytes { q in
        out.withUnsafeMutableBytes { engine.respond(to: q, from: IPAddress(ipv4: 0x7F00_0001), over: transport, into: $0, state: &state) }
    }
    return n == 0 ? nil : try Message(decoding: Array(out[0..<n]))
}

func ask(_ name: String, _ type: RRType, edns: (UInt16, Bool)? = nil, over transport: Transport = .udp) throws -> Message {
    let q = Message.query(name: try DNSName(name), type: type, edns: edns.map { (payload: $0.0, dnssecOK: $0.1) })
    return try #require(try ask(q, over: transport))
}

func names(_ records: [Message.Record]) -> [String] { records.map { "\($0.owner.lowercased()) \($0.type)" } }

@Suite struct QueryEngineTests {
    @Test func answersAuthoritativelyAndEchoesTheQuestionCase() throws {
        let m = try ask("WwW.ExAmPlE.cOm.", .a)
        #expect(m.flags & Header.aa != 0 && m.flags & Header.qr != 0)
        #expect(m.rcode == .noError)
        #expect(m.question.first?.name.wire == (try DNSName("WwW.ExAmPlE.cOm.")).wire)
        #expect(Set(m.answer.map(\.rdata)) == [R.a(192, 0, 2, 3), R.a(192, 0, 2, 4)])
        #expect(m.authority.isEmpty && m.additional.isEmpty && m.opt == nil)
    }

    @Test func nxdomainCarriesSOAWithNegativeTTL() throws {
        let m = try ask("nope.example.com.", .a)
        #expect(m.rcode == .nxDomain && m.flags & Header.aa != 0)
        #expect(m.answer.isEmpty)
        #expect(names(m.authority) == ["example.com. SOA"])
        #expect(m.authority.first?.ttl == 300)  // min(SOA TTL 3600, MINIMUM 300), RFC 2308 §5
    }

    @Test func nodataAndEmptyNonTerminals() throws {
        let m = try ask("www.example.com.", .aaaa)
        #expect(m.rcode == .noError && m.answer.isEmpty && names(m.authority) == ["example.com. SOA"])
        let ent = try ask("deep.wild.example.com.", .a)  // exists only as an empty non-terminal
        #expect(ent.rcode == .noError && ent.answer.isEmpty && names(ent.authority) == ["example.com. SOA"])
    }

    @Test func followsCNAMEChainsAndStopsLoops() throws {
        let m = try ask("alias.example.com.", .a)
        #expect(names(m.answer) == ["alias.example.com. CNAME", "www.example.com. A", "www.example.com. A"])
        let dangling = try ask("dangling.example.com.", .a)
        #expect(dangling.rcode == .nxDomain)  // RFC 6604: the RCODE of the last name in the chain
        #expect(names(dangling.answer) == ["dangling.example.com. CNAME"])
        let loop = try ask("loop1.example.com.", .a)
        #expect(loop.rcode == .noError)
        #expect(names(loop.answer) == ["loop1.example.com. CNAME", "loop2.example.com. CNAME"])
        let cnameItself = try ask("alias.example.com.", .cname)
        #expect(names(cnameItself.answer) == ["alias.example.com. CNAME"])
    }

    @Test func wildcardsSynthesizeButAreBlockedByExistingNames() throws {
        let m = try ask("anything.wild.example.com.", .a)
        #expect(names(m.answer) == ["anything.wild.example.com. A"])
        #expect(m.answer.first?.rdata == R.a(192, 0, 2, 9))
        let below = try ask("x.y.wild.example.com.", .a)  // RFC 4592 §3.3.1: closest encloser wild.example.com.
        #expect(names(below.answer) == ["x.y.wild.example.com. A"])
        let blocked = try ask("other.deep.wild.example.com.", .a)  // closest encloser deep.wild has no wildcard
        #expect(blocked.rcode == .nxDomain)
    }

    @Test func delegationsAnswerWithReferrals() throws {
        let m = try ask("www.sub.example.com.", .a)
        #expect(m.flags & Header.aa == 0 && m.rcode == .noError && m.answer.isEmpty)
        #expect(names(m.authority) == ["sub.example.com. NS"])
        #expect(names(m.additional) == ["ns.sub.example.com. A"])
        let ds = try ask("sub.example.com.", .ds)  // parent side, authoritative
        #expect(ds.flags & Header.aa != 0 && names(ds.answer) == ["sub.example.com. DS"])
        let dnssec = try ask("sub.example.com.", .a, edns: (1232, true))  // unsigned zone: no DS in referrals
        #expect(names(dnssec.authority) == ["sub.example.com. NS"])
    }

    @Test func dnameSynthesizesACNAME() throws {
        let m = try ask("a.b.dn.example.com.", .a)
        #expect(names(m.answer) == ["dn.example.com. DNAME", "a.b.dn.example.com. CNAME"])
        #expect(m.answer.last?.rdata == R.name("a.b.example.net."))
    }

    @Test func dnameBelowItselfIsAppliedOnce() throws {
        let m = try ask("a.self.example.com.", .a)
        #expect(names(m.answer) == ["self.example.com. DNAME", "a.self.example.com. CNAME"])
        #expect(m.flags & Header.tc == 0)
    }

    @Test func additionalAddressesForSVCBTargets() throws {
        #expect(names(try ask("svc.example.com.", .svcb).additional) == ["mail.example.com. A"])
        #expect(names(try ask("mail.example.com.", .https).additional).isEmpty)  // TargetName ".", as Knot
    }

    @Test func additionalAddressesForMXAndNS() throws {
        let mx = try ask("example.com.", .mx)
        #expect(names(mx.additional) == ["mail.example.com. A"])
        let ns = try ask("example.com.", .ns)
        #expect(names(ns.additional) == ["ns1.example.com. A"])  // ns2.example.net. is not ours
    }

    @Test func refusesNamesOutsideOurZones() throws {
        let m = try ask("www.example.org.", .a)
        #expect(m.rcode == .refused && m.flags & Header.aa == 0 && m.answer.isEmpty)
    }

    @Test func anyIsAnsweredWithOneRRset() throws {
        let m = try ask("www.example.com.", .any)
        #expect(names(m.answer) == ["www.example.com. A", "www.example.com. A"])  // RFC 8482 §4.1
    }

    @Test func ednsIsEchoedOnlyWhenAsked() throws {
        let m = try ask("www.example.com.", .a, edns: (4096, true))
        #expect(m.opt?.rrClass.rawValue == 1232 && m.opt?.ttl == 0x8000)
        let plain = try ask("www.example.com.", .a)
        #expect(plain.opt == nil)
    }

    @Test func truncatesWholeRRsetsOnly() throws {
        let small = try ask("big.example.com.", .txt)  // 3 × 201 bytes cannot fit in 512
        #expect(small.flags & Header.tc != 0 && small.answer.isEmpty)
        let edns = try ask("big.example.com.", .txt, edns: (1232, false))
        #expect(edns.flags & Header.tc == 0 && edns.answer.count == 3)
        let tcp = try ask("big.example.com.", .txt, over: .tcp)
        #expect(tcp.flags & Header.tc == 0 && tcp.answer.count == 3)
    }

    @Test func badVersionAndOpcodes() throws {
        var q = Message.query(name: try DNSName("www.example.com."), type: .a, edns: (1232, false))
        q[q.count - 5] = 1  // EDNS version 1
        let bad = try #require(try ask(q))
        #expect(bad.rcode == .badVers && bad.answer.isEmpty)
        var notify = Message.query(name: try DNSName("example.com."), type: .soa)
        notify[2] = 4 << 3
        #expect(try ask(notify)?.rcode == .refused)
        var status = Message.query(name: try DNSName("example.com."), type: .soa)
        status[2] = 2 << 3
        #expect(try ask(status)?.rcode == .notImp)
        // RFC 5936 §4.2: AXFR over UDP is not defined (NOTIMP, as Knot and NSD); over TCP refused.
        #expect(try ask("example.com.", .axfr).rcode == .notImp)
        #expect(try ask("example.com.", .axfr, over: .tcp).rcode == .refused)
        var update = Message.query(name: try DNSName("example.com."), type: .soa)
        update[2] = 5 << 3
        #expect(try ask(update)?.rcode == .notImp)  // RFC 2136 §3: UPDATE is not implemented
        let optType = try ask("www.example.com.", RRType.opt)
        #expect(optType.rcode == .noError && optType.answer.isEmpty && optType.authority.first?.type == .soa)
    }

    @Test func chaosIdentityOnlyWhenConfigured() throws {
        let id = try #require(try ask(Message.query(name: try DNSName("id.server."), type: .txt, rrClass: .chaos)))
        #expect(id.answer.first?.rdata == R.txt("ns1.test"))
        let version = try #require(try ask(Message.query(name: try DNSName("version.server."), type: .txt, rrClass: .chaos)))
        #expect(version.rcode == .refused)
    }

    @Test func silenceForResponsesAndRunts() throws {
        var q = Message.query(name: try DNSName("www.example.com."), type: .a)
        q[2] |= 0x80
        #expect(try ask(q) == nil)
        #expect(try ask([1, 2, 3]) == nil)
    }
}

@Suite struct CaseFoldingTests {
    /// Bytes next to the letter ranges ('@' 0x40, '[' 0x5B, '`' 0x60, '{' 0x7B) and bytes ≥ 0x80 must
    /// not be folded; letters must be, in every position of the eight-byte words the engine folds.
    @Test func foldsOnlyASCIILetters() throws {
        let label: [UInt8] = [0x40, 0x5B, 0x60, 0x7B, 0xC1, 0xDA, 0x41, 0x5A, 0x61, 0x7A, 0x30, 0x2D]
        let owner = try DNSName(wire: [UInt8(label.count)] + label + (try DNSName("example.com.")).wire)
        let zone = Zone(origin: try DNSName("example.com."), records: [
            record("example.com.", .soa, R.soa(minimum: 60)),
            record("example.com.", .ns, R.name("ns1.example.com.")),
            ZoneRecord(owner: owner, type: .a, ttl: 60, rdata: R.a(192, 0, 2, 7), location: SourceLocation(file: "t", line: 1)),
        ])
        let e = QueryEngine(zones: ZoneSet(zones: [zone]))
        func rcode(_ l: [UInt8]) throws -> (RCode, Int) {
            let q = Message.query(name: try DNSName(wire: [UInt8(l.count)] + l + (try DNSName("EXAMPLE.com.")).wire), type: .a)
            var out = [UInt8](repeating: 0, count: QueryEngine.responseBufferSize)
            var state = RoutingState(seed: 1)
            let n = q.withUnsafeBytes { qb in
                out.withUnsafeMutableBytes { e.respond(to: qb, from: IPAddress(ipv4: 0x7F00_0001), over: .udp, into: $0, state: &state) }
            }
            let m = try Message(decoding: Array(out[0..<n]))
            return (m.rcode, m.answer.count)
        }
        #expect(try rcode(label) == (.noError, 1))
        var upper = label
        upper[8] = 0x41; upper[9] = 0x5A  // 'a','z' asked as 'A','Z'
        #expect(try rcode(upper) == (.noError, 1))
        for (i, other) in [(0, UInt8(0x60)), (1, 0x7B), (2, 0x40), (3, 0x5B), (4, 0xE1), (5, 0xFA)] {
            var l = label
            l[i] = other
            #expect(try rcode(l).0 == .nxDomain, "byte \(i) folded")
        }
    }
}
