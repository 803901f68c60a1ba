import DNSWire
import ZoneTransfer

/// Target (f), a primary's transfer answer: what a Meridian secondary reads from a primary it
/// names (`IncomingTransfer`, the strict stream reader) and the IXFR differences it applies
/// (`IXFRApplier`) to the copy it holds. A hostile or broken primary must get an error, never a
/// crash; an incremental result must apply to a zone at its serial or be refused, and what it
/// yields must hold exactly one SOA, first.
///
/// Input: a flags byte (bit 0: IXFR from serial 1, else AXFR), then messages, each a 2-byte length
/// and that many bytes. The first two bytes of each message are overwritten with the request's ID,
/// so the fuzzer explores what follows the ID check.
public enum TransferTarget {
    public static let name = "transfer"

    static let origin = DNSName.root.child("example")
    static let id: UInt16 = 0x4D52

    /// The copy a secondary holds at serial 1: SOA, NS and an address.
    static let held: [Message.Record] = {
        let ns = origin.child("ns")
        let soa = ns.wire + origin.child("hostmaster").wire + [0, 0, 0, 1, 0, 0, 0x1C, 0x20, 0, 0, 0x0E, 0x10, 0, 0x12, 0x75, 0, 0, 0, 1, 0x2C]
        return [
            Message.Record(owner: origin, type: .soa, rrClass: .in, ttl: 300, rdata: soa),
            Message.Record(owner: origin, type: .ns, rrClass: .in, ttl: 300, rdata: ns.wire),
            Message.Record(owner: ns, type: .a, rrClass: .in, ttl: 300, rdata: [192, 0, 2, 1]),
        ]
    }()

    public static func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var r = InputReader(input)
        guard let flags = r.byte() else { return }
        let ixfr = flags & 1 != 0
        var stream = IncomingTransfer(origin: origin, id: id, type: ixfr ? .ixfr : .axfr, fromSerial: ixfr ? 1 : nil, verifier: nil)
        while let length = r.u16(), var message = r.take(Int(length)) {
            if message.count >= 2 { (message[0], message[1]) = (UInt8(id >> 8), UInt8(id & 0xFF)) }
            do {
                try stream.receive(message, now: 1_800_000_000)
            } catch {
                return
            }
            if stream.result != nil { break }
        }
        switch stream.result {
        case .incremental(let differences):
            guard let applied = try? IXFRApplier.apply(differences, to: held) else { return }
            guard applied.first?.type == .soa, applied.dropFirst().allSatisfy({ $0.type != .soa }) else {
                throw FuzzFailure(name, "an applied IXFR does not hold exactly one SOA, first: \(applied.map(\.type))")
            }
        case .full(let records):
            guard records.first?.type == .soa else { throw FuzzFailure(name, "a full transfer does not start with its SOA") }
        case .current, nil:
            break
        }
    }
}
