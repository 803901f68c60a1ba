/// Signatures made while answering, for RRsets that exist only in answers: routed answers,
/// answers synthesized from a wildcard, compact-denial NSECs of names that do not exist, and the
/// SOA (its serial moves with health). One per query thread, never shared, so a hit takes no lock:
/// a routed answer costs a signature once per distinct RRset per thread, not once per query.
/// Keyed by the exact RRset (owner, type, TTL, RDATA) and the zone's key and validity window, so
/// a re-signed zone never gets an old signature.
public struct SignatureCache {
    /// Entries kept before the cache is emptied and starts again: enough for every distinct routed
    /// answer of a large deployment (services × data-center combinations × TTLs), bounded so that
    /// a flood of random names (each NXDOMAIN its own NSEC) costs at most this many entries of
    /// about 200 bytes each (~10 MB per thread).
    public static let capacity = 50_000

    final class Storage {
        var entries: [[UInt8]: [UInt8]] = [:]
        var signed = 0
    }

    var storage: Storage? = nil

    public init() {}

    /// Signatures made (misses) since the cache was made, and entries held.
    public var misses: Int { storage?.signed ?? 0 }
    public var count: Int { storage?.entries.count ?? 0 }

    /// The RRSIG RDATA of the RRset `owner` (lower-case wire) / `type` / `ttl` with these RDATAs,
    /// signed with `signatures`' key and validity window when not cached yet.
    public mutating func rrsig(owner: [UInt8], type: UInt16, ttl: UInt32, rdatas: [[UInt8]], signatures: ZoneSignatures) -> [UInt8]? {
        var key: [UInt8] = []
        key.reserveCapacity(16 + owner.count + rdatas.reduce(0) { $0 + 2 + $1.count })
        let tag = signatures.key.keyTag, expiration = signatures.validity.expiration
        key += [UInt8(tag >> 8), UInt8(tag & 0xFF), UInt8(expiration >> 24), UInt8(expiration >> 16 & 0xFF), UInt8(expiration >> 8 & 0xFF),
                UInt8(expiration & 0xFF), UInt8(type >> 8), UInt8(type & 0xFF), UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xFF), UInt8(ttl >> 8 & 0xFF),
                UInt8(ttl & 0xFF)]
        key += owner
        for rdata in rdatas {
            key += [UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)]
            key += rdata
        }
        if storage == nil { storage = Storage() }
        guard let storage else { return nil }
        if let hit = storage.entries[key] { return hit }
        guard let name = try? ZoneSignatures.name(owner),
              let sig = try? RRSetSigner.sign(owner: name, type: RRType(type), ttl: ttl, rdatas: rdatas, key: signatures.key,
                                              inception: signatures.validity.inception, expiration: signatures.validity.expiration)
        else { return nil }
        if storage.entries.count >= Self.capacity { storage.entries.removeAll(keepingCapacity: true) }
        let rdata = sig.rdata
        storage.entries[key] = rdata
        storage.signed += 1
        return rdata
    }
}

import DNSWire
