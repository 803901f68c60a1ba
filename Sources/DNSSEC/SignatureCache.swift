public import DNSWire

/// Signatures made while answering, for RRsets that exist only in answers: routed answers,
/// answers synthesized from a wildcard, compact-denial NSECs of names that do not exist, and the
/// SOA (its serial moves with health). One per query thread, never shared, so a hit takes no lock:
/// a routed answer costs a signature once per distinct RRset per thread, not once per query.
/// Keyed by the exact RRset (owner, type, TTL, RDATA) and the zone's key and validity window, so
/// a re-signed zone never gets an old signature. A hit allocates nothing: the key is built in a
/// buffer the cache keeps, hashed in bulk (SipHash, seeded per process, so names a stranger
/// picks cannot be made to collide), and compared with the entry's.
public struct SignatureCache {
    /// Entries kept before the cache is emptied and starts again: enough for every distinct routed
    /// answer of a large deployment (services × data-center combinations × TTLs), bounded so that
    /// a flood of random names (each NXDOMAIN its own NSEC) costs at most this many entries of
    /// about 250 bytes each (~12 MB per thread).
    public static let capacity = 50_000
    /// Hash slots: a power of two over twice the capacity, so probes stay short.
    static let slotCount = 1 << 17

    final class Storage {
        /// The key being built.
        var key: [UInt8] = []
        var slots = [Int32](repeating: -1, count: SignatureCache.slotCount)
        var hashes: [Int] = []
        var keys: [[UInt8]] = []
        var values: [[UInt8]] = []
        var signed = 0

        init() { key.reserveCapacity(4096) }
    }

    var storage: Storage? = nil

    public init() {}

    /// Signatures made (misses) since the cache was made, and entries held.
    public var misses: Int { storage?.signed ?? 0 }
    public var count: Int { storage?.keys.count ?? 0 }

    /// An RRset's identity as the cache keys it: built by the caller into the cache's buffer.
    public struct Key {
        var bytes: [UInt8]

        /// The owner: its lower-case wire name, written by `fill` into at most 255 bytes, which
        /// returns the name's length.
        public mutating func owner(_ fill: (UnsafeMutableRawBufferPointer) -> Int) {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: DNSName.maxWireLength))
            let length = bytes.withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
            bytes.removeLast(DNSName.maxWireLength - max(0, min(length, DNSName.maxWireLength)))
        }

        /// The owner, already a lower-case wire name.
        public mutating func owner(_ name: UnsafeRawBufferPointer) {
            bytes.append(contentsOf: name)
        }

        /// One record's RDATA.
        public mutating func rdata(_ rdata: UnsafeRawBufferPointer) {
            bytes.append(UInt8(truncatingIfNeeded: rdata.count >> 8))
            bytes.append(UInt8(truncatingIfNeeded: rdata.count))
            bytes.append(contentsOf: rdata)
        }

        /// One record's RDATA, written by `fill` into at most `capacity` bytes, which returns its length.
        public mutating func rdata(capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) {
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: 2 + capacity))
            let length = bytes.withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[(start + 2)...])) }
            let kept = max(0, min(length, capacity))
            bytes[start] = UInt8(truncatingIfNeeded: kept >> 8)
            bytes[start + 1] = UInt8(truncatingIfNeeded: kept)
            bytes.removeLast(capacity - kept)
        }
    }

    /// Hands `body` the RRSIG RDATA of the RRset of `type` and `ttl` that `build` describes (owner
    /// first, then each RDATA), signed with `signatures`' zone-signing key and validity window
    /// when not cached yet. Returns `body`'s result, or false when the RRset cannot be signed.
    public mutating func withSignature(
        type: RRType, ttl: UInt32, signatures: ZoneSignatures, build: (inout Key) -> Void, _ body: (UnsafeRawBufferPointer) -> Bool
    ) -> Bool {
        if storage == nil { storage = Storage() }
        guard let storage else { return false }
        var key = Key(bytes: [])
        swap(&key.bytes, &storage.key)
        key.bytes.removeAll(keepingCapacity: true)
        let tag = signatures.keyTag, expiration = signatures.validity.expiration
        for v in [UInt32(tag), expiration, UInt32(type.rawValue), ttl] {
            key.bytes += [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        }
        build(&key)
        defer { swap(&key.bytes, &storage.key) }
        var hasher = Hasher()
        key.bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        let hash = hasher.finalize()
        let mask = Self.slotCount - 1
        var slot = hash & mask
        while storage.slots[slot] >= 0 {
            let i = Int(storage.slots[slot])
            if storage.hashes[i] == hash, storage.keys[i] == key.bytes {
                return storage.values[i].withUnsafeBytes(body)
            }
            slot = (slot + 1) & mask
        }
        guard let rrsig = Self.sign(key.bytes, type: type, ttl: ttl, signatures: signatures) else { return false }
        if storage.keys.count >= Self.capacity {
            for k in storage.slots.indices { storage.slots[k] = -1 }
            storage.hashes.removeAll(keepingCapacity: true)
            storage.keys.removeAll(keepingCapacity: true)
            storage.values.removeAll(keepingCapacity: true)
            slot = hash & mask
        }
        storage.slots[slot] = Int32(storage.keys.count)
        storage.hashes.append(hash)
        storage.keys.append(key.bytes)
        storage.values.append(rrsig)
        storage.signed += 1
        return rrsig.withUnsafeBytes(body)
    }

    /// The RRSIG RDATA of the RRset a key describes: the owner and RDATAs read back from it.
    static func sign(_ key: [UInt8], type: RRType, ttl: UInt32, signatures: ZoneSignatures) -> [UInt8]? {
        var i = 16
        while i < key.count, key[i] != 0 { i += Int(key[i]) + 1 }
        guard i < key.count, let owner = try? DNSName(wire: Array(key[16...i])) else { return nil }
        i += 1
        var rdatas: [[UInt8]] = []
        while i + 2 <= key.count {
            let length = Int(key[i]) << 8 | Int(key[i + 1])
            guard i + 2 + length <= key.count else { return nil }
            rdatas.append(Array(key[(i + 2)..<(i + 2 + length)]))
            i += 2 + length
        }
        return try? RRSetSigner.sign(owner: owner, type: type, ttl: ttl, rdatas: rdatas, key: signatures.key,
                                     inception: signatures.validity.inception, expiration: signatures.validity.expiration).rdata
    }
}
