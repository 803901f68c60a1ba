/// One network of a `GeoNetworkTable`: a prefix and the index of its location. 24 bytes, so that
/// the few million networks of GeoLite2-City fit in arrays of this struct.
public struct GeoNetwork: Hashable, Sendable {
    /// The network address (bits beyond `length` are zero).
    public var address: IPAddress
    /// The prefix length in the address's own family.
    public var length: UInt8
    /// Index into `GeoNetworkTable.locations`.
    public var location: UInt32

    /// A network; bits of `address` beyond `length` are cleared.
    public init(address: IPAddress, length: Int, location: UInt32) {
        self.address = address.masked(to: length)
        self.length = UInt8(length)
        self.location = location
    }

    public init(prefix: IPPrefix, location: UInt32) {
        self.init(address: prefix.address, length: prefix.length, location: location)
    }

    public var prefix: IPPrefix { IPPrefix(address: address, length: Int(length))! }
}

/// Networks with their locations, as read from a MaxMind DB and overlaid with configured networks:
/// the input of a `PrefixMap`. Where prefixes nest, the longest one applies to its addresses.
public struct GeoNetworkTable: Hashable, Sendable {
    /// Distinct locations; networks refer to them by index.
    public var locations: [GeoLocation]
    public var ipv4: [GeoNetwork]
    public var ipv6: [GeoNetwork]
    /// IPv6 prefixes whose addresses are answered from the IPv4 networks: the 32 bits after the
    /// prefix are the IPv4 address (`::/96`, `::ffff:0:0/96`, 6to4 `2002::/16`, Teredo `2001::/32`
    /// in MaxMind's IPv6 trees). No IPv6 network of the table overlaps them.
    public var ipv4Aliases: [IPPrefix]

    public init(locations: [GeoLocation] = [], ipv4: [GeoNetwork] = [], ipv6: [GeoNetwork] = [], ipv4Aliases: [IPPrefix] = []) {
        self.locations = locations
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.ipv4Aliases = ipv4Aliases
    }

    /// This table with `explicit` networks taking precedence: every network of the table inside an
    /// explicit prefix (or equal to one) is dropped, and a wider one keeps only the addresses
    /// outside the explicit prefixes. Among explicit prefixes the longest wins (for the same prefix
    /// twice, the later one). IPv4 aliases that overlap an explicit IPv6 prefix are dropped, so an
    /// explicit prefix inside an alias leaves the rest of the alias unlocated.
    public func overlaying(_ explicit: [(prefix: IPPrefix, location: GeoLocation)]) -> GeoNetworkTable {
        guard !explicit.isEmpty else { return self }
        var result = self
        var v4: [GeoNetwork] = []
        var v6: [GeoNetwork] = []
        for (i, e) in explicit.enumerated() {
            let network = GeoNetwork(prefix: e.prefix, location: UInt32(locations.count + i))
            if e.prefix.address.isIPv6 { v6.append(network) } else { v4.append(network) }
        }
        result.locations += explicit.map(\.location)
        result.ipv4 = Self.removingCovered(ipv4, by: v4) + v4
        result.ipv6 = Self.removingCovered(ipv6, by: v6) + v6
        result.ipv4Aliases = ipv4Aliases.filter { alias in
            !v6.contains { e in e.prefix.length <= alias.length ? e.prefix.contains(alias.address) : alias.contains(e.address) }
        }
        return result
    }

    /// `networks` without those inside one of `cover`: one set probe per distinct cover length.
    private static func removingCovered(_ networks: [GeoNetwork], by cover: [GeoNetwork]) -> [GeoNetwork] {
        guard !cover.isEmpty else { return networks }
        let prefixes = Set(cover.map(\.prefix))
        let lengths = Set(cover.map(\.length)).sorted()
        return networks.filter { n in
            !lengths.contains { l in l <= n.length && prefixes.contains(IPPrefix(address: n.address.masked(to: Int(l)), length: Int(l))!) }
        }
    }
}
