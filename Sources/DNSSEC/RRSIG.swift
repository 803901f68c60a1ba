public import DNSWire

/// The RDATA of an RRSIG record (RFC 4034 §3).
public struct RRSIGData: Sendable, Hashable {
    public var typeCovered: RRType
    public var algorithm: UInt8
    /// Labels of the owner, not counting the root or a leading `*` (RFC 4034 §3.1.3).
    public var labels: UInt8
    public var originalTTL: UInt32
    /// Seconds since 1970 modulo 2^32 (RFC 4034 §3.1.5), as are `inception`'s.
    public var expiration: UInt32
    public var inception: UInt32
    public var keyTag: UInt16
    /// The zone's name, lower case (RFC 4034 §6.2).
    public var signerName: DNSName
    public var signature: [UInt8]

    /// The RDATA up to the signature: what the signed data starts with (RFC 4034 §3.1.8.1).
    public var rdataBeforeSignature: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(18 + signerName.wire.count)
        out.append(UInt8(typeCovered.rawValue >> 8))
        out.append(UInt8(typeCovered.rawValue & 0xFF))
        out.append(algorithm)
        out.append(labels)
        for v in [originalTTL, expiration, inception] { out += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        out.append(UInt8(keyTag >> 8))
        out.append(UInt8(keyTag & 0xFF))
        out += signerName.lowercased().wire
        return out
    }

    /// The wire RDATA.
    public var rdata: [UInt8] { rdataBeforeSignature + signature }
}

/// Signs RRsets (RFC 4034 §3.1.8.1, §6): the RRSIG fields, then each record of the set in
/// canonical form and order.
public enum RRSetSigner {
    /// The labels field for `owner`: its labels without the root, less one for a leading `*`.
    public static func labels(_ owner: DNSName) -> UInt8 {
        let count = owner.labelCount
        let wildcard = owner.wire.count >= 2 && owner.wire[0] == 1 && owner.wire[1] == UInt8(ascii: "*")
        return UInt8(clamping: wildcard ? count - 1 : count)
    }

    /// The data an RRSIG with `fields` signs over the RRset `owner`/`type`/class IN with these
    /// RDATAs: the RRSIG RDATA without its signature, then every distinct record as
    /// owner | type | class | original TTL | RDLENGTH | RDATA, the owner and the names inside the
    /// RDATA in lower case, the records sorted by their canonical RDATA (RFC 4034 §6.3).
    public static func signedData(owner: DNSName, type: RRType, rdatas: [[UInt8]], fields: RRSIGData) -> [UInt8] {
        var canonical = rdatas.map { RDataShape.canonical(type, $0) }
        canonical.sort { $0.lexicographicallyPrecedes($1) }
        var out = fields.rdataBeforeSignature
        let ownerWire = owner.lowercased().wire
        let ttl = fields.originalTTL
        var previous: [UInt8]? = nil
        for rdata in canonical where rdata != previous {
            previous = rdata
            out += ownerWire
            out += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
            out += [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xFF), UInt8(ttl >> 8 & 0xFF), UInt8(ttl & 0xFF)]
            out += [UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)]
            out += rdata
        }
        return out
    }

    /// The RRSIG of the RRset `owner`/`type` (class IN) served with `ttl`, by `key`, valid from
    /// `inception` to `expiration`.
    public static func sign(owner: DNSName, type: RRType, ttl: UInt32, rdatas: [[UInt8]], key: SigningKey,
                            inception: UInt32, expiration: UInt32) throws(DNSSECError) -> RRSIGData {
        var fields = RRSIGData(typeCovered: type, algorithm: key.algorithm.rawValue, labels: labels(owner), originalTTL: ttl,
                               expiration: expiration, inception: inception, keyTag: key.keyTag, signerName: key.zone.lowercased(), signature: [])
        fields.signature = try key.sign(signedData(owner: owner, type: type, rdatas: rdatas, fields: fields))
        return fields
    }
}
