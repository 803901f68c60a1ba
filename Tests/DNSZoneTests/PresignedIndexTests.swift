import DNSWire
import DNSZone
import Testing

/// The index of a zone signed elsewhere: the NSEC that matches or covers a name is the one
/// RFC 4034 §6.1's canonical order puts at or before it, and each RRset gets the RRSIGs that
/// cover its type.
@Suite struct PresignedIndexTests {
    /// An RRSIG RDATA covering `type` (the rest is not read by the index).
    static func rrsig(_ type: RRType, signature: UInt8 = 1) -> [UInt8] {
        [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 13, 2] + Array(repeating: 0, count: 14) + wire("example.") + [signature, 2, 3]
    }

    static let owners = ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.a.example.",
                         "\\001.z.a.example.", "*.z.a.example.", "\\200.z.a.example.", "b\\000.example.", "c.example.", "-.example."]

    static let signed: Zone = {
        var records = [rec("example.", .soa, soa)]
        for owner in owners {
            records.append(rec(owner, .nsec, wire("example.") + [0, 1, 0x40]))
            records.append(rec(owner, .rrsig, rrsig(.nsec)))
        }
        records.append(rec("example.", .rrsig, rrsig(.soa)))
        records.append(rec("example.", .rrsig, rrsig(.soa, signature: 2)))  // two keys: two RRSIGs over the SOA
        return Zone(origin: try! DNSName("example."), records: records)
    }()

    @Test("the NSEC at or before a name in canonical order, for names between, equal to and after every owner")
    func canonicalOrder() throws {
        let index = try #require(Self.signed.presigned)
        #expect(index.denial == .nsec)
        let sorted = try Self.owners.map { try DNSName($0) }.sorted(by: <)
        var probes = Self.owners + ["0.example.", "aa.example.", "x.yljkjljk.a.example.", "\\000.z.a.example.", "zz.example.", "zzz.c.example.",
                                    "b.example.", "b\\000\\000.example.", "\\255.example."]
        probes += Self.owners.map { "\\000." + $0 }
        for probe in probes {
            let name = try DNSName(probe)
            // The last owner not after the name; before every owner, the last (the chain wraps).
            let want = sorted.last { !(name < $0) } ?? sorted[sorted.count - 1]
            let got = name.lowercased().wire.withUnsafeBytes { index.nsecNode(atOrBefore: $0) }
            let gotName = try DNSName(wire: Array(Self.signed.name(of: got)))
            #expect(gotName == want, "\(probe): \(gotName), want \(want)")
        }
    }

    @Test("each RRset gets the RRSIGs whose Type Covered is its type, with its TTL")
    func signaturesPerRRset() throws {
        let zone = Self.signed
        let index = try #require(zone.presigned)
        let soaSet = zone.rrset(at: 0, .soa), nsec = zone.rrset(at: 0, .nsec)
        #expect(index.signatureCount(of: soaSet) == 2)
        #expect(index.signatureCount(of: nsec) == 1)
        _ = index.signatures(of: soaSet) { bytes, count in
            #expect(count == 2 && bytes.load(fromByteOffset: 0, as: UInt16.self).bigEndian == RRType.rrsig.rawValue)
            #expect(bytes.load(fromByteOffset: 4, as: UInt32.self).bigEndian == zone.rrsets[Int(soaSet)].ttl)
            return true
        }
        #expect(Zone(origin: try DNSName("example."), records: [rec("example.", .soa, soa)]).presigned == nil)
    }
}
