public import DNSWire

/// A way the proposed configuration answers a query type with no address although every address is
/// up: a data-center list (a service's, a geo map entry's, an unlocated order, every step of a
/// failover) none of whose data centers has an address of the family.
public struct EmptyAnswer: Sendable, Hashable {
    /// Which list of a policy: its data centers, its unlocated order, one entry of its geo map, or
    /// every step of a failover.
    public indirect enum Source: Sendable, Hashable {
        case datacenters, unlocated
        /// `JP`, `default`.
        case mapEntry(String)
        /// Each step (in order, from step 1) and its lists that answer empty; every step has one.
        case failover([[List]])
    }

    /// One list with no address of the family, and its data centers (of every step, first seen
    /// first, for a failover).
    public struct List: Sendable, Hashable {
        public var source: Source
        public var datacenters: [String]

        public init(_ source: Source, _ datacenters: [String]) {
            self.source = source
            self.datacenters = datacenters
        }
    }

    /// The service, absolute.
    public var service: String
    /// `.a` or `.aaaa`.
    public var type: RRType
    public var list: List
    /// False when the current configuration already answers so.
    public var isNew = true

    public init(service: String, type: RRType, list: List, isNew: Bool = true) {
        self.service = service
        self.type = type
        self.list = list
        self.isNew = isNew
    }

    public static func == (a: EmptyAnswer, b: EmptyAnswer) -> Bool {
        a.service == b.service && a.type == b.type && a.list == b.list
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(service)
        hasher.combine(type)
        hasher.combine(list)
    }

    /// Every empty answer of `config`'s services, A before AAAA per service.
    static func all(in config: RoutingConfiguration) -> [EmptyAnswer] {
        var families: [String: (ipv4: Bool, ipv6: Bool)] = [:]
        for dc in config.datacenters {
            families[dc.name] = (dc.addresses.contains { !$0.isIPv6 }, dc.addresses.contains(where: \.isIPv6))
        }
        var result: [EmptyAnswer] = []
        for service in config.services {
            for (type, ipv6) in [(RRType.a, false), (RRType.aaaa, true)] {
                let answers = { (names: [String]) in names.contains { n in families[n].map { ipv6 ? $0.ipv6 : $0.ipv4 } ?? false } }
                for list in emptyLists(service.policy, answers: answers) {
                    result.append(EmptyAnswer(service: service.name.description, type: type, list: list))
                }
            }
        }
        return result
    }

    /// The lists of `policy` that hold no data center for which `answers` is true.
    private static func emptyLists(_ policy: PolicyConfig, answers: ([String]) -> Bool) -> [List] {
        switch policy {
        case .roundRobin(let names):
            return answers(names) ? [] : [List(.datacenters, names)]
        case .weighted(let weights, _):
            let names = weights.map(\.name)
            return answers(names) ? [] : [List(.datacenters, names)]
        case .geoNearest(let names, let unlocated, _):
            if !answers(names) { return [List(.datacenters, names)] }
            if let unlocated, !answers(unlocated) { return [List(.unlocated, unlocated)] }
            return []
        case .geoMap(let map, _):
            return map.filter { !answers($0.datacenters) }.map { List(.mapEntry($0.key), $0.datacenters) }
        case .failover(let steps):
            // Empty only when every step can be.
            let lists = steps.map { emptyLists($0, answers: answers) }
            guard !lists.contains(where: \.isEmpty) else { return [] }
            var names: [String] = []
            for list in lists.joined() { for n in list.datacenters where !names.contains(n) { names.append(n) } }
            return [List(.failover(lists), names)]
        }
    }
}
