public import DNSAuth
public import DNSWire
public import DNSZone

/// The messages of one outgoing AXFR (RFC 5936), made one at a time from a zone snapshot so a
/// large zone's transfer is never held in memory whole.
///
/// The answer sections, concatenated, are the zone's SOA, every RRset of the zone as loaded — the
/// apex, delegations' NS and DS, glue, data occluded by a delegation or DNAME (RFC 5936 §3.5:
/// the transfer is the whole zone, not what queries are answered with), the NSEC3 chain, the
/// records rendered for its service names (`TransferSnapshot.serviceRecords`) — and the SOA again. Each message has the query's ID, AA set, and is at most 64 KiB with names
/// compressed within it; the first carries the question, later ones have QDCOUNT 0 (RFC 5936
/// §2.2.1, as Knot and NSD). An RRset goes whole into one message unless it is larger than a
/// message, then it is split between records. A signed request gets every message signed
/// (RFC 8945 §5.3.1).
public struct AXFRStream: Sendable {
    /// Where the stream stands: the opening SOA, the zone's nodes (node, RRset within it), the
    /// NSEC3 records (byte offset in `Zone.hashedRecords`), the service records (index in
    /// `serviceRecords`), the closing SOA, finished.
    enum Position: Equatable {
        case openingSOA
        case node(Int, rrset: Int, record: Int)
        case hashed(offset: Int)
        case service(Int)
        case closingSOA
        case done
    }

    /// The TSIG state of a signed transfer: the keyring, the key that verified the request, and
    /// the MAC of the last message sent (which the next one's covers).
    public struct Signer: Sendable {
        let keyring: TSIGKeyring
        public let key: Int
        let tsig: TSIGRecord
        var priorMAC: [UInt8]? = nil
        public init(keyring: TSIGKeyring, key: Int, tsig: TSIGRecord) {
            self.keyring = keyring
            self.key = key
            self.tsig = tsig
        }
    }

    public let zone: Zone
    /// Sent after the NSEC3 records, one by one (service names' A and AAAA records are few).
    public let serviceRecords: [TransferRecord]
    /// The request as received; `parsed` holds offsets into it.
    let query: [UInt8]
    let parsed: ParsedQuery
    var signer: Signer?
    var position = Position.openingSOA
    /// Messages made so far.
    public private(set) var messages = 0
    /// Records sent so far (SOA twice).
    public private(set) var records = 0
    /// Largest message made, TSIG included (the TCP length prefix is 16 bits); tests lower it.
    let messageLimit: Int
    /// The clock TSIG uses, seconds since the epoch.
    let now: @Sendable () -> UInt64

    /// A transfer of `snapshot` answering `query` (a parsed AXFR for its zone's apex).
    /// `messageLimit` lowers the 65535-byte message size (tests use it to force many messages).
    public init(
        snapshot: TransferSnapshot, query: [UInt8], parsed: ParsedQuery, signer: Signer? = nil,
        messageLimit: Int = ResponseWriter.maxMessageSize, now: @escaping @Sendable () -> UInt64
    ) {
        self.zone = snapshot.zone
        self.serviceRecords = snapshot.serviceRecords
        self.query = query
        self.parsed = parsed
        self.signer = signer
        self.messageLimit = min(messageLimit, ResponseWriter.maxMessageSize)
        self.now = now
    }

    public var isFinished: Bool { position == .done }

    /// Writes the next message into `buffer` (at least `ResponseWriter.bufferSize` bytes, so names
    /// are compressed) and returns its length; 0 once the closing SOA has been sent.
    public mutating func next(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard position != .done, zone.negativeSOALength > 0 else { return 0 }
        let tsigRoom = signer.map { TSIGKeyring.responseRecordSize($0.tsig) } ?? 0
        var w = ResponseWriter(into: buffer, limit: messageLimit - tsigRoom)
        let first = messages == 0
        query.withUnsafeBytes { q in
            _ = w.writeU16(parsed.id)
            _ = w.writeU16(Header.qr | Header.aa | (parsed.flags & (Header.opcodeMask | Header.rd)))
            _ = w.writeU16(first ? 1 : 0)
            _ = w.writeU32(0)
            _ = w.writeU16(0)
            if first {
                // Not remembered for compression: the question's case stays out of the zone's names.
                _ = w.writeBytes(UnsafeRawBufferPointer(rebasing: q[Header.size..<parsed.questionEnd]))
            }
        }
        var count = 0
        fill(&w, &count)
        w.patchU16(UInt16(count), at: 6)
        var length = w.position
        records += count
        messages += 1
        if var s = signer {
            let result = query.withUnsafeBytes { q in
                s.keyring.signNext(buffer, length: length, query: q, s.tsig, key: s.key, priorMAC: s.priorMAC, now: now())
            }
            length = result.length
            s.priorMAC = result.mac
            signer = s
        }
        return length
    }

    /// Writes records from `position` on while they fit, advancing it.
    private mutating func fill(_ w: inout ResponseWriter, _ count: inout Int) {
        let apexSOA = zone.rrset(at: 0, .soa)
        while true {
            switch position {
            case .done: return
            case .openingSOA, .closingSOA:
                let soa = apexSOA >= 0 ? zone.bytes(of: apexSOA) : UnsafeRawBufferPointer(rebasing: zone.negativeSOA[0..<zone.negativeSOALength])
                let one = UnsafeRawBufferPointer(rebasing: soa[0..<(10 + Int(soa.u16(at: 8)))])
                guard write(&w, owner: zone.name(of: 0), records: one, count: 1, type: .soa) == 1 else { return }
                count += 1
                position = position == .openingSOA ? .node(0, rrset: 0, record: 0) : .done
            case .node(let n, let s, let r):
                guard n < zone.nodes.count else {
                    position = zone.hashedRecordCount > 0 ? .hashed(offset: 0) : .service(0)
                    continue
                }
                let node = zone.nodes[n]
                guard s < Int(node.rrsetCount) else {
                    position = .node(n + 1, rrset: 0, record: 0)
                    continue
                }
                let set = Int32(Int(node.rrsetStart) + s)
                let info = zone.rrsets[Int(set)]
                if n == 0 && info.type == .soa {
                    position = .node(n, rrset: s + 1, record: 0)
                    continue
                }
                // The records from `r` on.
                let data = zone.bytes(of: set)
                var offset = 0
                for _ in 0..<r { offset += 10 + Int(data.u16(at: offset + 8)) }
                let remaining = Int(info.count) - r
                let rest = UnsafeRawBufferPointer(rebasing: data[offset...])
                // Whole RRsets unless one is larger than what is left of an otherwise empty message.
                let whole = write(&w, owner: zone.name(of: Int32(n)), records: rest, count: remaining, type: info.type, all: true)
                if whole == remaining {
                    count += whole
                    position = .node(n, rrset: s + 1, record: 0)
                    continue
                }
                guard count == 0 else { return }
                let some = write(&w, owner: zone.name(of: Int32(n)), records: rest, count: remaining, type: info.type, all: false)
                // A single record larger than a message cannot be sent: the transfer stops without
                // its closing SOA, which tells the secondary it is incomplete.
                guard some > 0 else { position = .done; return }
                count += some
                position = .node(n, rrset: s, record: r + some)
                return
            case .hashed(let offset):
                let all = zone.hashedRecords
                guard offset < all.count else {
                    position = .service(0)
                    continue
                }
                let written: Int = all.withUnsafeBytes { p in
                    var end = offset
                    while p[end] != 0 { end += Int(p[end]) + 1 }
                    end += 1
                    let owner = UnsafeRawBufferPointer(rebasing: p[offset..<end])
                    let recordEnd = end + 10 + Int(p.u16(at: end + 8))
                    let type = RRType(p.u16(at: end))
                    guard write(&w, owner: owner, records: UnsafeRawBufferPointer(rebasing: p[end..<recordEnd]), count: 1, type: type) == 1
                    else { return 0 }
                    return recordEnd
                }
                guard written > 0 else { return }
                count += 1
                position = .hashed(offset: written)
            case .service(let i):
                guard i < serviceRecords.count else {
                    position = .closingSOA
                    continue
                }
                let record = serviceRecords[i]
                // TYPE CLASS TTL RDLENGTH RDATA, the form the record writer takes (RDATA of a
                // service record is an address: at most 16 bytes).
                let length = 10 + record.rdata.count
                let written = withUnsafeTemporaryAllocation(byteCount: length, alignment: 1) { b -> Bool in
                    var header = ResponseWriter(into: b, limit: length)
                    guard header.writeU16(record.type.rawValue), header.writeU16(RRClass.in.rawValue), header.writeU32(record.ttl),
                          header.writeU16(UInt16(truncatingIfNeeded: record.rdata.count)),
                          record.rdata.withUnsafeBytes({ header.writeBytes($0) })
                    else { return false }
                    return record.owner.withUnsafeBytes { owner in
                        write(&w, owner: owner, records: UnsafeRawBufferPointer(b), count: 1, type: record.type) == 1
                    }
                }
                guard written else {
                    // A record no message can hold ends the transfer without its closing SOA.
                    if count == 0 { position = .done }
                    return
                }
                count += 1
                position = .service(i + 1)
            }
        }
    }

    /// Writes up to `count` pre-encoded records (TYPE CLASS TTL RDLENGTH RDATA each) owned by
    /// `owner`, names compressed (RDATA names only for RFC 1035 types, RFC 3597 §4). With `all`,
    /// writes all or none; otherwise as many as fit. Returns how many were written.
    private func write(
        _ w: inout ResponseWriter, owner: UnsafeRawBufferPointer, records data: UnsafeRawBufferPointer, count: Int, type: RRType,
        all: Bool = true
    ) -> Int {
        let start = w.mark
        var i = 0
        for k in 0..<count {
            let mark = w.mark
            let rdlength = Int(data.u16(at: i + 8))
            if !Self.writeRecord(&w, owner: owner, UnsafeRawBufferPointer(rebasing: data[i..<(i + 10 + rdlength)]), type) {
                if all { w.rollBack(to: start); return 0 }
                w.rollBack(to: mark)
                return k
            }
            i += 10 + rdlength
        }
        return count
    }

    /// Writes one pre-encoded record (TYPE CLASS TTL RDLENGTH RDATA, RDATA well formed for its
    /// type) owned by `owner`, names compressed; false when it does not fit (partly written).
    static func writeRecord(_ w: inout ResponseWriter, owner: UnsafeRawBufferPointer, _ record: UnsafeRawBufferPointer, _ type: RRType) -> Bool {
        guard w.writeName(owner) >= 0 else { return false }
        guard type.hasCompressibleNames else { return w.writeBytes(record) }
        guard w.writeBytes(UnsafeRawBufferPointer(rebasing: record[0..<8])), w.writeU16(0) else { return false }
        let start = w.position
        let rdata = UnsafeRawBufferPointer(rebasing: record[10...])
        var i = 0
        if type == .mx {
            guard w.writeBytes(UnsafeRawBufferPointer(rebasing: rdata[0..<2])) else { return false }
            i = 2
        }
        for _ in 0..<((type == .soa || type == .minfo) ? 2 : 1) {
            var end = i
            while rdata[end] != 0 { end += Int(rdata[end]) + 1 }
            end += 1
            guard w.writeName(UnsafeRawBufferPointer(rebasing: rdata[i..<end])) >= 0 else { return false }
            i = end
        }
        guard w.writeBytes(UnsafeRawBufferPointer(rebasing: rdata[i...])) else { return false }
        w.patchU16(UInt16(w.position - start), at: start - 2)
        return true
    }
}
