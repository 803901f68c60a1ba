import DNSWire
import DNSZone

/// The difference between two successive versions of a zone (one IXFR "delta", RFC 1995 §4):
/// the SOA before and after, the records removed and the records added (neither holds the SOA).
public struct ZoneChange: Sendable, Equatable {
    public var oldSOA: TransferRecord
    public var newSOA: TransferRecord
    public var removed: [TransferRecord]
    public var added: [TransferRecord]

    public init(oldSOA: TransferRecord, newSOA: TransferRecord, removed: [TransferRecord], added: [TransferRecord]) {
        self.oldSOA = oldSOA
        self.newSOA = newSOA
        self.removed = removed
        self.added = added
    }

    /// The serials the change leads from and to (0 for an SOA RDATA too short to hold one,
    /// which `diff` never makes and `JournalCoding.decode` rejects).
    public var oldSerial: UInt32 { SOAFields(rdata: oldSOA.rdata)?.serial ?? 0 }
    public var newSerial: UInt32 { SOAFields(rdata: newSOA.rdata)?.serial ?? 0 }

    /// Bytes the change takes in an uncompressed transfer: what the journal's size limit counts.
    public var size: Int {
        var total = oldSOA.wireSize + newSOA.wireSize
        for r in removed { total += r.wireSize }
        for r in added { total += r.wireSize }
        return total
    }

    /// The change from `old` to `new`, or nil when either has no SOA. Records are compared whole
    /// (owner, type, TTL, RDATA): an RRset whose TTL changed is removed and added again, as a
    /// secondary holds it. Unchanged RRsets are recognised by their bytes, so the cost is one pass
    /// over both zones and allocation only for what changed.
    public static func diff(from old: TransferSnapshot, to new: TransferSnapshot) -> ZoneChange? {
        guard let oldSOA = old.soaRecord, let newSOA = new.soaRecord else { return nil }
        var removed: [TransferRecord] = []
        var added: [TransferRecord] = []
        let (a, b) = (old.zone, new.zone)
        // RRsets of the new zone that are new or changed.
        for n in 0..<b.nodes.count {
            let name = b.name(of: Int32(n))
            guard let base = name.baseAddress else { continue }
            let o = a.node(base, name.count)
            let node = b.nodes[n]
            for s in Int(node.rrsetStart)..<Int(node.rrsetStart + node.rrsetCount) {
                let type = b.rrsets[s].type
                if n == 0 && type == .soa { continue }
                let bytes = b.bytes(of: Int32(s))
                let os = o >= 0 ? a.rrset(at: o, type) : -1
                if os >= 0 && a.bytes(of: os).elementsEqual(bytes) { continue }
                let owner = Array(name)
                let now = records(owner: owner, type: type, bytes)
                let before = os >= 0 ? records(owner: owner, type: type, a.bytes(of: os)) : []
                let kept = Set(before)
                let next = Set(now)
                removed += before.filter { !next.contains($0) }
                added += now.filter { !kept.contains($0) }
            }
        }
        // RRsets of the old zone that are gone.
        for n in 0..<a.nodes.count {
            let name = a.name(of: Int32(n))
            guard let base = name.baseAddress else { continue }
            let o = b.node(base, name.count)
            let node = a.nodes[n]
            for s in Int(node.rrsetStart)..<Int(node.rrsetStart + node.rrsetCount) {
                let type = a.rrsets[s].type
                if n == 0 && type == .soa { continue }
                if o >= 0 && b.rrset(at: o, type) >= 0 { continue }
                removed += records(owner: Array(name), type: type, a.bytes(of: Int32(s)))
            }
        }
        // The NSEC3 chain and the service names' records, compared as sets.
        if a.hashedRecords != b.hashedRecords {
            setDifference(hashed(a), hashed(b), removed: &removed, added: &added)
        }
        if old.serviceRecords != new.serviceRecords {
            setDifference(old.serviceRecords, new.serviceRecords, removed: &removed, added: &added)
        }
        return ZoneChange(oldSOA: oldSOA, newSOA: newSOA, removed: removed, added: added)
    }

    private static func setDifference(
        _ before: [TransferRecord], _ after: [TransferRecord], removed: inout [TransferRecord], added: inout [TransferRecord]
    ) {
        let kept = Set(before)
        let next = Set(after)
        removed += before.filter { !next.contains($0) }
        added += after.filter { !kept.contains($0) }
    }

    /// The records of one pre-encoded RRset (TYPE CLASS TTL RDLENGTH RDATA each).
    static func records(owner: [UInt8], type: RRType, _ data: UnsafeRawBufferPointer) -> [TransferRecord] {
        var result: [TransferRecord] = []
        var i = 0
        while i + 10 <= data.count {
            let end = i + 10 + Int(data.u16(at: i + 8))
            guard end <= data.count else { break }
            result.append(TransferRecord(owner: owner, type: type, ttl: data.u32(at: i + 4), rdata: Array(data[(i + 10)..<end])))
            i = end
        }
        return result
    }

    /// The zone's NSEC3 records (see `Zone.hashedRecords`).
    static func hashed(_ zone: Zone) -> [TransferRecord] {
        zone.hashedRecords.withUnsafeBytes { p in
            var result: [TransferRecord] = []
            var i = 0
            while i < p.count {
                var end = i
                while end < p.count, p[end] != 0 { end += Int(p[end]) + 1 }
                end += 1
                guard end + 10 <= p.count else { break }
                let recordEnd = end + 10 + Int(p.u16(at: end + 8))
                guard recordEnd <= p.count else { break }
                result.append(TransferRecord(
                    owner: Array(p[i..<end]), type: RRType(p.u16(at: end)), ttl: p.u32(at: end + 4),
                    rdata: Array(p[(end + 10)..<recordEnd])))
                i = recordEnd
            }
            return result
        }
    }
}

extension TransferRecord {
    /// Bytes of the record uncompressed on the wire: owner, TYPE CLASS TTL RDLENGTH, RDATA.
    public var wireSize: Int { owner.count + 10 + rdata.count }
}

extension TransferSnapshot {
    /// The zone's SOA as a transfer record, nil for a zone without one.
    public var soaRecord: TransferRecord? {
        let set = zone.rrset(at: 0, .soa)
        guard set >= 0 else { return nil }
        return ZoneChange.records(owner: zone.apex, type: .soa, zone.bytes(of: set)).first
    }

    /// A fingerprint of the content secondaries receive, the SOA serial left out: equal for two
    /// loads of the same data, different (but for a 2^-64 chance) when anything else changed.
    /// RRsets are hashed (FNV-1a, 64 bits) one by one and the hashes added, so the order in which
    /// the zone holds its names does not matter.
    public var contentDigest: UInt64 {
        var total: UInt64 = 0
        let z = zone
        for n in 0..<z.nodes.count {
            let name = z.name(of: Int32(n))
            let node = z.nodes[n]
            for s in Int(node.rrsetStart)..<Int(node.rrsetStart + node.rrsetCount) {
                var h = Fingerprint()
                h.add(name)
                let type = z.rrsets[s].type
                h.add(type.rawValue)
                if n == 0 && type == .soa, let soa = soaRecord, let at = SOAFields.serialOffset(soa.rdata) {
                    // Everything but the serial.
                    h.add(soa.ttl)
                    soa.rdata.withUnsafeBytes { r in
                        h.add(UnsafeRawBufferPointer(rebasing: r[..<at]))
                        h.add(UnsafeRawBufferPointer(rebasing: r[(at + 4)...]))
                    }
                } else {
                    h.add(z.bytes(of: Int32(s)))
                }
                total &+= h.value
            }
        }
        var h = Fingerprint()
        z.hashedRecords.withUnsafeBytes { h.add($0) }
        total &+= h.value
        for r in serviceRecords {
            var h = Fingerprint()
            r.owner.withUnsafeBytes { h.add($0) }
            h.add(r.type.rawValue)
            h.add(r.ttl)
            r.rdata.withUnsafeBytes { h.add($0) }
            total &+= h.value
        }
        return total
    }
}

/// FNV-1a, 64 bits: a stable hash (the standard library's is seeded per process, and a journal
/// written by one process is read by the next).
struct Fingerprint {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes {
            value ^= UInt64(b)
            value &*= 0x0000_0100_0000_01B3
        }
    }
    mutating func add(_ v: UInt16) { withUnsafeBytes(of: v.bigEndian) { add($0) } }
    mutating func add(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { add($0) } }
}

/// The IXFR journal of one zone: the changes between its successive served versions, oldest
/// first and chained (each leads from the serial the previous one led to), and the serial and
/// `contentDigest` of the newest version, so that a restart can tell whether the zone it reads is
/// the one the journal ends with. Bounded by `sizeLimit`: the oldest changes are dropped first.
public struct ZoneJournal: Sendable, Equatable {
    /// The default bound of one zone's journal, in bytes of uncompressed records (`ZoneChange.size`).
    /// A journal answers secondaries a few versions behind; a secondary further behind is sent the
    /// zone (AXFR-style), which costs about what a journal of the zone's size would. 16 MiB keeps
    /// thousands of small edits (a one-record edit is ~200 bytes) and bounds memory and disk to
    /// about the size of a 100,000-record zone per journaled zone; Knot's default journal is 20 MiB.
    public static let defaultSizeLimit = 16 << 20

    /// The newest version's serial and content digest.
    public private(set) var serial: UInt32
    public private(set) var digest: UInt64
    public private(set) var changes: [ZoneChange]
    /// Bytes the changes take (`ZoneChange.size` summed).
    public private(set) var size: Int
    public let sizeLimit: Int

    /// A journal with no changes yet, at the version with `serial` and `digest`.
    public init(serial: UInt32, digest: UInt64, sizeLimit: Int = ZoneJournal.defaultSizeLimit) {
        self.serial = serial
        self.digest = digest
        self.changes = []
        self.size = 0
        self.sizeLimit = sizeLimit
    }

    /// A journal read back (`JournalCoding.decode`): `changes` must be chained and end at `serial`.
    init(serial: UInt32, digest: UInt64, changes: [ZoneChange], sizeLimit: Int) {
        self.init(serial: serial, digest: digest, sizeLimit: sizeLimit)
        self.changes = changes
        self.size = changes.reduce(0) { $0 + $1.size }
        dropOldest()
    }

    /// Records `change` to the version with `digest`. A change that does not lead on from the
    /// newest version starts the journal over (the versions in between are unknown).
    public mutating func record(_ change: ZoneChange, digest: UInt64) {
        if change.oldSerial != serial { changes = []; size = 0 }
        changes.append(change)
        size += change.size
        serial = change.newSerial
        self.digest = digest
        dropOldest()
    }

    private mutating func dropOldest() {
        var drop = 0
        while size > sizeLimit && drop < changes.count {
            size -= changes[drop].size
            drop += 1
        }
        changes.removeFirst(drop)
    }

    /// The changes that bring a secondary at `clientSerial` to `serial`, oldest first; nil when
    /// the journal does not reach back to it (too old, dropped, or a serial never served).
    public func changes(since clientSerial: UInt32) -> ArraySlice<ZoneChange>? {
        guard let first = changes.lastIndex(where: { $0.oldSerial == clientSerial }) else { return nil }
        return changes[first...]
    }
}
