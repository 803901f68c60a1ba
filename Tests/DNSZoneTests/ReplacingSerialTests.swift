import DNSWire
import DNSZone
import Foundation
import Testing

/// The serial of an SOA's RDATA (the 4 bytes before the last 16), read from pre-encoded TYPE CLASS
/// TTL RDLENGTH RDATA bytes.
private func serial(in bytes: UnsafeRawBufferPointer, length: Int) -> UInt32 {
    bytes.u32(at: length - 20)
}

@Suite struct ReplacingSerialTests {
    @Test func patchesTheApexSOAAndTheNegativeSOAAndNothingElse() throws {
        let copy = zone.replacingSerial(0xFFFF_FFF0)
        #expect(copy.serial == 0xFFFF_FFF0)
        #expect(zone.serial == 7, "the original keeps its serial")
        let soa = copy.rrset(at: 0, .soa)
        let bytes = copy.bytes(of: soa)
        #expect(serial(in: bytes, length: bytes.count) == 0xFFFF_FFF0)
        #expect(serial(in: copy.negativeSOA, length: copy.negativeSOALength) == 0xFFFF_FFF0)
        #expect(serial(in: zone.negativeSOA, length: zone.negativeSOALength) == 7)
        // Every other byte as before; only the 4 serial bytes of the SOA differ.
        let original = Array(zone.data), patched = Array(copy.data)
        #expect(original.count == patched.count)
        let differing = original.indices.filter { original[$0] != patched[$0] }
        #expect(differing.count == 4)
        #expect(Array(copy.negativeSOA[0..<(copy.negativeSOALength - 20)]) == Array(zone.negativeSOA[0..<(zone.negativeSOALength - 20)]))
        // The copy still answers: lookups go through the shared name table and nodes.
        let w = try DNSName("x.w.example.").wire
        #expect(copy.node(w, w.count) == zone.node(w, w.count))
        #expect(w.withUnsafeBytes { copy.resolve($0, forDS: false) } == w.withUnsafeBytes { zone.resolve($0, forDS: false) })
        // A copy of a copy, and the copy outliving its original's other references.
        let again = copy.replacingSerial(3)
        #expect(again.serial == 3 && copy.serial == 0xFFFF_FFF0)
        #expect(again.recordCount == zone.recordCount && again.nodes.count == zone.nodes.count)
    }

    @Test func aZoneWithoutSOAIsReturnedAsItIs() {
        let bare = Zone(origin: try! DNSName("bare."), records: [rec("a.bare.", .a)])
        #expect(bare.replacingSerial(9) === bare)
        #expect(bare.serial == nil)
    }

    /// The figure in docs/ARCHITECTURE.md ("Service names in transfers"): the copy of a
    /// 1,000,000-record zone, timed and checked.
    @Test func millionRecordZone() throws {
        var records = [rec("big.", .soa, soa), rec("big.", .ns, wire("ns.big.")), rec("ns.big.", .a)]
        records.reserveCapacity(1_000_003)
        for i in 0..<1_000_000 {
            records.append(rec("h\(i).big.", .a, [10, UInt8(i >> 16 & 0xFF), UInt8(i >> 8 & 0xFF), UInt8(i & 0xFF)]))
        }
        let big = Zone(origin: try DNSName("big."), records: records)
        records = []
        #expect(big.recordCount == 1_000_003)
        var copy = big
        let clock = ContinuousClock()
        let elapsed = clock.measure { copy = big.replacingSerial(8) }
        #expect(copy.serial == 8 && big.serial == 7)
        let w = try DNSName("h999999.big.").wire
        #expect(copy.node(w, w.count) >= 0)
        print("Zone.replacingSerial on \(big.recordCount) records (\(big.data.count) bytes of RRset data): \(elapsed)")
    }
}
