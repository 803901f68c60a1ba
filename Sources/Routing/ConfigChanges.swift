import HealthModel
public import IPNet

/// How one service's configuration differs, one value per difference; the CLI prints each as a
/// phrase (`description`).
public indirect enum ServiceChange: Sendable, Equatable {
    /// The policy of an added or removed service.
    case configured(PolicyConfig)
    /// The policy became one of another kind (or a failover of another length).
    case policy(from: PolicyConfig, to: PolicyConfig)
    /// The data centers of a round-robin or geo-nearest policy.
    case datacenters(from: [String], to: [String])
    /// The weights of a weighted policy, every data center of either side (the proposed order,
    /// then the removed ones).
    case weights([WeightChange])
    case perAddress(from: Bool, to: Bool)
    /// The unlocated order of a geo-nearest policy; nil: its data centers.
    case unlocated(from: [String]?, to: [String]?)
    case pick(from: AddressPick, to: AddressPick)
    case mapEntry(key: String, from: [String], to: [String])
    case mapEntryAdded(key: String, datacenters: [String])
    case mapEntryRemoved(key: String, datacenters: [String])
    /// A change inside step `step` (from 1) of a failover.
    case failoverStep(Int, ServiceChange)
    case check(from: String?, to: String?)
    case ttl(from: UInt32, to: UInt32)
    case degradedTTL(from: UInt32, to: UInt32)
    /// nil: every address.
    case maxAnswers(from: Int?, to: Int?)
    case whenAllDown(from: AllDownBehaviour, to: AllDownBehaviour)

    /// One data center's weight and share of the total before and after; nil where it has none.
    public struct WeightChange: Sendable, Equatable {
        public var name: String
        public var from: Double?
        public var to: Double?
        public var shareFrom: Double?
        public var shareTo: Double?
    }
}

/// How one data center differs.
public enum DataCenterChange: Sendable, Equatable {
    /// The addresses of an added or removed data center.
    case configured([IPAddress])
    case location(from: Coordinates?, to: Coordinates?)
    case country(from: String?, to: String?)
    case continent(from: String?, to: String?)
    case addresses(added: [IPAddress], removed: [IPAddress])
    /// Where `address` is checked; nil: at itself.
    case checkTarget(address: IPAddress, from: String?, to: String?)
}

/// How the checks differ.
public enum CheckChange: Sendable, Equatable {
    case added(name: String, type: String)
    case changed(name: String)
    case removed(name: String)
}

/// How the `geoip` section differs.
public enum GeoIPChange: Sendable, Equatable {
    /// The database path; nil: none.
    case database(from: String?, to: String?)
    case networkAdded(IPPrefix, NetworkPlace)
    case networkMoved(IPPrefix, from: NetworkPlace, to: NetworkPlace)
    case networkRemoved(IPPrefix, NetworkPlace)
}

/// Where an explicit network places its clients.
public struct NetworkPlace: Sendable, Equatable {
    public var location: Coordinates?
    public var country: String?
    public var continent: String?

    init(_ network: NetworkConfig) {
        location = network.location
        country = network.country
        continent = network.continent
    }
}

extension RoutingDiff {
    static func serviceChanges(_ old: ServiceConfig, _ new: ServiceConfig) -> [ServiceChange] {
        var changes = policyChanges(old.policy, new.policy)
        if old.check != new.check { changes.append(.check(from: old.check, to: new.check)) }
        if old.ttl != new.ttl { changes.append(.ttl(from: old.ttl, to: new.ttl)) }
        if old.degradedTTL != new.degradedTTL { changes.append(.degradedTTL(from: old.degradedTTL, to: new.degradedTTL)) }
        if old.maxAnswers != new.maxAnswers { changes.append(.maxAnswers(from: old.maxAnswers, to: new.maxAnswers)) }
        if old.whenAllDown != new.whenAllDown { changes.append(.whenAllDown(from: old.whenAllDown, to: new.whenAllDown)) }
        return changes
    }

    static func policyChanges(_ old: PolicyConfig, _ new: PolicyConfig) -> [ServiceChange] {
        switch (old, new) {
        case let (.roundRobin(a), .roundRobin(b)):
            return a == b ? [] : [.datacenters(from: a, to: b)]
        case let (.weighted(a, p), .weighted(b, q)):
            var changes: [ServiceChange] = []
            if !a.elementsEqual(b, by: { $0.name == $1.name && $0.weight == $1.weight }) {
                var names = b.map(\.name)
                for w in a where !names.contains(w.name) { names.append(w.name) }
                let oldTotal = a.reduce(0) { $0 + $1.weight }, newTotal = b.reduce(0) { $0 + $1.weight }
                func weight(_ list: [(name: String, weight: Double)], _ n: String) -> Double? { list.first { $0.name == n }?.weight }
                changes.append(.weights(names.map { n in
                    ServiceChange.WeightChange(name: n, from: weight(a, n), to: weight(b, n),
                                               shareFrom: weight(a, n).map { $0 / oldTotal }, shareTo: weight(b, n).map { $0 / newTotal })
                }))
            }
            if p != q { changes.append(.perAddress(from: p, to: q)) }
            return changes
        case let (.geoNearest(a, u, p), .geoNearest(b, v, q)):
            var changes: [ServiceChange] = []
            if a != b { changes.append(.datacenters(from: a, to: b)) }
            if u != v { changes.append(.unlocated(from: u, to: v)) }
            if p != q { changes.append(.pick(from: p, to: q)) }
            return changes
        case let (.geoMap(a, p), .geoMap(b, q)):
            var changes: [ServiceChange] = []
            for entry in b {
                if let before = a.first(where: { $0.key == entry.key }) {
                    if before.datacenters != entry.datacenters {
                        changes.append(.mapEntry(key: entry.key, from: before.datacenters, to: entry.datacenters))
                    }
                } else {
                    changes.append(.mapEntryAdded(key: entry.key, datacenters: entry.datacenters))
                }
            }
            for entry in a where !b.contains(where: { $0.key == entry.key }) {
                changes.append(.mapEntryRemoved(key: entry.key, datacenters: entry.datacenters))
            }
            if p != q { changes.append(.pick(from: p, to: q)) }
            return changes
        case let (.failover(a), .failover(b)) where a.count == b.count:
            return zip(a, b).enumerated().flatMap { i, pair in
                policyChanges(pair.0, pair.1).map { ServiceChange.failoverStep(i + 1, $0) }
            }
        default:
            return old == new ? [] : [.policy(from: old, to: new)]
        }
    }

    static func datacenterChanges(_ old: [DataCenterConfig], _ new: [DataCenterConfig]) -> [DataCenterDiff] {
        var result: [DataCenterDiff] = []
        for dc in new {
            guard let before = old.first(where: { $0.name == dc.name }) else {
                result.append(DataCenterDiff(name: dc.name, change: .added, changes: [.configured(dc.addresses.map(\.ip))]))
                continue
            }
            var changes: [DataCenterChange] = []
            if before.location != dc.location { changes.append(.location(from: before.location, to: dc.location)) }
            if before.country != dc.country { changes.append(.country(from: before.country, to: dc.country)) }
            if before.continent != dc.continent { changes.append(.continent(from: before.continent, to: dc.continent)) }
            let added = dc.addresses.filter { a in !before.addresses.contains { $0.ip == a.ip } }.map(\.ip)
            let removed = before.addresses.filter { a in !dc.addresses.contains { $0.ip == a.ip } }.map(\.ip)
            if !(added + removed).isEmpty { changes.append(.addresses(added: added, removed: removed)) }
            for a in dc.addresses {
                if let b = before.addresses.first(where: { $0.ip == a.ip }), b.checkTarget != a.checkTarget {
                    changes.append(.checkTarget(address: a.ip, from: b.checkTarget, to: a.checkTarget))
                }
            }
            if !changes.isEmpty { result.append(DataCenterDiff(name: dc.name, change: .changed, changes: changes)) }
        }
        for dc in old where !new.contains(where: { $0.name == dc.name }) {
            result.append(DataCenterDiff(name: dc.name, change: .removed, changes: [.configured(dc.addresses.map(\.ip))]))
        }
        return result
    }

    static func checkChanges(_ old: [CheckDefinition], _ new: [CheckDefinition]) -> [CheckChange] {
        var result: [CheckChange] = []
        for check in new {
            guard var before = old.first(where: { $0.name == check.name }) else {
                result.append(.added(name: check.name, type: check.type))
                continue
            }
            before.line = check.line
            if before != check { result.append(.changed(name: check.name)) }
        }
        for check in old where !new.contains(where: { $0.name == check.name }) { result.append(.removed(name: check.name)) }
        return result
    }

    static func geoipChanges(_ old: GeoIPConfig?, _ new: GeoIPConfig?) -> [GeoIPChange] {
        var result: [GeoIPChange] = []
        if old?.database != new?.database { result.append(.database(from: old?.database, to: new?.database)) }
        let before = old?.networks ?? [], after = new?.networks ?? []
        for n in after {
            if let b = before.first(where: { $0.prefix == n.prefix }) {
                if NetworkPlace(b) != NetworkPlace(n) { result.append(.networkMoved(n.prefix, from: NetworkPlace(b), to: NetworkPlace(n))) }
            } else {
                result.append(.networkAdded(n.prefix, NetworkPlace(n)))
            }
        }
        for n in before where !after.contains(where: { $0.prefix == n.prefix }) {
            result.append(.networkRemoved(n.prefix, NetworkPlace(n)))
        }
        return result
    }
}
