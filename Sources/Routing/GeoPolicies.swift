import IPNet

/// Where a client is, as a geo policy sees it. Two merged prefix maps: `first` decides only the
/// first choice (one site), so its prefixes are as wide as an answer that the first choice gives
/// can be; `full` decides the whole ranking, needed only when the first choice is down. In the
/// common case one lookup in the smaller map answers, with the widest correct ECS scope.
public struct LocationMap: Sendable {
    /// Address → position in `sites` of the first choice.
    let first: PrefixMap?
    /// Address → row of `rankings`.
    let full: PrefixMap?
    /// Row for clients that cannot be located.
    let unlocatedRow: UInt32
}

/// Ranked data centers per client location: the first that is up answers. A final class: the
/// policy enum hands it out by reference, so the query path retains it once instead of copying its
/// arrays and maps.
public final class RankedSites: Sendable {
    public let sites: [Site]
    /// Each row lists positions in `sites`, best first.
    public let rankings: [[Int32]]
    let location: LocationMap
    public let pick: AddressPick

    init(sites: [Site], rankings: [[Int32]], location: LocationMap, pick: AddressPick) {
        self.sites = sites
        self.rankings = rankings
        self.location = location
        self.pick = pick
    }

    @inline(__always)
    func select<T: SelectionTracer>(_ policy: String, _ request: inout SelectionRequest, _ tracer: inout T,
                                    into selection: inout Selection) -> Bool {
        let client = request.client
        var row = location.unlocatedRow
        var scope: UInt8 = 0
        if client.locatable, let first = location.first, let full = location.full {
            let found = first.lookup(client.address)
            let site = sites[Int(found.decision)]
            if site.isUp(request) && !T.recordsEvents {
                // Every address of the prefix has this first choice: the widest scope there is.
                let s = client.scope(mapPrefixLength: found.prefixLength)
                if s > selection.scope { selection.scope = s }
                site.append(pick, &request, into: &selection)
                return true
            }
            let ranked = full.lookup(client.address)
            row = ranked.decision
            scope = client.scope(mapPrefixLength: site.isUp(request) ? found.prefixLength : ranked.prefixLength)
        }
        tracer.record(.located(policy: policy, detail: row == location.unlocatedRow ? "in ranking row 0 (also the order for clients that cannot be located)" : "in ranking row \(row)", scope: scope))
        if scope > selection.scope { selection.scope = scope }
        for (rank, position) in rankings[Int(row)].enumerated() {
            let site = sites[Int(position)]
            let up = site.isUp(request)
            tracer.record(.candidate(site: site.index, detail: "choice \(rank + 1)", up: up))
            if up {
                site.append(pick, &request, into: &selection)
                tracer.record(.chose(policy: policy, detail: "first data center that is up"))
                return true
            }
        }
        return false
    }
}

/// The nearest data center that is up, by great-circle distance from the client's location; the
/// next nearest when it is down; a configured order for clients that cannot be located.
public struct GeoNearest: RoutingPolicy {
    public let ranked: RankedSites

    public init(ranked: RankedSites) { self.ranked = ranked }

    public func select<T: SelectionTracer>(_ request: inout SelectionRequest, _ tracer: inout T, into selection: inout Selection) -> Bool {
        ranked.select("geo-nearest", &request, &tracer, into: &selection)
    }
}

/// Country or continent → ordered data centers, with a default.
public struct GeoMap: RoutingPolicy {
    public let ranked: RankedSites

    public init(ranked: RankedSites) { self.ranked = ranked }

    public func select<T: SelectionTracer>(_ request: inout SelectionRequest, _ tracer: inout T, into selection: inout Selection) -> Bool {
        ranked.select("geo-map", &request, &tracer, into: &selection)
    }
}

/// Great-circle distance in kilometres (haversine formula, mean Earth radius 6371.0088 km).
public func greatCircleDistance(_ a: Coordinates, _ b: Coordinates) -> Double {
    let rad = Double.pi / 180
    let dLat = (b.latitude - a.latitude) * rad
    let dLon = (b.longitude - a.longitude) * rad
    let h = sin(dLat / 2) * sin(dLat / 2) + cos(a.latitude * rad) * cos(b.latitude * rad) * sin(dLon / 2) * sin(dLon / 2)
    return 2 * 6371.0088 * asin(min(1, h.squareRoot()))
}

#if canImport(Glibc)
import Glibc
#endif

extension RankedSites {
    /// Ranks `sites` for every location of `geo` with `rank` (nil: the location cannot be ranked,
    /// so it gets the `unlocated` order), keeps each distinct ranking once, and merges the networks
    /// into a prefix map whose prefixes are as wide as the ranking allows (the ECS scope).
    static func build(sites: [Site], geo: GeoNetworkTable?, unlocated: [Int32], pick: AddressPick,
                      rank: (GeoLocation) -> [Int32]?) -> RankedSites {
        var rows: [[Int32]] = [unlocated]
        var rowIndex: [[Int32]: UInt32] = [unlocated: 0]
        var first: PrefixMap? = nil
        var full: PrefixMap? = nil
        if let geo, let unlocatedFirst = unlocated.first {
            var decisions = [UInt32](repeating: 0, count: geo.locations.count)
            var firsts = [UInt32](repeating: UInt32(unlocatedFirst), count: geo.locations.count)
            for (i, location) in geo.locations.enumerated() {
                guard let ranking = rank(location), let best = ranking.first else { continue }
                firsts[i] = UInt32(best)
                if let row = rowIndex[ranking] {
                    decisions[i] = row
                } else {
                    decisions[i] = UInt32(rows.count)
                    rowIndex[ranking] = UInt32(rows.count)
                    rows.append(ranking)
                }
            }
            first = PrefixMap(table: geo, decisions: firsts, unknown: UInt32(unlocatedFirst))
            full = PrefixMap(table: geo, decisions: decisions, unknown: 0)
        }
        return RankedSites(sites: sites, rankings: rows, location: LocationMap(first: first, full: full, unlocatedRow: 0), pick: pick)
    }
}
