public import DNSWire

/// Why a journal file cannot be read back; the journal is then ignored (IXFR answered AXFR-style
/// until the next change) and the file rewritten at the next change.
public struct JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Not a journal: the first bytes are not `JournalCoding.magic`.
        case badMagic
        /// A journal of a format version this build does not read.
        case unsupportedVersion
        /// The file ends before its contents do.
        case truncated
        /// The checksum does not match the contents (a torn or altered file).
        case badChecksum
        /// A well-checksummed file whose contents break the format's rules.
        case malformed
        /// A journal of another zone.
        case wrongZone
    }
    public let code: Code
    public let reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { reason }
}

/// The on-disk form of a `ZoneJournal`, version 1, all integers big-endian:
///
///     "MERIDJNL"  u16 version (1)
///     origin      (u8 length, wire name)
///     u32 serial  u64 digest  u32 change count
///     per change: old SOA, new SOA, u32 removed count, removed, u32 added count, added
///     per record: u8 owner length, owner (wire name), u16 type, u32 TTL, u16 RDLENGTH, RDATA
///     u32 CRC-32 (IEEE) of every byte before it
///
/// Pure bytes in, bytes out; the file itself is `DNSServer`'s `JournalStore`.
public enum JournalCoding {
    public static let magic = Array("MERIDJNL".utf8)
    public static let version: UInt16 = 1

    public static func encode(_ journal: ZoneJournal, origin: DNSName) -> [UInt8] {
        var out = magic
        out.reserveCapacity(64 + journal.size + 8 * journal.changes.count)
        put16(version, &out)
        let apex = origin.lowercased().wire
        out.append(UInt8(apex.count))
        out += apex
        put32(journal.serial, &out)
        put32(UInt32(truncatingIfNeeded: journal.digest >> 32), &out)
        put32(UInt32(truncatingIfNeeded: journal.digest), &out)
        put32(UInt32(journal.changes.count), &out)
        for change in journal.changes {
            put(change.oldSOA, &out)
            put(change.newSOA, &out)
            put32(UInt32(change.removed.count), &out)
            for r in change.removed { put(r, &out) }
            put32(UInt32(change.added.count), &out)
            for r in change.added { put(r, &out) }
        }
        put32(CRC32.of(out[...]), &out)
        return out
    }

    /// The journal of zone `origin` in `bytes`, bounded by `sizeLimit`; every length and count is
    /// checked against the bytes there are, so a hostile file costs at most its own size.
    public static func decode(_ bytes: [UInt8], origin: DNSName, sizeLimit: Int = ZoneJournal.defaultSizeLimit) throws(JournalError) -> ZoneJournal {
        guard bytes.count >= magic.count + 2, bytes.starts(with: magic) else {
            throw JournalError(bytes.count < magic.count && magic.starts(with: bytes) ? .truncated : .badMagic, "not a Meridian journal")
        }
        var r = Reader(bytes: bytes, at: magic.count)
        let v = try r.u16()
        guard v == version else { throw JournalError(.unsupportedVersion, "journal format version \(v), this build reads \(version)") }
        guard bytes.count >= r.at + 4 else { throw JournalError(.truncated, "the file ends at byte \(bytes.count)") }
        let body = bytes.count - 4
        let stored = UInt32(bytes[body]) << 24 | UInt32(bytes[body + 1]) << 16 | UInt32(bytes[body + 2]) << 8 | UInt32(bytes[body + 3])
        guard CRC32.of(bytes[..<body]) == stored else {
            throw JournalError(.badChecksum, "checksum mismatch (a truncated or altered file)")
        }
        r.end = body
        let apex = try r.name()
        guard apex == origin.lowercased().wire else { throw JournalError(.wrongZone, "the journal of another zone") }
        let serial = try r.u32()
        let digest = UInt64(try r.u32()) << 32 | UInt64(try r.u32())
        let count = try r.count(minimumBytes: 2 * Reader.minimumRecord + 8)
        var changes: [ZoneChange] = []
        changes.reserveCapacity(count)
        for _ in 0..<count {
            let oldSOA = try r.record(), newSOA = try r.record()
            guard oldSOA.type == .soa, newSOA.type == .soa, let from = SOAFields(rdata: oldSOA.rdata)?.serial, SOAFields(rdata: newSOA.rdata) != nil
            else { throw JournalError(.malformed, "a change without two well-formed SOA records") }
            if let last = changes.last, last.newSerial != from {
                throw JournalError(.malformed, "change to \(last.newSerial) followed by a change from \(from)")
            }
            var removed: [TransferRecord] = []
            for _ in 0..<(try r.count(minimumBytes: Reader.minimumRecord)) { removed.append(try r.record()) }
            var added: [TransferRecord] = []
            for _ in 0..<(try r.count(minimumBytes: Reader.minimumRecord)) { added.append(try r.record()) }
            changes.append(ZoneChange(oldSOA: oldSOA, newSOA: newSOA, removed: removed, added: added))
        }
        guard r.at == body else { throw JournalError(.malformed, "\(body - r.at) bytes after the last change") }
        if let last = changes.last, last.newSerial != serial {
            throw JournalError(.malformed, "the last change leads to \(last.newSerial), the journal's serial is \(serial)")
        }
        return ZoneJournal(serial: serial, digest: digest, changes: changes, sizeLimit: sizeLimit)
    }

    private static func put16(_ v: UInt16, _ out: inout [UInt8]) {
        out.append(UInt8(v >> 8)); out.append(UInt8(v & 0xFF))
    }
    private static func put32(_ v: UInt32, _ out: inout [UInt8]) {
        put16(UInt16(v >> 16), &out); put16(UInt16(v & 0xFFFF), &out)
    }
    private static func put(_ r: TransferRecord, _ out: inout [UInt8]) {
        out.append(UInt8(r.owner.count))
        out += r.owner
        put16(r.type.rawValue, &out)
        put32(r.ttl, &out)
        put16(UInt16(r.rdata.count), &out)
        out += r.rdata
    }

    /// A bounds-checked cursor over the file's bytes up to `end`.
    struct Reader {
        /// The fewest bytes a record takes: a one-byte owner (the root) and the fixed fields.
        static let minimumRecord = 2 + 8 + 1
        let bytes: [UInt8]
        var at: Int
        var end: Int
        init(bytes: [UInt8], at: Int) {
            self.bytes = bytes
            self.at = at
            self.end = bytes.count
        }
        mutating func take(_ n: Int) throws(JournalError) -> ArraySlice<UInt8> {
            guard n <= end - at else { throw JournalError(.truncated, "the file ends inside a record (byte \(at))") }
            defer { at += n }
            return bytes[at..<(at + n)]
        }
        mutating func u8() throws(JournalError) -> UInt8 { try take(1).first ?? 0 }
        mutating func u16() throws(JournalError) -> UInt16 {
            let s = try take(2)
            return UInt16(s[s.startIndex]) << 8 | UInt16(s[s.startIndex + 1])
        }
        mutating func u32() throws(JournalError) -> UInt32 {
            UInt32(try u16()) << 16 | UInt32(try u16())
        }
        /// A count of items that take at least `minimumBytes` each, no more than the bytes left hold.
        mutating func count(minimumBytes: Int) throws(JournalError) -> Int {
            let n = Int(try u32())
            guard n <= (end - at) / minimumBytes else { throw JournalError(.malformed, "a count of \(n) that the file cannot hold") }
            return n
        }
        /// An uncompressed wire name: labels of 1-63 bytes ending with the root label, ≤ 255 bytes.
        mutating func name() throws(JournalError) -> [UInt8] {
            let length = Int(try u8())
            let wire = Array(try take(length))
            var i = 0
            while i < wire.count, wire[i] != 0 {
                guard wire[i] <= DNSName.maxLabelLength else { throw JournalError(.malformed, "a label longer than 63 bytes") }
                i += Int(wire[i]) + 1
            }
            guard length <= DNSName.maxWireLength, i == wire.count - 1 else { throw JournalError(.malformed, "a malformed owner name") }
            return wire
        }
        mutating func record() throws(JournalError) -> TransferRecord {
            let owner = try name()
            let type = RRType(try u16())
            let ttl = try u32()
            let rdata = Array(try take(Int(try u16())))
            // Transfers read names out of RDATA as the zone holds it: the same rule as the zone's.
            if let problem = RDataShape.problem(type, rdata) { throw JournalError(.malformed, "\(type) record: \(problem)") }
            return TransferRecord(owner: owner, type: type, ttl: ttl, rdata: rdata)
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's): catches torn writes and flipped bits in a journal.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    static func of(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
