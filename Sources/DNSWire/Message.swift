/// A whole message decoded into values, for tools and tests (not the query path, which reads
/// queries in place with `QueryParser`). Names are decompressed, including inside the RDATA of the
/// RFC 1035 types, so records compare by content.
public struct Message: Sendable, Equatable {
    /// One resource record with its RDATA uncompressed.
    public struct Record: Sendable, Hashable {
        public var owner: DNSName
        public var type: RRType
        public var rrClass: RRClass
        public var ttl: UInt32
        public var rdata: [UInt8]

        public init(owner: DNSName, type: RRType, rrClass: RRClass, ttl: UInt32, rdata: [UInt8]) {
            self.owner = owner
            self.type = type
            self.rrClass = rrClass
            self.ttl = ttl
            self.rdata = rdata
        }
    }

    public var id: UInt16
    public var flags: UInt16
    public var question: [(name: DNSName, type: RRType, rrClass: RRClass)]
    public var answer: [Record]
    public var authority: [Record]
    /// Additional records without the OPT pseudo-record.
    public var additional: [Record]
    /// The OPT pseudo-record when present.
    public var opt: Record?

    /// The response code, extended by the OPT record's upper bits (RFC 6891 §6.1.3).
    public var rcode: RCode {
        RCode(UInt16(flags & 0xF) | UInt16((opt?.ttl ?? 0) >> 24) << 4)
    }

    public static func == (a: Message, b: Message) -> Bool {
        a.id == b.id && a.flags == b.flags && a.answer == b.answer && a.authority == b.authority
            && a.additional == b.additional && a.opt == b.opt
            && a.question.elementsEqual(b.question) { $0.name == $1.name && $0.type == $1.type && $0.rrClass == $1.rrClass }
    }

    /// Decodes `bytes`, rejecting anything malformed.
    public init(decoding bytes: [UInt8]) throws(DNSWireError) {
        let result = bytes.withUnsafeBytes { p -> Result<(Message, Int), DNSWireError> in
            var r = Reader(p: p, i: 0)
            do throws(DNSWireError) { return .success((try r.message(), r.i)) } catch { return .failure(error) }
        }
        let (message, end) = try result.get()
        guard end == bytes.count else { throw DNSWireError(.trailingData, "\(bytes.count - end) bytes after the message") }
        self = message
    }

    init(id: UInt16, flags: UInt16) {
        self.id = id
        self.flags = flags
        question = []
        answer = []
        authority = []
        additional = []
        opt = nil
    }
}

private struct Reader {
    let p: UnsafeRawBufferPointer
    var i: Int

    mutating func need(_ n: Int) throws(DNSWireError) {
        guard i + n <= p.count else { throw DNSWireError(.truncated, "message ends at byte \(p.count)") }
    }

    mutating func u16() throws(DNSWireError) -> UInt16 {
        try need(2)
        defer { i += 2 }
        return p.u16(at: i)
    }

    mutating func u32() throws(DNSWireError) -> UInt32 {
        try need(4)
        defer { i += 4 }
        return p.u32(at: i)
    }

    /// Reads a possibly compressed name; pointers must point strictly backwards.
    mutating func name() throws(DNSWireError) -> DNSName {
        guard let end = QueryParser.skipName(p, at: i) else {
            throw DNSWireError(.badPointer, "malformed or looping name at byte \(i)")
        }
        var wire: [UInt8] = []
        var o = i
        while true {
            let len = Int(p[o])
            if len & 0xC0 == 0xC0 {
                o = (len & 0x3F) << 8 | Int(p[o + 1])
                continue
            }
            wire.append(UInt8(len))
            if len == 0 { break }
            wire.append(contentsOf: p[(o + 1)...(o + len)])
            o += len + 1
        }
        i = end
        return try DNSName(wire: wire)
    }

    mutating func record() throws(DNSWireError) -> Message.Record {
        let owner = try name()
        let type = RRType(try u16())
        let rrClass = RRClass(try u16())
        let ttl = try u32()
        let length = Int(try u16())
        try need(length)
        let end = i + length
        var rdata: [UInt8]
        if type.hasCompressibleNames {
            rdata = []
            if type == .mx {
                try need(2)
                rdata.append(contentsOf: p[i..<(i + 2)])
                i += 2
            }
            for _ in 0..<((type == .soa || type == .minfo) ? 2 : 1) { rdata.append(contentsOf: try name().wire) }
            guard i <= end else { throw DNSWireError(.truncated, "RDATA longer than RDLENGTH") }
            rdata.append(contentsOf: p[i..<end])
        } else {
            rdata = Array(p[i..<end])
        }
        i = end
        return Message.Record(owner: owner, type: type, rrClass: rrClass, ttl: ttl, rdata: rdata)
    }

    mutating func message() throws(DNSWireError) -> Message {
        var m = Message(id: try u16(), flags: try u16())
        let qd = try u16(), an = try u16(), ns = try u16(), ar = try u16()
        for _ in 0..<qd { m.question.append((try name(), RRType(try u16()), RRClass(try u16()))) }
        for _ in 0..<an { m.answer.append(try record()) }
        for _ in 0..<ns { m.authority.append(try record()) }
        for _ in 0..<ar {
            let r = try record()
            if r.type == .opt { m.opt = r } else { m.additional.append(r) }
        }
        return m
    }
}

extension Message {
    /// Encodes a query for `name`/`type`, optionally with an OPT record (payload size, DO bit) and
    /// an ECS option (RFC 7871: family 1 or 2, source prefix length, address bytes already cut to it).
    public static func query(
        id: UInt16 = 0x1234, name: DNSName, type: RRType, rrClass: RRClass = .in,
        recursionDesired: Bool = false, edns: (payload: UInt16, dnssecOK: Bool)? = nil,
        clientSubnet: (family: UInt16, sourcePrefixLength: UInt8, address: [UInt8])? = nil
    ) -> [UInt8] {
        var b: [UInt8] = []
        func u16(_ v: UInt16) { b.append(UInt8(v >> 8)); b.append(UInt8(v & 0xFF)) }
        let opt = edns ?? (clientSubnet == nil ? nil : (1232, false))
        u16(id)
        u16(recursionDesired ? Header.rd : 0)
        u16(1); u16(0); u16(0); u16(opt == nil ? 0 : 1)
        b.append(contentsOf: name.wire)
        u16(type.rawValue)
        u16(rrClass.rawValue)
        if let opt {
            b.append(0)
            u16(RRType.opt.rawValue)
            u16(opt.payload)
            u16(0)
            u16(opt.dnssecOK ? 0x8000 : 0)
            if let ecs = clientSubnet {
                u16(UInt16(8 + ecs.address.count))
                u16(ClientSubnet.optionCode)
                u16(UInt16(4 + ecs.address.count))
                u16(ecs.family)
                b.append(ecs.sourcePrefixLength)
                b.append(0)
                b.append(contentsOf: ecs.address)
            } else {
                u16(0)
            }
        }
        return b
    }
}

extension Message {
    /// The ECS option of the response's OPT record (RFC 7871 §6), when present.
    public var clientSubnet: (family: UInt16, sourcePrefixLength: UInt8, scopePrefixLength: UInt8, address: [UInt8])? {
        guard let rdata = opt?.rdata else { return nil }
        var i = 0
        while i + 4 <= rdata.count {
            let code = UInt16(rdata[i]) << 8 | UInt16(rdata[i + 1])
            let length = Int(UInt16(rdata[i + 2]) << 8 | UInt16(rdata[i + 3]))
            guard i + 4 + length <= rdata.count else { return nil }
            if code == ClientSubnet.optionCode, length >= 4 {
                let body = Array(rdata[(i + 4)..<(i + 4 + length)])
                return (UInt16(body[0]) << 8 | UInt16(body[1]), body[2], body[3], Array(body[4...]))
            }
            i += 4 + length
        }
        return nil
    }
}
