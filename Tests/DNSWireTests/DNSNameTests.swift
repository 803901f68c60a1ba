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

    @Test func presentationBytesTakeTheOriginAtAndEscapes() throws {
        let origin = try DNSName("example.com.")
        func parse(_ text: String, _ origin: DNSName?) throws(DNSWireError) -> DNSName {
            try DNSName(presentation: Array(text.utf8)[...], origin: origin)
        }
        #expect(try parse("www", origin) == DNSName("www.example.com."))
        #expect(try parse("@", origin).wire == origin.wire)
        #expect(try parse("@", nil).wire == [1, UInt8(ascii: "@"), 0])
        #expect(try parse(".", origin) == .root)
        #expect(try parse("", origin).wire == origin.wire)
        #expect(try parse("", nil) == .root)
        #expect(try parse("www.example.net.", origin).wire == DNSName("www.example.net.").wire)
        #expect(try parse("a\\.b\\032c", origin).wire == [5, 0x61, 0x2E, 0x62, 0x20, 0x63] + origin.wire)
        // A slice in the middle of a larger buffer, as the zone file reader passes it.
        let line = Array("x a.b y".utf8)
        #expect(try DNSName(presentation: line[2..<5], origin: nil).wire == [1, 0x61, 1, 0x62, 0])
    }

    @Test(arguments: [
        ("a..b.", DNSWireError.Code.badPresentation, "empty label in name a..b."),
        (".a", .badPresentation, "empty label in name .a"),
        ("a\\", .badPresentation, "dangling escape in name a\\"),
        ("a\\12", .badPresentation, "bad \\DDD escape in name a\\12"),
        ("a\\1x3", .badPresentation, "bad \\DDD escape in name a\\1x3"),
        ("a\\256", .badPresentation, "\\DDD escape above 255 in name a\\256"),
        (String(repeating: "a", count: 64), .labelTooLong, "label of 64 bytes (more than 63) in name " + String(repeating: "a", count: 64)),
    ])
    func presentationErrorsSayWhatAndWhere(text: String, code: DNSWireError.Code, reason: String) {
        #expect(throws: DNSWireError(code, reason)) { try DNSName(text) }
    }

    @Test func aNameTooLongWithItsOriginIsRejected() throws {
        // 4 labels of 60 bytes: 245 bytes alone, 257 with the origin example.com.
        let long = Array(repeating: String(repeating: "b", count: 60), count: 4).joined(separator: ".")
        #expect(throws: Never.self) { try DNSName(long) }
        #expect(throws: DNSWireError.self) { try DNSName(long, origin: DNSName("example.com.")) }
        do { _ = try DNSName(long, origin: DNSName("example.com.")) } catch { #expect(error.code == .nameTooLong) }
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
