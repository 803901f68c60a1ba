import DNSAuth
import DNSWire
import DNSZone
import IPNet
import ZoneTransfer

extension QueryEngine {
    /// Answers a NOTIFY (opcode 4, RFC 1996) whose TSIG, when it has one, already verified (`key`,
    /// -1 unsigned): for the apex of a secondary zone, from one of its primaries (and signed with
    /// its key when it has one), NOERROR with AA and the question echoed, and the zone handed to
    /// `notifyInbox`; anything else REFUSED (and, for a zone we serve, the refusal handed on too, to be logged). Off the answer path: only opcode 4 comes here.
    func answerNotify(_ q: ParsedQuery, _ query: UnsafeRawBufferPointer, from client: IPAddress, key: Int32,
                      extras: OPTExtras, into response: UnsafeMutableRawBufferPointer) -> Int {
        guard q.hasQuestion, q.qtype == .soa, q.qclass == .in else { return errorResponse(q, query, .refused, extras: extras, into: response) }
        let name = Array(query[Header.size..<(Header.size + q.qnameLength)]).map(DNSName.lower)
        let index = name.withUnsafeBytes { zones.zoneIndex(for: $0) }
        guard index >= 0, zones.zones[index].apex == name else { return errorResponse(q, query, .refused, extras: extras, into: response) }
        let origin = zones.zones[index].origin
        let signer = key >= 0 && Int(key) < options.tsigKeys.keys.count ? options.tsigKeys.keys[Int(key)].name : nil
        guard let access = options.notifyAccess[origin], access.permits(client, key: signer) else {
            options.notifyInbox?.post(.refused(zone: origin, client: client))
            return errorResponse(q, query, .refused, extras: extras, into: response)
        }
        options.notifyInbox?.post(.accepted(zone: origin))
        var w = ResponseWriter(into: response, limit: ResponseWriter.maxMessageSize)
        writeHeader(&w, q, query, rcode: .noError, authoritative: true)
        if q.edns != nil { _ = writeOPT(&w, q, query, rcode: .noError, opt: opt, extras: extras, scope: 0) }
        w.patchU16(q.edns != nil ? 1 : 0, at: 10)
        return w.position
    }
}
