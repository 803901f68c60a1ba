public import DNSWire
public import DNSZone
import Foundation

/// When signatures are valid: from `inception` to `expiration`, seconds since 1970, each RRset's
/// expiration brought forward by up to `jitter` seconds so that they do not all lapse from
/// resolvers' caches in the same second (RFC 6781 §4.4.2.2).
public struct SignatureValidity: Sendable, Equatable {
    public var inception: UInt32
    /// The latest expiration: the one re-signing is scheduled from.
    public var expiration: UInt32
    public var jitter: UInt32

    public init(inception: UInt32, expiration: UInt32, jitter: UInt32 = 0) {
        self.inception = inception
        self.expiration = expiration
        self.jitter = min(jitter, expiration &- inception)
    }

    /// Valid from `now - inceptionOffset` (clocks of validators that run behind) for `validity`
    /// seconds, less up to `jitter` per RRset.
    public init(now: Int64, inceptionOffset: Int64, validity: Int64, jitter: Int64 = 0) {
        self.init(inception: UInt32(truncatingIfNeeded: now - inceptionOffset), expiration: UInt32(truncatingIfNeeded: now + validity),
                  jitter: UInt32(clamping: max(0, min(jitter, validity - 1))))
    }

    /// The expiration of the signature of the RRset of `type` at `owner` (a wire name, lower
    /// case): `expiration` less an offset below `jitter` drawn from the owner and type (FNV-1a), so
    /// an RRset signed again in the same window, or per query by another thread, gets the same one.
    public func expiration(owner: UnsafeRawBufferPointer, type: RRType) -> UInt32 {
        guard jitter > 0 else { return expiration }
        var hash: UInt32 = 2_166_136_261
        for byte in owner { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        hash = (hash ^ UInt32(type.rawValue >> 8)) &* 16_777_619
        hash = (hash ^ UInt32(type.rawValue & 0xFF)) &* 16_777_619
        return expiration &- hash % (jitter + 1)
    }
}

/// Every signature of one zone signed online, made when the zone is compiled (off the query path),
/// each pre-encoded as the query path writes records (TYPE CLASS TTL RDLENGTH RDATA, the owner
/// written by the answer): the RRSIGs of each authoritative RRset, each node's compact-denial
/// NSEC with its RRSIG (NODATA at the name, and the proof of no DS at a delegation). The key signs
/// what is made per query (`SignatureCache`): routed and wildcard answers, the NSECs of names that
/// do not exist, and the SOA, whose serial health raises without a new compile.
public final class ZoneSignatures: Sendable {
    /// The zone-signing key (a combined key signs everything): it signs every RRset but the
    /// apex DNSKEY, CDS and CDNSKEY, and what is made per query.
    public let key: SigningKey
    /// The key that signs the apex DNSKEY, CDS and CDNSKEY RRsets (the KSK; `key` for a CSK).
    public let keySigningKey: SigningKey
    /// `key`'s key tag, computed once.
    public let keyTag: UInt16
    public let validity: SignatureValidity
    /// The TTL of NSEC records: the negative-caching TTL (RFC 4034 §4, RFC 9077).
    public let negativeTTL: UInt32
    /// Per RRset of the zone: the offset of its RRSIG records in `records` and how many (0: none).
    let rrsetSignatures: [(offset: Int32, length: Int32, count: Int32)]
    /// Per node: its NSEC record then the NSEC's RRSIG record in `records` (length 0: none, for
    /// names below a delegation or DNAME).
    let nodeDenials: [(offset: Int32, length: Int32)]
    let records: [UInt8]

    /// Signs `zone` with `key`: every RRset that is the zone's authoritative data (not below a
    /// delegation or DNAME; at a delegation, only DS) but the SOA, and each node's NSEC.
    public init(zone: Zone, key: SigningKey, keySigningKey: SigningKey? = nil, validity: SignatureValidity) throws(DNSSECError) {
        self.key = key
        self.keyTag = key.keyTag
        let keySigningKey = keySigningKey ?? key
        self.keySigningKey = keySigningKey
        self.validity = validity
        let negative = zone.negativeSOA
        let negativeTTL: UInt32 = zone.negativeSOALength >= 10 ? negative.load(fromByteOffset: 4, as: UInt32.self).bigEndian : 0
        self.negativeTTL = negativeTTL
        // The nodes are signed in chunks spread over the cores, each into its own buffer, then the
        // buffers are joined in node order (so the result is the same however it was split).
        let nodeCount = zone.nodes.count
        let chunkCount = max(1, min(ProcessInfo.processInfo.activeProcessorCount * Self.chunksPerCore, nodeCount / Self.nodesPerChunk))
        let chunks = UnsafeMutableBufferPointer<SignedChunk>.allocate(capacity: chunkCount)
        chunks.initialize(repeating: SignedChunk())
        defer { chunks.deinitialize(); chunks.deallocate() }
        nonisolated(unsafe) let results = chunks
        let zsk = key, ksk = keySigningKey
        DispatchQueue.concurrentPerform(iterations: chunkCount) { c in
            let range = (nodeCount * c / chunkCount)..<(nodeCount * (c + 1) / chunkCount)
            results[c] = Self.sign(zone, nodes: range, zsk: zsk, ksk: ksk, validity: validity, negativeTTL: negativeTTL)
        }
        var records: [UInt8] = []
        records.reserveCapacity(chunks.reduce(0) { $0 + $1.records.count })
        var signatures = [(offset: Int32, length: Int32, count: Int32)](repeating: (0, 0, 0), count: zone.rrsets.count)
        var denials = [(offset: Int32, length: Int32)](repeating: (0, 0), count: nodeCount)
        for chunk in chunks {
            if let error = chunk.error { throw error }
            let base = Int32(records.count)
            records += chunk.records
            for (set, offset, length) in chunk.signatures { signatures[set] = (base + offset, length, 1) }
            for (node, offset, length) in chunk.denials { denials[node] = (base + offset, length) }
        }
        rrsetSignatures = signatures
        nodeDenials = denials
        self.records = records
    }

    /// How finely the nodes are split: a few chunks per core so that a core that finishes early
    /// takes another, none smaller than this many nodes (a signature is tens of microseconds, so a
    /// chunk is milliseconds of work, far above what handing it out costs).
    static let chunksPerCore = 4
    static let nodesPerChunk = 256

    /// What one chunk of nodes signed: its records and where each RRset's and node's are in them.
    struct SignedChunk {
        var records: [UInt8] = []
        var signatures: [(set: Int, offset: Int32, length: Int32)] = []
        var denials: [(node: Int, offset: Int32, length: Int32)] = []
        var error: DNSSECError? = nil
    }

    /// Signs the authoritative RRsets and the NSEC of the nodes in `nodes`.
    static func sign(_ zone: Zone, nodes: Range<Int>, zsk: SigningKey, ksk: SigningKey, validity: SignatureValidity,
                     negativeTTL: UInt32) -> SignedChunk {
        var chunk = SignedChunk()
        func append(_ type: RRType, ttl: UInt32, _ rdata: [UInt8]) {
            chunk.records += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1,
                              UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xFF), UInt8(ttl >> 8 & 0xFF), UInt8(ttl & 0xFF),
                              UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)]
            chunk.records += rdata
        }
        func sign(_ owner: DNSName, _ type: RRType, ttl: UInt32, _ rdatas: [[UInt8]], by signer: SigningKey) throws(DNSSECError) {
            let expiration = owner.lowercased().wire.withUnsafeBytes { validity.expiration(owner: $0, type: type) }
            let sig = try RRSetSigner.sign(owner: owner, type: type, ttl: ttl, rdatas: rdatas, key: signer,
                                           inception: validity.inception, expiration: expiration)
            append(.rrsig, ttl: ttl, sig.rdata)
        }
        do throws(DNSSECError) {
            for n in nodes {
                let node = zone.nodes[n]
                let occluder = node.occluder
                guard occluder < 0 || occluder == Int32(n) else { continue }  // below a cut or a DNAME
                let atCut = occluder == Int32(n)
                let nameBytes = Array(zone.name(of: Int32(n)))
                let owner = try Self.name(nameBytes)
                var types: [UInt16] = []
                for s in Int(node.rrsetStart)..<Int(node.rrsetStart + node.rrsetCount) {
                    let set = zone.rrsets[s]
                    types.append(set.type.rawValue)
                    guard !atCut || set.type == .ds, set.type != .soa else { continue }
                    let start = chunk.records.count
                    let keyset = n == 0 && [RRType.dnskey, .cds, .cdnskey].contains(set.type)
                    try sign(owner, set.type, ttl: set.ttl, Self.rdatas(zone.bytes(of: Int32(s)), count: Int(set.count)), by: keyset ? ksk : zsk)
                    chunk.signatures.append((s, Int32(start), Int32(chunk.records.count - start)))
                }
                guard let nsec = CompactDenial.rdata(owner: nameBytes, types: types) else { continue }
                let start = chunk.records.count
                append(.nsec, ttl: negativeTTL, nsec)
                try sign(owner, .nsec, ttl: negativeTTL, [nsec], by: zsk)
                chunk.denials.append((n, Int32(start), Int32(chunk.records.count - start)))
            }
        } catch {
            chunk.error = error
        }
        return chunk
    }

    static func name(_ wire: [UInt8]) throws(DNSSECError) -> DNSName {
        do { return try DNSName(wire: wire) } catch { throw DNSSECError(.signingFailed, "a zone name that is not one: \(error)") }
    }

    /// The RDATA of each of `count` pre-encoded records (TYPE CLASS TTL RDLENGTH RDATA).
    public static func rdatas(_ bytes: UnsafeRawBufferPointer, count: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        for _ in 0..<count where i + 10 <= bytes.count {
            let length = Int(bytes[i + 8]) << 8 | Int(bytes[i + 9])
            guard i + 10 + length <= bytes.count else { break }
            out.append(Array(bytes[(i + 10)..<(i + 10 + length)]))
            i += 10 + length
        }
        return out
    }

    /// The RRSIG records of RRset `set`, pre-encoded, and how many; empty when it is not signed.
    @inline(__always)
    public func signatures(of set: Int32, _ body: (UnsafeRawBufferPointer, Int) -> Bool) -> Bool {
        let s = rrsetSignatures[Int(set)]
        guard s.count > 0 else { return true }
        return records.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[Int(s.offset)..<Int(s.offset + s.length)]), Int(s.count)) }
    }

    /// Whether these signatures index `zone`'s nodes and RRsets (they were made from it, or from
    /// the zone it replaced the serial of).
    public func fits(_ zone: Zone) -> Bool {
        zone.nodes.count == nodeDenials.count && zone.rrsets.count == rrsetSignatures.count && zone.origin == key.zone
    }

    /// Whether RRset `set` is signed.
    @inline(__always)
    public func isSigned(_ set: Int32) -> Bool { rrsetSignatures[Int(set)].count > 0 }

    /// Whether node `node` has a compiled NSEC.
    public func hasDenial(of node: Int32) -> Bool { nodeDenials[Int(node)].length > 0 }

    /// The RRSIG record of node `node`'s NSEC alone, pre-encoded (false when it has none).
    public func denialSignature(of node: Int32, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        denial(of: node) { both in
            guard both.count >= 10 else { return false }
            let nsec = 10 + (Int(both[8]) << 8 | Int(both[9]))  // TYPE CLASS TTL RDLENGTH RDATA
            guard nsec < both.count else { return false }
            return body(UnsafeRawBufferPointer(rebasing: both[nsec...]))
        }
    }

    /// Node `node`'s NSEC record and its RRSIG record, pre-encoded (empty when it has none).
    public func denial(of node: Int32, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        let d = nodeDenials[Int(node)]
        guard d.length > 0 else { return false }
        return records.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[Int(d.offset)..<Int(d.offset + d.length)])) }
    }
}
