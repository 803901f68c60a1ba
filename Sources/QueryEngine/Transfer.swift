import DNSAuth
import DNSWire
import DNSZone
public import IPNet
public import ZoneTransfer

extension QueryEngine {
    /// The AXFR stream for `query` from `client` over TCP, or nil when `respond` answers it: not an
    /// AXFR, malformed, not for the apex of a zone served, a TSIG that does not verify (NOTAUTH),
    /// or a client the zone's `TransferAccess` does not admit (REFUSED, as every AXFR without a
    /// stream is). Ordinary queries cost a look at the question's type and nothing else.
    public func transfer(_ query: UnsafeRawBufferPointer, from client: IPAddress) -> AXFRStream? {
        guard !options.transfers.isEmpty, QueryEngine.mayBeAXFR(query) else { return nil }
        var q = ParsedQuery()
        guard case .query = QueryParser.parse(query, into: &q), q.opcode == .query, q.qtype == .axfr, q.qclass == .in,
              q.edns.map({ $0.version == 0 }) ?? true
        else { return nil }
        let name = Array(query[Header.size..<(Header.size + q.qnameLength)]).map(DNSName.lower)
        let index = name.withUnsafeBytes { zones.zoneIndex(for: $0) }
        guard index >= 0, !zones.unavailable[index] else { return nil }
        let zone = zones.zones[index]
        guard zone.apex == name, let access = options.transfers[zone.origin] else { return nil }
        var signer: AXFRStream.Signer? = nil
        if let tsig = q.tsig {
            guard case .verified(let key) = options.tsigKeys.verify(query, tsig, now: UInt64(time(nil))) else { return nil }
            signer = AXFRStream.Signer(keyring: options.tsigKeys, key: key, tsig: tsig)
        }
        guard access.permits(client, key: signer.map { options.tsigKeys.keys[$0.key].name }) else { return nil }
        return AXFRStream(zone: zone, query: Array(query), parsed: q, signer: signer, now: { UInt64(time(nil)) })
    }

    /// A question of type AXFR, read without parsing the message (QDCOUNT 1, QNAME uncompressed).
    @inline(__always)
    static func mayBeAXFR(_ p: UnsafeRawBufferPointer) -> Bool {
        guard p.count > Header.size + 4, p[4] == 0, p[5] == 1 else { return false }
        var i = Header.size
        while i < p.count, p[i] != 0 {
            guard p[i] < 64 else { return false }
            i += Int(p[i]) + 1
        }
        return i + 2 < p.count && p.u16(at: i + 1) == RRType.axfr.rawValue
    }
}

#if canImport(Glibc)
import Glibc
#endif
