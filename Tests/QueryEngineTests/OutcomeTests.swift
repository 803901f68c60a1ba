import HealthModel
import DNSWire
import DNSZone
import IPNet
import QueryEngine
import Routing
import Testing

/// What `respond(…outcome:)` reports for metrics and the query log, and NSID (RFC 5001).
@Suite struct OutcomeTests {
    /// The outcome and response bytes of `query` answered by `engine`.
    func answer(_ query: [UInt8], _ engine: QueryEngine, over transport: Transport = .udp) -> (QueryOutcome, [UInt8]) {
        var out = [UInt8](repeating: 0, count: QueryEngine.responseBufferSize)
        var state = RoutingState(seed: 3)
        var outcome = QueryOutcome()
        let n = query.withUnsafeBytes { q in
            out.withUnsafeMutableBytes {
                engine.respond(to: q, from: IPAddress(ipv4: 0x7F00_0001), over: transport, into: $0, state: &state, outcome: &outcome)
            }
        }
        return (outcome, Array(out[0..<n]))
    }

    /// A query with an OPT record carrying an empty NSID option.
    func nsidQuery(_ name: String, _ type: RRType) throws -> [UInt8] {
        var q = Message.query(name: try DNSName(name), type: type, edns: (1232, false))
        q.replaceSubrange((q.count - 2)..., with: [0, 4, 0, 3, 0, 0])  // RDLEN 4: code 3, length 0
        return q
    }

    @Test func reportsQTypeRCodeAndTruncation() throws {
        var (o, _) = answer(Message.query(name: try DNSName("www.example.com."), type: .a), engine)
        #expect(o.qtype == RRType.a.rawValue && o.rcode == 0 && !o.truncated && !o.hasClientSubnet && o.service == -1)
        (o, _) = answer(Message.query(name: try DNSName("nothing.example.com."), type: .aaaa), engine)
        #expect(o.qtype == RRType.aaaa.rawValue && o.rcode == RCode.nxDomain.rawValue)
        (o, _) = answer(Message.query(name: try DNSName("example.org."), type: .a), engine)
        #expect(o.rcode == RCode.refused.rawValue)
        (o, _) = answer(Message.query(name: try DNSName("big.example.com."), type: .txt), engine)
        #expect(o.truncated, "600 bytes of TXT do not fit in 512")
        (o, _) = answer(Message.query(name: try DNSName("big.example.com."), type: .txt), engine, over: .tcp)
        #expect(!o.truncated)
        var badVersion = Message.query(name: try DNSName("www.example.com."), type: .a, edns: (1232, false))
        badVersion[badVersion.count - 5] = 1  // EDNS version 1
        (o, _) = answer(badVersion, engine)
        #expect(o.rcode == RCode.badVers.rawValue)
        var response = Message.query(name: try DNSName("www.example.com."), type: .a)
        response[2] |= 0x80  // QR set: a response, dropped in silence
        let (dropped, bytes) = answer(response, engine)
        #expect(bytes.isEmpty && dropped.rcode == QueryOutcome.dropped)
    }

    @Test func reportsTheRoutedServiceItsDataCentersAndECS() throws {
        let fixture = try RoutedFixture()
        let routing = try #require(fixture.engine.services?.routing)
        let tokyo = Message.query(name: try DNSName("geo.example.com."), type: .a, edns: (1232, false),
                                  clientSubnet: (family: 1, sourcePrefixLength: 24, address: [60, 1, 2]))
        let (o, _) = answer(tokyo, fixture.engine)
        let nrt = try #require(routing.sites.firstIndex { $0.name == "nrt" })
        #expect(o.hasClientSubnet && o.scope > 0 && o.scope <= 24)
        #expect(o.service == Int32(try #require(routing.services.firstIndex { $0.name.description == "geo.example.com." })))
        #expect(o.sites == 1 << UInt64(nrt))
        let (rr, _) = answer(Message.query(name: try DNSName("rr.example.com."), type: .a), fixture.engine)
        let iad = try #require(routing.sites.firstIndex { $0.name == "iad" })
        #expect(rr.sites == (1 << UInt64(iad)) | (1 << UInt64(nrt)), "round robin answers with both data centers")
    }

    @Test func answersNSIDOnlyWhenAskedAndConfigured() throws {
        var options = QueryEngine.Options()
        options.nsid = Array("ns1-iad".utf8)
        let withNSID = QueryEngine(zones: ZoneSet(zones: [exampleZone]), options: options)
        let nsidOption: [UInt8] = [0, 3, 0, 7] + Array("ns1-iad".utf8)
        let (_, asked) = answer(try nsidQuery("www.example.com.", .a), withNSID)
        #expect(asked.suffix(nsidOption.count).elementsEqual(nsidOption), "the OPT record ends with the NSID option")
        #expect(try Message(decoding: asked).answer.count == 2)
        // In error responses too (REFUSED outside our zones).
        let (_, refused) = answer(try nsidQuery("example.org.", .a), withNSID)
        #expect(refused.suffix(nsidOption.count).elementsEqual(nsidOption))
        // Not asked: no option; not configured: no option either.
        let (_, notAsked) = answer(Message.query(name: try DNSName("www.example.com."), type: .a, edns: (1232, false)), withNSID)
        #expect(!notAsked.suffix(nsidOption.count).elementsEqual(nsidOption) && notAsked.suffix(2) == [0, 0])
        let (_, unconfigured) = answer(try nsidQuery("www.example.com.", .a), engine)
        #expect(unconfigured.suffix(2) == [0, 0], "RDLEN 0: no options")
    }
}
