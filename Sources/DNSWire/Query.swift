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

    /// Reads and checks one ECS option body; nil when malformed (FORMERR, RFC 7871 §7.1.1): an unknown
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
        guard qdcount == 1 else { return .formatError }

        // QNAME: plain labels only; a compression pointer cannot point anywhere useful in a question.
        var i = Header.size
        while true {
            guard i < n else { return .formatError }
            let len = Int(p[i])
            if len == 0 { i += 1; break }
            guard len <= DNSName.maxLabelLength else { return .formatError }
            i += 1 + len
            guard i - Header.size < DNSName.maxWireLength else { return .formatError }
        }
        let qnameLength = i - Header.size
        guard qnameLength <= DNSName.maxWireLength, i + 4 <= n else { return .formatError }
        q.qnameLength = qnameLength
        q.qtype = RRType(p.u16(at: i))
        q.qclass = RRClass(p.u16(at: i + 2))
        i += 4
        q.questionEnd = i

        // Answer and authority records are skipped but must be well formed.
        for _ in 0..<(Int(ancount) + Int(nscount)) {
            guard let next = skipRecord(p, at: i) else { return .formatError }
            i = next
        }
        for _ in 0..<Int(arcount) {
            let ownerStart = i
            guard let ownerEnd = skipName(p, at: i), ownerEnd + 10 <= n else { return .formatError }
            let type = p.u16(at: ownerEnd)
            let rdlen = Int(p.u16(at: ownerEnd + 8))
            let rdata = ownerEnd + 10
            guard rdata + rdlen <= n else { return .formatError }
            if type == RRType.opt.rawValue {
                // RFC 6891 §6.1.1: one OPT at most, owned by the root.
                guard q.edns == nil, ownerEnd == ownerStart + 1, p[ownerStart] == 0 else { return .formatError }
                var subnet: ClientSubnet? = nil
                var nsid = false
                var o = rdata
                while o < rdata + rdlen {
                    guard o + 4 <= rdata + rdlen else { return .formatError }
                    let length = Int(p.u16(at: o + 2))
                    guard o + 4 + length <= rdata + rdlen else { return .formatError }
                    if p.u16(at: o) == ClientSubnet.optionCode {
                        // One ECS option at most, and a well-formed one (RFC 7871 §7.1.1).
                        guard subnet == nil, let parsed = ClientSubnet.parse(p, at: o + 4, length: length) else {
                            return .formatError
                        }
                        subnet = parsed
                    } else if p.u16(at: o) == EDNS.nsidOptionCode {
                        nsid = true
                    }
                    o += 4 + length
                }
                let ttl = p.u32(at: ownerEnd + 4)
                q.edns = EDNS(
                    udpPayloadSize: p.u16(at: ownerEnd + 2), version: UInt8((ttl >> 16) & 0xFF),
                    dnssecOK: ttl & 0x8000 != 0, optionsOffset: rdata, optionsLength: rdlen, clientSubnet: subnet,
                    nsidRequested: nsid)
            }
            i = rdata + rdlen
        }
        guard i == n else { return .formatError }
        return .query
    }

    /// Skips a whole resource record; nil when it runs past the end or its owner is malformed.
    static func skipRecord(_ p: UnsafeRawBufferPointer, at start: Int) -> Int? {
        guard let end = skipName(p, at: start), end + 10 <= p.count else { return nil }
        let next = end + 10 + Int(p.u16(at: end + 8))
        return next <= p.count ? next : nil
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
