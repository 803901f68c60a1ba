/// DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018: every server that
/// shares the secret makes and accepts the same cookies, so a client keeps its cookie across the
/// instances of a fleet.
///
/// ```
///   Server Cookie = Version (1) | Reserved (3) | Timestamp (4) | Hash (8)
///   Hash = SipHash-2-4(Client Cookie | Version | Reserved | Timestamp | Client-IP, Server Secret)
/// ```
public struct ServerCookies: Sendable {
    /// The only version RFC 9018 defines.
    static let version: UInt8 = 1
    /// Length of an RFC 9018 server cookie.
    public static let length = 16
    /// RFC 9018 §4.3: a cookie is accepted up to an hour after it was made and five minutes before
    /// (clock difference between the servers that share the secret).
    static let maxAge: UInt32 = 3600
    static let maxFuture: UInt32 = 300

    /// The secret that makes new cookies, and the one before it, still accepted during a rotation.
    let current: SipHashKey
    let previous: SipHashKey?

    /// Secrets of 16 bytes each (RFC 9018 §4.2: SipHash-2-4's 128-bit key).
    public init?(secret: [UInt8], previous: [UInt8]? = nil) {
        guard let current = SipHashKey(secret) else { return nil }
        self.current = current
        if let previous {
            guard let key = SipHashKey(previous) else { return nil }
            self.previous = key
        } else {
            self.previous = nil
        }
    }

    /// Writes the 16-byte server cookie for `clientCookie` (8 bytes at its pointer) from `client`
    /// (4 or 16 address bytes) at `now` into `out`.
    @inline(__always)
    public func make(clientCookie: UnsafeRawPointer, client: UnsafeRawBufferPointer, now: UInt32, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: ServerCookies.version, toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: 0, toByteOffset: 1, as: UInt8.self)
        out.storeBytes(of: 0, toByteOffset: 2, as: UInt8.self)
        out.storeBytes(of: 0, toByteOffset: 3, as: UInt8.self)
        out.storeBytes(of: now.bigEndian, toByteOffset: 4, as: UInt32.self)
        let hash = ServerCookies.hash(current, clientCookie: clientCookie, header: UnsafeRawPointer(out), client: client)
        out.storeBytes(of: hash.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// True when `server` (`length` bytes) is a cookie this fleet made for this client cookie and
    /// address, recently enough (RFC 9018 §4.3), with the current or the previous secret.
    public func isValid(
        server: UnsafeRawPointer, length: Int, clientCookie: UnsafeRawPointer, client: UnsafeRawBufferPointer, now: UInt32
    ) -> Bool {
        guard length == ServerCookies.length, server.load(as: UInt8.self) == ServerCookies.version,
              server.load(fromByteOffset: 1, as: UInt8.self) == 0, server.load(fromByteOffset: 2, as: UInt8.self) == 0,
              server.load(fromByteOffset: 3, as: UInt8.self) == 0
        else { return false }
        let stamp = UInt32(bigEndian: server.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        // Serial number arithmetic (RFC 1982): the difference as a signed 32-bit number.
        let age = Int32(bitPattern: now &- stamp)
        guard age <= Int32(ServerCookies.maxAge), age >= -Int32(ServerCookies.maxFuture) else { return false }
        let given = UInt64(littleEndian: server.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        if ServerCookies.hash(current, clientCookie: clientCookie, header: server, client: client) == given { return true }
        if let previous, ServerCookies.hash(previous, clientCookie: clientCookie, header: server, client: client) == given {
            return true
        }
        return false
    }

    /// SipHash-2-4 over Client Cookie (8) | Version, Reserved, Timestamp (8, from `header`) | Client-IP.
    @inline(__always)
    static func hash(_ key: SipHashKey, clientCookie: UnsafeRawPointer, header: UnsafeRawPointer, client: UnsafeRawBufferPointer) -> UInt64 {
        var h = SipHash24(key)
        h.word(clientCookie.loadUnaligned(as: UInt64.self))
        h.word(header.loadUnaligned(as: UInt64.self))
        return h.finish(tail: client, total: 16 + client.count)
    }
}

/// A 128-bit SipHash key as two little-endian words.
struct SipHashKey: Sendable {
    let k0: UInt64
    let k1: UInt64

    init?(_ bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        var a: UInt64 = 0, b: UInt64 = 0
        for i in 0..<8 {
            a |= UInt64(bytes[i]) << UInt64(8 * i)
            b |= UInt64(bytes[8 + i]) << UInt64(8 * i)
        }
        k0 = a
        k1 = b
    }
}

/// SipHash-2-4 (Aumasson and Bernstein), fed whole 8-byte words and then a tail of at most 16 bytes.
struct SipHash24 {
    var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

    @inline(__always)
    init(_ key: SipHashKey) {
        v0 = key.k0 ^ 0x736f_6d65_7073_6575
        v1 = key.k1 ^ 0x646f_7261_6e64_6f6d
        v2 = key.k0 ^ 0x6c79_6765_6e65_7261
        v3 = key.k1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always)
    mutating func round() {
        v0 = v0 &+ v1; v1 = (v1 << 13) | (v1 >> 51); v1 ^= v0; v0 = (v0 << 32) | (v0 >> 32)
        v2 = v2 &+ v3; v3 = (v3 << 16) | (v3 >> 48); v3 ^= v2
        v0 = v0 &+ v3; v3 = (v3 << 21) | (v3 >> 43); v3 ^= v0
        v2 = v2 &+ v1; v1 = (v1 << 17) | (v1 >> 47); v1 ^= v2; v2 = (v2 << 32) | (v2 >> 32)
    }

    /// One message word as its 8 bytes read little-endian (a raw load on this little-endian machine
    /// of bytes in message order).
    @inline(__always)
    mutating func word(_ raw: UInt64) {
        let m = UInt64(littleEndian: raw)
        v3 ^= m
        round(); round()
        v0 ^= m
    }

    /// Absorbs `tail` (the last bytes of a `total`-byte message), pads with the length byte and finalizes.
    @inline(__always)
    mutating func finish(tail: UnsafeRawBufferPointer, total: Int) -> UInt64 {
        var i = 0
        while i + 8 <= tail.count {
            word(tail.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var last = UInt64(total & 0xFF) << 56
        var shift: UInt64 = 0
        while i < tail.count {
            last |= UInt64(tail[i]) << shift
            shift += 8
            i += 1
        }
        v3 ^= last
        round(); round()
        v0 ^= last
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}
