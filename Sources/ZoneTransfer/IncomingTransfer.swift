public import DNSAuth
public import DNSWire

/// A zone transfer we receive as a secondary (RFC 5936 AXFR, RFC 1995 IXFR): the requests, and the
/// strict reading of the response stream, message by message. No I/O here; `DNSServer`'s
/// `SecondaryRefresh` sends and receives.
///
/// Every message must answer our request: its ID, QR set, opcode QUERY, RCODE NOERROR, not
/// truncated, the question (when present) ours, the answer records of class IN inside the zone,
/// the additional section nothing but OPT and a final TSIG; with a key, every message signed and
/// verified (RFC 8945 §5.3.1, `TSIGResponseVerifier`). The stream starts with the zone's SOA and
/// ends with the same SOA (AXFR) or the new SOA closing the last difference (IXFR).
public struct IncomingTransfer: Sendable {
    /// Bounds on what one transfer may bring, so a hostile or broken primary cannot make us hold
    /// without limit what we only check at the end.
    public struct Limits: Sendable, Equatable {
        /// Bytes of DNS messages in all: 1 GiB holds a zone of some 10 million records (the
        /// 1,000,000-record test zone transfers in about 40 MB), far above any zone we are asked
        /// to serve, yet below what would exhaust the memory of a small server.
        public var bytes = 1 << 30
        /// Records in all (every SOA and every record of an IXFR difference counted): 20 million,
        /// twice the zone the byte limit allows, so the byte limit is the one normally reached.
        public var records = 20_000_000
        public init() {}
    }

    /// What a transfer brought.
    public enum Result: Sendable, Equatable {
        /// The primary's IXFR answer is a single SOA: the zone at our serial is current.
        case current(serial: UInt32)
        /// The whole zone (AXFR, or IXFR answered AXFR-style), SOA first.
        case full([Message.Record])
        /// Differences from our serial to the new one, in order.
        case incremental([IXFRDifference])
    }

    /// Why a transfer was rejected.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Code: Sendable, Equatable {
            /// Not a DNS message, or one whose fields do not add up.
            case malformed
            /// ID, QR, opcode or question not those of our request.
            case mismatch
            /// An RCODE other than NOERROR (the primary refused or failed).
            case rcode(UInt8)
            /// A record of another class or outside the zone, or a stream out of order.
            case badContent
            /// A signature missing or not verified.
            case tsig
            /// More bytes or records than `Limits` allows.
            case tooLarge
            /// The connection ended before the final SOA.
            case truncated
        }
        public let code: Code
        public let reason: String
        public init(_ code: Code, _ reason: String) {
            self.code = code
            self.reason = reason
        }
        public var description: String { reason }
    }

    public let origin: DNSName
    public let id: UInt16
    public let type: RRType
    /// The serial we asked to be brought up from (IXFR), nil for AXFR.
    public let fromSerial: UInt32?
    public let limits: Limits
    var verifier: TSIGResponseVerifier?
    var records: [Message.Record] = []
    var bytes = 0
    var messages = 0
    /// Set once the final SOA is read.
    public private(set) var result: Result?

    /// Reads the answer to the request `id` for `origin` of type `type` (AXFR or IXFR from
    /// `fromSerial`); `verifier` checks every message's TSIG when the request was signed.
    public init(origin: DNSName, id: UInt16, type: RRType, fromSerial: UInt32?, verifier: TSIGResponseVerifier?, limits: Limits = Limits()) {
        self.origin = origin
        self.id = id
        self.type = type
        self.fromSerial = fromSerial
        self.verifier = verifier
        self.limits = limits
    }

    /// A request: the question `origin IN type`, RD clear; for IXFR our SOA (`soa`: its RDATA) in
    /// the authority section (RFC 1995 §3). Signed with key `key` of `keyring` when given; returns
    /// the message and, when signed, the verifier for its answers.
    public static func request(origin: DNSName, type: RRType, id: UInt16, soa: [UInt8]?, keyring: TSIGKeyring, key: Int?,
                               now: UInt64) -> (message: [UInt8], verifier: TSIGResponseVerifier?) {
        let authority = type == .ixfr && soa != nil
        var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0, 0, 0, 1, 0, 0, 0, authority ? 1 : 0, 0, 0]
        m += origin.wire + [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
        if authority, let soa {
            m += origin.wire + [0, 6, 0, 1, 0, 0, 0, 0, UInt8(soa.count >> 8), UInt8(soa.count & 0xFF)] + soa
        }
        guard let key else { return (m, nil) }
        let signed = keyring.signRequest(m, key: key, now: now)
        return (signed, TSIGResponseVerifier(keyring: keyring, key: key, request: signed, unsignedLength: m.count))
    }

    /// The serial of the SOA answering our SOA query `id` for `origin` (one message), or why not.
    public static func soaSerial(_ message: [UInt8], id: UInt16, origin: DNSName, verifier: TSIGResponseVerifier?,
                                 now: UInt64) throws(Failure) -> UInt32 {
        var verifier = verifier
        let m = try check(message, id: id, origin: origin, type: .soa, first: true, verifier: &verifier, now: now)
        guard m.flags & 0x0400 != 0 else { throw Failure(.badContent, "the SOA answer is not authoritative (AA clear)") }
        guard let soa = m.answer.first(where: { $0.type == .soa && $0.owner == origin }), let serial = soa.soaSerial else {
            throw Failure(.badContent, "the answer holds no SOA for \(origin)")
        }
        return serial
    }

    /// Whether a message has the TC bit: a UDP answer to retry over TCP.
    public static func isTruncated(_ message: [UInt8]) -> Bool { message.count >= 12 && message[2] & 0x02 != 0 }

    /// Reads the next message of the stream; throws on the first problem. After the final SOA
    /// `result` is set and any further message is an error.
    public mutating func receive(_ message: [UInt8], now: UInt64) throws(Failure) {
        guard result == nil else { throw Failure(.badContent, "a message after the final SOA") }
        bytes += message.count
        messages += 1
        guard bytes <= limits.bytes else { throw Failure(.tooLarge, "more than \(limits.bytes) bytes") }
        let m = try Self.check(message, id: id, origin: origin, type: type, first: messages == 1, verifier: &verifier, now: now)
        for record in m.answer {
            guard record.rrClass == .in else { throw Failure(.badContent, "\(record.owner) \(record.type): class \(record.rrClass.rawValue), not IN") }
            guard record.owner.isSubdomain(of: origin) else { throw Failure(.badContent, "\(record.owner) lies outside \(origin)") }
            if records.isEmpty {
                guard record.type == .soa, record.owner == origin, record.soaSerial != nil else {
                    throw Failure(.badContent, "the transfer does not start with the SOA of \(origin)")
                }
            } else if records.count == limits.records {
                throw Failure(.tooLarge, "more than \(limits.records) records")
            }
            guard result == nil else { throw Failure(.badContent, "records after the final SOA") }
            records.append(record)
            if record.type == .soa { try atSOA(record) }
        }
        // A single SOA answering IXFR: the zone is current (RFC 1995 §2), when it is the whole message.
        if result == nil, type == .ixfr, records.count == 1, let serial = records[0].soaSerial, let fromSerial,
           !SerialNumber.isNewer(serial, than: fromSerial) {
            result = .current(serial: serial)
        }
    }

    /// An SOA in the answer stream: for AXFR (and AXFR-style IXFR) the copy of the first ends the
    /// stream; for an incremental IXFR the SOAs frame each difference.
    mutating func atSOA(_ soa: Message.Record) throws(Failure) {
        guard records.count > 1, let first = records[0].soaSerial, let serial = soa.soaSerial else { return }
        guard soa.owner == origin else { throw Failure(.badContent, "an SOA at \(soa.owner), not the apex") }
        let incremental = type == .ixfr && records[1].type == .soa
        if !incremental {
            guard serial == first else { throw Failure(.badContent, "an SOA with serial \(serial) inside a transfer of serial \(first)") }
            result = .full(Array(records.dropLast()))
            records = []
            return
        }
        // Incremental: SOA(new) [SOA(old) deleted… SOA(next) added…]… SOA(new). The stream ends at
        // an SOA of the new serial met where a difference's deletions would start.
        if records.count == 2 {
            guard serial == fromSerial else {
                throw Failure(.badContent, "the first difference starts at serial \(serial), not ours (\(fromSerial.map(String.init) ?? "-"))")
            }
            return
        }
        let soas = records.indices.dropFirst().filter { records[$0].type == .soa }
        // SOAs after the first alternate: a difference's old SOA (even position), then its new SOA.
        if soas.count % 2 == 1 && serial == first {
            result = .incremental(try Self.differences(Array(records[1..<(records.count - 1)]), to: first))
            records = []
        }
    }

    /// Splits the records between the first and the final SOA into differences and checks that
    /// each starts where the previous one ended.
    static func differences(_ body: [Message.Record], to final: UInt32) throws(Failure) -> [IXFRDifference] {
        var result: [IXFRDifference] = []
        var i = 0
        while i < body.count {
            guard let from = body[i].soaSerial else { throw Failure(.badContent, "a difference that does not start with an SOA") }
            if let last = result.last, last.toSerial != from {
                throw Failure(.badContent, "a difference from serial \(from) follows one that ended at \(last.toSerial)")
            }
            var j = i + 1
            while j < body.count && body[j].type != .soa { j += 1 }
            guard j < body.count, body[j].soaSerial != nil else { throw Failure(.badContent, "a difference without its new SOA") }
            var k = j + 1
            while k < body.count && body[k].type != .soa { k += 1 }
            result.append(IXFRDifference(oldSOA: body[i], deleted: Array(body[(i + 1)..<j]), newSOA: body[j], added: Array(body[(j + 1)..<k])))
            i = k
        }
        guard let last = result.last, last.toSerial == final else { throw Failure(.badContent, "the differences do not end at serial \(final)") }
        return result
    }

    /// Checks one message of the answer to our request and decodes it.
    static func check(_ message: [UInt8], id: UInt16, origin: DNSName, type: RRType, first: Bool,
                      verifier: inout TSIGResponseVerifier?, now: UInt64) throws(Failure) -> Message {
        guard message.count >= 12 else { throw Failure(.malformed, "a message of \(message.count) bytes") }
        let layout = message.withUnsafeBytes { Self.lastAdditionalRecord($0) }
        guard layout.valid else { throw Failure(.malformed, "malformed message: its counts and records do not add up") }
        let decoded: Message
        do {
            decoded = try Message(decoding: message)
        } catch {
            throw Failure(.malformed, "malformed message: \(error)")
        }
        guard decoded.id == id else { throw Failure(.mismatch, "ID \(decoded.id), not our \(id)") }
        guard decoded.flags & 0x8000 != 0, (decoded.flags >> 11) & 0xF == 0 else {
            throw Failure(.mismatch, "not a response to a QUERY (flags \(String(decoded.flags, radix: 16)))")
        }
        let signed = decoded.additional.last?.type.rawValue == TSIGRecord.type
        if var v = verifier {
            if let problem = message.withUnsafeBytes({ v.verify($0, tsigStart: signed ? layout.start : nil, now: now) }) {
                throw Failure(.tsig, problem)
            }
            verifier = v
        }
        let rcode = UInt8(decoded.flags & 0xF)
        guard rcode == 0 else { throw Failure(.rcode(rcode), "RCODE \(rcode) (\(RCode(UInt16(rcode))))") }
        guard decoded.flags & 0x0200 == 0 else { throw Failure(.malformed, "TC set on a TCP message") }
        guard decoded.question.count <= 1, decoded.question.count == 1 || !first else {
            throw Failure(.mismatch, "\(decoded.question.count) questions")
        }
        if let q = decoded.question.first, q.name != origin || q.type != type || q.rrClass != .in {
            throw Failure(.mismatch, "the question \(q.name) \(q.type) is not ours (\(origin) \(type))")
        }
        for (k, r) in decoded.additional.enumerated() where r.type.rawValue == TSIGRecord.type && k != decoded.additional.count - 1 {
            throw Failure(.malformed, "a TSIG record that is not the last")
        }
        if verifier == nil && signed { throw Failure(.tsig, "a signed answer to an unsigned request") }
        return decoded
    }

    /// Where the last record of the message starts (the place of a TSIG), walking every name and
    /// length; `valid` is false when the counts do not match the bytes, `start` nil for a message
    /// without additional records.
    static func lastAdditionalRecord(_ p: UnsafeRawBufferPointer) -> (valid: Bool, start: Int?) {
        let qd = Int(p.u16(at: 4)), records = Int(p.u16(at: 6)) + Int(p.u16(at: 8)) + Int(p.u16(at: 10))
        var i = 12
        for _ in 0..<qd {
            guard let end = QueryParser.skipName(p, at: i), end + 4 <= p.count else { return (false, nil) }
            i = end + 4
        }
        var last: Int? = nil
        for _ in 0..<records {
            last = i
            guard let end = QueryParser.skipName(p, at: i), end + 10 <= p.count else { return (false, nil) }
            i = end + 10 + Int(p.u16(at: end + 8))
            guard i <= p.count else { return (false, nil) }
        }
        guard i == p.count else { return (false, nil) }
        return (true, p.u16(at: 10) > 0 ? last : nil)
    }
}

/// One difference of an IXFR (RFC 1995 §4): the zone at `oldSOA` becomes the zone at `newSOA` by
/// deleting `deleted` and adding `added`.
public struct IXFRDifference: Sendable, Equatable {
    public var oldSOA: Message.Record
    public var deleted: [Message.Record]
    public var newSOA: Message.Record
    public var added: [Message.Record]

    public init(oldSOA: Message.Record, deleted: [Message.Record], newSOA: Message.Record, added: [Message.Record]) {
        self.oldSOA = oldSOA
        self.deleted = deleted
        self.newSOA = newSOA
        self.added = added
    }

    public var fromSerial: UInt32 { oldSOA.soaSerial ?? 0 }
    public var toSerial: UInt32 { newSOA.soaSerial ?? 0 }
}

extension Message.Record {
    /// The serial of an SOA record, nil for another type or RDATA that does not hold one.
    public var soaSerial: UInt32? { type == .soa ? SOAFields(rdata: rdata)?.serial : nil }
}
