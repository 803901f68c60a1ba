import DNSWire
import Testing

@Suite struct DNSNameTests {
    @Test func parsesPresentationFormWithEscapes() throws {
        let n = try DNSName("a\\.b.Example.COM.")
        #expect(n.wire == [3, 0x61, 0x2E, 0x62, 7] + Array("Example".utf8) + [3] + Array("COM".utf8) + [0])
        #expect(n.labelCount == 3)
        #expect(n.description == "a\\.b.Example.COM.")
        #expect(try DNSName("\\065b.") .wire == [2, 0x41, 0x62, 0])
    }

    @Test func relativeNamesTakeTheOrigin() throws {
        let origin = try DNSName("example.com.")
        #expect(try DNSName("www", origin: origin) == DNSName("www.example.com."))
        #expect(try DNSName("@", origin: origin) == origin)
    }

    @Test func comparesWithoutCase() throws {
        #expect(try DNSName("WWW.Example.com.") == DNSName("www.example.COM."))
        #expect(try DNSName("WWW.Example.com.").hashValue == DNSName("www.example.COM.").hashValue)
        #expect(try DNSName("a.example.com.").isSubdomain(of: DNSName("EXAMPLE.com.")))
        #expect(try !DNSName("aexample.com.").isSubdomain(of: DNSName("example.com.")))
    }

    @Test(arguments: [
        String(repeating: "a", count: 64) + ".com.",
        Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".") + ".",
        "a..b.",
        "bad\\2",
    ])
    func rejectsInvalidNames(_ text: String) {
        #expect(throws: DNSWireError.self) { try DNSName(text) }
    }

    @Test func rejectsMalformedWire() {
        #expect(throws: DNSWireError.self) { try DNSName(wire: [3, 0x61, 0x62]) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [0xC0, 0x0C]) }
        #expect(throws: DNSWireError.self) { try DNSName(wire: [1, 0x61, 0, 0]) }
    }

    @Test func canonicalOrderFollowsRFC4034() throws {
        let names = try ["z.example.", "example.", "a.example.", "Z.a.example.", "yljkjljk.a.example."].map { try DNSName($0) }
        let sorted = names.sorted().map(\.description)
        #expect(sorted == ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "z.example."])
    }
}
