/// The EDNS(0) pseudo-record of a query (RFC 6891 §6.1.2), as read from its OPT record.
public struct EDNS: Sendable, Equatable {
    /// Requestor's UDP payload size (the OPT CLASS field).
    public var udpPayloadSize: UInt16
    public var version: UInt8
    /// The DO bit (RFC 3225).
    public var dnssecOK: Bool
    /// Offset and length of the options in the query (the OPT RDATA).
    public var optionsOffset: Int
    public var optionsLength: Int
    /// The EDNS Client Subnet option (RFC 7871), when the query carried a valid one.
    public var clientSubnet: ClientSubnet? = nil
    /// True when the query asked for the server's NSID (RFC 5001 §2.1: the option, empty).
    public var nsidRequested = false
    /// The DNS COOKIE option (RFC 7873 §4), when the query carried a well-formed one.
    public var cookie: CookieOption? = nil

    /// The NSID option code (RFC 5001).
    public static let nsidOptionCode: UInt16 = 3
}

/// An EDNS Client Subnet option of a query (RFC 7871 §6), validated.
///
/// ```
///                 +0 (MSB)                            +1 (LSB)
///   +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
///   |                          FAMILY                               |
///   +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
///   |     SOURCE PREFIX-LENGTH      |     SCOPE PREFIX-LENGTH       |
///   +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
///   |                           ADDRESS...                          /
///   +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
/// ```
public struct ClientSubnet: Sendable, Equatable {
    /// 1 = IPv4, 2 = IPv6 (IANA address family numbers).
    public var family: UInt16
    public var sourcePrefixLength: UInt8
    public var scopePrefixLength: UInt8
    /// The address as a 128-bit number, most significant bit first (IPv4 in the top 32 bits of `high`),
    /// bits beyond the source prefix zero.
    public var high: UInt64
    public var low: UInt64
    /// Where the option's ADDRESS starts in the query and how long it is, for echoing it.
    public var addressOffset: Int
    public var addressLength: Int

    /// EDNS option code of ECS.
    public static let optionCode: UInt16 = 8

    /// Reads and checks one ECS option body; nil when malformed (FORMERR, RFC 7871 §7.2.1): an unknown
    /// family, a source prefix longer than the family's address, an ADDRESS not exactly as long as the
    /// prefix needs, or address bits set beyond the prefix.
    static func parse(_ p: UnsafeRawBufferPointer, at start: Int, length: Int) -> ClientSubnet? {
        guard length >= 4 else { return nil }
        let family = p.u16(at: start)
        let source = Int(p[start + 2])
        let maxBits: Int
        switch family {
        case 1: maxBits = 32
        case 2: maxBits = 128
        default: return nil
        }
        let addressLength = length - 4
        guard source <= maxBits, addressLength == (source + 7) / 8 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<addressLength {
            let b = UInt64(p[start + 4 + i])
            if i < 8 { high |= b << UInt64(56 - 8 * i) } else { low |= b << UInt64(56 - 8 * (i - 8)) }
        }
        if source % 8 != 0, addressLength > 0 {
            let last = p[start + 4 + addressLength - 1]
            guard last & (0xFF >> UInt8(source % 8)) == 0 else { return nil }
        }
        return ClientSubnet(
            family: family, sourcePrefixLength: UInt8(source), scopePrefixLength: p[start + 3],
            high: high, low: low, addressOffset: start + 4, addressLength: addressLength)
    }
}

/// Where the parts of a query's COOKIE option lie (RFC 7873 §4): an 8-byte client cookie, then a
/// server cookie of 8 to 32 bytes when the client has one.
public struct CookieOption: Sendable, Equatable {
    /// The option code of COOKIE.
    public static let optionCode: UInt16 = 10
    /// Offset of the client cookie in the query.
    public var clientOffset: Int
    /// Offset and length of the server cookie (length 0 when the client sent none).
    public var serverOffset: Int
    public var serverLength: Int

    /// Option lengths RFC 7873 §5.2.2 accepts: the client cookie alone, or with 8–32 bytes of server cookie.
    static func isValidLength(_ n: Int) -> Bool { n == 8 || (n >= 16 && n <= 40) }
}

/// A query's TSIG record (RFC 8945 §4.2), the last record of the message: offsets into the packet.
public struct TSIGRecord: Sendable, Equatable {
    /// TSIG's RR type code.
    public static let type: UInt16 = 250
    /// Where the record (its owner, the key name) starts: the MAC covers the message before it.
    public var recordStart: Int
    /// The key name and algorithm name: uncompressed wire names (RFC 8945 §4.2).
    public var keyNameEnd: Int
    public var algorithmStart: Int
    public var algorithmEnd: Int
    /// Seconds since the epoch, 48 bits.
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var macOffset: Int
    public var macSize: Int
    public var originalID: UInt16
    public var error: UInt16
    public var otherOffset: Int
    public var otherLength: Int

    /// Reads the RDATA at `rdata` (`length` bytes) of a TSIG owned by the name at `start`; nil
    /// when a field runs past RDLENGTH or does not fill it exactly.
    static func parse(_ p: UnsafeRawBufferPointer, start: Int, ownerEnd: Int, rdata: Int, length: Int) -> TSIGRecord? {
        let end = rdata + length
        guard let algorithmEnd = QueryParser.skipPlainName(p, at: rdata, end: end), algorithmEnd + 10 <= end else { return nil }
        let time = UInt64(p.u16(at: algorithmEnd)) << 32 | UInt64(p.u32(at: algorithmEnd + 2))
        let macSize = Int(p.u16(at: algorithmEnd + 8))
        let mac = algorithmEnd + 10
        guard mac + macSize + 6 <= end else { return nil }
        let other = mac + macSize + 6
        let otherLength = Int(p.u16(at: other - 2))
        guard other + otherLength == end else { return nil }
        return TSIGRecord(
            recordStart: start, keyNameEnd: ownerEnd, algorithmStart: rdata, algorithmEnd: algorithmEnd,
            timeSigned: time, fudge: p.u16(at: algorithmEnd + 6), macOffset: mac, macSize: macSize,
            originalID: p.u16(at: mac + macSize), error: p.u16(at: mac + macSize + 2),
            otherOffset: other, otherLength: otherLength)
    }
}

/// A query read in place from its bytes: offsets into the packet, no copies (RFC 1035 §4.1).
public struct ParsedQuery: Sendable {
    public var id: UInt16
    /// The second header word: QR, opcode, flags and RCODE.
    public var flags: UInt16
    /// Offset just past the question; `Header.size` when no question could be read.
    public var questionEnd: Int
    /// Wire length of QNAME (which starts at `Header.size`); 0 when no question could be read.
    public var qnameLength: Int
    public var qtype: RRType
    public var qclass: RRClass
    public var edns: EDNS?
    /// The query's TSIG record (RFC 8945), when it is signed.
    public var tsig: TSIGRecord? = nil

    public var opcode: Opcode { Header.opcode(flags) }

    /// An empty query, to be filled by `QueryParser.parse`.
    public init() {
        self.init(id: 0, flags: 0, questionEnd: Header.size, qnameLength: 0, qtype: RRType(0), qclass: RRClass(0), edns: nil)
    }

    init(id: UInt16, flags: UInt16, questionEnd: Int, qnameLength: Int, qtype: RRType, qclass: RRClass, edns: EDNS?) {
        self.id = id
        self.flags = flags
        self.questionEnd = questionEnd
        self.qnameLength = qnameLength
        self.qtype = qtype
        self.qclass = qclass
        self.edns = edns
    }
    public var hasQuestion: Bool { qnameLength > 0 }
}

/// What reading a query found.
public enum QueryParseOutcome: Sendable {
    /// Not to be answered: shorter than a header, or a response (QR=1), RFC 1035 §4.1.1.
    case drop
    /// Readable header but a malformed message: answer FORMERR with what was read.
    case formatError
    /// A well-formed message.
    case query
}

/// Strict, bounds-checked reader of incoming queries.
public enum QueryParser {
    /// Reads the header, the question and every record, checking each name and the OPT record, into
    /// `q` (whatever could be read, also when the outcome is a format error).
    public static func parse(_ p: UnsafeRawBufferPointer, into q: inout ParsedQuery) -> QueryParseOutcome {
        let n = p.count
        guard n >= Header.size else { return .drop }
        let flags = p.u16(at: 2)
        guard flags & Header.qr == 0 else { return .drop }
        q = ParsedQuery(
            id: p.u16(at: 0), flags: flags, questionEnd: Header.size, qnameLength: 0,
            qtype: RRType(0), qclass: RRClass(0), edns: nil)
        let qdcount = p.u16(at: 4), ancount = p.u16(at: 6), nscount = p.u16(at: 8), arcount = p.u16(at: 10)
        // No question is FORMERR, but the rest is read, so that the answer has OPT when the query had
        // one (as Knot); several questions are FORMERR at once.
        guard qdcount <= 1 else { return .formatError }
        var i = Header.size
        if qdcount == 1 {
            guard readQuestion(p, into: &q, at: &i) else { return .formatError }
        }
        let outcome = readRecords(p, into: &q, at: &i, answers: Int(ancount) + Int(nscount), additional: Int(arcount))
        return qdcount == 1 ? outcome : .formatError
    }

    /// QNAME (plain labels only: a compression pointer cannot point anywhere useful in a question),
    /// QTYPE and QCLASS, from `i` on.
    @inline(__always)
    private static func readQuestion(_ p: UnsafeRawBufferPointer, into q: inout ParsedQuery, at i: inout Int) -> Bool {
        let n = p.count
        while true {
            guard i < n else { return false }
            let len = Int(p[i])
            if len == 0 { i += 1; break }
            guard len <= DNSName.maxLabelLength else { return false }
            i += 1 + len
            guard i - Header.size < DNSName.maxWireLength else { return false }
        }
        let qnameLength = i - Header.size
        guard qnameLength <= DNSName.maxWireLength, i + 4 <= n else { return false }
        q.qnameLength = qnameLength
        q.qtype = RRType(p.u16(at: i))
        q.qclass = RRClass(p.u16(at: i + 2))
        i += 4
        q.questionEnd = i
        return true
    }

    /// The answer, authority and additional records from `i` on, which must end the message.
    @inline(__always)
    private static func readRecords(
        _ p: UnsafeRawBufferPointer, into q: inout ParsedQuery, at start: inout Int, answers: Int, additional arcount: Int
    ) -> QueryParseOutcome {
        let n = p.count
        var i = start
        defer { start = i }

        // Answer and authority records are skipped but must be well formed, and OPT and TSIG belong
        // only in the additional section (RFC 6891 §6.1.1, RFC 8945 §5.1).
        for _ in 0..<answers {
            guard let ownerEnd = skipName(p, at: i), ownerEnd + 10 <= n else { return .formatError }
            let type = p.u16(at: ownerEnd)
            guard type != RRType.opt.rawValue, type != TSIGRecord.type else { return .formatError }
            i = ownerEnd + 10 + Int(p.u16(at: ownerEnd + 8))
            guard i <= n else { return .formatError }
        }
        for k in 0..<arcount {
            let ownerStart = i
            guard let ownerEnd = skipName(p, at: i), ownerEnd + 10 <= n else { return .formatError }
            let type = p.u16(at: ownerEnd)
            let rdlen = Int(p.u16(at: ownerEnd + 8))
            let rdata = ownerEnd + 10
            guard rdata + rdlen <= n else { return .formatError }
            if type == TSIGRecord.type {
                // RFC 8945 §5.1: the last record, once; the key name uncompressed, class ANY, TTL 0 (§4.2).
                guard k == arcount - 1, skipPlainName(p, at: ownerStart, end: ownerEnd) == ownerEnd,
                      p.u16(at: ownerEnd + 2) == RRClass.any.rawValue, p.u32(at: ownerEnd + 4) == 0,
                      let tsig = TSIGRecord.parse(p, start: ownerStart, ownerEnd: ownerEnd, rdata: rdata, length: rdlen)
                else { return .formatError }
                q.tsig = tsig
            } else if type == RRType.opt.rawValue {
                // RFC 6891 §6.1.1: one OPT at most, owned by the root. With two, neither is trusted
                // (the FORMERR carries no OPT, as Knot's).
                guard q.edns == nil else { q.edns = nil; return .formatError }
                guard ownerEnd == ownerStart + 1, p[ownerStart] == 0 else { return .formatError }
                let ttl = p.u32(at: ownerEnd + 4)
                let version = UInt8((ttl >> 16) & 0xFF)
                var subnet: ClientSubnet? = nil
                var nsid = false
                var cookie: CookieOption? = nil
                var o = rdata
                // The options of an EDNS version we do not speak are not ours to judge: BADVERS, not
                // FORMERR (RFC 6891 §6.1.3).
                while version == 0 && o < rdata + rdlen {
                    guard o + 4 <= rdata + rdlen else { return .formatError }
                    let length = Int(p.u16(at: o + 2))
                    guard o + 4 + length <= rdata + rdlen else { return .formatError }
                    if p.u16(at: o) == ClientSubnet.optionCode {
                        // One ECS option at most, and a well-formed one (RFC 7871 §7.2.1).
                        guard subnet == nil, let parsed = ClientSubnet.parse(p, at: o + 4, length: length) else {
                            return .formatError
                        }
                        subnet = parsed
                    } else if p.u16(at: o) == EDNS.nsidOptionCode {
                        nsid = true
                    } else if p.u16(at: o) == CookieOption.optionCode {
                        // RFC 7873 §5.2.2: a COOKIE option of any other length is FORMERR; one per message.
                        guard cookie == nil, CookieOption.isValidLength(length) else { return .formatError }
                        cookie = CookieOption(clientOffset: o + 4, serverOffset: o + 12, serverLength: length - 8)
                    }
                    o += 4 + length
                }
                q.edns = EDNS(
                    udpPayloadSize: p.u16(at: ownerEnd + 2), version: version,
                    dnssecOK: ttl & 0x8000 != 0, optionsOffset: rdata, optionsLength: rdlen, clientSubnet: subnet,
                    nsidRequested: nsid, cookie: cookie)
            }
            i = rdata + rdlen
        }
        guard i == n else { return .formatError }
        return .query
    }

    /// Skips an uncompressed name that must end by `end`; nil when it runs past it, holds a pointer
    /// or is longer than 255 bytes.
    static func skipPlainName(_ p: UnsafeRawBufferPointer, at start: Int, end: Int) -> Int? {
        var i = start
        while i < end {
            let len = Int(p[i])
            if len == 0 { return i + 1 - start <= DNSName.maxWireLength ? i + 1 : nil }
            guard len <= DNSName.maxLabelLength else { return nil }
            i += 1 + len
        }
        return nil
    }

    /// Skips a possibly compressed name, returning the offset after it. Pointers must point strictly
    /// backwards from the name that holds them (so loops are impossible), labels are plain or
    /// pointers, and the expanded name is at most 255 bytes (NSD `dname.c`, RFC 1035 §4.1.4).
    public static func skipName(_ p: UnsafeRawBufferPointer, at start: Int) -> Int? {
        var i = start
        var end = -1
        var expanded = 0
        var limit = start  // a pointer must point before the start of the labels it follows
        while true {
            guard i < p.count else { return nil }
            let len = Int(p[i])
            if len == 0 {
                expanded += 1
                guard expanded <= DNSName.maxWireLength else { return nil }
                return end >= 0 ? end : i + 1
            }
            switch len & 0xC0 {
            case 0x00:
                expanded += 1 + len
                guard expanded < DNSName.maxWireLength else { return nil }
                i += 1 + len
            case 0xC0:
                guard i + 1 < p.count else { return nil }
                let target = (len & 0x3F) << 8 | Int(p[i + 1])
                guard target < limit else { return nil }
                if end < 0 { end = i + 2 }
                limit = target
                i = target
            default:
                return nil
            }
        }
    }
}
