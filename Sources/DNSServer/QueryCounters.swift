import Atomics
import DNSWire
import QueryEngine
import Routing

/// A block of 64-bit counters split into shards, one per answering thread (a UDP worker or a TCP
/// event loop). A shard has a single writer, which adds with a relaxed atomic load and store: no
/// lock and no locked instruction on the query path. Readers (metrics scrapes) sum the shards
/// with relaxed loads and may see a count a few queries old, never a torn one.
final class ShardedCounters: @unchecked Sendable {
    let shards: Int
    /// Slots per shard, rounded up to whole cache lines so writers never share one.
    let stride: Int
    private let storage: UnsafeMutablePointer<UInt64.AtomicRepresentation>

    init(shards: Int, slots: Int) {
        self.shards = max(1, shards)
        self.stride = (max(1, slots) + 7) / 8 * 8
        storage = .allocate(capacity: self.shards * stride)
        storage.initialize(repeating: .init(0), count: self.shards * stride)
    }

    deinit {
        storage.deinitialize(count: shards * stride)
        storage.deallocate()
    }

    /// Adds one to `slot` of `shard`; only that shard's thread may call it.
    @inline(__always)
    func bump(_ shard: Int, _ slot: Int) { add(shard, slot, 1) }

    /// Adds `n` to `slot` of `shard`; only that shard's thread may call it.
    @inline(__always)
    func add(_ shard: Int, _ slot: Int, _ n: UInt64) {
        let counter = UnsafeAtomic<UInt64>(at: storage + (shard * stride + slot))
        counter.store(counter.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    /// The sum of `slot` over every shard.
    func total(_ slot: Int) -> UInt64 {
        var sum: UInt64 = 0
        for shard in 0..<shards {
            sum &+= UnsafeAtomic<UInt64>(at: storage + (shard * stride + slot)).load(ordering: .relaxed)
        }
        return sum
    }
}

/// Queries by transport, QTYPE and RCODE, ECS present or absent, the ECS scope prefix lengths
/// answered with, and truncations: the query path's counters, whatever the deployment.
/// (Unchecked: the QTYPE table is written in `init` only.)
final class QueryCounters: @unchecked Sendable {
    /// Query types with their own label (their mnemonic); the rest count as `other`, an unread
    /// question as `unknown`.
    static let qtypeNames: [(UInt16, String)] = [
        RRType.a, .ns, .cname, .soa, .ptr, .mx, .txt, .aaaa, .srv, .naptr, .ds, .dnskey, .tlsa, .svcb, .https,
        .ixfr, .axfr, .any, .caa,
    ].map { ($0.rawValue, $0.mnemonic) }
    /// RCODEs 0–15 and BADVERS (16) by mnemonic, and `DROPPED` for a query answered with silence.
    static let rcodeNames = (0...badVersRCode).map { RCode(UInt16($0)).mnemonic } + ["DROPPED"]

    // The layout of a shard's slots, computed from literals so that the query path reads no lazily
    // initialized globals (`init` checks it against the tables above).
    /// The slot of CAA (257), which the 256-entry QTYPE table cannot index.
    static var caaQType: Int { 18 }
    static var otherQType: Int { 19 }
    static var unknownQType: Int { 20 }
    /// The labelled QTYPEs, `other` and `unknown`.
    static var qtypeSlots: Int { 21 }
    /// RCODEs 0–16 and `DROPPED`.
    static var rcodeSlots: Int { 18 }
    /// BADVERS, the last RCODE with a slot of its own: higher extended codes are counted in it.
    static var badVersRCode: Int { 16 }
    static var droppedRCode: Int { 17 }
    static let transports = [Transport.udp, .tcp]
    static var transportSlots: Int { 2 }
    static var maxScope: Int { 128 }

    /// Queries by transport, QTYPE and RCODE: `(transport × qtypeSlots + qtype) × rcodeSlots + rcode`.
    static var queriesAt: Int { 0 }
    /// ECS absent (unused: derived from the answered count) and present.
    static var clientSubnetAt: Int { queriesAt + transportSlots * qtypeSlots * rcodeSlots }
    /// ECS scope prefix lengths 0…maxScope.
    static var scopeAt: Int { clientSubnetAt + 2 }
    /// Truncated responses by transport.
    static var truncatedAt: Int { scopeAt + maxScope + 1 }
    /// Signature-cache lookups that hit, and signatures made per query (misses).
    static var signatureHitsAt: Int { truncatedAt + transportSlots }
    static var signatureMissesAt: Int { signatureHitsAt + 1 }
    static var slots: Int { signatureMissesAt + 1 }

    let counters: ShardedCounters
    /// QTYPE below 256 → slot (257, CAA, is looked up apart): 256 bytes allocated once.
    private let qtypeSlot: UnsafeMutablePointer<UInt8>

    init(shards: Int) {
        precondition(Self.qtypeNames.count == Self.otherQType && Self.qtypeNames[Self.caaQType].0 == RRType.caa.rawValue
            && Self.rcodeNames.count == Self.rcodeSlots && Self.badVersRCode == Int(RCode.badVers.rawValue)
            && Self.transports.count == Self.transportSlots)
        counters = ShardedCounters(shards: shards, slots: Self.slots)
        qtypeSlot = .allocate(capacity: 256)
        qtypeSlot.initialize(repeating: UInt8(Self.otherQType), count: 256)
        for (i, (code, _)) in Self.qtypeNames.enumerated() where code < 256 { qtypeSlot[Int(code)] = UInt8(i) }
        qtypeSlot[0] = UInt8(Self.unknownQType)
    }

    deinit { qtypeSlot.deallocate() }

    /// Counts one query answered (or dropped) by the thread that owns `shard`, and its routed
    /// answer in `answers`, the tally of the routing table that answered it.
    @inline(__always)
    func record(_ outcome: QueryOutcome, over transport: Transport, shard: Int, answers: AnswerTally?) {
        answers?.record(outcome, shard: shard)
        let t = transport == .udp ? 0 : 1
        let qtype = outcome.qtype < 256 ? Int(qtypeSlot[Int(outcome.qtype)])
            : (outcome.qtype == 257 ? Self.caaQType : Self.otherQType)
        let rcode = outcome.rcode == QueryOutcome.dropped ? Self.droppedRCode : min(Int(outcome.rcode), Self.badVersRCode)
        counters.bump(shard, Self.queriesAt + (t * Self.qtypeSlots + qtype) * Self.rcodeSlots + rcode)
        guard rcode != Self.droppedRCode else { return }
        // Queries without ECS are not counted apart: they are the answered ones less those with it.
        if outcome.hasClientSubnet {
            counters.bump(shard, Self.clientSubnetAt + 1)
            counters.bump(shard, Self.scopeAt + min(Int(outcome.scope), Self.maxScope))
        }
        if outcome.truncated { counters.bump(shard, Self.truncatedAt + t) }
        if outcome.signatureHits | outcome.signatureMisses != 0 {
            counters.add(shard, Self.signatureHitsAt, UInt64(outcome.signatureHits))
            counters.add(shard, Self.signatureMissesAt, UInt64(outcome.signatureMisses))
        }
    }

    /// The counts so far, summed over every shard.
    func totals(into statistics: inout QueryStatistics) {
        var answered: UInt64 = 0
        for (t, transport) in Self.transports.enumerated() {
            let transportName = transport == .udp ? "udp" : "tcp"
            for q in 0..<Self.qtypeSlots {
                let qtypeName = q < Self.qtypeNames.count ? Self.qtypeNames[q].1 : (q == Self.otherQType ? "other" : "unknown")
                for (r, rcodeName) in Self.rcodeNames.enumerated() {
                    let n = counters.total(Self.queriesAt + (t * Self.qtypeSlots + q) * Self.rcodeSlots + r)
                    if n > 0 { statistics.queries[.init(transport: transportName, qtype: qtypeName, rcode: rcodeName)] = n }
                    if r != Self.droppedRCode { answered &+= n }
                }
            }
            statistics.truncated[transportName] = counters.total(Self.truncatedAt + t)
        }
        statistics.signatureCacheHits = counters.total(Self.signatureHitsAt)
        statistics.signatureCacheMisses = counters.total(Self.signatureMissesAt)
        statistics.clientSubnetPresent = counters.total(Self.clientSubnetAt + 1)
        statistics.clientSubnetAbsent = answered - min(answered, statistics.clientSubnetPresent)
        statistics.scopes = (0...Self.maxScope).map { counters.total(Self.scopeAt + $0) }
    }
}

/// Routed answers per (service, data center) for one routing table: an answer counts once for
/// every data center with an address in it. A new routing table (a reload) gets a new tally;
/// the old one is kept by name until its counts are folded into the totals.
final class AnswerTally: Sendable {
    let services: [String]
    let sites: [String]
    let counters: ShardedCounters

    init(routing: RoutingTable, shards: Int) {
        services = routing.services.map { $0.name.description }
        sites = routing.sites.prefix(64).map(\.name)
        counters = ShardedCounters(shards: shards, slots: services.count * sites.count)
    }

    @inline(__always)
    func record(_ outcome: QueryOutcome, shard: Int) {
        guard outcome.service >= 0 else { return }
        let base = Int(outcome.service) * sites.count
        var bits = outcome.sites
        while bits != 0 {
            counters.bump(shard, base + bits.trailingZeroBitCount)
            bits &= bits &- 1
        }
    }

    /// Adds this tally's counts to `answers`.
    func add(to answers: inout [QueryStatistics.AnswerKey: UInt64]) {
        for (s, service) in services.enumerated() {
            for (d, site) in sites.enumerated() {
                let n = counters.total(s * sites.count + d)
                if n > 0 { answers[.init(service: service, datacenter: site), default: 0] += n }
            }
        }
    }
}

/// The query path's counters summed over every thread, as metrics and the status page read them.
public struct QueryStatistics: Sendable {
    public struct QueryKey: Hashable, Sendable {
        public var transport: String
        public var qtype: String
        public var rcode: String
    }
    public struct AnswerKey: Hashable, Sendable {
        public var service: String
        public var datacenter: String
    }
    /// Queries by transport, QTYPE and RCODE (`DROPPED` when answered with silence).
    public var queries: [QueryKey: UInt64] = [:]
    /// Answered queries with and without an EDNS Client Subnet option.
    public var clientSubnetPresent: UInt64 = 0
    public var clientSubnetAbsent: UInt64 = 0
    /// Answers to queries with ECS, by scope prefix length (index 0…128).
    public var scopes: [UInt64] = []
    /// Responses with TC set, by transport.
    public var truncated: [String: UInt64] = [:]
    /// Per-query signatures of online-signed zones found in the signature caches, and made.
    public var signatureCacheHits: UInt64 = 0
    public var signatureCacheMisses: UInt64 = 0
    /// Routed answers per service and data center.
    public var answers: [AnswerKey: UInt64] = [:]
    /// Responses held back by rate limiting, by response kind and action (dropped or slipped).
    public var rateLimited: [(kind: String, action: String, count: UInt64)] = []
}
