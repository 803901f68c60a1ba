public import DNSWire
public import DNSZone

/// The transport a query arrived on; it decides the response size limit and truncation.
public enum Transport: Sendable {
    case udp
    case tcp
}

/// The address a query came from (the resolver), as raw network-order bytes.
public struct ClientAddress: Sendable, Hashable {
    /// 4 bytes for IPv4, 16 for IPv6, in the first `count` bytes of `bytes`.
    public var bytes: (UInt64, UInt64)
    public var isIPv6: Bool

    public init(ipv4: (UInt8, UInt8, UInt8, UInt8)) {
        let v = UInt64(ipv4.0) | UInt64(ipv4.1) << 8 | UInt64(ipv4.2) << 16 | UInt64(ipv4.3) << 24
        self.bytes = (v, 0)
        self.isIPv6 = false
    }

    public init(ipv6High: UInt64, low: UInt64) {
        self.bytes = (ipv6High, low)
        self.isIPv6 = true
    }

    public static func == (a: ClientAddress, b: ClientAddress) -> Bool {
        a.isIPv6 == b.isIPv6 && a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1
    }
    public func hash(into h: inout Hasher) {
        h.combine(isIPv6); h.combine(bytes.0); h.combine(bytes.1)
    }

    public static let unspecified = ClientAddress(ipv4: (0, 0, 0, 0))
}

/// Answers one query: bytes in, bytes out, over an immutable zone snapshot. No I/O, no locks.
public struct QueryEngine: Sendable {
    /// Settings that shape every response.
    public struct Options: Sendable {
        /// Largest UDP payload we send and advertise in OPT (RFC 6891 §6.2.5; 1232 per DNS Flag Day 2020).
        public var maxUDPPayload: Int = 1232
        /// TXT answer for CHAOS `id.server.` / `hostname.bind.`; nil refuses such queries.
        public var identity: String? = nil
        /// TXT answer for CHAOS `version.server.` / `version.bind.`; nil refuses such queries.
        public var version: String? = nil
        public init() {}
    }

    /// The smallest response buffer `respond` may be given: the TCP message limit.
    public static let responseBufferSize = 65535

    public let zones: ZoneSet
    public let options: Options

    public init(zones: ZoneSet, options: Options = Options()) {
        self.zones = zones
        self.options = options
    }

    /// Writes the response to `query` into `response` (at least `responseBufferSize` bytes) and
    /// returns its length, or 0 when the query must be dropped without an answer.
    public func respond(
        to query: UnsafeRawBufferPointer,
        from client: ClientAddress,
        over transport: Transport,
        into response: UnsafeMutableRawBufferPointer
    ) -> Int {
        0
    }
}
