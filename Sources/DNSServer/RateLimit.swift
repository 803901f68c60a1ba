import Atomics
import IPNet
import QueryEngine
import ServerConfig

/// Response rate limiting over UDP, as BIND and Knot do it: at most `responsesPerSecond` responses
/// of one kind (answer, NXDOMAIN, referral, error) per second to one client prefix; past that,
/// every `slip`-th response goes out truncated (TC=1, so a real client retries over TCP) and the
/// others are dropped. Clients with a valid server cookie and exempt prefixes are never limited.
///
/// The buckets are one lossy table shared by every UDP worker, each bucket a single 64-bit word
/// updated with one relaxed load and one compare-and-swap: no lock, and a lost race only lets one
/// response more through. A collision between two prefixes resets the bucket (as Knot's table).
final class ResponseRateLimiter: @unchecked Sendable {
    /// What to do with one response; `startsLimiting` marks the first limited response of a prefix
    /// that was not limited the second before (the one to log).
    struct Verdict {
        enum Action { case send, drop, slip }
        var action: Action
        var startsLimiting = false
        static let send = Verdict(action: .send)
    }

    /// Response kinds with their own budget.
    enum Kind: Int, CaseIterable {
        case answer, nxdomain, referral, error
        var name: String { ["answer", "nxdomain", "referral", "error"][rawValue] }
    }

    /// Buckets in the table: 2^16 words (512 KiB) hold that many limited prefixes at once before
    /// collisions start resetting each other, far more than one machine's flood sources.
    static let tableBits = 16

    let rate: UInt32
    let slip: UInt32
    let ipv4Prefix: Int
    let ipv6Prefix: Int
    let exempt: [IPPrefix]
    /// Keys the bucket hash, so that nobody outside can aim prefixes at one bucket.
    let seed: UInt64
    private let table: UnsafeMutablePointer<UInt64.AtomicRepresentation>
    /// Dropped and slipped responses by kind, per worker shard: slot = kind × 2 + (slipped ? 1 : 0).
    let counters: ShardedCounters

    init(_ settings: RateLimitSettings, shards: Int) {
        rate = UInt32(settings.responsesPerSecond)
        slip = UInt32(settings.slip)
        ipv4Prefix = settings.ipv4Prefix
        ipv6Prefix = settings.ipv6Prefix
        exempt = settings.exempt
        seed = UInt64.random(in: 0...UInt64.max)
        let count = 1 << ResponseRateLimiter.tableBits
        table = .allocate(capacity: count)
        table.initialize(repeating: .init(0), count: count)
        counters = ShardedCounters(shards: shards, slots: Kind.allCases.count * 2)
    }

    deinit {
        table.deinitialize(count: 1 << ResponseRateLimiter.tableBits)
        table.deallocate()
    }

    /// The kind of a response, from what the engine reported.
    @inline(__always)
    static func kind(_ outcome: QueryOutcome) -> Kind {
        switch outcome.rcode {
        case 0: return outcome.authoritative ? .answer : .referral
        case 3: return .nxdomain
        default: return .error
        }
    }

    /// Decides one response to `client` at second `now`. A bucket word holds `tag (24 bits) |
    /// second (16) | limited the second before (1) | count (23)`: a new second or another tag starts
    /// the count again.
    @inline(__always)
    func judge(_ outcome: QueryOutcome, client: IPAddress, now: UInt32, shard: Int) -> Verdict {
        if outcome.validCookie { return .send }
        let kind = ResponseRateLimiter.kind(outcome)
        let prefix = client.masked(to: client.isIPv6 ? ipv6Prefix : ipv4Prefix)
        var h = (prefix.high ^ seed) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ prefix.low ^ UInt64(kind.rawValue) << 1 ^ (client.isIPv6 ? 1 : 0)) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        let bucket = UnsafeAtomic<UInt64>(at: table + Int(h & UInt64((1 << ResponseRateLimiter.tableBits) - 1)))
        let tag = h >> 40
        let second = UInt64(now & 0xFFFF)
        let old = bucket.load(ordering: .relaxed)
        let sameTag = old >> 40 == tag
        let oldSecond = (old >> 24) & 0xFFFF
        let oldCount = old & 0x7F_FFFF
        var count: UInt64 = 1
        var wasLimited = false
        if sameTag && oldSecond == second {
            count = min(oldCount + 1, 0x7F_FFFF)
            wasLimited = old & 0x80_0000 != 0
        } else if sameTag && oldSecond == (second &- 1) & 0xFFFF {
            wasLimited = oldCount > UInt64(rate)
        }
        let desired = tag << 40 | second << 24 | (wasLimited ? 0x80_0000 : 0) | count
        _ = bucket.compareExchange(expected: old, desired: desired, ordering: .relaxed)
        guard count > UInt64(rate) else { return .send }
        if exempt.contains(where: { $0.contains(client) }) { return .send }
        let over = UInt32(truncatingIfNeeded: count - UInt64(rate))
        let verdict = Verdict(action: slip > 0 && over % slip == 0 ? .slip : .drop,
                              startsLimiting: over == 1 && !wasLimited)
        counters.bump(shard, kind.rawValue * 2 + (verdict.action == .slip ? 1 : 0))
        return verdict
    }

    /// The client prefix a bucket counts for, as logged.
    func prefix(of client: IPAddress) -> String {
        let length = client.isIPv6 ? ipv6Prefix : ipv4Prefix
        return "\(client.masked(to: length))/\(length)"
    }

    /// Rewrites the response in `response` into its slipped form: the header and question only, TC
    /// set, no records (RFC 1035 §4.1.1: a resolver retries over TCP). Returns the new length.
    static func slipped(_ response: UnsafeMutableRawBufferPointer, questionEnd: Int) -> Int {
        response[2] |= 0x02  // TC
        for i in 6..<12 { response[i] = 0 }
        return questionEnd
    }

    /// Dropped and slipped responses so far, by kind.
    func totals() -> [(kind: String, action: String, count: UInt64)] {
        Kind.allCases.flatMap { kind in
            [(kind.name, "dropped", counters.total(kind.rawValue * 2)), (kind.name, "slipped", counters.total(kind.rawValue * 2 + 1))]
        }
    }
}
