/// A DNSSEC signing algorithm (IANA "DNS Security Algorithm Numbers"): the three Meridian signs
/// with. RSA/SHA-256 is for zones whose parent or policy needs it; ECDSA P-256 is the default.
public enum DNSSECAlgorithm: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// RSA/SHA-256 (RFC 5702), PKCS #1 v1.5 signatures.
    case rsaSHA256 = 8
    /// ECDSA on P-256 with SHA-256 (RFC 6605).
    case ecdsaP256SHA256 = 13
    /// Ed25519 (RFC 8080).
    case ed25519 = 15

    /// The mnemonic of the IANA registry, as BIND's private-key files write it.
    public var mnemonic: String {
        switch self {
        case .rsaSHA256: return "RSASHA256"
        case .ecdsaP256SHA256: return "ECDSAP256SHA256"
        case .ed25519: return "ED25519"
        }
    }

    public var description: String { mnemonic }

    /// The algorithm named by its number or its mnemonic (any case), as on a command line.
    public init?(name: String) {
        if let n = UInt8(name), let a = DNSSECAlgorithm(rawValue: n) {
            self = a
            return
        }
        guard let a = DNSSECAlgorithm.allCases.first(where: { $0.mnemonic.lowercased() == name.lowercased() }) else { return nil }
        self = a
    }
}

/// A DS digest type (IANA "Delegation Signer (DS) Resource Record Digest Algorithms").
public enum DSDigestType: UInt8, Sendable, CaseIterable {
    /// SHA-256 (RFC 4509), the one every validator supports.
    case sha256 = 2
    /// SHA-384 (RFC 6605).
    case sha384 = 4
}
