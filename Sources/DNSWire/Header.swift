/// Bit layout of the 12-byte message header (RFC 1035 §4.1.1, RFC 2535 §6.1 for AD/CD):
///
/// ```
///                                 1  1  1  1  1  1
///   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// |                      ID                       |
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// |                    QDCOUNT                    |
/// |                    ANCOUNT                    |
/// |                    NSCOUNT                    |
/// |                    ARCOUNT                    |
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// ```
public enum Header {
    /// Size of the header on the wire.
    public static let size = 12
    /// Flag bits of the second 16-bit word, as masks.
    public static let qr: UInt16 = 0x8000
    public static let aa: UInt16 = 0x0400
    public static let tc: UInt16 = 0x0200
    public static let rd: UInt16 = 0x0100
    public static let ra: UInt16 = 0x0080
    public static let ad: UInt16 = 0x0020
    public static let cd: UInt16 = 0x0010
    /// The Opcode field (bits 1–4), which a response copies from its query (RFC 1035 §4.1.1).
    public static let opcodeMask: UInt16 = 0x7800
    /// The RCODE field (bits 12–15): the low four bits of a response code; the upper eight of an
    /// extended one travel in the OPT record (RFC 6891 §6.1.3).
    public static let rcodeMask: UInt16 = 0x000F

    /// Opcode from the flags word.
    @inline(__always)
    public static func opcode(_ flags: UInt16) -> Opcode { Opcode(rawValue: UInt8((flags >> 11) & 0xF)) }
}

extension UnsafeRawBufferPointer {
    /// Big-endian 16-bit read; the caller has checked the bounds.
    @inline(__always)
    public func u16(at i: Int) -> UInt16 {
        UInt16(self[i]) << 8 | UInt16(self[i + 1])
    }

    /// Big-endian 32-bit read; the caller has checked the bounds.
    @inline(__always)
    public func u32(at i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
}
