public import DNSWire

/// Signatures made while answering, for RRsets that exist only in answers: routed answers,
/// answers synthesized from a wildcard, compact-denial NSECs of names that do not exist, and the
/// SOA (its serial moves with health). One per query thread, never shared, so a hit takes no lock:
/// a routed answer costs a signature once per distinct RRset per thread, not once per query.
/// Keyed by the exact RRset (owner, type, TTL, RDATA) and the zone's key and validity window, so
/// a re-signed zone never gets an old signature.
///
/// A hit allocates nothing and counts no reference: the key is built in a buffer the cache owns,
/// hashed in bulk (SipHash, seeded per process, so names a stranger picks cannot be made to
/// collide), found by open addressing and compared with the entry's bytes. Keys and signatures
/// live in one byte arena; the cache is emptied when the arena or the entry table is full.
public struct SignatureCache {
    /// Entries kept before the cache is emptied and starts again: enough for every distinct routed
    /// answer of a large deployment (services × data-center combinations × TTLs), bounded so that
    /// a flood of random names (each NXDOMAIN its own NSEC) costs at most this many entries.
    public static let capacity = 50_000
    /// Hash slots: a power of two over twice the capacity, so probes stay short.
    static let slotCount = 1 << 17
    /// The most the arena holding every entry's key and signature grows to: 50,000 entries of
    /// about 250 bytes (routed answers and NSECs) fit; one of a large wildcard RRset takes more,
    /// and a full arena empties the cache like a full table does.
    static let arenaSize = 16 << 20
    /// What the arena and the entry table start with, doubled as they fill (a deployment with a
    /// few routed names never takes more than this; one query thread's cache starts at ~0.7 MB).
    static let initialArenaSize = 64 << 10
    static let initialEntries = 256
    /// The largest key built: a whole TCP message's worth of RDATA.
    static let keyCapacity = 70_000

    /// One entry: its hash, and where its key and its RRSIG RDATA are in the arena.
    struct Entry {
        var hash: Int
        var key: Int
        var keyLength: Int
        var value: Int
        var valueLength: Int
    }

    /// The counters and the growing tables, behind a pointer (no exclusivity check per access).
    struct Counts {
        var entries = 0
        var arenaUsed = 0
        var signed = 0
        var hits = 0
        var table = UnsafeMutablePointer<Entry>.allocate(capacity: SignatureCache.initialEntries)
        var tableCapacity = SignatureCache.initialEntries
        var arena = UnsafeMutableRawPointer.allocate(byteCount: SignatureCache.initialArenaSize, alignment: 8)
        var arenaCapacity = SignatureCache.initialArenaSize
    }

    final class Storage {
        let keyBuffer = UnsafeMutableRawPointer.allocate(byteCount: SignatureCache.keyCapacity, alignment: 8)
        let slots = UnsafeMutablePointer<Int32>.allocate(capacity: SignatureCache.slotCount)
        let counts = UnsafeMutablePointer<Counts>.allocate(capacity: 1)

        init() {
            slots.initialize(repeating: -1, count: SignatureCache.slotCount)
            counts.initialize(to: Counts())
        }

        var entries: UnsafeMutablePointer<Entry> { counts.pointee.table }
        var arena: UnsafeMutableRawPointer { counts.pointee.arena }

        /// Makes room for one more entry of `bytes` bytes, doubling the entry table or the arena
        /// (copied: entries refer to the arena by offset) up to their bounds; false when at a bound.
        func reserve(_ bytes: Int) -> Bool {
            let c = counts
            if c.pointee.entries >= c.pointee.tableCapacity {
                guard c.pointee.tableCapacity < SignatureCache.capacity else { return false }
                let grown = min(SignatureCache.capacity, c.pointee.tableCapacity * 2)
                let table = UnsafeMutablePointer<Entry>.allocate(capacity: grown)
                table.moveInitialize(from: c.pointee.table, count: c.pointee.entries)
                c.pointee.table.deallocate()
                c.pointee.table = table
                c.pointee.tableCapacity = grown
            }
            let used = c.pointee.arenaUsed
            if used + bytes > c.pointee.arenaCapacity {
                guard used + bytes <= SignatureCache.arenaSize else { return false }
                var grown = c.pointee.arenaCapacity
                while used + bytes > grown { grown *= 2 }
                grown = min(SignatureCache.arenaSize, grown)
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
                bigger.copyMemory(from: c.pointee.arena, byteCount: used)
                c.pointee.arena.deallocate()
                c.pointee.arena = bigger
                c.pointee.arenaCapacity = grown
            }
            return true
        }

        func clear() {
            slots.update(repeating: -1, count: SignatureCache.slotCount)
            counts.pointee.entries = 0
            counts.pointee.arenaUsed = 0
        }

        deinit {
            keyBuffer.deallocate()
            slots.deallocate()
            entries.deallocate()
            arena.deallocate()
            counts.deallocate()
        }
    }

    var storage: Storage? = nil
    /// `storage`'s counters, kept apart so that reading them costs no reference count.
    var counts: UnsafeMutablePointer<Counts>? = nil

    public init() {}

    /// Lookups answered from the cache and signatures made (misses) since the cache was made, and
    /// entries held. Read by the thread that owns the cache.
    public var hits: Int { counts?.pointee.hits ?? 0 }
    public var misses: Int { counts?.pointee.signed ?? 0 }
    public var count: Int { counts?.pointee.entries ?? 0 }

    /// An RRset's identity as the cache keys it, built by the caller into the cache's buffer.
    public struct Key {
        let base: UnsafeMutableRawPointer
        var count: Int
        /// Set when the RRset was larger than the buffer: it is then not signed.
        var overflow = false

        /// Room for `n` more bytes, or nil (and `overflow`).
        mutating func room(_ n: Int) -> UnsafeMutableRawBufferPointer? {
            guard !overflow, count + n <= SignatureCache.keyCapacity else { overflow = true; return nil }
            return UnsafeMutableRawBufferPointer(start: base + count, count: n)
        }

        /// The owner, already a lower-case wire name.
        public mutating func owner(_ name: UnsafeRawBufferPointer) {
            guard let out = room(name.count) else { return }
            out.copyMemory(from: name)
            count += name.count
        }

        /// One record's RDATA.
        public mutating func rdata(_ rdata: UnsafeRawBufferPointer) {
            guard let out = room(2 + rdata.count) else { return }
            out[0] = UInt8(truncatingIfNeeded: rdata.count >> 8)
            out[1] = UInt8(truncatingIfNeeded: rdata.count)
            UnsafeMutableRawBufferPointer(rebasing: out[2...]).copyMemory(from: rdata)
            count += 2 + rdata.count
        }

        /// One record's RDATA, written by `fill` into at most `capacity` bytes, which returns its length.
        public mutating func rdata(capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) {
            guard let out = room(2 + capacity) else { return }
            let length = max(0, min(fill(UnsafeMutableRawBufferPointer(rebasing: out[2...])), capacity))
            out[0] = UInt8(truncatingIfNeeded: length >> 8)
            out[1] = UInt8(truncatingIfNeeded: length)
            count += 2 + length
        }

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    }

    /// Hands `body` the RRSIG RDATA of the RRset of `type` and `ttl` that `build` describes (owner
    /// first, then each RDATA), signed with `signatures`' zone-signing key and validity window
    /// when not cached yet. Returns `body`'s result, or false when the RRset cannot be signed.
    public mutating func withSignature(
        type: RRType, ttl: UInt32, signatures: ZoneSignatures, build: (inout Key) -> Void, _ body: (UnsafeRawBufferPointer) -> Bool
    ) -> Bool {
        if storage == nil {
            let made = Storage()
            storage = made
            counts = made.counts
        }
        guard let storage else { return false }
        var key = Key(base: storage.keyBuffer, count: 16)
        let header = UnsafeMutableRawBufferPointer(start: storage.keyBuffer, count: 16)
        header.storeBytes(of: UInt32(signatures.keyTag).bigEndian, toByteOffset: 0, as: UInt32.self)
        header.storeBytes(of: signatures.validity.expiration.bigEndian, toByteOffset: 4, as: UInt32.self)
        header.storeBytes(of: UInt32(type.rawValue).bigEndian, toByteOffset: 8, as: UInt32.self)
        header.storeBytes(of: ttl.bigEndian, toByteOffset: 12, as: UInt32.self)
        build(&key)
        guard !key.overflow else { return false }
        let bytes = key.bytes
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        let hash = hasher.finalize()
        let mask = Self.slotCount - 1
        var slot = hash & mask
        var arena = storage.arena
        while storage.slots[slot] >= 0 {
            let e = storage.entries[Int(storage.slots[slot])]
            if e.hash == hash, e.keyLength == bytes.count, memcmp(arena + e.key, bytes.baseAddress!, bytes.count) == 0 {
                storage.counts.pointee.hits += 1
                return body(UnsafeRawBufferPointer(start: arena + e.value, count: e.valueLength))
            }
            slot = (slot + 1) & mask
        }
        guard let rrsig = Self.sign(bytes, type: type, ttl: ttl, signatures: signatures) else { return false }
        let counts = storage.counts
        let needed = bytes.count + rrsig.count
        if !storage.reserve(needed) {
            storage.clear()
            slot = hash & mask
            guard storage.reserve(needed) else { return rrsig.withUnsafeBytes(body) }
        }
        arena = storage.arena  // it may have moved
        let at = counts.pointee.arenaUsed
        (arena + at).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        rrsig.withUnsafeBytes { (arena + at + bytes.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        storage.entries[counts.pointee.entries] = Entry(hash: hash, key: at, keyLength: bytes.count, value: at + bytes.count, valueLength: rrsig.count)
        storage.slots[slot] = Int32(counts.pointee.entries)
        counts.pointee.entries += 1
        counts.pointee.arenaUsed += (needed + 7) & ~7
        counts.pointee.signed += 1
        return body(UnsafeRawBufferPointer(start: arena + at + bytes.count, count: rrsig.count))
    }

    /// The RRSIG RDATA of the RRset a key describes: the owner and RDATAs read back from it.
    static func sign(_ key: UnsafeRawBufferPointer, type: RRType, ttl: UInt32, signatures: ZoneSignatures) -> [UInt8]? {
        var i = 16
        while i < key.count, key[i] != 0 { i += Int(key[i]) + 1 }
        guard i < key.count, let owner = try? DNSName(wire: Array(key[16...i])) else { return nil }
        let expiration = signatures.validity.expiration(owner: UnsafeRawBufferPointer(rebasing: key[16...i]), type: type)
        i += 1
        var rdatas: [[UInt8]] = []
        while i + 2 <= key.count {
            let length = Int(key[i]) << 8 | Int(key[i + 1])
            guard i + 2 + length <= key.count else { return nil }
            rdatas.append(Array(key[(i + 2)..<(i + 2 + length)]))
            i += 2 + length
        }
        return try? RRSetSigner.sign(owner: owner, type: type, ttl: ttl, rdatas: rdatas, key: signatures.key,
                                     inception: signatures.validity.inception, expiration: expiration).rdata
    }
}

#if canImport(Glibc)
import Glibc
#endif
