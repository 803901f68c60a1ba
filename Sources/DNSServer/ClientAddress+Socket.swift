import CDNSIO
import IPNet
import NIOCore

extension IPAddress {
    /// The unspecified IPv4 address, for a peer that is not an IP socket.
    static let unspecified = IPAddress(ipv4: 0)

    /// Builds the address from 4 (IPv4) or 16 (IPv6) network-order bytes copied into two words,
    /// the layout `cdnsio_rx_peer` produces.
    @inline(__always)
    init(family: Int32, words: (UInt64, UInt64)) {
        // The words hold the bytes in memory order; as big-endian numbers they are the address.
        let high = UInt64(bigEndian: words.0), low = UInt64(bigEndian: words.1)
        self.init(high: family == 6 ? high : high & 0xFFFF_FFFF_0000_0000, low: family == 6 ? low : 0, isIPv6: family == 6)
    }

    /// The address of a TCP peer, or `.unspecified` for a Unix socket or an unknown peer.
    init(_ address: SocketAddress?) {
        guard let address else { self = .unspecified; return }
        var words: (UInt64, UInt64) = (0, 0)
        let family = address.withSockAddr { sockaddr, _ in
            withUnsafeMutableBytes(of: &words) { cdnsio_address_words(sockaddr, $0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
        }
        self = family == 0 ? .unspecified : IPAddress(family: family, words: words)
    }
}
