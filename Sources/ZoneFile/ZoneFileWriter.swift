import CLDNS
public import DNSWire

/// Writes records as a zone file in presentation format (RFC 1035 §5), one absolute record per
/// line, through ldns (`ldns_rr2str`, the inverse of the parser `ZoneFile` reads with), so the text
/// is read back by `ZoneFile.readValid` like any zone file an operator writes. A record ldns cannot
/// render is written in the RFC 3597 generic form (`TYPEn \# len hex`), which the reader accepts
/// for every type.
public enum ZoneFileWriter {
    /// The zone file text for `records` (owner, type, class, TTL and uncompressed RDATA each),
    /// headed by a comment line `header` (which must not hold a newline).
    public static func text(_ records: [(owner: DNSName, type: RRType, rrClass: RRClass, ttl: UInt32, rdata: [UInt8])],
                            header: String) -> String {
        var out = "; " + header.replacingNewlines() + "\n"
        out.reserveCapacity(records.count * 64)
        for r in records {
            if let line = ldnsLine(r.owner, r.type, r.rrClass, r.ttl, r.rdata) {
                out += line
            } else {
                out += "\(r.owner) \(r.ttl) \(r.rrClass) TYPE\(r.type.rawValue) \\# \(r.rdata.count)"
                out += r.rdata.isEmpty ? "\n" : " " + r.rdata.map { String(format2: $0) }.joined() + "\n"
            }
        }
        return out
    }

    /// One line from ldns, ending in a newline; nil when ldns cannot read the wire record or render it.
    static func ldnsLine(_ owner: DNSName, _ type: RRType, _ rrClass: RRClass, _ ttl: UInt32, _ rdata: [UInt8]) -> String? {
        guard rdata.count <= 65535 else { return nil }
        var wire = owner.wire
        wire += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), UInt8(rrClass.rawValue >> 8), UInt8(rrClass.rawValue & 0xFF)]
        wire += [UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xFF), UInt8((ttl >> 8) & 0xFF), UInt8(ttl & 0xFF)]
        wire += [UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        var rr: UnsafeMutablePointer<ldns_rr>?
        var position = 0
        let status = wire.withUnsafeBytes { p in
            ldns_wire2rr(&rr, p.bindMemory(to: UInt8.self).baseAddress, p.count, &position, LDNS_SECTION_ANSWER)
        }
        defer { if let rr { ldns_rr_free(rr) } }
        guard status == LDNS_STATUS_OK, position == wire.count, let rr, let text = ldns_rr2str(rr) else { return nil }
        defer { free(text) }
        let line = String(cString: text)
        // ldns marks what it could not render; such a line would not read back as the record.
        guard !line.contains("ERROR"), !line.contains("Unknown"), line.hasSuffix("\n") else { return nil }
        return line
    }
}

private extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef".utf8)
        self.init(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }

    func replacingNewlines() -> String { String(map { $0 == "\n" || $0 == "\r" ? " " : $0 }) }
}
