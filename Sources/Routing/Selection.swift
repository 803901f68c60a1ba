public import HealthModel
public import IPNet

/// Per-worker mutable state of routing decisions: the random stream of weighted choices and the
/// rotation of round-robin answers. Each UDP worker and TCP event loop owns one, so the query path
/// shares nothing between threads. Seeded explicitly in tests.
public struct RoutingState: Sendable {
    private var seed: UInt64
    /// Advanced once per routed answer: round-robin orders rotate from one response to the next.
    public var rotation: UInt32 = 0

    public init(seed: UInt64) { self.seed = seed }

    /// The next number of a SplitMix64 stream (Steele, Lea, Flood 2014): fast, and uniform enough
    /// that 100,000 weighted picks land within a tenth of a point of their shares.
    @inline(__always)
    public mutating func next() -> UInt64 {
        seed &+= 0x9E37_79B9_7F4A_7C15
        var z = seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    @inline(__always)
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// Who is asking, as far as routing can tell.
public struct ClientInfo: Sendable {
    /// The address routing locates: the ECS address when usable, else the resolver's.
    public var address: IPAddress
    /// True when `address` came from the query's ECS option (RFC 7871).
    public var fromSubnet: Bool
    /// False when the query's ECS option had SOURCE PREFIX-LENGTH 0: the resolver asks for an
    /// answer that does not depend on the client, so no location is used.
    public var locatable: Bool
    /// The ECS scope of an answer that depends on where the client is, when the prefix map's
    /// prefix around `address` is not it: the length of the special-purpose block that the ECS
    /// address fell in (every ECS address of that block is located by this same resolver address,
    /// so the answer holds for the whole block and no further). Nil: the map's prefix.
    public var fallbackScope: UInt8?

    public init(address: IPAddress, fromSubnet: Bool, locatable: Bool = true, fallbackScope: UInt8? = nil) {
        self.address = address
        self.fromSubnet = fromSubnet
        self.locatable = locatable
        self.fallbackScope = fallbackScope
    }

    /// The client of a query from `resolver` whose ECS option (if any) carried `subnet` with
    /// `sourcePrefixLength` bits: the rule of the query path and of `meridian explain` (RFC 7871
    /// §7.1.3: the ECS address when it locates anybody, else the resolver; SOURCE PREFIX-LENGTH 0
    /// asks for an answer that depends on no client).
    ///
    /// RFC 7871 §7.2.1 says "The SCOPE PREFIX-LENGTH in the response indicates the network for
    /// which the answer is intended" and "This could be as short as 0, to indicate that the answer
    /// is suitable for all addresses in FAMILY"; and "Implementers are encouraged, however, to
    /// carefully consider their selection of SCOPE PREFIX-LENGTH for the response in the event that
    /// the best tailored response cannot be determined, and what the implications would be over
    /// the life of the TTL." A private, shared (CGNAT), loopback or otherwise special-purpose ECS
    /// address cannot be located, so the resolver's address decides; that answer is intended for
    /// the block the ECS address fell in (10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, …), never for
    /// all of FAMILY: a scope of 0 would let the resolver's cache hand the resolver's data center
    /// to every client of every continent for the whole TTL. The block is what gdnsd answers too.
    /// Without ECS the response carries no option (RFC 7871 §7.2.1: "If an ECS option was not
    /// included in a query, one MUST NOT be included in the response"), and the scope recorded for
    /// the answer is the prefix-map network of the resolver's address that decided it.
    @inline(__always)
    public init(resolver: IPAddress, subnet: IPAddress?, sourcePrefixLength: Int) {
        guard let subnet else {
            self.init(address: resolver, fromSubnet: false)
            return
        }
        guard sourcePrefixLength > 0 else {
            self.init(address: resolver, fromSubnet: false, locatable: false)
            return
        }
        if let block = subnet.specialPurposePrefixLength {
            self.init(address: resolver, fromSubnet: false, fallbackScope: block)
            return
        }
        self.init(address: subnet, fromSubnet: true)
    }

    /// The ECS scope of an answer decided by the location of `address`, whose prefix-map network
    /// (merged by decision) is `mapPrefixLength` long.
    @inline(__always)
    func scope(mapPrefixLength: UInt8) -> UInt8 { fallbackScope ?? mapPrefixLength }
}

/// The addresses a policy chose, as IDs into the routing table's address list, in answer order.
public struct Selection: Sendable {
    /// More addresses than this in one answer are left out; 32 A records already fill 512 bytes.
    public static let capacity = 32

    public private(set) var ids = InlineArray<32, Int32>(repeating: -1)
    public private(set) var count = 0
    /// Widest prefix length over which every client gets this answer (RFC 7871 §7.2.1): 0 when the
    /// answer does not depend on the client.
    public var scope: UInt8 = 0

    public init() {}

    @inline(__always)
    public mutating func append(_ id: Int32) {
        guard count < Selection.capacity else { return }
        ids[count] = id
        count += 1
    }

    public mutating func removeAll() { count = 0 }

    /// Keeps the first `n`.
    public mutating func truncate(to n: Int) { count = min(count, n) }
}

/// What one selection reads: the client, the family asked for and the addresses' health.
public struct SelectionRequest {
    public var client: ClientInfo
    /// True for AAAA, false for A.
    public var ipv6: Bool
    /// Health by address ID; when `ignoreHealth` is set (fail-open), every address counts as up.
    public var health: UnsafeBufferPointer<HealthState>
    public var ignoreHealth: Bool
    public var state: RoutingState

    public init(client: ClientInfo, ipv6: Bool, health: UnsafeBufferPointer<HealthState>, ignoreHealth: Bool, state: RoutingState) {
        self.client = client
        self.ipv6 = ipv6
        self.health = health
        self.ignoreHealth = ignoreHealth
        self.state = state
    }

    @inline(__always)
    public func isUp(_ id: Int32) -> Bool {
        ignoreHealth || health[Int(id)].isServing
    }
}
