import Crypto
public import DNSWire
import Foundation
import _CryptoExtras

/// A zone's private key with its DNSKEY: what signs RRsets. Made from a BIND key-file pair
/// (`KeyFile`) or generated (`generate`).
public struct SigningKey: Sendable {
    /// The zone the key belongs to (the DNSKEY owner, the RRSIG signer name).
    public let zone: DNSName
    public let dnskey: DNSKEYData
    public let algorithm: DNSSECAlgorithm
    let material: Material

    enum Material: Sendable {
        case p256(P256.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey, RSAComponents)
    }

    /// The numbers of an RSA private key as BIND's file lists them (big-endian, no leading zeros).
    struct RSAComponents: Sendable {
        var modulus, publicExponent, privateExponent, prime1, prime2, exponent1, exponent2, coefficient: [UInt8]
    }

    /// The key tag of its DNSKEY.
    public var keyTag: UInt16 { dnskey.keyTag }

    init(zone: DNSName, flags: UInt16, material: Material) throws(DNSSECError) {
        self.zone = zone
        self.material = material
        let algorithm: DNSSECAlgorithm
        let publicKey: [UInt8]
        switch material {
        case .p256(let key):
            algorithm = .ecdsaP256SHA256
            publicKey = Array(key.publicKey.rawRepresentation)
        case .ed25519(let key):
            algorithm = .ed25519
            publicKey = Array(key.publicKey.rawRepresentation)
        case .rsa(_, let c):
            algorithm = .rsaSHA256
            publicKey = try SigningKey.rsaPublicKey(exponent: c.publicExponent, modulus: c.modulus)
        }
        self.algorithm = algorithm
        self.dnskey = DNSKEYData(flags: flags, algorithm: algorithm.rawValue, publicKey: publicKey)
    }

    /// The RSA public key field of a DNSKEY (RFC 3110 §2): the exponent's length (one byte, or
    /// zero and two bytes), the exponent, then the modulus.
    static func rsaPublicKey(exponent: [UInt8], modulus: [UInt8]) throws(DNSSECError) -> [UInt8] {
        guard !exponent.isEmpty, exponent.count <= 0xFFFF, !modulus.isEmpty else { throw DNSSECError(.badKey, "an RSA key needs an exponent and a modulus") }
        let length: [UInt8] = exponent.count < 256 ? [UInt8(exponent.count)] : [0, UInt8(exponent.count >> 8), UInt8(exponent.count & 0xFF)]
        return length + exponent + modulus
    }

    /// A new key for `zone`: a combined or key-signing key when `secureEntryPoint`, else a
    /// zone-signing key. RSA keys have `rsaBits` bits (2048 at least: swift-crypto refuses less).
    public static func generate(zone: DNSName, algorithm: DNSSECAlgorithm, secureEntryPoint: Bool, rsaBits: Int = 2048) throws(DNSSECError) -> SigningKey {
        let flags = DNSKEYData.zoneKeyFlag | (secureEntryPoint ? DNSKEYData.secureEntryPointFlag : 0)
        switch algorithm {
        case .ecdsaP256SHA256: return try SigningKey(zone: zone, flags: flags, material: .p256(P256.Signing.PrivateKey()))
        case .ed25519: return try SigningKey(zone: zone, flags: flags, material: .ed25519(Curve25519.Signing.PrivateKey()))
        case .rsaSHA256:
            guard rsaBits >= 2048, rsaBits <= 4096, rsaBits % 8 == 0 else {
                throw DNSSECError(.badKey, "RSA keys of \(rsaBits) bits are not made: 2048 to 4096, a multiple of 8")
            }
            do {
                let key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: rsaBits))
                guard let c = RSADER.components(pkcs8OrPKCS1: Array(key.derRepresentation)) else {
                    throw DNSSECError(.badKey, "the generated RSA key's DER form could not be read")
                }
                return try SigningKey(zone: zone, flags: flags, material: .rsa(key, c))
            } catch let e as DNSSECError {
                throw e
            } catch {
                throw DNSSECError(.badKey, "RSA key generation failed: \(error)")
            }
        }
    }

    /// The signature of `data` (RFC 4034 §3.1.8.1's signed data) in the algorithm's wire form:
    /// r ‖ s for ECDSA (RFC 6605 §4), the 64-byte signature for Ed25519 (RFC 8080 §4), the
    /// PKCS #1 v1.5 signature of the SHA-256 digest for RSA (RFC 5702 §3).
    public func sign(_ data: [UInt8]) throws(DNSSECError) -> [UInt8] {
        do {
            switch material {
            case .p256(let key): return Array(try key.signature(for: data).rawRepresentation)
            case .ed25519(let key): return Array(try key.signature(for: data))
            case .rsa(let key, _): return Array(try key.signature(for: data, padding: .insecurePKCS1v1_5).rawRepresentation)
            }
        } catch {
            throw DNSSECError(.signingFailed, "\(algorithm) signature failed: \(error)")
        }
    }

    /// Whether `signature` (in the algorithm's wire form) is this key's signature of `data`.
    public func verify(_ signature: [UInt8], over data: [UInt8]) throws(DNSSECError) -> Bool {
        do {
            switch material {
            case .p256(let key):
                return key.publicKey.isValidSignature(try P256.Signing.ECDSASignature(rawRepresentation: signature), for: data)
            case .ed25519(let key): return key.publicKey.isValidSignature(signature, for: data)
            case .rsa(let key, _):
                return key.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: data, padding: .insecurePKCS1v1_5)
            }
        } catch {
            throw DNSSECError(.badKey, "not a \(algorithm) signature: \(error)")
        }
    }
}

/// Reads the numbers of an RSA private key from its DER form (PKCS #8 wrapping PKCS #1, or PKCS #1
/// alone). Only for keys this process generated.
enum RSADER {
    /// A DER element: its tag and contents.
    private static func element(_ d: [UInt8], _ i: inout Int) -> (tag: UInt8, body: ArraySlice<UInt8>)? {
        guard i + 2 <= d.count else { return nil }
        let tag = d[i]
        var length = Int(d[i + 1])
        i += 2
        if length & 0x80 != 0 {
            let n = length & 0x7F
            guard n >= 1, n <= 4, i + n <= d.count else { return nil }
            length = d[i..<(i + n)].reduce(0) { $0 << 8 | Int($1) }
            i += n
        }
        guard length >= 0, i + length <= d.count else { return nil }
        defer { i += length }
        return (tag, d[i..<(i + length)])
    }

    static func components(pkcs8OrPKCS1 der: [UInt8]) -> SigningKey.RSAComponents? {
        var i = 0
        guard let outer = element(der, &i), outer.tag == 0x30 else { return nil }
        var body = Array(outer.body)
        var j = 0
        guard let version = element(body, &j), version.tag == 0x02 else { return nil }
        // PKCS #8: version, AlgorithmIdentifier (a SEQUENCE), then the PKCS #1 key in an OCTET STRING.
        var k = j
        if let next = element(body, &k), next.tag == 0x30, let octets = element(body, &k), octets.tag == 0x04 {
            var m = 0
            guard let inner = element(Array(octets.body), &m), inner.tag == 0x30 else { return nil }
            body = Array(inner.body)
            j = 0
            guard let v = element(body, &j), v.tag == 0x02 else { return nil }
        }
        var numbers: [[UInt8]] = []
        for _ in 0..<8 {
            guard let n = element(body, &j), n.tag == 0x02 else { return nil }
            numbers.append(Array(n.body.drop { $0 == 0 }))
        }
        return SigningKey.RSAComponents(modulus: numbers[0], publicExponent: numbers[1], privateExponent: numbers[2], prime1: numbers[3],
                                        prime2: numbers[4], exponent1: numbers[5], exponent2: numbers[6], coefficient: numbers[7])
    }
}
