import DNSWire
import DNSZone
import Foundation
import Testing
import ZoneFile

/// A temporary directory of zone files, removed when the fixture goes away.
final class Fixture {
    let directory: String

    init() {
        directory = NSTemporaryDirectory() + "zonefile-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `text` to `name` (which may contain subdirectories) and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let path = directory + "/" + name
        try! FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

let origin = try! DNSName("example.com.")

func name(_ text: String) -> DNSName { try! DNSName(text) }

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var i = text.startIndex
    while i < text.endIndex {
        let j = text.index(i, offsetBy: 2)
        bytes.append(UInt8(text[i..<j], radix: 16)!)
        i = j
    }
    return bytes
}

/// The errors `load` reports for the file at `path`, or none when it loads.
func loadErrors(_ path: String, origin: DNSName = origin) -> [ZoneFileError] {
    do {
        _ = try ZoneFile.load(origin: origin, path: path)
        return []
    } catch {
        return error.errors
    }
}

func read(_ path: String, origin: DNSName = origin) throws(ZoneFileErrors) -> [ZoneRecord] {
    try ZoneFile.read(origin: origin, path: path)
}

/// The SOA and NS lines every valid test zone starts with (lines 1–3).
let apexLines = """
    @ 300 IN SOA ns1 hostmaster 1 7200 3600 1209600 300
      300 NS ns1
    ns1 300 A 192.0.2.1

    """

@Suite struct DirectiveTests {
    @Test func originTTLRelativeNamesBlankOwnersAndParentheses() throws {
        let f = Fixture()
        let path = f.write("z", """
            $TTL 1h ; default for what follows
            $ORIGIN example.com.
            @ SOA ns1 hostmaster.example.com. (
                    2024010101 ; serial
                    7200 3600
                    1209600 300 )
                NS ns1
            ns1 A 192.0.2.1
                AAAA 2001:db8::1
            www 60 IN A 192.0.2.2
            $ORIGIN sub.example.com.
            host IN 120 TXT "a;b" "c d" ; not "a" comment
            @ MX 10 mail

            """)
        let records = try read(path)
        #expect(records.map(\.owner) == [
            origin, origin, name("ns1.example.com."), name("ns1.example.com."), name("www.example.com."),
            name("host.sub.example.com."), name("sub.example.com."),
        ])
        #expect(records.map(\.type) == [.soa, .ns, .a, .aaaa, .a, .txt, .mx])
        #expect(records.map(\.ttl) == [3600, 3600, 3600, 3600, 60, 120, 3600])
        #expect(records.map(\.location.line) == [3, 7, 8, 9, 10, 12, 13])
        #expect(records.allSatisfy { $0.location.file == path && $0.rrClass == .in })
        #expect(records[0].rdata == hex("036e7331076578616d706c6503636f6d000a686f73746d6173746572076578616d706c6503636f6d0078a3f17500001c2000000e10001275000000012c"))
        #expect(records[5].rdata == hex("03613b6203632064"))
        #expect(records[6].rdata == hex("000a046d61696c03737562076578616d706c6503636f6d00"))
    }

    /// An owner written as on the line before is that line's name (read once), but only under
    /// the same origin: after `$ORIGIN` or in an included file the same text is another name.
    @Test func anOwnerRepeatedAfterAnOriginChangeIsReadAgain() throws {
        let f = Fixture()
        f.write("inc", "www A 192.0.2.9\nwww AAAA 2001:db8::9\n")
        let path = f.write("z", """
            www A 192.0.2.1
            www AAAA 2001:db8::1
            WWW TXT "case"
            $ORIGIN sub.example.com.
            www A 192.0.2.2
            $INCLUDE inc other.example.com.
            www A 192.0.2.3

            """)
        let records = try read(path)
        #expect(records.map(\.owner.description) == [
            "www.example.com.", "www.example.com.", "WWW.example.com.", "www.sub.example.com.",
            "www.other.example.com.", "www.other.example.com.", "www.sub.example.com.",
        ])
    }

    @Test func recordsWithoutTTLTakeKnotsDefaultUntilTTLDirective() throws {
        let f = Fixture()
        let path = f.write("z", """
            @ 500 SOA ns1 hostmaster 1 2 3 4 5
            a 200 A 192.0.2.2
            b A 192.0.2.3
            $TTL 0
            c A 192.0.2.4

            """)
        #expect(try read(path).map(\.ttl) == [500, 200, ZoneFile.defaultTTL, 0])
    }

    @Test func rrsetTakesTheLastTTLAndRepeatedRecordsAreDropped() throws {
        let f = Fixture()
        let path = f.write("z", """
            g 10 A 192.0.2.9
            g 50 A 192.0.2.10
            G 20 A 192.0.2.9
            g 20 A 192.0.2.11
            g 7 RRSIG A 13 3 10 20250101000000 20240101000000 1 example.com. AAAA
            g 8 RRSIG NSEC 13 3 10 20250101000000 20240101000000 1 example.com. AAAA

            """)
        let records = try read(path)
        #expect(records.map(\.location.line) == [1, 2, 4, 5, 6])
        #expect(records.map(\.ttl) == [20, 20, 20, 7, 8])
    }

    @Test func includeResolvesRelativePathsNestsAndRevertsItsScope() throws {
        let f = Fixture()
        let main = f.write("main.zone", """
            $TTL 300
            \(apexLines)
            $INCLUDE sub/hosts.inc hosts.example.com.
                TXT "after include"
            $INCLUDE /\(f.directory)/sub/abs.inc

            """)
        f.write("sub/hosts.inc", """
            ; hosts
            $TTL 60
            web A 192.0.2.10
            $INCLUDE deeper/more.inc

            """)
        f.write("sub/deeper/more.inc", "db A 192.0.2.11\n")
        f.write("sub/abs.inc", "abs A 192.0.2.12\n")
        let records = try read(main)
        let tail = records.suffix(4)
        #expect(tail.map(\.owner) == [
            name("web.hosts.example.com."), name("db.hosts.example.com."), name("ns1.example.com."), name("abs.example.com."),
        ])
        #expect(tail.map(\.ttl) == [60, 60, 300, 300])
        #expect(tail.map(\.location) == [
            DNSZone.SourceLocation(file: f.directory + "/sub/hosts.inc", line: 3),
            DNSZone.SourceLocation(file: f.directory + "/sub/deeper/more.inc", line: 1),
            DNSZone.SourceLocation(file: main, line: 7),
            DNSZone.SourceLocation(file: "/" + f.directory + "/sub/abs.inc", line: 1),
        ])
    }

    @Test func includeLoopAndMissingIncludeAreReportedAtTheIncludeLine() {
        let f = Fixture()
        let main = f.write("main.zone", """
            \(apexLines)
            $INCLUDE a.inc
            $INCLUDE missing.inc

            """)
        f.write("a.inc", "x A 192.0.2.5\n$INCLUDE b.inc\n")
        let b = f.write("b.inc", "\n\n$INCLUDE a.inc\n")
        let errors = loadErrors(main)
        #expect(errors.map(\.code) == [.badInclude, .badInclude])
        #expect(errors.map(\.location) == [DNSZone.SourceLocation(file: b, line: 3), DNSZone.SourceLocation(file: main, line: 6)])
        #expect(errors[0].description.hasPrefix("\(b):3: include loop"))
    }

    @Test func escapedDotsAndDecimalEscapesStayInsideTheLabel() throws {
        let f = Fixture()
        let path = f.write("z", """
            a\\.b.example.com. A 192.0.2.1
            c\\046d TXT x
            e\\ f CNAME a\\.b

            """)
        let records = try read(path)
        #expect(records[0].owner.wire == [3, 0x61, 0x2E, 0x62] + origin.wire)
        #expect(records[0].owner.labelCount == 3)
        #expect(records[1].owner.wire == [3, 0x63, 0x2E, 0x64] + origin.wire)
        #expect(records[2].owner.wire == [3, 0x65, 0x20, 0x66] + origin.wire)
        #expect(records[2].rdata == [3, 0x61, 0x2E, 0x62] + origin.wire)
    }

    @Test func rfc3597UnknownTypesAndGenericClass() throws {
        let f = Fixture()
        let path = f.write("z", """
            x TYPE65280 \\# 4 0a000001
            y CLASS1 A \\# 4 C0000201
            z TYPE65281 \\# 0

            """)
        let records = try read(path)
        #expect(records.map(\.type) == [RRType(65280), .a, RRType(65281)])
        #expect(records.map(\.rdata) == [[10, 0, 0, 1], [192, 0, 2, 1], []])
    }

    @Test(arguments: [
        ("SRV", "0 5 5060 sip.example.com.", "0000000513c403736970076578616d706c6503636f6d00"),
        ("CAA", "0 issue \"ca.example.net\"", "0005697373756563612e6578616d706c652e6e6574"),
        ("HTTPS", "1 . alpn=h2 ipv4hint=192.0.2.1", "0001000001000302683200040004c0000201"),
        ("NAPTR", "100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .",
         "0064000a0155074532552b7369701b215e2e2a24217369703a696e666f406578616d706c652e636f6d2100"),
        ("DS", "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "30390d020123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    ])
    func rdataIsUncompressedWireFormAsDnspythonEncodesIt(type: String, rdata: String, wire: String) throws {
        let f = Fixture()
        let path = f.write("z", "x \(type) \(rdata)\n")
        #expect(try read(path).map(\.rdata) == [hex(wire)])
    }
}

@Suite struct ValidationTests {
    /// Loads `text` as example.com and returns (code, line) of every error, all in that file.
    func problems(_ text: String) -> [(ZoneFileError.Code, Int?)] {
        let f = Fixture()
        let path = f.write("zone", text)
        let errors = loadErrors(path)
        #expect(errors.allSatisfy { $0.location == nil || $0.location?.file == path })
        return errors.map { ($0.code, $0.location?.line) }
    }

    func expect(_ text: String, _ expected: [(ZoneFileError.Code, Int)], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let found = problems(text)
        #expect(found.map(\.0) == expected.map(\.0), sourceLocation: sourceLocation)
        #expect(found.map(\.1) == expected.map(\.1), sourceLocation: sourceLocation)
    }

    @Test func aValidZoneLoads() {
        expect("""
            \(apexLines)
            www CNAME web
                RRSIG CNAME 13 3 300 20250101000000 20240101000000 1 example.com. AAAA
                NSEC zz CNAME RRSIG NSEC
            web A 192.0.2.2
            sub NS ns.sub
                NS ns.other.sub2
                DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
                NSEC web A
            ns.sub A 192.0.2.3
            sub2 NS ns.other.sub2
            ns.other.sub2 AAAA 2001:db8::3
            alias DNAME example.net.
            """, [])
    }

    @Test func missingSOAAndNS() {
        expect("www A 192.0.2.1\n", [(.missingSOA, 1), (.missingApexNS, 1)])
        expect("\n@ SOA ns1 hm 1 2 3 4 5\n", [(.missingApexNS, 2)])
    }

    @Test func secondSOAAndSOAOutsideTheApex() {
        expect("""
            \(apexLines)
            @ SOA ns2 hm 2 2 3 4 5
            www SOA ns1 hm 1 2 3 4 5
            """, [(.multipleSOA, 5), (.soaNotAtApex, 6)])
    }

    @Test func cnameRules() {
        expect("""
            \(apexLines)
            a A 192.0.2.1
            a CNAME x
            b CNAME x
            b TXT "t"
            c CNAME x
            c CNAME y
            @ CNAME x
            """, [(.cnameWithOtherData, 6), (.cnameWithOtherData, 8), (.multipleCNAME, 10), (.cnameWithOtherData, 11)])
    }

    @Test func dnameRules() {
        expect("""
            \(apexLines)
            d DNAME x.example.net.
            d DNAME y.example.net.
            d A 192.0.2.1
            x.y.d A 192.0.2.1
            """, [(.multipleDNAME, 6), (.dataBelowDNAME, 8)])
    }

    @Test func dataAtOrBelowADelegationThatIsNotGlueLoadsWithWarnings() throws {
        let f = Fixture()
        let path = f.write("zone", """
            \(apexLines)
            sub NS ns.sub
            ns.sub A 192.0.2.3
            other.sub A 192.0.2.4
            sub TXT "occluded"
            deep.sub NS ns.deep.sub
            """)
        let zone = try ZoneFile.load(origin: origin, path: path)
        #expect(zone.warnings.map(\.location) == [7, 8, 9].map { SourceLocation(file: path, line: $0) })
        #expect(zone.warnings.map(\.description) == [
            "\(path):7: warning: A at other.sub.example.com. is below the delegation sub.example.com. and is not glue: it is not served",
            "\(path):8: warning: TXT at sub.example.com. is at the delegation sub.example.com. and is not glue: it is not served",
            "\(path):9: warning: NS at deep.sub.example.com. is below the delegation sub.example.com. and is not glue: it is not served",
        ])
    }

    @Test func recordsOutsideTheZone() {
        expect("""
            \(apexLines)
            www.example.net. A 192.0.2.1
            example.com.evil. A 192.0.2.1
            """, [(.outOfZone, 5), (.outOfZone, 6)])
    }

    @Test func namesAndLabelsTooLong() {
        let label = String(repeating: "a", count: 63)
        let long = Array(repeating: label, count: 4).joined(separator: ".")
        // 244 bytes on its own, 257 with the origin: only the whole name is too long.
        let longWithOrigin = Array(repeating: String(repeating: "b", count: 60), count: 4).joined(separator: ".")
        expect("""
            \(apexLines)
            \(long) A 192.0.2.1
            \(label)a A 192.0.2.1
            x CNAME \(longWithOrigin)
            \(longWithOrigin) A 192.0.2.1
            """, [(.nameTooLong, 5), (.labelTooLong, 6), (.nameTooLong, 7), (.nameTooLong, 8)])
    }

    @Test func syntaxErrorsCarryLdnsStatusText() {
        let f = Fixture()
        let path = f.write("zone", "\(apexLines)\nx A 192.0.2\ny MX 10\n")
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.syntax, .syntax])
        #expect(errors.map(\.description) == [
            "\(path):5: Syntax error, could not parse the RR's rdata",
            "\(path):6: Syntax error, value expected",
        ])
    }

    @Test func otherSyntaxProblems() {
        expect("""
            \(apexLines)
                A 192.0.2.1 )
            x 1y A 192.0.2.1
            x 99999999999 A 192.0.2.1
            $GENERATE 1-2 h$ A 192.0.2.$
            $TTL
            x TXT "open
            y ( A
              192.0.2.1
            """, [(.syntax, 5), (.syntax, 6), (.syntax, 7), (.syntax, 8), (.syntax, 9), (.syntax, 10), (.syntax, 11)])
    }

    @Test func unknownTypeMnemonicsAreErrors() {
        let f = Fixture()
        let path = f.write("zone", "\(apexLines)\njunk !!\nx FOO 1\n")
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.syntax, .syntax])
        #expect(errors.map(\.location?.line) == [5, 6])
    }

    @Test func onlyClassINIsServed() {
        expect("""
            \(apexLines)
            x CH TXT "chaos"
            y 60 CLASS3 A 192.0.2.1
            z ANY A 192.0.2.1
            """, [(.unsupportedClass, 5), (.unsupportedClass, 6), (.unsupportedClass, 7)])
    }

    @Test func queryTypesCannotBeZoneData() {
        expect("\(apexLines)\nx TYPE255 \\# 0\n", [(.syntax, 5)])
    }

    @Test func genericAddressRDATAMustHaveTheAddressLength() {
        expect("\(apexLines)\nx TYPE1 \\# 0\ny AAAA \\# 4 0a000001\nz A \\# 4 0a000001\n", [(.syntax, 5), (.syntax, 6)])
    }

    @Test func unreadableFile() {
        let errors = loadErrors("/nonexistent/zone")
        #expect(errors.map(\.code) == [.io])
        #expect(errors[0].location == nil)
        #expect(errors[0].description == "cannot open /nonexistent/zone: No such file or directory")
    }

    @Test func everyProblemIsReportedAtOnce() {
        let f = Fixture()
        let path = f.write("zone", """
            www A 192.0.2.1
            www CNAME x
            bad A nope
            www.example.org. A 192.0.2.1

            """)
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.syntax, .outOfZone, .cnameWithOtherData, .missingSOA, .missingApexNS])
        #expect(errors.map(\.location?.line) == [3, 4, 2, 1, 1])
        #expect(ZoneFileErrors(errors).description.split(separator: "\n").count == 5)
    }
}

/// Syntax errors do not hide the semantic ones: the checks run over the records that parsed, and
/// claim nothing about what the lines that failed may hold.
extension ValidationTests {
    @Test func bothKindsAreReportedAtOnceEachAsFileLineReason() {
        let f = Fixture()
        let path = f.write("zone", """
            \(apexLines)
            bad A nope
            www CNAME ns1
            www A 192.0.2.2
            www.example.org. A 192.0.2.3
            """)
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.syntax, .outOfZone, .cnameWithOtherData])
        #expect(errors.map(\.location?.line) == [5, 8, 7])
        #expect(errors.allSatisfy { $0.description.hasPrefix("\(path):\($0.location!.line): ") })
        #expect(errors[2].description == "\(path):7: A at www.example.com. beside the CNAME at \(path):6")
    }

    @Test func anSOALineThatFailsIsNotAlsoAMissingSOA() {
        let f = Fixture()
        let path = f.write("zone", """
            @ 300 IN SOA ns1 hostmaster 1 7200
              300 NS ns1
            ns1 300 A 192.0.2.1
            """)
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.syntax])
        #expect(errors.map(\.location?.line) == [1])
    }

    @Test func aLineThatFailsElsewhereStillLeavesTheSOAMissing() {
        // The line that fails is an A record: it cannot be the SOA, nor the apex NS.
        let f = Fixture()
        let path = f.write("zone", "@ NS ns1\nns1 A 192.0.2\n")
        #expect(loadErrors(path).map(\.code) == [.syntax, .missingSOA])
    }

    @Test func aLineOfUnknownTypeOrOwnerMayHaveBeenTheApexNS() {
        expect("@ 300 SOA ns1 hostmaster 1 7200 3600 1209600 300\n  NOTATYPE ns1\n", [(.syntax, 2)])
        expect("@ 300 SOA ns1 hostmaster 1 7200 3600 1209600 300\na..b NS ns1\n", [(.syntax, 2)])
        // An NS that fails below the apex is not the apex NS.
        expect("@ 300 SOA ns1 hostmaster 1 7200 3600 1209600 300\nsub NS\n", [(.syntax, 2), (.missingApexNS, 1)])
    }

    @Test func recordsAfterAnOwnerThatFailsAreNotGivenThePreviousOwner() {
        // Line 7 would have been read as a TXT at www, beside its CNAME.
        expect("""
            \(apexLines)
            www CNAME ns1
            www..x A 192.0.2.2
              TXT "t"
            """, [(.syntax, 6)])
        // Nor is a blank owner after a first owner that fails an error of its own.
        expect("a..b SOA ns1 hostmaster 1 7200 3600 1209600 300\n  NS ns1\n", [(.syntax, 1)])
    }

    @Test func namesAfterAnOriginThatFailsAreNotChecked() {
        expect("""
            \(apexLines)
            $ORIGIN a..b.
            www CNAME ns1
            www A 192.0.2.2
            $ORIGIN example.com.
            x CNAME ns1
            x A 192.0.2.2
            """, [(.syntax, 5), (.cnameWithOtherData, 10)])
    }

    @Test func anIncludeNotReadMayHaveHeldAnything() {
        let f = Fixture()
        let path = f.write("zone", "$INCLUDE missing.inc\nwww A 192.0.2.1\n")
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.badInclude])
    }

    @Test func theDeploymentsReadValidReportsWhatLoadReports() {
        let f = Fixture()
        let path = f.write("zone", "www A 192.0.2\nwww CNAME x\nwww A 192.0.2.1\n")
        do {
            _ = try ZoneFile.readValid(origin: origin, path: path)
            Issue.record("the zone must not load")
        } catch {
            #expect(error.errors == loadErrors(path))
            #expect(error.errors.map(\.code) == [.syntax, .cnameWithOtherData, .missingSOA, .missingApexNS])
        }
    }
}

/// Names in a zone file are parsed by DNSName(presentation:origin:); its errors keep their kind.
@Suite struct ZoneFileNameTests {
    @Test func badNamesAreErrorsWithAReason() {
        let f = Fixture()
        let path = f.write("zone", "\(apexLines)\na..b A 192.0.2.1\nx\\2 A 192.0.2.1\nx NSAP-PTR y\\256\n")
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.syntax, .syntax, .syntax])
        #expect(errors.map(\.description) == [
            "\(path):5: empty label in name a..b",
            "\(path):6: bad \\DDD escape in name x\\2",
            "\(path):7: \\DDD escape above 255 in name y\\256",
        ])
    }
}

@Suite struct GeneratedZoneTests {
    @Test func thousandRecordsRoundTrip() throws {
        var text = "$ORIGIN example.com.\n$TTL 300\n\(apexLines)"
        var expected: [(DNSName, RRType, UInt32, [UInt8], Int)] = [
            (origin, .soa, 300, [], 3), (origin, .ns, 300, [3, 0x6E, 0x73, 0x31] + origin.wire, 4),
            (name("ns1.example.com."), .a, 300, [192, 0, 2, 1], 5),
        ]
        var line = 6
        for i in 0..<997 {
            switch i % 3 {
            case 0:
                text += "h\(i) A 198.51.100.\(i % 256)\n"
                expected.append((name("h\(i).example.com."), .a, 300, [198, 51, 100, UInt8(i % 256)], line))
            case 1:
                text += "h\(i) \(i) AAAA 2001:db8::\(String(i, radix: 16))\n"
                expected.append((name("h\(i).example.com."), .aaaa, UInt32(i),
                                 [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 10) + [UInt8(i >> 8), UInt8(i & 0xFF)], line))
            default:
                text += "h\(i) TXT \"record \(i)\"\n"
                let payload = Array("record \(i)".utf8)
                expected.append((name("h\(i).example.com."), .txt, 300, [UInt8(payload.count)] + payload, line))
            }
            line += 1
        }
        let f = Fixture()
        let path = f.write("zone", text)
        _ = try ZoneFile.load(origin: origin, path: path)
        let records = try read(path)
        #expect(records.count == 1000)
        for (record, want) in zip(records, expected) {
            #expect(record.owner == want.0 && record.owner.wire == want.0.wire)
            #expect(record.type == want.1)
            #expect(record.ttl == want.2)
            if record.type != .soa { #expect(record.rdata == want.3) }
            #expect(record.location.line == want.4)
        }
    }
}

/// RDATA that Knot and NSD load and ldns 1.8.3 alone refuses or misreads. Expected wire comes from
/// dnspython where it reads the text, else from the RFC's field layout, written out by hand.
@Suite struct RDataTheRFCsAllowTests {
    @Test(arguments: [
        // RFC 4025 §3.1: gateway type 0 with ".", IPv4, IPv6 and name gateways; a key is optional (algorithm 0).
        ("IPSECKEY", "10 0 2 . AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
         "0a0002010351537986ed35533b6064478eeeb27b5bd74dae149b6e81ba3a0521af82ab7801"),
        ("IPSECKEY", "10 1 0 192.0.2.38", "0a0100c0000226"),
        ("IPSECKEY", "10 3 0 gw", "0a0300026777076578616d706c6503636f6d00"),
        ("IPSECKEY", "10 2 2 2001:db8::1 AQNRU3mG7TVTO2BkR47usntb102u ( FJtugbo6BSGvgqt4AQ== )",
         "0a020220010db8000000000000000000000001010351537986ed35533b6064478eeeb27b5bd74dae149b6e81ba3a0521af82ab7801"),
        // RFC 8659 §4.1.1: the value unquoted, or quoted with spaces and escapes.
        ("CAA", "0 issue ca.example.net", "0005697373756563612e6578616d706c652e6e6574"),
        ("CAA", #"128 tbs "a b\"c""#, "80037462736120622263"),
        // RFC 7477 §2.1.1: an empty type bitmap, and one with a type from window 4.
        ("CSYNC", "66 3", "000000420003"),
        ("CSYNC", "66 3 A NS AAAA TYPE1234",
         "000000420003000460000008041b000000000000000000000000000000000000000000000000000020"),
        // RFC 1348: NSAP-PTR RDATA is a whole domain name, relative names completed by the origin.
        ("NSAP-PTR", "foo.example.com.", "03666f6f076578616d706c6503636f6d00"),
        ("NSAP-PTR", "Foo", "03466f6f076578616d706c6503636f6d00"),
        // RFC 9460 Appendix A.1: both presentations give the ids "f\oo,bar" and "h2".
        ("SVCB", #"1 . alpn="f\\\\oo\\,bar,h2""#, "0001000001000c08665c6f6f2c626172026832"),
        ("SVCB", #"1 . alpn=f\\\092oo\092,bar,h2"#, "0001000001000c08665c6f6f2c626172026832"),
        ("HTTPS", "1 . mandatory=alpn alpn=h2,h3 port=8443", "000100000000020001000100060268320268330003000220fb"),
        ("TYPE64", #"1 . key1=h2 port=53"#, "00010000010003026832000300020035"),
    ])
    func rdata(type: String, text: String, wire: String) throws {
        let f = Fixture()
        let path = f.write("z", "x \(type) \(text)\n")
        #expect(try read(path).map(\.rdata) == [hex(wire)])
    }

    @Test func aGenericRDATAOf65000BytesAndATXTSetOf65025() throws {
        let f = Fixture()
        let bytes = (0..<65000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let hexText = bytes.map { String(format: "%02x", $0) }.joined()
        // 255 strings of 254 bytes: 65,025 bytes of RDATA, one line of 65,790 characters.
        let strings = Array(repeating: "\"" + String(repeating: "x", count: 254) + "\"", count: 255).joined(separator: " ")
        let path = f.write("z", "big TYPE65280 \\# 65000 \(hexText.prefix(64)) ( \(hexText.dropFirst(64)) )\ntxt TXT \(strings)\n")
        let records = try read(path)
        #expect(records.map(\.rdata.count) == [65000, 65025])
        #expect(records.first?.rdata == bytes)
    }

    @Test(arguments: [
        "x TYPE65280 \\# 3 0102", "x TYPE65280 \\# 1 0g", "x TYPE65280 \\# 2 010", "x TYPE65280 \\# 65536 00",
        "x CAA 0 iss-ue x", "x CAA 0 issue", "x CAA 256 issue x",
        "x IPSECKEY 10 0 2 gw AQID", "x IPSECKEY 10 1 0 2001:db8::1", "x IPSECKEY 10 4 0 .", "x IPSECKEY 10 0 2 . AQ*D",
        "x IPSECKEY 10 0 2 . A", "x CSYNC 66", "x CSYNC 66 3 NOTATYPE", "x NSAP-PTR a b",
        #"x SVCB 1 . alpn=h2,,h3"#, #"x SVCB 1 . alpn=h\2"#,
        // TYPE numbers above 65535 (ldns alone wrapped TYPE99999 to TYPE34463) and TYPE0 (reserved).
        "x TYPE99999 \\# 0", "x TYPE65536 1", "x TYPE0 \\# 0", "x FOO \\# 0",
    ])
    func malformedRDATAIsASyntaxErrorAtItsLine(line: String) {
        let f = Fixture()
        let path = f.write("zone", "\(apexLines)\n\(line)\n")
        let errors = loadErrors(path)
        #expect(errors.map(\.code) == [.syntax], "\(line): \(errors)")
        #expect(errors.map(\.location?.line) == [5], "\(line)")
    }
}

/// The zone of the edge-case RDATA differential test (Tests/Differential/edge_rdata.py), which
/// Knot and NSD load too: every type ldns knows, with awkward names and strings.
@Suite struct EdgeFixtureTests {
    @Test func everyLdnsTypeLoadsAndOnlyTheOccludedLinesWarn() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/zones/edge.example.zone").standardizedFileURL.path
        let edge = try DNSName("edge.example.")
        let records = try ZoneFile.read(origin: edge, path: path)
        let zone = try ZoneFile.load(origin: edge, path: path)
        #expect(zone.warnings.map(\.location.line) == [161, 162])
        // The 74 types ldns has descriptors for, less OPT, TKEY and TSIG, plus TYPE65280 and TYPE65281.
        #expect(Set(records.map(\.type)).count == 71 + 2)
        #expect(records.contains { $0.type == RRType(65281) && $0.rdata.count == 65000 })
        let longest = try DNSName(String(repeating: "e", count: 63) + "." + String(repeating: "f", count: 63) + "."
                                  + String(repeating: "g", count: 63) + "." + String(repeating: "h", count: 48) + ".edge.example.")
        #expect(longest.wire.count == 255 && records.contains { $0.owner == longest })
    }
}
