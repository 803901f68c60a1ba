import DNSWire
import DNSZone

/// Findings not fixed yet, which the fuzz targets step around so fuzzing can go on past them.
/// Each is described in docs/FUZZING.md with its reproducer in `Fuzz/findings/`; remove its
/// check here when it is fixed, and move the reproducer to `Fuzz/regressions/`.
enum KnownIssues {
    /// F1: a zone file may give a type whose RDATA holds names in RFC 3597 form (`CNAME \# 3
    /// 056162`), and ZoneFile keeps it without checking that the names are names; the query path
    /// then walks them without bounds (`Answer.writeCompressedRData`, Sources/QueryEngine/Answer.swift)
    /// or serves them as they are (DNAME). True when `record` is such a record: one of the RFC 1035
    /// types with names (compressed on output) or CNAME/DNAME, whose RDATA is not that type's names
    /// and fixed fields exactly.
    static func f1MalformedNames(_ record: ZoneRecord) -> Bool {
        let rdata = record.rdata
        /// The end of an uncompressed name at `start`, or nil when it is not one.
        func nameEnd(_ start: Int) -> Int? {
            var i = start
            while i < rdata.count {
                let length = Int(rdata[i])
                if length == 0 { return i + 1 - start <= DNSName.maxWireLength ? i + 1 : nil }
                guard length <= DNSName.maxLabelLength else { return nil }
                i += length + 1
            }
            return nil
        }
        /// True when RDATA is `fixed` bytes, then `names` names, then `trailing` bytes exactly.
        func shaped(fixed: Int, names: Int, trailing: Int) -> Bool {
            var i = fixed
            guard i <= rdata.count else { return false }
            for _ in 0..<names {
                guard let end = nameEnd(i) else { return false }
                i = end
            }
            return rdata.count - i == trailing
        }
        switch record.type.rawValue {
        case 2, 3, 4, 5, 7, 8, 9, 12, 39: return !shaped(fixed: 0, names: 1, trailing: 0)  // NS MD MF CNAME MB MG MR PTR DNAME
        case 6: return !shaped(fixed: 0, names: 2, trailing: 20)  // SOA
        case 14: return !shaped(fixed: 0, names: 2, trailing: 0)  // MINFO
        case 15: return !shaped(fixed: 2, names: 1, trailing: 0)  // MX
        default: return false
        }
    }
}
