public import DNSWire
public import HealthModel
public import IPNet

/// A routing configuration that cannot be built (the config layer validates first; this covers
/// what only the built table can see).
public struct RoutingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A policy names a data center the configuration does not declare.
        case unknownDataCenter
    }

    public let code: Code
    public let reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { reason }
}

/// Everything routing needs to answer service names, compiled once per configuration load:
/// the address table (one entry per data-center address and check), the data centers, and each
/// service's policy with its geo maps already merged. Immutable; health arrives per query.
public final class RoutingTable: Sendable {
    /// One answer address under one check: the unit of health.
    public struct Address: Sendable {
        public let ip: IPAddress
        /// Index into `sites`.
        public let site: Int32
        /// The check name; nil = always up.
        public let check: String?
        /// Where the check probes, when not at `ip`.
        public let checkTarget: String?
    }

    /// A data center.
    public struct SiteInfo: Sendable {
        public let name: String
        public let coordinates: Coordinates?
        public let country: String?
        public let continent: String?
    }

    /// A name answered by routing.
    public struct Service: Sendable {
        public let name: DNSName
        public let policy: AnyPolicy
        public let ttl: UInt32
        public let degradedTTL: UInt32
        public let maxAnswers: Int
        public let whenAllDown: AllDownBehaviour
        public let transfer: TransferMode
        /// Every address the policy may answer with (for TTL shortening and all-down reports).
        public let candidates: [Int32]
    }

    public let addresses: [Address]
    /// `addresses[i].ip` for every ID: a plain value array the query path reads without touching
    /// the strings of `Address`.
    public let answerIPs: [IPAddress]
    /// For every ID, its data center as a bit (`1 << site`; 0 for sites from the 65th on), so an
    /// answer's data centers are one OR per address.
    public let answerSites: [UInt64]
    public let sites: [SiteInfo]
    public let services: [Service]
    /// The client-location data the geo maps were built from, for `explain`.
    public let geo: GeoNetworkTable?

    /// Builds the table. `geo` is the database's networks with the config's networks laid over them
    /// (nil when neither exists: every client is then unlocated).
    public init(config: RoutingConfiguration, geo: GeoNetworkTable?) throws(RoutingError) {
        var builder = Builder(config: config, geo: geo)
        var services: [Service] = []
        for s in config.services {
            builder.candidates = []
            let policy = try builder.policy(s.policy, check: s.check)
            services.append(Service(
                name: s.name, policy: policy, ttl: s.ttl, degradedTTL: min(s.degradedTTL, s.ttl),
                maxAnswers: s.maxAnswers ?? Selection.capacity, whenAllDown: s.whenAllDown, transfer: s.transfer,
                candidates: Array(Set(builder.candidates)).sorted()))
        }
        self.addresses = builder.addresses
        self.answerIPs = builder.addresses.map(\.ip)
        self.answerSites = builder.addresses.map { $0.site < 64 ? 1 << UInt64($0.site) : 0 }
        self.sites = config.datacenters.map {
            SiteInfo(name: $0.name, coordinates: $0.location, country: $0.country, continent: $0.continent)
        }
        self.services = services
        self.geo = geo
    }

    /// Health as the query path reads it: per address, plus which services are degraded (some
    /// candidate down or changing), computed once per snapshot.
    public func health(_ snapshot: HealthSnapshot) -> RoutingHealth {
        var states = snapshot.states
        if states.count < addresses.count { states += Array(repeating: .up, count: addresses.count - states.count) }
        let degraded = services.map { service in
            service.candidates.contains { states[Int($0)] != .up || (Int($0) < snapshot.changing.count && snapshot.changing[Int($0)]) }
        }
        return RoutingHealth(states: states, degraded: degraded)
    }

    /// Chooses the addresses of `service` for one query.
    @inline(__always)
    public func answer(service index: Int, ipv6: Bool, client: ClientInfo, health: RoutingHealth, state: inout RoutingState) -> RoutedAnswer {
        var tracer = NoTrace()
        return answer(service: index, ipv6: ipv6, client: client, health: health, state: &state, tracer: &tracer)
    }

    /// Chooses the addresses of `service`, recording each step in `tracer`.
    public func answer<T: SelectionTracer>(service index: Int, ipv6: Bool, client: ClientInfo, health: RoutingHealth,
                                           state: inout RoutingState, tracer: inout T) -> RoutedAnswer {
        let service = services[index]
        return health.states.withUnsafeBufferPointer { states in
            var request = SelectionRequest(client: client, ipv6: ipv6, health: states, ignoreHealth: false, state: state)
            var selection = Selection()
            var failedOpen = false
            if !service.policy.select(&request, &tracer, into: &selection), service.whenAllDown == .failOpen {
                // Every candidate is down: answer as if all were up (fail open).
                selection.removeAll()
                request.ignoreHealth = true
                failedOpen = service.policy.select(&request, &tracer, into: &selection)
            }
            if selection.count == 0 && !hasCandidate(service, request) {
                // Empty (NODATA) for every client: it depends on nobody, so scope 0 (RFC 7871
                // §7.2.1: "suitable for all addresses in FAMILY"), whichever row was looked at.
                selection.scope = 0
            }
            selection.truncate(to: service.maxAnswers)
            request.state.rotation &+= 1
            state = request.state
            let degraded = failedOpen || health.degraded[index]
            return RoutedAnswer(selection: selection, ttl: degraded ? service.degradedTTL : service.ttl, failedOpen: failedOpen)
        }
    }
}

extension RoutingTable {
    /// True when some client could get an address of the family asked for: a candidate of that
    /// family that is up (or any, once health is ignored to fail open).
    @inline(__always)
    func hasCandidate(_ service: Service, _ request: SelectionRequest) -> Bool {
        for id in service.candidates where answerIPs[Int(id)].isIPv6 == request.ipv6 && request.isUp(id) { return true }
        return false
    }
}

/// Health by address ID and the services it degrades.
public struct RoutingHealth: Sendable {
    public let states: [HealthState]
    public let degraded: [Bool]
}

/// The addresses chosen for one answer, its TTL and whether every candidate was down.
public struct RoutedAnswer: Sendable {
    public var selection: Selection
    public var ttl: UInt32
    public var failedOpen: Bool
}

/// Turns the configuration's policies into policy values, allocating address IDs per
/// (data center, check) as they are first used.
private struct Builder {
    let config: RoutingConfiguration
    let geo: GeoNetworkTable?
    let siteIndex: [String: Int]
    var addresses: [RoutingTable.Address] = []
    var sites: [String: Site] = [:]
    /// Address IDs used by the service being built.
    var candidates: [Int32] = []

    init(config: RoutingConfiguration, geo: GeoNetworkTable?) {
        self.config = config
        self.geo = geo
        var index: [String: Int] = [:]
        for (i, dc) in config.datacenters.enumerated() { index[dc.name] = i }
        self.siteIndex = index
    }

    mutating func site(_ name: String, check: String?) throws(RoutingError) -> Site {
        guard let i = siteIndex[name] else { throw RoutingError(.unknownDataCenter, "unknown data center \(name)") }
        let key = "\(name)\u{1F}\(check ?? "")"
        if let s = sites[key] {
            candidates += s.ipv4 + s.ipv6
            return s
        }
        var v4: [Int32] = [], v6: [Int32] = []
        for a in config.datacenters[i].addresses {
            let ip = a.ip
            let id = Int32(addresses.count)
            addresses.append(RoutingTable.Address(ip: ip, site: Int32(i), check: check, checkTarget: a.checkTarget))
            if ip.isIPv6 { v6.append(id) } else { v4.append(id) }
        }
        let s = Site(index: Int32(i), ipv4: v4, ipv6: v6)
        sites[key] = s
        candidates += v4 + v6
        return s
    }

    mutating func policy(_ p: PolicyConfig, check: String?) throws(RoutingError) -> AnyPolicy {
        switch p {
        case .roundRobin(let names):
            var list: [Site] = []
            for n in names { list.append(try site(n, check: check)) }
            return .roundRobin(RoundRobin(sites: list))
        case .weighted(let weights, let perAddress):
            var entries: [Weighted.Entry] = []
            for w in weights {
                let s = try site(w.name, check: check)
                if perAddress {
                    for id in s.ipv4 + s.ipv6 {
                        entries.append(Weighted.Entry(site: s, address: id, isIPv6: addresses[Int(id)].ip.isIPv6, weight: w.weight))
                    }
                } else {
                    entries.append(Weighted.Entry(site: s, address: -1, isIPv6: false, weight: w.weight))
                }
            }
            return .weighted(Weighted(entries: entries, pick: .roundRobin))
        case .geoNearest(let names, let unlocated, let pick):
            var list: [Site] = []
            for n in names { list.append(try site(n, check: check)) }
            let coordinates = names.map { config.datacenters[siteIndex[$0]!].location }
            let fallback = (unlocated ?? names).compactMap { n in names.firstIndex(of: n).map(Int32.init) }
            let ranked = RankedSites.build(sites: list, geo: geo, unlocated: fallback, pick: pick) { location in
                guard let lat = location.latitude, let lon = location.longitude else { return nil }
                let client = Coordinates(latitude: lat, longitude: lon)
                let distances = coordinates.map { $0.map { greatCircleDistance(client, $0) } ?? .infinity }
                return (0..<Int32(list.count)).sorted { distances[Int($0)] < distances[Int($1)] }
            }
            return .geoNearest(GeoNearest(ranked: ranked))
        case .geoMap(let map, let pick):
            var names: [String] = []
            for entry in map { for n in entry.datacenters where !names.contains(n) { names.append(n) } }
            var list: [Site] = []
            for n in names { list.append(try site(n, check: check)) }
            func row(_ key: String) -> [Int32]? {
                map.first { $0.key.uppercased() == key.uppercased() }.map { $0.datacenters.map { Int32(names.firstIndex(of: $0)!) } }
            }
            let fallback = row("default") ?? []
            // Keys are a country code, `continent:XX` or `default` (the config layer normalizes them).
            let ranked = RankedSites.build(sites: list, geo: geo, unlocated: fallback, pick: pick) { location in
                if let c = location.countryCode, let r = row(PolicyConfig.geoMapKey(country: c)) { return r }
                if let c = location.continentCode, let r = row(PolicyConfig.geoMapKey(continent: c)) { return r }
                return fallback
            }
            return .geoMap(GeoMap(ranked: ranked))
        case .failover(let steps):
            var built: [AnyPolicy] = []
            for s in steps { built.append(try policy(s, check: check)) }
            return .failover(Failover(steps: built))
        }
    }
}
