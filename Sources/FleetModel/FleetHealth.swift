public import HealthModel

/// How many of an address's observers must say up for the fleet to call it up.
///
/// The observers of an address are the live members (``FleetSnapshot/liveMembers``) whose
/// verdict set has a verdict for it. With `n` observers, ``needed(observers:)`` up verdicts make
/// it up and anything less makes it down:
/// - `majority` (the default): half of them, rounded up. An even split is up: taking an address
///   down needs a strict majority saying down, so no half of the fleet (a partition's side)
///   takes a site down on its own;
/// - `any`: one;
/// - `all`: every one (a single down verdict takes it down);
/// - `count(k)`: `k`, or `n` when fewer than `k` observe it, so that a fleet that shrank below
///   `k` goes by the survivors' verdicts instead of calling everything down that none of them
///   sees down.
public enum Quorum: Sendable, Hashable, CustomStringConvertible {
    case majority
    case any
    case all
    case count(Int)

    /// `majority`, `any`, `all` or a number from 1, as the configuration writes it.
    public init(parsing text: String) throws(FleetModelError) {
        switch text {
        case "majority": self = .majority
        case "any": self = .any
        case "all": self = .all
        default:
            guard let k = Int(text), k >= 1 else { throw .invalidQuorum(text) }
            self = .count(k)
        }
    }

    /// The up verdicts that make an address up among `n` observers: from 1 to `n` (a
    /// `count` below 1, which only code can make, counts as 1).
    public func needed(observers n: Int) -> Int {
        let k: Int
        switch self {
        case .majority: k = (n + 1) / 2
        case .any: k = 1
        case .all: k = n
        case .count(let c): k = c
        }
        return max(1, min(k, n))
    }

    public var description: String {
        switch self {
        case .majority: return "majority"
        case .any: return "any"
        case .all: return "all"
        case .count(let k): return String(k)
        }
    }
}

/// The fleet's verdict on one address.
public struct FleetVerdict: Sendable, Equatable {
    /// `.up` or `.down` by the quorum; `.drain` when a fleet drain names its data center.
    public var state: HealthState
    /// When the verdict became true: the time the last observer needed for it entered its state
    /// (the `needed`-th earliest `since` among those agreeing), or the drain's time.
    public var since: Double
    /// The observers saying up and down, sorted.
    public var up: [String]
    public var down: [String]
    /// Why, in one line: the count, and each down observer's reason.
    public var reason: String
}

/// The fleet's view of health at one revision: what every instance answers from, computed alike
/// on every instance that has read the same revision.
///
/// Rules beyond ``Quorum``:
/// - only live members observe: the verdict set of an instance whose lease expired (or that never
///   registered) is left out, and listed in ``ignored``;
/// - an address no live member has a verdict for has no fleet verdict: ``state(of:local:)`` gives
///   the local one (the instance's own checks, or up for an unchecked address). The fleet has no
///   opinion then, and calling such an address down or up against the one instance that checks it
///   would be a guess; a newly configured address thus serves by local checks until verdicts arrive;
/// - an instance that is not yet a live member (starting, or its lease lapsed) is counted like any
///   other non-member: not at all. It answers from the fleet's view, and by its own checks only
///   for addresses the fleet has no verdict on, so a starting instance does not disagree with the
///   fleet. (When etcd is unreachable the caller may merge its fresh verdicts into its last view
///   and count itself live: that is a different input, not a different rule.)
/// - a fleet drain of a data center makes each of its addresses `.drain`, verdicts or not;
///   an operator's local drain (`local == .drain`) also stands.
public struct FleetHealth: Sendable, Equatable {
    /// The etcd revision the inputs were read at.
    public let revision: Int64
    public let quorum: Quorum
    /// The verdict for every address some live member observes, and every drained one observed.
    public let addresses: [AddressKey: FleetVerdict]
    /// The fleet drains applied, by data center.
    public let drains: [String: DrainRecord]
    /// The instances whose verdicts were counted.
    public let observers: Set<String>
    /// The instances with a verdict set but no live membership: not counted.
    public let ignored: Set<String>

    /// The fleet's verdicts from each instance's `verdicts`, counting only `liveMembers`.
    public static func compute(verdicts: [String: VerdictSet], liveMembers: Set<String>, quorum: Quorum,
                               revision: Int64, drains: [String: DrainRecord] = [:]) -> FleetHealth {
        let observers = Set(verdicts.keys).intersection(liveMembers)
        var byAddress: [AddressKey: [(instance: String, verdict: Verdict)]] = [:]
        for instance in observers.sorted() {
            for (address, verdict) in verdicts[instance]?.verdicts ?? [:] {
                byAddress[address, default: []].append((instance, verdict))
            }
        }
        var addresses: [AddressKey: FleetVerdict] = [:]
        for (address, seen) in byAddress {
            let upSeen = seen.filter { $0.verdict.state == .up }
            let downSeen = seen.filter { $0.verdict.state != .up }
            let needed = quorum.needed(observers: seen.count)
            let isUp = upSeen.count >= needed
            let agreeing = isUp ? upSeen : downSeen
            // The up verdicts that made it up, or the down verdicts that left fewer than `needed` up.
            let decisive = isUp ? needed : seen.count - needed + 1
            let times = agreeing.map(\.verdict.since).sorted()
            var reason = "\(isUp ? "up" : "down") on \(agreeing.count) of \(seen.count) observers (\(quorum) needs \(needed) up)"
            if !isUp {
                reason += ": " + downSeen.map { "\($0.instance): \($0.verdict.reason)" }.joined(separator: "; ")
            }
            var verdict = FleetVerdict(state: isUp ? .up : .down, since: times[decisive - 1],
                                       up: upSeen.map(\.instance), down: downSeen.map(\.instance), reason: reason)
            if let drain = drains[address.datacenter] {
                verdict.state = .drain
                verdict.since = drain.when
                verdict.reason = Self.drainReason(drain) + "; checks: " + reason
            }
            addresses[address] = verdict
        }
        return FleetHealth(revision: revision, quorum: quorum, addresses: addresses, drains: drains,
                           observers: observers, ignored: Set(verdicts.keys).subtracting(liveMembers))
    }

    /// The fleet's verdicts in `snapshot`.
    public static func compute(_ snapshot: FleetSnapshot, quorum: Quorum) -> FleetHealth {
        compute(verdicts: snapshot.verdicts, liveMembers: snapshot.liveMembers, quorum: quorum,
                revision: snapshot.revision, drains: snapshot.drains)
    }

    /// What to answer for `address`, whose local state (this instance's checks) is `local`:
    /// drained if the fleet or the operator drained it, else the fleet's verdict, else `local`.
    public func state(of address: AddressKey, local: HealthState) -> HealthState {
        if local == .drain || drains[address.datacenter] != nil { return .drain }
        return addresses[address]?.state ?? local
    }

    private static func drainReason(_ drain: DrainRecord) -> String {
        "drained by \(drain.who)" + (drain.why.isEmpty ? "" : ": \(drain.why)")
    }
}
