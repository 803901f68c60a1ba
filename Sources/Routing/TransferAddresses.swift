public import HealthModel

extension RoutingTable {
    /// The addresses of `service` that zone transfers carry under `health`, as address IDs in
    /// ascending order: what its `transfer` mode says (docs/OPERATIONS.md, "Service names in zone
    /// transfers"). A pure function of the table and the states, so identical health gives an
    /// identical set.
    ///
    /// `healthy` is, per family, every address that some query from a client that cannot be
    /// located could be answered with now — the union over every rotation and every random draw,
    /// never one of them:
    /// - round-robin: every address that is up (rotation reaches each; `max-answers` only cuts a window);
    /// - weighted: every weighted candidate that is up (its data center's first `max-answers` up
    ///   addresses, or the one address with `per-address`), or, when none is, every standby that is up;
    /// - geo-nearest and geo-map: the first data center of the unlocated order (geo-map: `default`)
    ///   that is up: its first `max-answers` up addresses with `pick: round-robin`, all of them with
    ///   `pick: random`;
    /// - failover: the first step that has one.
    ///
    /// When that family has no address up, `when-all-down` decides as on the query path: `fail-open`
    /// gives the same rule applied as if every address were up, `nodata` gives none.
    public func transferAddresses(service index: Int, health: HealthSnapshot) -> [Int32] {
        let service = services[index]
        switch service.transfer {
        case .omit: return []
        case .allAddresses: return service.candidates
        case .healthy: break
        }
        var ids = Set<Int32>()
        for ipv6 in [false, true] {
            var reach = Reach(table: self, states: health.states, ipv6: ipv6, ignoreHealth: false, limit: service.maxAnswers)
            var found = reach.addresses(service.policy)
            if found == nil && service.whenAllDown == .failOpen {
                reach.ignoreHealth = true
                found = reach.addresses(service.policy)
            }
            ids.formUnion(found ?? [])
        }
        return ids.sorted()
    }
}

/// The addresses a policy can answer an unlocated client with, for one family: each policy's
/// `select` read as the set of every outcome it can have. Nil where `select` returns false.
private struct Reach {
    let table: RoutingTable
    /// By address ID; IDs beyond it (a snapshot older than the table) count as up, as `health(_:)` has them.
    let states: [HealthState]
    let ipv6: Bool
    var ignoreHealth: Bool
    /// The service's `max-answers`: an answer in a fixed order keeps only its first ones.
    let limit: Int

    func isUp(_ id: Int32) -> Bool {
        ignoreHealth || Int(id) >= states.count || states[Int(id)].isServing
    }

    func up(_ site: Site) -> [Int32] { site.addresses(ipv6: ipv6).filter(isUp) }

    /// The first `limit` up addresses of `site` (the order `Site.append` writes them in), or every
    /// up one when one is drawn at random.
    func answers(_ site: Site, _ pick: AddressPick) -> [Int32] {
        let list = up(site)
        return pick == .random ? list : Array(list.prefix(limit))
    }

    func addresses(_ policy: AnyPolicy) -> [Int32]? {
        switch policy {
        case .roundRobin(let p):
            let all = p.sites.flatMap(up)
            return all.isEmpty ? nil : all
        case .weighted(let p):
            let upEntries = p.entries.filter { e in
                e.address < 0 ? !up(e.site).isEmpty : (e.isIPv6 == ipv6 && isUp(e.address))
            }
            let weighted = upEntries.filter { $0.weight > 0 }
            let chosen = weighted.isEmpty ? upEntries.filter { $0.weight == 0 } : weighted
            guard !chosen.isEmpty else { return nil }
            return chosen.flatMap { e in e.address >= 0 ? [e.address] : answers(e.site, p.pick) }
        case .geoNearest(let p): return ranked(p.ranked)
        case .geoMap(let p): return ranked(p.ranked)
        case .failover(let p):
            for step in p.steps { if let found = addresses(step) { return found } }
            return nil
        }
    }

    func ranked(_ r: RankedSites) -> [Int32]? {
        for position in r.rankings[Int(r.location.unlocatedRow)] {
            let site = r.sites[Int(position)]
            if !up(site).isEmpty { return answers(site, r.pick) }
        }
        return nil
    }
}
