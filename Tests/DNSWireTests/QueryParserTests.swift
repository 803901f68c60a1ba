import DNSWire
import Testing

/// Runs the parser over a byte array.
func parse(_ bytes: [UInt8]) -> (QueryParseOutcome, ParsedQuery) {
    var q = ParsedQuery()
    let outcome = bytes.withUnsafeBytes { QueryParser.parse($0, into: &q) }
    return (outcome, q)
}

func header(id: UInt16 = 0xBEEF, flags: UInt16 = 0, qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
    [id, flags, qd, an, ns, ar].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
}

let wwwExample: [UInt8] = [3] + Array("www".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0]
let typeA: [UInt8] = [0, 1, 0, 1]
let opt: [UInt8] = [0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0]

/// Queries whose header can be read but whose body is malformed: each must get FORMERR.
let malformedQueries: [(String, [UInt8])] = {
    var c: [(String, [UInt8])] = []
    let longName: [UInt8] = Array(repeating: [UInt8(63)] + Array(repeating: UInt8(0x61), count: 63), count: 5).flatMap { $0 } + [0]
    c.append(("no question", header(qd: 0)))
    c.append(("two questions", header(qd: 2) + wwwExample + typeA + wwwExample + typeA))
    c.append(("pointer in qname", header() + [3, 0x77, 0x77, 0x77, 0xC0, 0x0C] + typeA))
    c.append(("self pointer", header() + [0xC0, 0x0C] + typeA))
    c.append(("label type 0x40", header() + [0x41, 0x61, 0] + typeA))
    c.append(("truncated qname", header() + [3, 0x77, 0x77]))
    c.append(("missing qtype", header() + wwwExample + [0, 1]))
    c.append(("qname over 255", header() + longName + typeA))
    c.append(("two OPT", header(ar: 2) + wwwExample + typeA + opt + opt))
    c.append(("OPT not at root", header(ar: 1) + wwwExample + typeA + [1, 0x61] + opt.dropFirst()))
    c.append(("OPT option overruns", header(ar: 1) + wwwExample + typeA + [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 4, 0, 8, 0, 9]))
    c.append(("truncated OPT", header(ar: 1) + wwwExample + typeA + [0, 0, 41, 0x10]))
    c.append(("trailing garbage", header() + wwwExample + typeA + [0xFF]))
    c.append(("answer record truncated", header(an: 1) + wwwExample + typeA + [0xC0, 0x0C, 0, 1]))
    c.append(("forward pointer in answer", header(an: 1) + wwwExample + typeA + [0xC0, 0x30, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]))
    c.append(("pointer loop in answer", header(an: 1) + wwwExample + typeA + [0xC0, 0x21, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]))
    return c
}()

@Suite struct QueryParserTests {
    /// `dig +norec www.example.com A` as captured on the wire (EDNS, DO=0, a cookie option removed).
    @Test func readsAGoldenQuery() throws {
        let packet: [UInt8] = header(flags: 0x0000, ar: 1) + wwwExample + typeA + [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
        let (outcome, q) = parse(packet)
        guard case .query = outcome else { Issue.record("not parsed"); return }
        #expect(q.id == 0xBEEF)
        #expect(q.qnameLength == wwwExample.count)
        #expect(q.qtype == .a && q.qclass == .in)
        #expect(q.edns?.udpPayloadSize == 1232)
        #expect(q.edns?.version == 0 && q.edns?.dnssecOK == false)
        #expect(q.edns?.optionsOffset == packet.count && q.edns?.optionsLength == 0)
    }

    @Test func readsDOBitAndVersion() {
        var o = opt
        o[6] = 1  // version 1
        let (outcome, q) = parse(header(ar: 1) + wwwExample + typeA + o)
        guard case .query = outcome else { Issue.record("not parsed"); return }
        #expect(q.edns?.version == 1)
        #expect(q.edns?.dnssecOK == true)
    }

    @Test func dropsShortPacketsAndResponses() {
        guard case .drop = parse([0, 1, 2]).0 else { Issue.record("short packet answered"); return }
        guard case .drop = parse(header(flags: 0x8000) + wwwExample + typeA).0 else { Issue.record("response answered"); return }
    }

    @Test(arguments: malformedQueries)
    func formErrWhereAHeaderCanBeRead(_ c: (String, [UInt8])) {
        let (outcome, q) = parse(c.1)
        guard case .formatError = outcome else { Issue.record("\(c.0): not FORMERR"); return }
        #expect(q.id == 0xBEEF, "\(c.0)")
    }

    @Test func skipNameFollowsBackwardPointersOnly() {
        // "example.com" at 0, then "www" + pointer to 0 at 13.
        let bytes: [UInt8] = [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0] + [3] + Array("www".utf8) + [0xC0, 0]
        bytes.withUnsafeBytes { p in
            #expect(QueryParser.skipName(p, at: 13) == bytes.count)
            #expect(QueryParser.skipName(p, at: 0) == 13)
        }
        // Two pointers pointing at each other.
        let loop: [UInt8] = [0xC0, 2, 0xC0, 0]
        loop.withUnsafeBytes { p in
            #expect(QueryParser.skipName(p, at: 2) == nil)
            #expect(QueryParser.skipName(p, at: 0) == nil)
        }
    }
}

@Suite struct QueryParserEDNSPlacementTests {
    static let opt: [UInt8] = [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]

    @Test func noQuestionIsFORMERRButKeepsTheOPT() {
        let (outcome, q) = parse([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 1] + Self.opt)
        #expect(outcome == .formatError)
        #expect(q.edns?.udpPayloadSize == 1232)
    }

    @Test func twoOPTsAreFORMERRWithoutEither() {
        var m = Message.query(name: try! DNSName("a.example."), type: .a, edns: (1232, false))
        m[11] = 2
        let (outcome, q) = parse(m + Self.opt)
        #expect(outcome == .formatError)
        #expect(q.edns == nil)
    }

    @Test func optionsOfAnotherVersionAreNotJudged() {
        // EDNS version 1 with an ECS option of an unknown family: BADVERS territory, not FORMERR.
        var m = Message.query(name: try! DNSName("a.example."), type: .a)
        m[11] = 1
        m += [0, 0, 41, 0x04, 0xD0, 0, 1, 0, 0, 0, 8, 0, 8, 0, 4, 0, 3, 0, 0]
        let (outcome, q) = parse(m)
        #expect(outcome == .query)
        #expect(q.edns?.version == 1)
    }
}
