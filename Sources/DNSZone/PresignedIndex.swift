public import DNSWire

/// What a zone signed elsewhere needs to answer DO=1 queries (RFC 4035 §3.1, RFC 5155 §7.2),
/// indexed once when the zone is compiled: the RRSIGs covering each RRset, pre-encoded; the NSEC
/// owners in canonical order (RFC 4034 §6.1), to find the NSEC that covers a name; the NSEC3
/// chain sorted by hash, to find the NSEC3 that matches or covers one.
///
/// A zone has one when its file holds RRSIG records (signed by `dnssec-signzone`, `ldns-signzone`
/// or a hidden signer and transferred). Nothing here is signed or hashed: the answer hashes the
/// names it must prove things about with the chain's parameters.
public final class PresignedIndex: Sendable {
    /// How the zone proves that names and types do not exist.
    public enum Denial: Sendable, Equatable {
        /// No NSEC or NSEC3 chain: only positive answers can be signed.
        case none
        case nsec
        /// RFC 5155, with the parameters of the chain (the apex NSEC3PARAM's, else the first NSEC3's).
        case nsec3(algorithm: UInt8, iterations: UInt16, salt: [UInt8])
    }

    public let denial: Denial

    /// One RRset's RRSIG records in `signatureRecords`: `count` records from `offset`.
    struct Signatures: Sendable {
        var offset: Int32 = 0
        var length: Int32 = 0
        var count: Int32 = 0
    }

    /// Per RRset of the zone, the RRSIGs at its owner whose Type Covered is its type, each
    /// pre-encoded as TYPE CLASS TTL RDLENGTH RDATA with the TTL of the RRset it covers (RFC 4035
    /// §2.2: "The TTL value of an RRSIG RR MUST match the TTL value of the RRset it covers"; the
    /// zone keeps one TTL for all the RRSIGs of an owner).
    let rrsetSignatures: [Signatures]
    let signatureRecords: [UInt8]

    /// The nodes holding an NSEC RRset, in canonical order, and each one's canonical key
    /// (`canonicalKey`) in `nsecKeys` from `nsecKeyStarts[i]` to `nsecKeyStarts[i + 1]`.
    let nsecNodes: [Int32]
    let nsecKeyStarts: [Int32]
    let nsecKeys: [UInt16]

    /// One NSEC3 owner of the chain: its uncompressed wire name, then its NSEC3 record and the
    /// RRSIGs covering it (TYPE CLASS TTL RDLENGTH RDATA each), in `chainBytes`.
    public struct NSEC3Entry: Sendable {
        public var ownerOffset: Int32
        public var ownerLength: Int32
        public var recordsOffset: Int32
        public var recordsLength: Int32
        /// RRSIG records after the NSEC3 record.
        public var signatureCount: Int32
    }

    /// The chain sorted by hash; `hashes` holds each entry's `hashLength`-byte hash in the same order.
    let chain: [NSEC3Entry]
    let hashes: [UInt8]
    let chainBytes: [UInt8]
    /// SHA-1, the only NSEC3 hash algorithm (RFC 5155 §11).
    public static let hashLength = 20

    /// Number of NSEC3 owners in the chain.
    public var chainCount: Int { chain.count }

    /// The index of a compiled zone, or nil when it holds no RRSIG record. `names` are the nodes'
    /// lower-case wire names, `data` the pre-encoded RRsets, `hashed` the zone's `hashedRecords`.
    init?(names: [[UInt8]], nodes: [Zone.Node], rrsets: [Zone.RRSet], data: [UInt8], hashed: [UInt8]) {
        guard rrsets.contains(where: { $0.type == .rrsig }) || !hashed.isEmpty else { return nil }
        // RRSIGs split by the type they cover, matched to the RRsets of their owner.
        var signatures = [Signatures](repeating: Signatures(), count: rrsets.count)
        var records: [UInt8] = []
        var nsec: [Int32] = []
        var nsec3param: [UInt8]? = nil
        for (n, node) in nodes.enumerated() {
            let sets = Int(node.rrsetStart)..<Int(node.rrsetStart + node.rrsetCount)
            if sets.contains(where: { rrsets[$0].type == .nsec }) { nsec.append(Int32(n)) }
            if n == 0, let p = sets.first(where: { rrsets[$0].type == .nsec3param }) {
                let at = Int(rrsets[p].dataOffset)
                let length = Int(data[at + 8]) << 8 | Int(data[at + 9])
                nsec3param = Array(data[(at + 10)..<(at + 10 + length)])
            }
            guard let sig = sets.first(where: { rrsets[$0].type == .rrsig }) else { continue }
            for s in sets where rrsets[s].type != .rrsig {
                let start = records.count
                var count: Int32 = 0
                Self.eachRecord(data, from: Int(rrsets[sig].dataOffset), count: Int(rrsets[sig].count)) { at, length in
                    guard length >= 18, UInt16(data[at + 10]) << 8 | UInt16(data[at + 11]) == rrsets[s].type.rawValue else { return }
                    records += data[at..<(at + 4)]
                    Self.append32(rrsets[s].ttl, to: &records)
                    records += data[(at + 8)..<(at + 10 + length)]
                    count += 1
                }
                if count > 0 { signatures[s] = Signatures(offset: Int32(start), length: Int32(records.count - start), count: count) }
            }
        }
        rrsetSignatures = signatures
        signatureRecords = records

        let keys = nsec.map { Self.canonicalKey(names[Int($0)]) }
        let order = keys.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
        nsecNodes = order.map { nsec[$0] }
        var starts: [Int32] = [0]
        var flat: [UInt16] = []
        for i in order {
            flat += keys[i]
            starts.append(Int32(flat.count))
        }
        nsecKeyStarts = starts
        nsecKeys = flat

        // The NSEC3 chain: the records with the chain's parameters, grouped by owner.
        var entries: [(hash: [UInt8], owner: [UInt8], nsec3: [UInt8], signatures: [[UInt8]])] = []
        var byOwner: [[UInt8]: Int] = [:]
        var parameters: (UInt8, UInt16, [UInt8])? = nsec3param.flatMap(Self.parameters)
        var pendingSignatures: [([UInt8], [UInt8])] = []
        var i = 0
        while i < hashed.count {
            guard let ownerEnd = Self.nameEnd(hashed, from: i), ownerEnd + 10 <= hashed.count else { break }
            let owner = hashed[i..<ownerEnd].map(DNSName.lower)
            let type = UInt16(hashed[ownerEnd]) << 8 | UInt16(hashed[ownerEnd + 1])
            let length = Int(hashed[ownerEnd + 8]) << 8 | Int(hashed[ownerEnd + 9])
            let end = ownerEnd + 10 + length
            guard end <= hashed.count else { break }
            let record = Array(hashed[ownerEnd..<end])
            i = end
            if type == RRType.rrsig.rawValue {
                pendingSignatures.append((owner, record))
                continue
            }
            let rdata = Array(record[10...])
            if parameters == nil { parameters = Self.parameters(rdata) }
            guard let p = parameters, let own = Self.parameters(rdata), own.0 == p.0, own.1 == p.1, own.2 == p.2,
                  let hash = Self.base32HexDecode(owner.dropFirst().prefix(Int(owner[0]))), hash.count == Self.hashLength,
                  byOwner[owner] == nil
            else { continue }
            byOwner[owner] = entries.count
            entries.append((hash, owner, record, []))
        }
        for (owner, record) in pendingSignatures {
            if let e = byOwner[owner] { entries[e].signatures.append(record) }
        }
        entries.sort { $0.hash.lexicographicallyPrecedes($1.hash) }
        var bytes: [UInt8] = []
        var chain: [NSEC3Entry] = []
        var hashes: [UInt8] = []
        for e in entries {
            let ownerOffset = bytes.count
            bytes += e.owner
            let recordsOffset = bytes.count
            bytes += e.nsec3
            for s in e.signatures { bytes += s }
            chain.append(NSEC3Entry(ownerOffset: Int32(ownerOffset), ownerLength: Int32(e.owner.count), recordsOffset: Int32(recordsOffset),
                                    recordsLength: Int32(bytes.count - recordsOffset), signatureCount: Int32(e.signatures.count)))
            hashes += e.hash
        }
        self.chain = chain
        self.hashes = hashes
        chainBytes = bytes
        if let p = parameters, !chain.isEmpty {
            denial = .nsec3(algorithm: p.0, iterations: p.1, salt: p.2)
        } else {
            denial = nsecNodes.isEmpty ? .none : .nsec
        }
    }

    /// How many RRSIG records cover RRset `set`.
    @inline(__always)
    public func signatureCount(of set: Int32) -> Int { Int(rrsetSignatures[Int(set)].count) }

    /// Calls `body` with the RRSIG records covering RRset `set` and how many (true without calling
    /// it when there are none).
    @inline(__always)
    public func signatures(of set: Int32, _ body: (UnsafeRawBufferPointer, Int) -> Bool) -> Bool {
        let s = rrsetSignatures[Int(set)]
        guard s.count > 0 else { return true }
        return signatureRecords.withUnsafeBytes {
            body(UnsafeRawBufferPointer(rebasing: $0[Int(s.offset)..<Int(s.offset + s.length)]), Int(s.count))
        }
    }

    /// The node whose NSEC matches or covers the lower-case wire `name` (RFC 4035 §5.4): the last
    /// NSEC owner at or before it in canonical order, wrapping to the last owner; -1 without NSEC.
    public func nsecNode(atOrBefore name: UnsafeRawBufferPointer) -> Int32 {
        guard !nsecNodes.isEmpty else { return -1 }
        return withUnsafeTemporaryAllocation(of: UInt16.self, capacity: DNSName.maxWireLength) { key in
            let count = Self.canonicalKey(name, into: key)
            let q = UnsafeBufferPointer(rebasing: key[0..<count])
            return nsecKeys.withUnsafeBufferPointer { keys in
                // The first owner whose key is greater than the name's, less one.
                var low = 0, high = nsecNodes.count
                while low < high {
                    let mid = (low + high) / 2
                    let k = UnsafeBufferPointer(rebasing: keys[Int(nsecKeyStarts[mid])..<Int(nsecKeyStarts[mid + 1])])
                    if q.lexicographicallyPrecedes(k) { high = mid } else { low = mid + 1 }
                }
                return nsecNodes[low == 0 ? nsecNodes.count - 1 : low - 1]
            }
        }
    }

    /// The chain entry whose hash equals the `hashLength` bytes at `hash`, or -1.
    public func nsec3Matching(_ hash: UnsafeRawBufferPointer) -> Int32 {
        let i = nsec3Position(hash)
        guard i < chain.count, let wanted = hash.baseAddress, hash.count >= Self.hashLength else { return -1 }
        return hashes.withUnsafeBytes { all in
            guard let base = all.baseAddress else { return false }
            return memcmp(base + i * Self.hashLength, wanted, Self.hashLength) == 0
        } ? Int32(i) : -1
    }

    /// The chain entry whose NSEC3 covers `hash` (RFC 5155 §8.3: its owner's hash sorts before it
    /// and its next hashed owner after it): the last entry with a smaller hash, wrapping to the last.
    public func nsec3Covering(_ hash: UnsafeRawBufferPointer) -> Int32 {
        let i = nsec3Position(hash)
        return Int32(i == 0 ? chain.count - 1 : i - 1)
    }

    /// The first entry whose hash is not below `hash`.
    func nsec3Position(_ hash: UnsafeRawBufferPointer) -> Int {
        hashes.withUnsafeBytes { all in
            guard let base = all.baseAddress, let wanted = hash.baseAddress, hash.count >= Self.hashLength else { return 0 }
            var low = 0, high = chain.count
            while low < high {
                let mid = (low + high) / 2
                if memcmp(base + mid * Self.hashLength, wanted, Self.hashLength) < 0 { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }

    /// Calls `body` with an entry's owner name (uncompressed wire), its records and how many RRSIGs follow its NSEC3.
    public func entry<R>(_ e: Int32, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Int) -> R) -> R {
        let entry = chain[Int(e)]
        return chainBytes.withUnsafeBytes { b in
            body(UnsafeRawBufferPointer(rebasing: b[Int(entry.ownerOffset)..<Int(entry.ownerOffset + entry.ownerLength)]),
                 UnsafeRawBufferPointer(rebasing: b[Int(entry.recordsOffset)..<Int(entry.recordsOffset + entry.recordsLength)]),
                 Int(entry.signatureCount))
        }
    }

    /// Hash algorithm, iterations and salt of NSEC3 or NSEC3PARAM RDATA (RFC 5155 §3.2, §4.2).
    static func parameters(_ rdata: [UInt8]) -> (UInt8, UInt16, [UInt8])? {
        guard rdata.count >= 5, rdata.count >= 5 + Int(rdata[4]) else { return nil }
        return (rdata[0], UInt16(rdata[2]) << 8 | UInt16(rdata[3]), Array(rdata[5..<(5 + Int(rdata[4]))]))
    }

    /// The canonical order key of a lower-case wire name: its labels right to left, each byte `b`
    /// as `b + 1` and each label ended by 0, so that comparing keys element by element is RFC 4034
    /// §6.1's order (a label that is a prefix of another sorts first).
    static func canonicalKey(_ wire: [UInt8]) -> [UInt16] {
        wire.withUnsafeBytes { w in
            [UInt16](unsafeUninitializedCapacity: max(w.count, 1)) { buffer, count in count = canonicalKey(w, into: buffer) }
        }
    }

    static func canonicalKey(_ name: UnsafeRawBufferPointer, into key: UnsafeMutableBufferPointer<UInt16>) -> Int {
        var starts = InlineArray<128, UInt8>(repeating: 0)
        var labels = 0
        var i = 0
        while i < name.count, name[i] != 0, labels < 128 {
            starts[labels] = UInt8(i)
            labels += 1
            i += Int(name[i]) + 1
        }
        var n = 0
        while labels > 0 {
            labels -= 1
            let start = Int(starts[labels])
            let length = Int(name[start])
            for k in 0..<length where start + 1 + k < name.count { key[n] = UInt16(name[start + 1 + k]) + 1; n += 1 }
            key[n] = 0
            n += 1
        }
        return n
    }

    /// The RFC 4648 base32hex value of `text` (case-folded, no padding), or nil when it is not one.
    static func base32HexDecode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for c in text {
            let v: Int
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = Int(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "v"): v = Int(c - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "V"): v = Int(c - UInt8(ascii: "A")) + 10
            default: return nil
            }
            buffer = buffer << 5 | v
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> bits))
            }
            buffer &= (1 << bits) - 1
        }
        return out
    }

    static func eachRecord(_ data: [UInt8], from start: Int, count: Int, _ body: (Int, Int) -> Void) {
        var i = start
        for _ in 0..<count where i + 10 <= data.count {
            let length = Int(data[i + 8]) << 8 | Int(data[i + 9])
            guard i + 10 + length <= data.count else { return }
            body(i, length)
            i += 10 + length
        }
    }

    static func nameEnd(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i < b.count {
            if b[i] == 0 { return i + 1 }
            i += Int(b[i]) + 1
        }
        return nil
    }

    static func append32(_ v: UInt32, to b: inout [UInt8]) {
        b += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
}

#if canImport(Glibc)
import Glibc
#endif
