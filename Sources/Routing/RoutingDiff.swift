import DNSWire
import HealthModel
import IPNet

/// What would change if a proposed routing configuration replaced the one in force: services
/// added, removed or reconfigured, data centers, checks and client-location data changed, which
/// clients of each geo-dependent service would get a different data center, and every way the
/// proposed configuration can answer a query type with no address while every address is up.
///
/// Client moves compare *first choices with every address up*: for each query type (A, AAAA) the
/// data center the policy answers with when nothing is down (for geo policies the first data
/// center of the client's ranking that has an address of that family; for round-robin and
/// weighted policies, which do not depend on the client, every data center they may answer with).
/// The client address space is walked as the two routing tables partition it: the union of the
/// boundaries of every geo map of the service, old and new. IPv6 prefixes that both geo tables
/// answer from their IPv4 networks (`::ffff:0:0/96`, 6to4, Teredo) are not walked again: their
/// clients are counted once, under IPv4.
public struct RoutingDiff: Sendable, Equatable {
    /// Services added, removed, reconfigured, or whose clients move; in the proposed file's order,
    /// then the removed ones in the current file's order.
    public var services: [ServiceDiff]
    /// Data centers added, removed or changed (location, country, continent, addresses).
    public var datacenters: [DataCenterDiff]
    /// Checks added, removed or changed.
    public var checks: [CheckChange]
    /// Changes of the `geoip` section (database path, explicit networks).
    public var geoip: [GeoIPChange]
    /// Every way the proposed configuration can answer with no address while every address is up.
    public var emptyAnswers: [EmptyAnswer]
    /// True when anything above differs (empty answers alone are not a change).
    public var changed: Bool

    /// Compares `current` with `proposed`. Each table is the one built from its configuration
    /// (nil when the configuration has no services); `limit` bounds the countries, data-center
    /// moves and example prefixes listed per service.
    public init(current: RoutingConfiguration, _ currentTable: RoutingTable?,
                proposed: RoutingConfiguration, _ proposedTable: RoutingTable?, limit: Int = 20) {
        datacenters = Self.datacenterChanges(current.datacenters, proposed.datacenters)
        checks = Self.checkChanges(current.checks, proposed.checks)
        geoip = Self.geoipChanges(current.geoip, proposed.geoip)
        let countries = CountryLookup(current: currentTable?.geo, proposed: proposedTable?.geo)
        var services: [ServiceDiff] = []
        for (index, service) in proposed.services.enumerated() {
            guard let oldIndex = current.services.firstIndex(where: { $0.name == service.name }) else {
                services.append(ServiceDiff(name: service.name.description, change: .added, changes: [.configured(service.policy)]))
                continue
            }
            var diff = ServiceDiff(name: service.name.description, change: .changed,
                                   changes: Self.serviceChanges(current.services[oldIndex], service))
            if let currentTable, let proposedTable {
                diff.clients = ClientMoves(current: currentTable, service: oldIndex, proposed: proposedTable, service: index,
                                           countries: countries, limit: limit)
            }
            if !diff.changes.isEmpty || diff.clients.map({ !$0.moves.isEmpty }) == true { services.append(diff) }
        }
        for service in current.services where !proposed.services.contains(where: { $0.name == service.name }) {
            services.append(ServiceDiff(name: service.name.description, change: .removed, changes: [.configured(service.policy)]))
        }
        self.services = services
        let before = Set(EmptyAnswer.all(in: current))
        emptyAnswers = EmptyAnswer.all(in: proposed).map { e in
            var e = e
            e.isNew = !before.contains(e)
            return e
        }
        changed = !services.isEmpty || !datacenters.isEmpty || !checks.isEmpty || !geoip.isEmpty
    }
}

/// One service that differs.
public struct ServiceDiff: Sendable, Equatable {
    /// How the service differs.
    public enum Change: String, Sendable {
        case added, removed, changed
    }

    /// The owner name, absolute.
    public var name: String
    public var change: Change
    /// What changed (the TTL, the weights and their shares, …); for an added or removed service,
    /// its policy (`.configured`).
    public var changes: [ServiceChange]
    /// Which clients get a different data center; nil unless the service is in both configurations
    /// and depends on the client's location in at least one of them.
    public var clients: ClientMoves?

    public init(name: String, change: Change, changes: [ServiceChange], clients: ClientMoves? = nil) {
        self.name = name
        self.change = change
        self.changes = changes
        self.clients = clients
    }
}

/// One data center that differs.
public struct DataCenterDiff: Sendable, Equatable {
    public var name: String
    public var change: ServiceDiff.Change
    /// What changed (location, country, continent, addresses, check targets); for an added or
    /// removed data center, its addresses (`.configured`).
    public var changes: [DataCenterChange]
}
