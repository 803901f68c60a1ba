/// The layout of the RDATA of the types whose names the server reads: the types of RFC 1035 with
/// names (which it compresses), DNAME (whose target it substitutes) and the types whose targets
/// get additional-section addresses (MX, SRV, SVCB, HTTPS). RDATA given in RFC 3597 form (`\#`)
/// must still have this shape: "all further processing by the server MUST treat it as a known
/// type and take into account any applicable type-specific rules" (RFC 3597 §5).
public enum RDataShape {
    /// Why `rdata` is not well-formed RDATA of `type`, or nil when it is (or when the server reads
    /// nothing inside that type's RDATA).
    public static func problem(_ type: RRType, _ rdata: [UInt8]) -> String? {
        rdata.withUnsafeBytes { p -> String? in
            switch type.rawValue {
            case 2, 3, 4, 5, 7, 8, 9, 12, 39:  // NS MD MF CNAME MB MG MR PTR DNAME: one name
                return names(p, from: 0, count: 1, thenFixed: 0)
            case 6:  // SOA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM
                return names(p, from: 0, count: 2, thenFixed: 20)
            case 14:  // MINFO: RMAILBX EMAILBX
                return names(p, from: 0, count: 2, thenFixed: 0)
            case 15:  // MX: PREFERENCE EXCHANGE
                return p.count < 2 ? "shorter than its 2-octet preference" : names(p, from: 2, count: 1, thenFixed: 0)
            case 33:  // SRV: PRIORITY WEIGHT PORT TARGET
                return p.count < 6 ? "shorter than its 6 octets of priority, weight and port" : names(p, from: 6, count: 1, thenFixed: 0)
            case 64, 65:  // SVCB, HTTPS: SvcPriority TargetName SvcParams
                return p.count < 2 ? "shorter than its 2-octet priority" : names(p, from: 2, count: 1, thenFixed: nil)
            default:
                return nil
            }
        }
    }

    /// `rdata` with the names inside it lower-cased, for the types of RFC 4034 §6.2 whose names
    /// this enum knows (NS MD MF CNAME SOA MB MG MR PTR MINFO MX SRV DNAME): two records that
    /// differ only in the case of such a name are the same record. Other types, and RDATA whose
    /// names do not parse, come back unchanged.
    public static func canonical(_ type: RRType, _ rdata: [UInt8]) -> [UInt8] {
        let (start, count): (Int, Int)
        switch type.rawValue {
        case 2, 3, 4, 5, 7, 8, 9, 12, 39: (start, count) = (0, 1)
        case 6, 14: (start, count) = (0, 2)
        case 15: (start, count) = (2, 1)
        case 33: (start, count) = (6, 1)
        default: return rdata
        }
        var result = rdata
        var i = start
        for _ in 0..<count {
            guard let end = rdata.withUnsafeBytes({ nameEnd($0, from: i) }) else { return rdata }
            var label = i
            while label < end - 1 {
                let length = Int(result[label])
                for k in (label + 1)..<(label + 1 + length) where result[k] >= 0x41 && result[k] <= 0x5A { result[k] |= 0x20 }
                label += 1 + length
            }
            i = end
        }
        return result
    }

    /// Checks `count` uncompressed names from `start`, then exactly `fixed` more octets (any number
    /// when nil).
    private static func names(_ p: UnsafeRawBufferPointer, from start: Int, count: Int, thenFixed fixed: Int?) -> String? {
        var i = start
        for k in 0..<count {
            guard let end = nameEnd(p, from: i) else {
                return "name \(k + 1) is not a name (labels of 1–63 octets ending in the root, 255 octets at most, no compression)"
            }
            i = end
        }
        guard let fixed else { return nil }
        if p.count - i != fixed {
            return p.count - i < fixed ? "\(fixed - (p.count - i)) octets short" : "\(p.count - i - fixed) octets too long"
        }
        return nil
    }

    /// The offset after the uncompressed name at `i`, or nil when it is not one.
    private static func nameEnd(_ p: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        while i < p.count {
            let len = Int(p[i])
            if len == 0 { return i + 1 - start <= DNSName.maxWireLength ? i + 1 : nil }
            guard len <= DNSName.maxLabelLength, i + 1 + len - start < DNSName.maxWireLength else { return nil }
            i += 1 + len
        }
        return nil
    }
}
