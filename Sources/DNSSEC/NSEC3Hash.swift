import Crypto

/// The NSEC3 hash of an owner name (RFC 5155 §5): SHA-1 of the name's canonical wire form and
/// the salt, then of each result and the salt again, `iterations` more times.
public enum NSEC3Hash {
    /// The hash algorithm number of SHA-1 (RFC 5155 §11), the only one defined.
    public static let sha1: UInt8 = 1

    /// Writes the 20-byte hash of the lower-case wire `name` into `out`.
    public static func hash(_ name: UnsafeRawBufferPointer, salt: [UInt8], iterations: UInt16, into out: UnsafeMutableRawBufferPointer) {
        var first = Insecure.SHA1()
        first.update(bufferPointer: name)
        salt.withUnsafeBytes { first.update(bufferPointer: $0) }
        var digest = first.finalize()
        for _ in 0..<iterations {
            var next = Insecure.SHA1()
            digest.withUnsafeBytes { next.update(bufferPointer: $0) }
            salt.withUnsafeBytes { next.update(bufferPointer: $0) }
            digest = next.finalize()
        }
        digest.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(out.count))) }
    }
}
