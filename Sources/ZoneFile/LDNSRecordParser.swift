import CLDNS
import DNSWire

/// Parses the type-and-RDATA part of one record through `ldns_rr_new_frm_str`.
///
/// Owns the one ldns handle that lives longer than a call (the origin name for relative names in
/// RDATA) and frees it in `deinit`; every `ldns_rr` is freed before `parse` returns, so no C
/// pointer leaves this type.
final class LDNSRecordParser {
    private var originRDF: UnsafeMutablePointer<ldns_rdf>?
    private(set) var origin: DNSName

    init(origin: DNSName) {
        self.origin = origin
        self.originRDF = LDNSRecordParser.makeRDF(origin)
    }

    deinit { ldns_rdf_deep_free(originRDF) }

    /// Switches the origin used for relative names in RDATA.
    func setOrigin(_ name: DNSName) {
        guard name.wire != origin.wire else { return }
        ldns_rdf_deep_free(originRDF)
        origin = name
        originRDF = LDNSRecordParser.makeRDF(name)
    }

    private static func makeRDF(_ name: DNSName) -> UnsafeMutablePointer<ldns_rdf>? {
        name.wire.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, $0.count, $0.baseAddress) }
    }

    /// The parsed type and uncompressed wire RDATA of `text`, a NUL-terminated `". TYPE RDATA"` line.
    func parse(_ text: UnsafePointer<CChar>) -> Result<(RRType, [UInt8]), ZoneProblem> {
        var rr: UnsafeMutablePointer<ldns_rr>?
        let status = ldns_rr_new_frm_str(&rr, text, 0, originRDF, nil)
        defer { if let rr { ldns_rr_free(rr) } }
        guard status == LDNS_STATUS_OK, let rr else {
            let message = ldns_get_errorstr_by_id(status).map { String(cString: $0) } ?? "ldns status \(status.rawValue)"
            let code: ZoneFileError.Code = switch status {
            case LDNS_STATUS_DOMAINNAME_OVERFLOW: .nameTooLong
            case LDNS_STATUS_LABEL_OVERFLOW: .labelTooLong
            default: .syntax
            }
            return .failure(ZoneProblem(code, message))
        }
        let type = RRType(UInt16(ldns_rr_get_type(rr).rawValue))
        // ldns reads a word it does not know as a type as type 0 (reserved, RFC 6895 §3.1).
        guard type.rawValue != 0 else { return .failure(ZoneProblem(.syntax, "unknown RR type")) }
        let count = ldns_rr_rd_count(rr)
        var size = 0
        for i in 0..<count { size += ldns_rdf_size(ldns_rr_rdf(rr, i)) }
        var rdata: [UInt8] = []
        rdata.reserveCapacity(size)
        for i in 0..<count {
            let rdf = ldns_rr_rdf(rr, i)
            let n = ldns_rdf_size(rdf)
            // ldns does not check that a relative name plus the origin fits in 255 bytes.
            if ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME && n > DNSName.maxWireLength {
                return .failure(ZoneProblem(.nameTooLong, "a name in the RDATA is \(n) bytes on the wire, more than 255"))
            }
            if n > 0, let data = ldns_rdf_data(rdf) {
                rdata.append(contentsOf: UnsafeBufferPointer(start: data, count: n))
            }
        }
        return .success((type, rdata))
    }
}
