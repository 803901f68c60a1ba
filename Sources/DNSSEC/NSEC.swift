public import DNSWire

/// NSEC records of compact denial of existence (RFC 9824): one NSEC at the name asked about,
/// whose next name is its immediate successor (`\000.` + the name, RFC 4034 §6.1 order), so it
/// covers no other name, and whose type bitmap lists what the name has.
public enum CompactDenial {
    /// NXNAME (RFC 9824 §2): the pseudo-type in the bitmap of a name that does not exist.
    public static let nxname: UInt16 = 128

    /// The bitmap of a name that does not exist: RRSIG, NSEC and NXNAME.
    public static let nxnameBitmap: [UInt8] = typeBitmap([RRType.rrsig.rawValue, RRType.nsec.rawValue, nxname])

    /// The type bitmap field (RFC 4034 §4.1.2): window blocks of the listed types.
    public static func typeBitmap(_ types: [UInt16]) -> [UInt8] {
        var out: [UInt8] = []
        let sorted = Set(types).sorted()
        var i = 0
        while i < sorted.count {
            let window = sorted[i] >> 8
            var bits = [UInt8](repeating: 0, count: 32)
            var used = 0
            while i < sorted.count, sorted[i] >> 8 == window {
                let low = Int(sorted[i] & 0xFF)
                bits[low / 8] |= 0x80 >> UInt8(low % 8)
                used = low / 8 + 1
                i += 1
            }
            out.append(UInt8(window))
            out.append(UInt8(used))
            out += bits[0..<used]
        }
        return out
    }

    /// The NSEC RDATA at `owner` (lower-case wire) with `types` (RRSIG and NSEC added): the next
    /// name is `\000.owner`, or nil when that would be longer than 255 bytes.
    public static func rdata(owner: [UInt8], types: [UInt16]) -> [UInt8]? {
        guard owner.count + 2 <= DNSName.maxWireLength else { return nil }
        return [1, 0] + owner + typeBitmap(types + [RRType.rrsig.rawValue, RRType.nsec.rawValue])
    }
}
