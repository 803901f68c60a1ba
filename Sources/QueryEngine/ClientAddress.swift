import IPNet

extension IPAddress {
    /// Calls `body` with the address in network byte order: 4 bytes for IPv4, 16 for IPv6 (the
    /// Client-IP of an RFC 9018 server cookie).
    @inline(__always)
    func withWireBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var words = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: &words) { body(UnsafeRawBufferPointer(rebasing: $0[0..<(isIPv6 ? 16 : 4)])) }
    }
}
