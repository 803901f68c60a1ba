
/// A data center as policies see it: its answer addresses (IDs into the routing table) by family.
public struct Site: Sendable {
    public let index: Int32
    public let ipv4: [Int32]
    public let ipv6: [Int32]

    @inline(__always)
    func addresses(ipv6 family: Bool) -> [Int32] { family ? ipv6 : ipv4 }

    /// True when the site has an address of the family that is up.
    @inline(__always)
    func isUp(_ request: SelectionRequest) -> Bool {
        for id in addresses(ipv6: request.ipv6) where request.isUp(id) { return true }
        return false
    }

    /// Appends the site's addresses of the asked family that are up, as `pick` says.
    @inline(__always)
    func append(_ pick: AddressPick, _ request: inout SelectionRequest, into selection: inout Selection) {
        let list = addresses(ipv6: request.ipv6)
        switch pick {
        case .roundRobin:
            for id in list where request.isUp(id) { selection.append(id) }
        case .random:
            var up = 0
            for id in list where request.isUp(id) { up += 1 }
            guard up > 0 else { return }
            var k = Int(request.state.next() % UInt64(up))
            for id in list where request.isUp(id) {
                if k == 0 { selection.append(id); return }
                k -= 1
            }
        }
    }
}

/// Records why a policy chose what it chose, for `meridian explain`. The query path uses
/// `NoTrace`, whose calls compile away.
public protocol SelectionTracer {
    /// False for tracers that drop every event, so policies may take shortcuts that skip steps.
    static var recordsEvents: Bool { get }
    mutating func record(_ event: @autoclosure () -> TraceEvent)
}

/// One step of a routing decision.
public enum TraceEvent: Sendable, Equatable {
    /// The client's location as a geo map saw it: the decision's row and its prefix length.
    case located(policy: String, detail: String, scope: UInt8)
    /// A candidate data center, with its distance, weight or rank and whether it can answer.
    case candidate(site: Int32, detail: String, up: Bool)
    /// What the policy settled on.
    case chose(policy: String, detail: String)
}

/// The tracer of the query path: records nothing.
public struct NoTrace: SelectionTracer {
    public static var recordsEvents: Bool { false }
    public init() {}
    @inline(__always)
    public mutating func record(_ event: @autoclosure () -> TraceEvent) {}
}

/// A way of choosing answer addresses. Each policy is a small value; `AnyPolicy` composes them
/// without existential dispatch on the query path.
public protocol RoutingPolicy: Sendable {
    /// Appends the chosen addresses to `selection`; false when no candidate is up.
    func select<T: SelectionTracer>(_ request: inout SelectionRequest, _ tracer: inout T, into selection: inout Selection) -> Bool
}

/// Every address that is up, of all its data centers, in an order rotated from one response to
/// the next. A final class with the addresses flattened per family, so the query path neither
/// copies nor retains per data center.
public final class RoundRobin: RoutingPolicy {
    public let sites: [Site]
    private let ipv4: [Int32]
    private let ipv6: [Int32]

    public init(sites: [Site]) {
        self.sites = sites
        self.ipv4 = sites.flatMap(\.ipv4)
        self.ipv6 = sites.flatMap(\.ipv6)
    }

    public func select<T: SelectionTracer>(_ request: inout SelectionRequest, _ tracer: inout T, into selection: inout Selection) -> Bool {
        if T.recordsEvents {
            for site in sites { tracer.record(.candidate(site: site.index, detail: "round-robin member", up: site.isUp(request))) }
        }
        return (request.ipv6 ? ipv6 : ipv4).withUnsafeBufferPointer { all in
            var up = 0
            for id in all where request.isUp(id) { up += 1 }
            guard up > 0 else { return false }
            // The up addresses starting at the rotation point, then those before it.
            let start = Int(request.state.rotation % UInt32(up))
            var k = 0
            for id in all where request.isUp(id) {
                if k >= start { selection.append(id) }
                k += 1
            }
            k = 0
            for id in all where request.isUp(id) {
                guard k < start else { break }
                selection.append(id)
                k += 1
            }
            tracer.record(.chose(policy: "round-robin", detail: "\(up) addresses, rotated by \(start)"))
            return true
        }
    }
}

/// One data center (or one address, with `perAddress`) at random, in proportion to its weight.
/// Weight 0 is a standby: chosen (uniformly) only when every weighted candidate is down.
public final class Weighted: RoutingPolicy {
    /// Candidates: a whole site, or a single address of it when `perAddress`.
    public struct Entry: Sendable {
        public let site: Site
        /// The address when choosing per address; -1 for the whole site.
        public let address: Int32
        public let isIPv6: Bool
        public let weight: Double
    }

    public let entries: [Entry]
    public let pick: AddressPick

    public init(entries: [Entry], pick: AddressPick) {
        self.entries = entries
        self.pick = pick
    }

    @inline(__always)
    private func isUp(_ e: Entry, _ request: SelectionRequest) -> Bool {
        e.address < 0 ? e.site.isUp(request) : (e.isIPv6 == request.ipv6 && request.isUp(e.address))
    }

    public func select<T: SelectionTracer>(_ request: inout SelectionRequest, _ tracer: inout T, into selection: inout Selection) -> Bool {
        var total = 0.0
        var standby = 0
        for e in entries {
            let up = isUp(e, request)
            tracer.record(.candidate(site: e.site.index, detail: "weight \(e.weight)", up: up))
            guard up else { continue }
            if e.weight > 0 { total += e.weight } else { standby += 1 }
        }
        var chosen: Entry? = nil
        if total > 0 {
            var r = request.state.unit() * total
            for e in entries where e.weight > 0 && isUp(e, request) {
                chosen = e
                r -= e.weight
                if r < 0 { break }
            }
        } else if standby > 0 {
            var k = Int(request.state.next() % UInt64(standby))
            for e in entries where e.weight == 0 && isUp(e, request) {
                if k == 0 { chosen = e; break }
                k -= 1
            }
        }
        guard let chosen else { return false }
        if chosen.address >= 0 {
            selection.append(chosen.address)
        } else {
            chosen.site.append(pick, &request, into: &selection)
        }
        tracer.record(.chose(policy: "weighted", detail: total > 0 ? "by weight" : "standby (every weighted candidate is down)"))
        return true
    }
}

/// The first step that has a candidate up.
public final class Failover: RoutingPolicy {
    public let steps: [AnyPolicy]

    public init(steps: [AnyPolicy]) { self.steps = steps }

    public func select<T: SelectionTracer>(_ request: inout SelectionRequest, _ tracer: inout T, into selection: inout Selection) -> Bool {
        for (i, step) in steps.enumerated() {
            if step.select(&request, &tracer, into: &selection) {
                tracer.record(.chose(policy: "failover", detail: "step \(i + 1) of \(steps.count)"))
                return true
            }
        }
        return false
    }
}

/// The policies composed as one value type: a closed set, dispatched by a switch.
public indirect enum AnyPolicy: RoutingPolicy {
    case roundRobin(RoundRobin)
    case weighted(Weighted)
    case geoNearest(GeoNearest)
    case geoMap(GeoMap)
    case failover(Failover)

    @inline(__always)
    public func select<T: SelectionTracer>(_ request: inout SelectionRequest, _ tracer: inout T, into selection: inout Selection) -> Bool {
        switch self {
        case .roundRobin(let p): return p.select(&request, &tracer, into: &selection)
        case .weighted(let p): return p.select(&request, &tracer, into: &selection)
        case .geoNearest(let p): return p.select(&request, &tracer, into: &selection)
        case .geoMap(let p): return p.select(&request, &tracer, into: &selection)
        case .failover(let p): return p.select(&request, &tracer, into: &selection)
        }
    }
}

/// Keeps every event, in order: the tracer of `meridian explain`.
public struct RecordingTracer: SelectionTracer {
    public static var recordsEvents: Bool { true }
    public private(set) var events: [TraceEvent] = []
    public init() {}
    public mutating func record(_ event: @autoclosure () -> TraceEvent) { events.append(event()) }
}
