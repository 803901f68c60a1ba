import DNSWire

/// CHAOS-class TXT answers identifying the server (RFC 4892): `id.server.`/`hostname.bind.` and
/// `version.server.`/`version.bind.`, each only when configured; every other CHAOS query is refused.
struct ChaosAnswers: Sendable {
    /// TXT RDATA (character-strings of at most 255 bytes) for the identity and version, when configured.
    let identity: [UInt8]?
    let version: [UInt8]?

    private static let identityNames = [try! DNSName("id.server."), try! DNSName("hostname.bind.")]
    private static let versionNames = [try! DNSName("version.server."), try! DNSName("version.bind.")]

    init(identity: String?, version: String?) {
        self.identity = identity.map(ChaosAnswers.txt)
        self.version = version.map(ChaosAnswers.txt)
    }

    private static func txt(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        repeat {
            let chunk = bytes.prefix(255)
            out.append(UInt8(chunk.count))
            out.append(contentsOf: chunk)
            bytes = bytes.dropFirst(chunk.count)
        } while !bytes.isEmpty
        return out
    }

    func respond(_ q: ParsedQuery, _ query: UnsafeRawBufferPointer, _ limit: Int, _ opt: ResponseOPT, _ extras: OPTExtras,
                 into response: UnsafeMutableRawBufferPointer) -> Int {
        let qname = Array(UnsafeRawBufferPointer(rebasing: query[Header.size..<(Header.size + q.qnameLength)]))
        let name = try? DNSName(wire: qname)
        var rdata: [UInt8]? = nil
        if let name, q.qtype == .txt || q.qtype == .any {
            if ChaosAnswers.identityNames.contains(name) { rdata = identity }
            if ChaosAnswers.versionNames.contains(name) { rdata = version }
        }
        var w = ResponseWriter(into: response, limit: limit)
        guard let rdata else {
            writeHeader(&w, q, query, rcode: .refused, authoritative: false)
            return finishOPT(&w, q, query, opt, extras)
        }
        writeHeader(&w, q, query, rcode: .noError, authoritative: true)
        w.limit -= optSize(q, opt, extras)
        let mark = w.mark
        if w.writePointer(to: Header.size), w.writeU16(RRType.txt.rawValue), w.writeU16(RRClass.chaos.rawValue),
           w.writeU32(0), w.writeU16(UInt16(rdata.count)), rdata.withUnsafeBytes({ w.writeBytes($0) })
        {
            w.patchU16(1, at: 6)
        } else {
            w.rollBack(to: mark)
            w.patchU16(Header.qr | Header.aa | Header.tc | (q.flags & Header.rd), at: 2)
        }
        w.limit += optSize(q, opt, extras)
        return finishOPT(&w, q, query, opt, extras)
    }

    private func finishOPT(
        _ w: inout ResponseWriter, _ q: ParsedQuery, _ query: UnsafeRawBufferPointer, _ opt: ResponseOPT, _ extras: OPTExtras
    ) -> Int {
        if q.edns != nil, writeOPT(&w, q, query, rcode: .noError, opt: opt, extras: extras, scope: 0) { w.patchU16(1, at: 10) }
        return w.position
    }
}
