import DNSWire
import DNSZone
import Foundation
import Testing
@testable import ZoneFile

/// A large file is read in parts on several threads (`EntryScanner.parts`); the result must be
/// exactly that of reading it from start to end, which is how a file is read when it is included
/// (`$INCLUDE` files are never split).
@Suite struct PartsTests {
    /// About 3 MiB of zone text: `$ORIGIN` and `$TTL` changes throughout (some of them bad when
    /// `broken`), blank owners, entries in parentheses over several lines, comments and quoted
    /// strings holding parentheses, semicolons and escaped quotes, and when
    /// `broken` a bad record in every few thousand lines.
    static func bigZone(broken: Bool) -> String {
        var text = apexLines
        var k = 0
        while text.utf8.count < 3 << 20 + 4096 {
            k += 1
            if k % 700 == 0 {
                text += broken && k % 2100 == 0 ? "$ORIGIN bad..name.\n" : "$ORIGIN s\(k).example.com.\n"
            }
            if k % 900 == 0 { text += broken && k % 2700 == 0 ? "$TTL abc\n" : "$TTL \(k)\n" }
            if broken && k % 1300 == 0 { text += "bad\(k) A 999.1.1.1\n" }
            if broken && k % 1700 == 0 { text += "odd\(k) NOSUCHTYPE 1\n" }
            text += """
                n\(k) A 192.0.2.\(k % 250)
                   AAAA 2001:db8::\(String(k, radix: 16))
                ; a comment with ( and "
                t\(k) 60 TXT ( "one (" "two ;"
                    "three \\" (" ) ; the end
                m\(k) MX ( 10
                    mail\(k) )

                """
            text += "w\(k) TXT \"a\\\"b\" \"c\"\n"
        }
        return text
    }

    /// The records (or every error) of the file at `path`.
    static func outcome(_ path: String) -> (records: [ZoneRecord], errors: [String]) {
        do {
            return (try ZoneFile.read(origin: origin, path: path), [])
        } catch {
            return ([], error.errors.map(\.description))
        }
    }

    @Test(arguments: [false, true])
    func readingInPartsGivesWhatReadingInOrderGives(broken: Bool) throws {
        let fixture = Fixture()
        let text = Self.bigZone(broken: broken)
        let path = fixture.write("big.zone", text)
        // The file really is split (into as many parts as the machine has cores, at least 2 here).
        let parts = try #require(EntryScanner.parts(of: Array(text.utf8), count: 3))
        #expect(parts.count == 3)
        // Read as an included file: from start to end, with the same file and line numbers.
        let inOrder = Self.outcome(fixture.write("whole.zone", "$INCLUDE big.zone\n"))
        let inParts = Self.outcome(path)
        if broken {
            #expect(inParts.records.isEmpty)
            #expect(inOrder.errors.count > 10)
            #expect(inParts.errors == inOrder.errors)
        } else {
            #expect(inParts.errors.isEmpty)
            #expect(inOrder.records.count > 40_000)
            #expect(inParts.records == inOrder.records)
        }
    }

    @Test func partsStartOnOwnerLinesOutsideParenthesesAndQuotes() throws {
        let bytes = Array(Self.bigZone(broken: false).utf8)
        let parts = try #require(EntryScanner.parts(of: bytes, count: 3))
        #expect(parts.first?.range.lowerBound == 0 && parts.last?.range.upperBound == bytes.count)
        for (a, b) in zip(parts, parts.dropFirst()) {
            #expect(a.range.upperBound == b.range.lowerBound)
            let start = b.range.lowerBound
            // A line start, with an owner (the generator's owners start with a letter) that is
            // one of the entries that begins a line outside parentheses.
            #expect(bytes[start - 1] == UInt8(ascii: "\n"))
            let line = String(decoding: bytes[start...].prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            #expect(line.first.map { "nmtw".contains($0) } == true, "part starts at \(line)")
            // The line number is that of the byte.
            #expect(b.line == 1 + bytes[..<start].count { $0 == UInt8(ascii: "\n") })
            // Every directive before the part, in order, and none after it.
            let before = String(decoding: bytes[..<start], as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("$") }
            #expect(b.directives.map { String(decoding: bytes[$0], as: UTF8.self).trimmingCharacters(in: .newlines) } == before.map(String.init))
            #expect(!b.directives.isEmpty)
        }
    }

    @Test func smallFilesAndFilesWithIncludeAreNotSplit() {
        #expect(EntryScanner.parts(of: Array((apexLines + "a A 192.0.2.1\n").utf8), count: 2) == nil)
        let big = Self.bigZone(broken: false)
        #expect(EntryScanner.parts(of: Array((big + "$include other.zone\n").utf8), count: 2) == nil)
        #expect(EntryScanner.parts(of: Array(big.utf8), count: 1) == nil)
        // An entry left open to the end of the file leaves no place to cut after it.
        #expect(EntryScanner.parts(of: Array((apexLines + "x TXT ( \"open\"\n" + big).utf8), count: 2) == nil)
    }
}

/// A large zone is normalized on several threads, by owner; the result must be what one pass in
/// file order gives.
@Suite struct ShardedNormalizationTests {
    /// What `normalized` must return, the plain way: a record is dropped when its RRset (owner
    /// case-folded, type, covered type for RRSIG) already holds its RDATA; every RRset takes the
    /// TTL of its last record.
    static func reference(_ records: [ZoneRecord]) -> [ZoneRecord] {
        struct Key: Hashable { let owner: [UInt8]; let type: UInt16; let covered: UInt16 }
        func key(_ r: ZoneRecord) -> Key {
            Key(owner: r.owner.lowercased().wire, type: r.type.rawValue,
                covered: r.type == .rrsig ? UInt16(r.rdata[0]) << 8 | UInt16(r.rdata[1]) : 0)
        }
        var seen: [Key: Set<[UInt8]>] = [:]
        var lastTTL: [Key: UInt32] = [:]
        var kept: [ZoneRecord] = []
        for r in records {
            lastTTL[key(r)] = r.ttl
            if seen[key(r), default: []].insert(r.rdata).inserted { kept.append(r) }
        }
        return kept.map { var r = $0; r.ttl = lastTTL[key($0)]!; return r }
    }

    @Test func shardsGiveWhatOnePassGives() throws {
        let location = SourceLocation(file: "big.zone", line: 1)
        var records: [ZoneRecord] = []
        var rng = SystemRandomNumberGenerator()
        while records.count < ZoneFile.minimumShardRecords + 50_000 {
            let i = Int.random(in: 0..<40_000, using: &rng)
            // The same name in two cases is one owner: each record picks its case at random.
            let owner = name(Bool.random(using: &rng) ? "N\(i)x.Sub.example.com." : "n\(i)X.sub.example.com.")
            let type: RRType = [.a, .txt, .rrsig][i % 3]
            let rdata: [UInt8] = switch type {
            case .a: [192, 0, 2, UInt8.random(in: 0...3, using: &rng)]
            case .rrsig: [0, UInt8([1, 16].randomElement(using: &rng)!), UInt8.random(in: 0...2, using: &rng)]
            default: [1, UInt8.random(in: 0...5, using: &rng)]
            }
            records.append(ZoneRecord(owner: owner, type: type, ttl: UInt32.random(in: 1...3, using: &rng), rdata: rdata, location: location))
        }
        let expected = Self.reference(records)
        #expect(expected.count < records.count)
        // Compared without printing 250,000 records when they differ: the first difference.
        func firstDifference(_ got: [ZoneRecord]) -> String? {
            if let i = (0..<min(got.count, expected.count)).first(where: { got[$0] != expected[$0] }) {
                return "record \(i): \(got[i]) instead of \(expected[i])"
            }
            return got.count == expected.count ? nil : "\(got.count) records instead of \(expected.count)"
        }
        #expect(firstDifference(ZoneFile.normalized(records)) == nil)
        for shards in [1, 3, 5, 8] {
            #expect(firstDifference(ZoneFile.normalized(records, shards: shards)) == nil, "\(shards) shards")
        }
    }
}
