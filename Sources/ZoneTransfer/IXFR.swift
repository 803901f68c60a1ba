import DNSAuth
public import DNSWire
public import DNSZone

/// The messages of one outgoing incremental transfer (RFC 1995 §4), made one at a time from a
/// zone's journal: the current SOA; then per change the old SOA, the records removed, the new
/// SOA, the records added; then the current SOA again. With no changes it is the current SOA
/// alone: the answer to a client that is already current. Messages are framed, compressed,
/// bounded and signed as `AXFRStream`'s are.
public struct IXFRStream: Sendable {
    /// Where the stream stands: the opening SOA, item `item` of change `change` (0 the old SOA,
    /// then the removed records, the new SOA, the added records), the closing SOA, finished.
    enum Position: Equatable {
        case openingSOA
        case change(Int, item: Int)
        case closingSOA
        case done
    }

    let current: TransferRecord
    let changes: [ZoneChange]
    let query: [UInt8]
    let parsed: ParsedQuery
    var signer: AXFRStream.Signer?
    var position = Position.openingSOA
    public private(set) var messages = 0
    /// Records sent so far (SOA records included).
    public private(set) var records = 0
    let messageLimit: Int
    let now: @Sendable () -> UInt64
    /// One record's TYPE CLASS TTL RDLENGTH RDATA, reused for every record.
    private var scratch: [UInt8] = []

    /// The transfer of `changes` (chained, the last leading to `current`'s serial) answering
    /// `query`; no changes: `current` alone.
    public init(
        current: TransferRecord, changes: [ZoneChange], query: [UInt8], parsed: ParsedQuery, signer: AXFRStream.Signer? = nil,
        messageLimit: Int = ResponseWriter.maxMessageSize, now: @escaping @Sendable () -> UInt64
    ) {
        self.current = current
        self.changes = changes
        self.query = query
        self.parsed = parsed
        self.signer = signer
        self.messageLimit = min(messageLimit, ResponseWriter.maxMessageSize)
        self.now = now
    }

    public var isFinished: Bool { position == .done }

    /// Writes the next message into `buffer` (at least `ResponseWriter.bufferSize` bytes) and
    /// returns its length; 0 once the last SOA has been sent.
    public mutating func next(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard position != .done else { return 0 }
        let tsigRoom = signer.map { TSIGKeyring.responseRecordSize($0.tsig) } ?? 0
        var w = ResponseWriter(into: buffer, limit: messageLimit - tsigRoom)
        let first = messages == 0
        query.withUnsafeBytes { q in
            _ = w.writeU16(parsed.id)
            _ = w.writeU16(Header.qr | Header.aa | (parsed.flags & (Header.opcodeMask | Header.rd)))
            _ = w.writeU16(first ? 1 : 0)
            _ = w.writeU32(0)
            _ = w.writeU16(0)
            if first { _ = w.writeBytes(UnsafeRawBufferPointer(rebasing: q[Header.size..<parsed.questionEnd])) }
        }
        var count = 0
        while let record = item(position) {
            let mark = w.mark
            guard write(&w, record) else {
                w.rollBack(to: mark)
                // A record larger than a message cannot be sent: the transfer stops without its
                // closing SOA, which tells the client it is incomplete.
                if count == 0 { position = .done }
                break
            }
            count += 1
            position = after(position)
        }
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

    /// The record at `p`, nil when finished.
    private func item(_ p: Position) -> TransferRecord? {
        switch p {
        case .openingSOA, .closingSOA: return current
        case .done: return nil
        case .change(let c, let i):
            let change = changes[c]
            let removed = change.removed.count
            if i == 0 { return change.oldSOA }
            if i <= removed { return change.removed[i - 1] }
            if i == removed + 1 { return change.newSOA }
            return change.added[i - removed - 2]
        }
    }

    private func after(_ p: Position) -> Position {
        switch p {
        case .openingSOA: return changes.isEmpty ? .done : .change(0, item: 0)
        case .closingSOA, .done: return .done
        case .change(let c, let i):
            if i + 1 < changes[c].removed.count + changes[c].added.count + 2 { return .change(c, item: i + 1) }
            return c + 1 < changes.count ? .change(c + 1, item: 0) : .closingSOA
        }
    }

    private mutating func write(_ w: inout ResponseWriter, _ r: TransferRecord) -> Bool {
        guard r.rdata.count <= Int(UInt16.max) else { return false }
        scratch.removeAll(keepingCapacity: true)
        for v in [r.type.rawValue, RRClass.in.rawValue] { scratch.append(UInt8(v >> 8)); scratch.append(UInt8(v & 0xFF)) }
        for shift in [24, 16, 8, 0] as [UInt32] { scratch.append(UInt8((r.ttl >> shift) & 0xFF)) }
        scratch.append(UInt8(r.rdata.count >> 8))
        scratch.append(UInt8(r.rdata.count & 0xFF))
        scratch += r.rdata
        return r.owner.withUnsafeBytes { owner in
            scratch.withUnsafeBytes { record in AXFRStream.writeRecord(&w, owner: owner, record, r.type) }
        }
    }
}

/// An outgoing zone transfer, one message at a time: the whole zone (AXFR, or IXFR answered
/// AXFR-style) or an incremental one.
public enum OutgoingTransfer: Sendable {
    case axfr(AXFRStream)
    case ixfr(IXFRStream)

    /// Writes the next message into `buffer` and returns its length; 0 once finished.
    public mutating func next(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        switch self {
        case .axfr(var s):
            let n = s.next(into: buffer)
            self = .axfr(s)
            return n
        case .ixfr(var s):
            let n = s.next(into: buffer)
            self = .ixfr(s)
            return n
        }
    }

    public var isFinished: Bool {
        switch self {
        case .axfr(let s): return s.isFinished
        case .ixfr(let s): return s.isFinished
        }
    }

    /// The zone transferred (its apex as the SOA names it; nil only for a malformed owner).
    public var zone: DNSName? {
        switch self {
        case .axfr(let s): return s.zone.origin
        case .ixfr(let s): return try? DNSName(wire: s.current.owner)
        }
    }

    /// The serial the transfer brings the client to.
    public var serial: UInt32? {
        switch self {
        case .axfr(let s): return s.zone.serial
        case .ixfr(let s): return SOAFields(rdata: s.current.rdata)?.serial
        }
    }

    /// What is sent, as the log names it: `AXFR`; for an IXFR `incremental` (with the number of
    /// versions), `whole zone` (AXFR-style) or `current` (the SOA alone, RFC 1995 §2).
    public var kind: String {
        switch self {
        case .axfr(let s): return s.parsed.qtype == .ixfr ? "IXFR, whole zone" : "AXFR"
        case .ixfr(let s): return s.changes.isEmpty ? "IXFR, current" : "IXFR, incremental (\(s.changes.count) versions)"
        }
    }

    /// The answer to an IXFR `query` (parsed, for the apex of the snapshot's zone, access already
    /// granted) from the zone's `journal` (RFC 1995 §2, §4): the current SOA alone when the client's serial
    /// (the SOA in the query's authority section) is the zone's or newer; the changes since it
    /// when the journal reaches back to it; otherwise the whole zone, AXFR-style (no SOA in the
    /// query, a serial the journal does not hold, a journal of another version than the zone).
    public static func forIXFR(
        snapshot: TransferSnapshot, journal: ZoneJournal?, query: [UInt8], parsed: ParsedQuery, signer: AXFRStream.Signer?,
        messageLimit: Int = ResponseWriter.maxMessageSize, now: @escaping @Sendable () -> UInt64
    ) -> OutgoingTransfer {
        let zone = snapshot.zone
        if let ours = zone.serial, let soa = snapshot.soaRecord, let theirs = clientSerial(query, parsed) {
            var changes: [ZoneChange]? = nil
            if !SerialNumber.isNewer(ours, than: theirs) {
                changes = []
            } else if let journal, journal.serial == ours, let since = journal.changes(since: theirs) {
                changes = Array(since)
            }
            if let changes {
                return .ixfr(IXFRStream(
                    current: soa, changes: changes, query: query, parsed: parsed, signer: signer, messageLimit: messageLimit, now: now))
            }
        }
        return .axfr(AXFRStream(snapshot: snapshot, query: query, parsed: parsed, signer: signer, messageLimit: messageLimit, now: now))
    }

    /// The serial of the SOA that opens the authority section of an IXFR query, nil when there
    /// is none or it is malformed. Names may be compressed; every offset is checked.
    public static func clientSerial(_ query: [UInt8], _ parsed: ParsedQuery) -> UInt32? {
        query.withUnsafeBytes { p -> UInt32? in
            guard p.count >= Header.size, p.u16(at: 6) == 0, p.u16(at: 8) >= 1,
                  let ownerEnd = QueryParser.skipName(p, at: parsed.questionEnd), ownerEnd + 10 <= p.count,
                  p.u16(at: ownerEnd) == RRType.soa.rawValue
            else { return nil }
            let rdata = ownerEnd + 10
            let end = rdata + Int(p.u16(at: ownerEnd + 8))
            guard end <= p.count, let mname = QueryParser.skipName(p, at: rdata), mname < end,
                  let rname = QueryParser.skipName(p, at: mname), rname + 20 <= end
            else { return nil }
            return p.u32(at: rname)
        }
    }
}
