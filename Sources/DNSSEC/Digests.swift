import Crypto

/// The hashes DNSSEC needs, as byte arrays.
enum Digests {
    static func sha256(_ data: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: data)) }
    static func sha384(_ data: [UInt8]) -> [UInt8] { Array(SHA384.hash(data: data)) }
}
