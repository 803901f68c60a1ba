import DNSWire
import DNSZone
import IPNet
import QueryEngine
import Routing
import ZoneFile

/// Target (b), zone compile and answer: records built from the input (owner names, types, TTLs,
/// RDATA bytes) within the reader's own checks, compiled into a `Zone` of origin `fz.` (before
/// `ZoneFile.validate`, as a loading server compiles while it validates) and, when they pass
/// `ZoneFile.validate`, queried at the owners, below them and at a missing name, over UDP
/// with and without EDNS and over TCP; every response passes `ResponseCheck`, and none to a query
/// in the zone is REFUSED or FORMERR.
///
/// Input: a flags byte (bit 0 adds an apex SOA, bit 1 an apex NS `ns.fz.`, bit 2 an address for
/// it), then records, each: owner, type byte (an index in `types`, else the next two bytes are
/// the type code), TTL byte (an index in `ttls`), RDATA. A name is a byte whose low two bits count
/// its labels and whose next two bits choose the suffix (`fz.`, the root, `example.`, `ns.fz.`),
/// then one byte per label: below 0xC0 a word of `words`, else a label of `byte & 0x3F` bytes
/// taken from the input. RDATA is a byte: with bit 7 set, RDATA built for the type with names
/// as above (and numbers from the input); else that many raw bytes, 127 meaning a 2-byte length.
public enum ZoneTarget {
    public static let name = "zone"

    static let origin = DNSName.root.child("fz")
    static let words: [[UInt8]] = ["*", "a", "b", "ns", "www", "mail", "sub", "x", "A", "WwW", "_tcp", "_sip", "\\", "."]
        .map { Array($0.utf8) }
    static let types: [RRType] = [.a, .aaaa, .ns, .cname, .dname, .soa, .mx, .srv, .txt, .ptr, .https, .svcb, .ds, .rrsig,
                                  .nsec, .dnskey, .caa, .null, .naptr, .hinfo, RRType(65280)]
    static let ttls: [UInt32] = [0, 1, 60, 300, 3600, 86400, 0x7FFF_FFFF, 0xFFFF_FFFF]
    /// Records read from one input at most: enough for chains, wildcards and cuts; more only slows
    /// each run down.
    static let maxRecords = 48

    nonisolated(unsafe) static let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)

    public static func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var r = InputReader(input)
        guard let flags = r.byte() else { return }
        var records: [ZoneRecord] = []
        let here = SourceLocation(file: "fuzz", line: 0)
        if flags & 1 != 0 {
            var soa = origin.child("ns").wire + origin.child("h").wire
            for v: UInt32 in [1, 7200, 3600, 1_209_600, 300] { soa += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
            records.append(ZoneRecord(owner: origin, type: .soa, ttl: 3600, rdata: soa, location: here))
        }
        if flags & 2 != 0 { records.append(ZoneRecord(owner: origin, type: .ns, ttl: 3600, rdata: origin.child("ns").wire, location: here)) }
        if flags & 4 != 0 { records.append(ZoneRecord(owner: origin.child("ns"), type: .a, ttl: 3600, rdata: [192, 0, 2, 53], location: here)) }
        while !r.isAtEnd && records.count < maxRecords {
            guard let owner = r.name(), let typeByte = r.byte() else { break }
            let type: RRType
            if Int(typeByte) < types.count { type = types[Int(typeByte)] } else {
                guard let code = r.u16() else { break }
                type = RRType(code)
            }
            guard let ttlByte = r.byte(), let rdata = r.rdata(for: type) else { break }
            // What ZoneFileReader refuses before validation: meta types and address RDATA of the wrong size.
            if type.isMetaType || type.rawValue == 0 || (type == .a && rdata.count != 4) || (type == .aaaa && rdata.count != 16) { continue }
            let record = ZoneRecord(owner: owner, type: type, ttl: ttls[Int(ttlByte) % ttls.count], rdata: rdata, location: here)
            records.append(record)
        }
        // Compiled before it is validated, as a loading server does (`ZoneFile.readValid(compiling:)`):
        // Zone.init must take records that fail the checks too. Only a valid zone is queried.
        let zone = Zone(origin: origin, records: records)
        guard ZoneFile.validate(origin: origin, records: records).isEmpty else { return }
        let engine = QueryEngine(zones: ZoneSet(zones: [zone]))

        // Questions: the apex's SOA and ANY and a missing name; then each owner (the first 16) for
        // its record's type and, in turn, A, ANY or A below it. Transports and EDNS rotate.
        var questions: [(DNSName, RRType)] = [(origin, .soa), (origin, .any), (origin.child("nx-fuzz"), .a)]
        for (i, record) in records.prefix(16).enumerated() {
            questions.append((record.owner, record.type))
            switch i % 3 {
            case 0: questions.append((record.owner, .a))
            case 1: questions.append((record.owner, .any))
            default: questions.append((record.owner.child("below"), .a))
            }
        }
        var state = RoutingState(seed: 1)
        let client = IPAddress("127.0.0.1")!
        for (i, (name, qtype)) in questions.enumerated() {
            let edns: (UInt16, Bool)? = switch i % 3 {
            case 0: nil
            case 1: (UInt16(512 + (i * 97) % 800), i % 2 == 0)
            default: (65535, true)
            }
            let wire = Message.query(id: UInt16(i), name: name, type: qtype, edns: edns)
            let transport: Transport = i % 4 == 3 ? .tcp : .udp
            let n = try ResponseCheck.respond(engine, toWire: wire, from: client, over: transport, into: buffer, state: &state, target: Self.name)
            let rcode = UInt16(buffer[3] & 0xF)
            if n >= Header.size && (rcode == RCode.refused.rawValue || rcode == RCode.formErr.rawValue) {
                throw FuzzFailure(Self.name, "rcode \(rcode) for \(name) \(qtype) in zone \(origin) (\(records.count) records)")
            }
        }
    }
}

/// Reads the structured inputs of `ZoneTarget`; every read returns nil at the end of the input.
struct InputReader {
    let bytes: UnsafeRawBufferPointer
    var i = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { i >= bytes.count }

    mutating func byte() -> UInt8? {
        guard i < bytes.count else { return nil }
        defer { i += 1 }
        return bytes[i]
    }

    mutating func u16() -> UInt16? {
        guard let hi = byte(), let lo = byte() else { return nil }
        return UInt16(hi) << 8 | UInt16(lo)
    }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n <= bytes.count - i else { return nil }
        defer { i += n }
        return Array(bytes[i..<(i + n)])
    }

    /// A name as described on `ZoneTarget`; nil at the end of the input or when it is not a valid
    /// name (over 255 bytes).
    mutating func name() -> DNSName? {
        guard let spec = byte() else { return nil }
        let suffixes: [DNSName] = [ZoneTarget.origin, .root, DNSName.root.child("example"), ZoneTarget.origin.child("ns")]
        var wire: [UInt8] = []
        for _ in 0..<Int(spec & 3) {
            guard let c = byte() else { return nil }
            let label: [UInt8]
            if c < 0xC0 { label = ZoneTarget.words[Int(c) % ZoneTarget.words.count] } else {
                guard let raw = take(Int(c & 0x3F)), !raw.isEmpty else { return nil }
                label = raw
            }
            wire.append(UInt8(label.count))
            wire += label
        }
        wire += suffixes[Int(spec >> 2 & 3)].wire
        return try? DNSName(wire: wire)
    }

    /// RDATA for `type` as described on `ZoneTarget`.
    mutating func rdata(for type: RRType) -> [UInt8]? {
        guard let spec = byte() else { return nil }
        guard spec & 0x80 != 0 else {
            var length = Int(spec)
            if length == 0x7F {
                guard let long = u16() else { return nil }
                length = Int(long)
            }
            return take(length)
        }
        func number(_ width: Int) -> [UInt8]? { take(width) }
        switch type {
        case .ns, .cname, .dname, .ptr: return name()?.wire
        case .mx:
            guard let pref = number(2), let target = name() else { return nil }
            return pref + target.wire
        case .srv:
            guard let fixed = number(6), let target = name() else { return nil }
            return fixed + target.wire
        case .https, .svcb:
            guard let priority = number(2), let target = name(), let n = byte(), let params = take(Int(n & 0x1F)) else { return nil }
            return priority + target.wire + params
        case .soa:
            guard let mname = name(), let rname = name(), let fields = number(20) else { return nil }
            return mname.wire + rname.wire + fields
        case .a: return number(4)
        case .aaaa: return number(16)
        default:
            guard let n = byte() else { return nil }
            return take(Int(n))
        }
    }
}

extension DNSName {
    /// This name with one more label in front, or this name when that would not be a name.
    func child(_ label: String) -> DNSName {
        let bytes = Array(label.utf8)
        return (try? DNSName(wire: [UInt8(bytes.count)] + bytes + wire)) ?? self
    }
}
