import CDNSIO
import NIOCore
import QueryEngine

extension ClientAddress {
    /// Builds the address from 4 (IPv4) or 16 (IPv6) network-order bytes copied into two words,
    /// the layout `cdnsio_rx_peer` produces.
    @inline(__always)
    init(family: Int32, words: (UInt64, UInt64)) {
        if family == 6 {
            self.init(ipv6High: words.0, low: words.1)
        } else {
            let b = withUnsafeBytes(of: words) { ($0[0], $0[1], $0[2], $0[3]) }
            self.init(ipv4: b)
        }
    }

    /// The address of a TCP peer, or `.unspecified` for a Unix socket or an unknown peer.
    init(_ address: SocketAddress?) {
        guard let address else { self = .unspecified; return }
        var words: (UInt64, UInt64) = (0, 0)
        let family = address.withSockAddr { sockaddr, _ in
            withUnsafeMutableBytes(of: &words) { cdnsio_address_words(sockaddr, $0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
        }
        self = family == 0 ? .unspecified : ClientAddress(family: family, words: words)
    }
}
