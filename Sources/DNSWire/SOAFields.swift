/// The numbers of an SOA's RDATA (RFC 1035 §3.3.13), read from its uncompressed form: two names,
/// then five 32-bit fields. The one reader of SOA RDATA for transfers, journals and timers.
public struct SOAFields: Sendable, Equatable {
    public var serial, refresh, retry, expire, minimum: UInt32

    /// Nil when `rdata` is not exactly two uncompressed names and five fields.
    public init?(rdata: [UInt8]) {
        guard let at = Self.serialOffset(rdata) else { return nil }
        let fields = rdata.withUnsafeBytes { p in (0..<5).map { p.u32(at: at + 4 * $0) } }
        (serial, refresh, retry, expire, minimum) = (fields[0], fields[1], fields[2], fields[3], fields[4])
    }

    /// Where SERIAL lies in `rdata` (after MNAME and RNAME); nil when `rdata` is not exactly two
    /// uncompressed names and five fields.
    public static func serialOffset(_ rdata: [UInt8]) -> Int? {
        rdata.withUnsafeBytes { p -> Int? in
            guard let afterFirst = nameEnd(p, 0), let afterSecond = nameEnd(p, afterFirst), afterSecond + 20 == p.count
            else { return nil }
            return afterSecond
        }
    }

    /// The offset after the uncompressed name at `start`, nil when it runs past the buffer or is not one.
    static func nameEnd(_ p: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        var i = start
        while i < p.count {
            let len = Int(p[i])
            if len == 0 { return i + 1 - start <= DNSName.maxWireLength ? i + 1 : nil }
            guard len <= DNSName.maxLabelLength else { return nil }
            i += 1 + len
        }
        return nil
    }
}
