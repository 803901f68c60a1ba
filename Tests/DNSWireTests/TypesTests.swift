import DNSWire
import Testing

/// RR type and RCODE names: one table each, read both ways.
@Suite struct MnemonicTests {
    @Test func typesByNameAndNumber() {
        #expect(RRType(mnemonic: "A") == .a)
        #expect(RRType(mnemonic: "cname") == .cname)
        #expect(RRType(mnemonic: "NSEC3PARAM") == .nsec3param)
        #expect(RRType(mnemonic: "TLSA") == .tlsa)
        #expect(RRType(mnemonic: "TYPE65280") == RRType(65280))
        #expect(RRType(mnemonic: "type1") == .a)
        for text in ["", "FOO", "TYPE", "TYPE65536", "TYPEx", "1"] { #expect(RRType(mnemonic: text) == nil, "\(text)") }
        #expect(RRType.caa.mnemonic == "CAA" && RRType(52).mnemonic == "TLSA" && RRType(65280).mnemonic == "TYPE65280")
        #expect(RRType.https.description == RRType.https.mnemonic)
    }

    @Test func theQueryCountersLabelsAreTheseMnemonics() {
        // DNSServer's QueryCounters labels its QTYPEs with these; the metrics must not change.
        let types: [RRType] = [.a, .ns, .cname, .soa, .ptr, .mx, .txt, .aaaa, .srv, .naptr, .ds, .dnskey, .tlsa, .svcb, .https,
                               .ixfr, .axfr, .any, .caa]
        #expect(types.map(\.mnemonic) == ["A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "DNSKEY",
                                           "TLSA", "SVCB", "HTTPS", "IXFR", "AXFR", "ANY", "CAA"])
    }

    @Test func rcodesByNameAndNumber() {
        #expect(RCode(mnemonic: "NXDOMAIN") == .nxDomain)
        #expect(RCode(mnemonic: "yxdomain") == .yxDomain)
        #expect(RCode(mnemonic: "BADCOOKIE") == .badCookie)
        #expect(RCode(mnemonic: "RCODE11") == RCode(11))
        for text in ["", "3", "NXDOMAINX", "RCODE", "RCODE65536"] { #expect(RCode(mnemonic: text) == nil, "\(text)") }
        #expect((0...16).map { RCode($0).mnemonic } == [
            "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
            "NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS",
        ])
    }

    @Test func everyNameReadsBackAsItsCode() {
        for code in UInt16(0)..<300 {
            #expect(RRType(mnemonic: RRType(code).mnemonic) == RRType(code))
            #expect(RCode(mnemonic: RCode(code).mnemonic) == RCode(code))
        }
    }
}
