import HealthModel
import DNSWire
import DNSZone
import QueryEngine
import IPNet
import Routing
import Testing

/// Name fields that are the root (RFC 7505 null MX and its kind), answers longer than a 14-bit
/// compression pointer reaches, and RRsets with more names than a small compression table holds.
@Suite struct CompressionTests {
    /// root.test.: every RFC 1035 name field set to `.`, an NS RRset of `.` below the apex, and an
    /// SOA whose MNAME and RNAME are `.` (so every negative answer carries them).
    static let rootNames = Zone(origin: try! DNSName("root.test."), records: [
        record("root.test.", .soa, R.name(".") + R.name(".") + R.u32(1) + R.u32(7200) + R.u32(3600) + R.u32(1209600) + R.u32(300)),
        record("root.test.", .ns, R.name("ns.root.test.")),
        record("root.test.", .mx, R.u16(0) + R.name(".")),
        record("ns.root.test.", .a, R.a(192, 0, 2, 1)),
        record("ptr.root.test.", .ptr, R.name(".")),
        record("cname.root.test.", .cname, R.name(".")),
        record("minfo.root.test.", .minfo, R.name(".") + R.name(".")),
        record("mb.root.test.", .mb, R.name(".")),
        record("mg.root.test.", .mg, R.name(".")),
        record("mr.root.test.", .mr, R.name(".")),
        record("md.root.test.", .md, R.name(".")),
        record("mf.root.test.", .mf, R.name(".")),
        record("cut.root.test.", .ns, R.name(".")),
    ])

    /// big.test.: 200 MX and a referral with 200 NS, each target a distinct in-zone name, so an
    /// answer over TCP runs well past offset 0x3FFF (each target has two long labels of its own).
    static let big: Zone = {
        var records = [
            record("big.test.", .soa, R.soa(minimum: 300)),
            record("big.test.", .ns, R.name("ns.big.test.")),
        ]
        for k in 0..<200 {
            records.append(record("mx.big.test.", .mx, R.u16(UInt16(k)) + R.name(long("mail", k) + ".mx.big.test.")))
            records.append(record("deleg.big.test.", .ns, R.name(long("ns", k) + ".example.net.")))
        }
        for k in 0..<50 { records.append(record("many.big.test.", .mx, R.u16(10) + R.name("mx\(k).big.test."))) }
        return Zone(origin: try! DNSName("big.test."), records: records)
    }()

    /// Two 50-octet labels unique to `k`, so nothing but the zone suffix compresses.
    static func long(_ prefix: String, _ k: Int) -> String {
        let label = String((prefix + "-\(k)-" + String(repeating: "x", count: 50)).prefix(50))
        return label + "." + String(label.reversed())
    }

    static let engine = QueryEngine(zones: ZoneSet(zones: [rootNames, big]))

    func ask(_ name: String, _ type: RRType, over transport: Transport, edns: Bool = true) throws -> (Message, [UInt8]) {
        let q = Message.query(name: try DNSName(name), type: type, edns: edns ? (1232, false) : nil)
        var out = [UInt8](repeating: 0, count: QueryEngine.responseBufferSize)
        var state = RoutingState(seed: 1)
        let n = q.withUnsafeBytes { q in
            out.withUnsafeMutableBytes {
                CompressionTests.engine.respond(to: q, from: IPAddress(ipv4: 0x7F00_0001), over: transport, into: $0, state: &state)
            }
        }
        let bytes = Array(out[0..<n])
        return (try Message(decoding: bytes), bytes)
    }

    @Test(arguments: [
        ("root.test.", RRType.mx), ("ptr.root.test.", .ptr), ("cname.root.test.", .cname), ("cname.root.test.", .a),
        ("minfo.root.test.", .minfo), ("mb.root.test.", .mb), ("mg.root.test.", .mg), ("mr.root.test.", .mr),
        ("md.root.test.", .md), ("mf.root.test.", .mf), ("www.cut.root.test.", .a), ("cut.root.test.", .ns),
        ("nothing.root.test.", .a), ("root.test.", .txt), ("root.test.", .any), ("ptr.root.test.", .any),
    ])
    func rootNamesInRDataAreAnswered(name: String, type: RRType) throws {
        for transport in [Transport.udp, .tcp] {
            let (m, _) = try ask(name, type, over: transport)
            let records = m.answer + m.authority
            #expect(!records.isEmpty, "\(name) \(type) over \(transport)")
            for r in records where r.type.hasCompressibleNames {
                // The RDATA decodes to root names exactly as stored: `.` is one zero octet.
                #expect(r.rdata.contains(0), "\(r.type) RDATA \(r.rdata)")
            }
        }
        let (mx, _) = try ask("root.test.", .mx, over: .udp)
        #expect(mx.answer.first?.rdata == [0, 0, 0])  // preference 0, exchange `.` (RFC 7505 §3)
        let (negative, _) = try ask("nothing.root.test.", .a, over: .udp)
        #expect(negative.rcode == .nxDomain)
        #expect(negative.authority.first?.rdata.prefix(2) == [0, 0])  // MNAME and RNAME are `.`
    }

    @Test func answersBeyond16KBKeepEveryNameIntact() throws {
        let (m, bytes) = try ask("mx.big.test.", .mx, over: .tcp)
        #expect(bytes.count > 0x4000)
        #expect(m.flags & Header.tc == 0)
        #expect(m.answer.count == 200)
        let exchanges = Set(m.answer.map { r in try? DNSName(wire: Array(r.rdata.dropFirst(2))) })
        for k in 0..<200 {
            #expect(exchanges.contains(try DNSName(CompressionTests.long("mail", k) + ".mx.big.test.")))
        }
        for r in m.answer { #expect(r.owner == (try DNSName("mx.big.test."))) }

        let (referral, refBytes) = try ask("www.deleg.big.test.", .a, over: .tcp)
        #expect(refBytes.count > 0x4000)
        #expect(referral.authority.count == 200)
        #expect(Set(referral.authority.map(\.owner)) == [try DNSName("deleg.big.test.")])
        let targets = Set(referral.authority.map { try? DNSName(wire: $0.rdata) })
        #expect(targets.count == 200 && !targets.contains(nil))
    }

    /// 50 MX sharing a suffix fit in about 1,100 bytes compressed; more names than a 32-entry table
    /// held must not push the answer into truncation.
    @Test func manyNamesStillCompress() throws {
        let (m, bytes) = try ask("many.big.test.", .mx, over: .udp)
        #expect(m.flags & Header.tc == 0)
        #expect(m.answer.count == 50)
        #expect(bytes.count < 1232)
    }
}
