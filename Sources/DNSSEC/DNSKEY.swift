public import DNSWire
import Foundation

/// The RDATA of a DNSKEY record (RFC 4034 §2): flags, protocol 3, algorithm and public key.
public struct DNSKEYData: Sendable, Hashable {
    /// Zone Key flag (RFC 4034 §2.1.1): set on every key that signs zone data.
    public static let zoneKeyFlag: UInt16 = 0x0100
    /// Secure Entry Point flag (RFC 4034 §2.1.1): set on key-signing and combined keys.
    public static let secureEntryPointFlag: UInt16 = 0x0001

    public var flags: UInt16
    /// Always 3 (RFC 4034 §2.1.2).
    public var `protocol`: UInt8
    public var algorithm: UInt8
    public var publicKey: [UInt8]

    public init(flags: UInt16, protocol: UInt8 = 3, algorithm: UInt8, publicKey: [UInt8]) {
        self.flags = flags
        self.protocol = `protocol`
        self.algorithm = algorithm
        self.publicKey = publicKey
    }

    /// The wire RDATA.
    public var rdata: [UInt8] {
        [UInt8(flags >> 8), UInt8(flags & 0xFF), `protocol`, algorithm] + publicKey
    }

    /// Parses wire RDATA.
    public init(rdata: [UInt8]) throws(DNSSECError) {
        guard rdata.count > 4 else { throw DNSSECError(.badKey, "DNSKEY RDATA of \(rdata.count) bytes has no public key") }
        self.init(flags: UInt16(rdata[0]) << 8 | UInt16(rdata[1]), protocol: rdata[2], algorithm: rdata[3], publicKey: Array(rdata[4...]))
    }

    /// The key tag (RFC 4034 Appendix B): the ones'-complement-style sum of the RDATA's 16-bit
    /// words. (Algorithm 1's different rule is not needed: RSA/MD5 is not signed with.)
    public var keyTag: UInt16 {
        var sum: UInt32 = 0
        for (i, byte) in rdata.enumerated() { sum &+= i & 1 == 0 ? UInt32(byte) << 8 : UInt32(byte) }
        sum &+= (sum >> 16) & 0xFFFF
        return UInt16(sum & 0xFFFF)
    }

    /// A key-signing or combined key (the Secure Entry Point flag).
    public var isSecureEntryPoint: Bool { flags & Self.secureEntryPointFlag != 0 }

    /// The RDATA in presentation form: `257 3 13 base64`.
    public var presentation: String {
        "\(flags) \(`protocol`) \(algorithm) \(Data(publicKey).base64EncodedString())"
    }

    /// The DS RDATA for this key at `owner` (RFC 4034 §5.1.4): key tag, algorithm, digest type and
    /// the digest of the owner's canonical wire form followed by the DNSKEY RDATA.
    public func ds(owner: DNSName, digest: DSDigestType = .sha256) -> [UInt8] {
        let input = owner.lowercased().wire + rdata
        let hash: [UInt8] = digest == .sha256 ? Digests.sha256(input) : Digests.sha384(input)
        let tag = keyTag
        return [UInt8(tag >> 8), UInt8(tag & 0xFF), algorithm, digest.rawValue] + hash
    }

    /// A DS RDATA in presentation form: `tag algorithm digest-type hex`.
    public static func dsPresentation(_ ds: [UInt8]) -> String {
        guard ds.count > 4 else { return "" }
        let hex = ds[4...].map { String(format: "%02x", $0) }.joined()
        return "\(UInt16(ds[0]) << 8 | UInt16(ds[1])) \(ds[2]) \(ds[3]) \(hex)"
    }
}
