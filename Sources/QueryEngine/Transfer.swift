import DNSAuth
import DNSWire
import DNSZone
public import IPNet
public import ZoneTransfer

extension QueryEngine {
    /// The zone transfer for `query` from `client` over TCP, or nil when `respond` answers it: not
    /// an AXFR or IXFR, malformed, not for the apex of a zone served, a TSIG that does not verify
    /// (NOTAUTH), or a client the zone's `TransferAccess` does not admit (REFUSED, as every
    /// transfer without a stream is). An IXFR is answered from the zone's journal
    /// (`OutgoingTransfer.forIXFR`). Ordinary queries cost a look at the question's type and nothing else.
    public func transfer(_ query: UnsafeRawBufferPointer, from client: IPAddress) -> OutgoingTransfer? {
        guard !options.transfers.isEmpty, QueryEngine.mayBeTransfer(query) else { return nil }
        var q = ParsedQuery()
        guard case .query = QueryParser.parse(query, into: &q), q.opcode == .query, q.qtype == .axfr || q.qtype == .ixfr,
              q.qclass == .in, q.edns.map({ $0.version == 0 }) ?? true
        else { return nil }
        guard let zone = transferZone(query, q) else { return nil }
        var signer: AXFRStream.Signer? = nil
        if let tsig = q.tsig {
            guard case .verified(let key) = options.tsigKeys.verify(query, tsig, now: UInt64(time(nil))) else { return nil }
            signer = AXFRStream.Signer(keyring: options.tsigKeys, key: key, tsig: tsig)
        }
        guard let access = options.transfers[zone.origin],
              access.permits(client, key: signer.map { options.tsigKeys.keys[$0.key].name })
        else { return nil }
        let bytes = Array(query)
        let snapshot = snapshot(of: zone)
        if q.qtype == .ixfr {
            return .forIXFR(snapshot: snapshot, journal: options.journals[zone.origin], query: bytes, parsed: q, signer: signer,
                            now: { UInt64(time(nil)) })
        }
        return .axfr(AXFRStream(snapshot: snapshot, query: bytes, parsed: q, signer: signer, now: { UInt64(time(nil)) }))
    }

    /// What secondaries receive for `zone` now: the zone and its service names' records.
    private func snapshot(of zone: Zone) -> TransferSnapshot {
        TransferSnapshot(zone: zone, serviceRecords: options.serviceRecords[zone.origin] ?? [])
    }

    /// The zone whose apex `q` asks for, nil when there is none.
    /// A zone that answers SERVFAIL (a secondary expired or without a copy) is never transferred.
    private func transferZone(_ query: UnsafeRawBufferPointer, _ q: ParsedQuery) -> Zone? {
        let name = Array(query[Header.size..<(Header.size + q.qnameLength)]).map(DNSName.lower)
        let index = name.withUnsafeBytes { zones.zoneIndex(for: $0) }
        guard index >= 0, !zones.unavailable[index], zones.zones[index].apex == name else { return nil }
        return zones.zones[index]
    }

    /// The answer to an IXFR over UDP (RFC 1995 §2), the query verified (TSIG key `key`, -1 for
    /// none): the whole answer — the current SOA alone for a client that is current — when it fits
    /// the client's UDP size, else the current SOA with TC=1, which sends the client to TCP. REFUSED for a
    /// zone we do not transfer to this client. Signed by `respond`, like any answer.
    func udpTransfer(
        _ q: ParsedQuery, _ query: UnsafeRawBufferPointer, from client: IPAddress, key: Int32, extras: OPTExtras,
        into response: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard q.qclass == .in, let zone = transferZone(query, q), let access = options.transfers[zone.origin],
              access.permits(client, key: key >= 0 ? options.tsigKeys.keys[Int(key)].name : nil)
        else { return errorResponse(q, query, .refused, extras: extras, into: response) }
        var answer = OutgoingTransfer.forIXFR(
            snapshot: snapshot(of: zone), journal: options.journals[zone.origin], query: Array(query), parsed: q, signer: nil,
            messageLimit: transportLimit(q, .udp), now: { UInt64(time(nil)) })
        let length = answer.next(into: response)
        if length > 0 && answer.isFinished { return length }
        // Too large: the current SOA alone (RFC 1995 §2, so clients that read the answer first
        // see a valid IXFR reply) with TC=1 (so that they retry over TCP).
        var w = ResponseWriter(into: response, limit: transportLimit(q, .udp))
        writeHeader(&w, q, query, rcode: .noError, authoritative: true)
        w.patchU16(Header.qr | Header.aa | Header.tc | (q.flags & (Header.opcodeMask | Header.rd)), at: 2)
        let soa = zone.rrset(at: 0, .soa)
        if soa >= 0 {
            let bytes = zone.bytes(of: soa)
            let one = UnsafeRawBufferPointer(rebasing: bytes[0..<(10 + Int(bytes.u16(at: 8)))])
            // The owner is the question's name (the apex), by pointer; the RDATA as the zone holds it.
            let mark = w.mark
            if w.writePointer(to: Header.size) && w.writeBytes(one) { w.patchU16(1, at: 6) } else { w.rollBack(to: mark) }
        }
        if q.edns != nil { _ = writeOPT(&w, q, query, rcode: .noError, opt: opt, extras: extras, scope: 0) }
        w.patchU16(q.edns != nil ? 1 : 0, at: 10)
        return w.position
    }

    /// A question of type AXFR or IXFR, read without parsing the message (QDCOUNT 1, QNAME
    /// uncompressed).
    @inline(__always)
    static func mayBeTransfer(_ p: UnsafeRawBufferPointer) -> Bool {
        guard p.count > Header.size + 4, p[4] == 0, p[5] == 1 else { return false }
        var i = Header.size
        while i < p.count, p[i] != 0 {
            guard p[i] < 64 else { return false }
            i += Int(p[i]) + 1
        }
        guard i + 2 < p.count else { return false }
        let type = p.u16(at: i + 1)
        return type == RRType.axfr.rawValue || type == RRType.ixfr.rawValue
    }
}

#if canImport(Glibc)
import Glibc
#endif
