import DNSWire
import DNSZone
import Testing

func rec(_ owner: String, _ type: RRType, _ rdata: [UInt8] = [192, 0, 2, 1]) -> ZoneRecord {
    ZoneRecord(owner: try! DNSName(owner), type: type, ttl: 300, rdata: rdata, location: SourceLocation(file: "t", line: 1))
}

func wire(_ s: String) -> [UInt8] { try! DNSName(s).wire }

let soa = wire("ns.example.") + wire("host.example.") + [0, 0, 0, 7] + Array(repeating: 0, count: 12) + [0, 0, 0, 60]

/// A zone with every shape `resolve` tells apart.
let zone = Zone(origin: try! DNSName("example."), records: [
    rec("example.", .soa, soa), rec("example.", .ns, wire("ns.example.")), rec("ns.example.", .a),
    rec("a.b.c.example.", .a),  // b.c and c are empty non-terminals
    rec("*.w.example.", .txt, [1, 0x78]), rec("x.w.example.", .a),
    rec("sub.example.", .ns, wire("ns.sub.example.")), rec("ns.sub.example.", .a), rec("sub.example.", .ds, [1, 2, 3, 4]),
    rec("d.example.", .dname, wire("other.")), rec("MiXeD.example.", .a),
])

func resolve(_ name: String, ds: Bool = false) -> Zone.Resolution {
    let w = try! DNSName(name).lowercased().wire
    return w.withUnsafeBytes { zone.resolve($0, forDS: ds) }
}

func node(_ name: String) -> Int32 {
    let w = try! DNSName(name).lowercased().wire
    return zone.node(w, w.count)
}

@Suite struct ZoneLookupTests {
    @Test func exactNamesAndEmptyNonTerminals() {
        #expect(resolve("example.") == .node(node("example.")))
        #expect(resolve("a.b.c.example.") == .node(node("a.b.c.example.")))
        #expect(resolve("b.c.example.") == .node(node("b.c.example.")))  // empty non-terminal exists
        #expect(zone.nodes[Int(node("b.c.example."))].rrsetCount == 0)
        #expect(resolve("mixed.example.") == .node(node("mixed.example.")))  // stored lower case
        #expect(resolve("nothing.example.") == .nxdomain)
        #expect(resolve("z.b.c.example.") == .nxdomain)
    }

    @Test func wildcardsApplyBelowTheirClosestEncloserOnly() {
        let star = node("*.w.example.")
        #expect(resolve("q.w.example.") == .wildcard(star))
        #expect(resolve("p.q.w.example.") == .wildcard(star))
        #expect(resolve("x.w.example.") == .node(node("x.w.example.")))  // an existing name blocks it
        #expect(resolve("y.x.w.example.") == .nxdomain)  // closest encloser x.w has no wildcard
        #expect(zone.nodes[Int(node("w.example."))].wildcard == star)
    }

    @Test func delegationsOccludeEverythingBelowButDSAtTheCut() {
        let cut = node("sub.example.")
        #expect(resolve("sub.example.") == .delegation(cut))
        #expect(resolve("sub.example.", ds: true) == .node(cut))
        #expect(resolve("ns.sub.example.") == .delegation(cut))
        #expect(resolve("deep.below.sub.example.") == .delegation(cut))
        #expect(zone.nodes[Int(cut)].flags & Zone.Node.isDelegation != 0)
    }

    @Test func dnameRedirectsNamesBelowItsOwner() {
        let d = node("d.example.")
        #expect(resolve("d.example.") == .node(d))
        #expect(resolve("x.d.example.") == .dname(d))
        #expect(resolve("y.x.d.example.") == .dname(d))
    }

    @Test func rrsetsArePreEncodedAndOrderedByType() {
        let apex = node("example.")
        let n = zone.nodes[Int(apex)]
        let types = (n.rrsetStart..<(n.rrsetStart + n.rrsetCount)).map { zone.rrsets[Int($0)].type }
        #expect(types == [.ns, .soa])
        let ns = zone.rrset(at: apex, .ns)
        let bytes = Array(zone.bytes(of: ns))
        #expect(bytes == [0, 2, 0, 1, 0, 0, 1, 44, 0, UInt8(wire("ns.example.").count)] + wire("ns.example."))
        #expect(zone.rrset(at: apex, .mx) == -1)
        #expect(zone.serial == 7)
        // The negative-answer SOA carries min(TTL 300, MINIMUM 60).
        let negative = Array(UnsafeRawBufferPointer(start: zone.negativeSOA.baseAddress, count: zone.negativeSOALength))
        #expect(Array(negative[4..<8]) == [0, 0, 0, 60])
    }

    @Test func glueAndAdditionalTargetsAreLinked() {
        let cutNS = zone.rrset(at: node("sub.example."), .ns)
        let info = zone.rrsets[Int(cutNS)]
        #expect(info.additionalCount == 1)
        #expect(zone.additional[Int(info.additionalStart)] == node("ns.sub.example."))
    }

    @Test func addressesBelowACutAreGlueForNSOnly() {
        // MX, SRV and SVCB targets below a delegation get no additional records (the addresses
        // there are not authoritative data); the NS RRsets keep them as glue.
        let z = Zone(origin: try! DNSName("example."), records: [
            rec("example.", .soa, soa), rec("example.", .ns, wire("ns.example.")), rec("example.", .ns, wire("ns.sub.example.")),
            rec("ns.example.", .a),
            rec("sub.example.", .ns, wire("ns.sub.example.")), rec("ns.sub.example.", .a), rec("www.sub.example.", .a),
            rec("mx.example.", .mx, [0, 10] + wire("ns.sub.example.")), rec("mx.example.", .mx, [0, 20] + wire("www.sub.example.")),
            rec("mx.example.", .mx, [0, 30] + wire("ns.example.")),
            rec("_s._tcp.example.", .srv, [0, 0, 0, 0, 0, 53] + wire("ns.sub.example.")),
            rec("svc.example.", .svcb, [0, 1] + wire("www.sub.example.")),
        ])
        func targets(_ owner: String, _ type: RRType) -> [Int32] {
            let w = try! DNSName(owner).wire
            let info = z.rrsets[Int(z.rrset(at: z.node(w, w.count), type))]
            return (0..<Int(info.additionalCount)).map { z.additional[Int(info.additionalStart) + $0] }
        }
        let ns = try! DNSName("ns.example.").wire, glue = try! DNSName("ns.sub.example.").wire
        #expect(targets("mx.example.", .mx) == [z.node(ns, ns.count)])
        #expect(targets("_s._tcp.example.", .srv).isEmpty)
        #expect(targets("svc.example.", .svcb).isEmpty)
        #expect(targets("sub.example.", .ns) == [z.node(glue, glue.count)])
        #expect(targets("example.", .ns) == [z.node(ns, ns.count), z.node(glue, glue.count)])
    }

    @Test func zoneSetFindsTheLongestEnclosingZone() throws {
        let child = Zone(origin: try DNSName("sub.example."), records: [rec("sub.example.", .soa, soa)])
        let set = ZoneSet(zones: [zone, child])
        func index(_ s: String, below: Int = Int.max) -> Int {
            let w = try! DNSName(s).wire
            return w.withUnsafeBytes { set.zoneIndex(for: $0, shorterThan: below) }
        }
        #expect(index("www.sub.example.") == 1)
        #expect(index("sub.example.") == 1)
        #expect(index("sub.example.", below: wire("sub.example.").count) == 0)  // its parent, for DS
        #expect(index("www.example.") == 0)
        #expect(index("www.example.org.") == -1)
    }

    @Test func nsec3RecordsAreNotServedAtTheirHashedOwners() {
        // RFC 5155 §7.2.8: the hashed owner behaves as if the NSEC3 (and its RRSIG) did not exist,
        // so it is NXDOMAIN, or synthesized by a wildcard when there is one.
        let hash = "2vptu5timamqttgl4luu9kg21e0aor3s.example."
        let nsec3 = [1, 0, 0, 0, 0, 20] + Array(repeating: UInt8(0x11), count: 20) + [0, 1, 0x40]
        let rrsigNSEC3: [UInt8] = [0, 50, 13, 2] + Array(repeating: 0, count: 14) + wire("example.") + [1, 2, 3]
        let records = [
            rec("example.", .soa, soa), rec("example.", .ns, wire("ns.example.")), rec("ns.example.", .a),
            rec("example.", .nsec3param, [1, 0, 0, 0]),
            rec(hash, .nsec3, nsec3), rec(hash, .rrsig, rrsigNSEC3),
        ]
        let plain = Zone(origin: try! DNSName("example."), records: records)
        let key = try! DNSName(hash).wire
        #expect(plain.node(key, key.count) == -1)
        #expect(key.withUnsafeBytes { plain.resolve($0, forDS: false) } == .nxdomain)
        #expect(plain.recordCount == records.count)
        // NSEC3PARAM at the apex is ordinary data.
        #expect(plain.rrset(at: 0, .nsec3param) >= 0)
        let wild = Zone(origin: try! DNSName("example."), records: records + [rec("*.example.", .a)])
        let star = try! DNSName("*.example.").wire
        #expect(key.withUnsafeBytes { wild.resolve($0, forDS: false) } == .wildcard(wild.node(star, star.count)))
        // A hashed owner that also holds other data keeps that data, without the NSEC3.
        let shared = Zone(origin: try! DNSName("example."), records: records + [rec(hash, .a)])
        let n = shared.node(key, key.count)
        #expect(n >= 0 && shared.rrset(at: n, .a) >= 0 && shared.rrset(at: n, .nsec3) == -1 && shared.rrset(at: n, .rrsig) == -1)
    }

    @Test func dataThatIsNeverServedIsListedAsWarnings() {
        func at(_ line: Int, _ owner: String, _ type: RRType, _ rdata: [UInt8] = [192, 0, 2, 1]) -> ZoneRecord {
            ZoneRecord(owner: try! DNSName(owner), type: type, ttl: 300, rdata: rdata, location: SourceLocation(file: "z", line: line))
        }
        let z = Zone(origin: try! DNSName("example."), records: [
            at(1, "example.", .soa, soa), at(2, "example.", .ns, wire("ns.example.")), at(3, "ns.example.", .a),
            at(4, "sub.example.", .ns, wire("ns.sub.example.")), at(5, "sub.example.", .ds, [1, 2, 3, 4]),
            at(6, "ns.sub.example.", .a), at(7, "ns.sub.example.", .aaaa, Array(repeating: 1, count: 16)),
            at(8, "sub.example.", .txt, [1, 0x78]), at(9, "www.sub.example.", .a), at(10, "ns.sub.example.", .mx, [0, 1, 0]),
            at(11, "deep.sub.example.", .ns, wire("ns.example.")),
            at(12, "d.example.", .dname, wire("other.")), at(13, "x.d.example.", .a),
        ])
        #expect(z.warnings.map(\.location.line) == [8, 9, 10, 11, 13])
        #expect(z.warnings.first?.description == "z:8: warning: TXT at sub.example. is at the delegation sub.example. and is not glue: it is not served")
        #expect(z.warnings.last?.description == "z:13: warning: A at x.d.example. is below the DNAME at d.example. and is not served")
        #expect(zone.warnings.isEmpty)
    }
}
