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
public struct RoutingDiff: Sendable, Equatable, Codable {
    /// Services added, removed, reconfigured, or whose clients move; in the proposed file's order,
    /// then the removed ones in the current file's order.
    public var services: [ServiceDiff]
    /// Data centers added, removed or changed (location, country, continent, addresses).
    public var datacenters: [DataCenterDiff]
    /// Checks added, removed or changed, one line each.
    public var checks: [String]
    /// Changes of the `geoip` section (database path, explicit networks), one line each.
    public var geoip: [String]
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
                services.append(ServiceDiff(name: service.name.description, change: .added, changes: [Self.summary(service.policy)]))
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
            services.append(ServiceDiff(name: service.name.description, change: .removed, changes: [Self.summary(service.policy)]))
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
public struct ServiceDiff: Sendable, Equatable, Codable {
    /// How the service differs.
    public enum Change: String, Sendable, Codable {
        case added, removed, changed
    }

    /// The owner name, absolute.
    public var name: String
    public var change: Change
    /// What changed, one phrase each (`TTL 30→60`, `weights iad 3→2, dub 1→1; shares 75%→67% / 25%→33%`);
    /// for an added or removed service, its policy.
    public var changes: [String]
    /// Which clients get a different data center; nil unless the service is in both configurations
    /// and depends on the client's location in at least one of them.
    public var clients: ClientMoves?

    public init(name: String, change: Change, changes: [String], clients: ClientMoves? = nil) {
        self.name = name
        self.change = change
        self.changes = changes
        self.clients = clients
    }
}

/// A number of client prefixes and the addresses they hold, per family. IPv6 address counts are
/// doubles: exact for every single prefix, and sums of prefixes of very different sizes keep 53
/// significant bits, which is all an operator reads of a number near 2⁹⁶.
public struct ClientCount: Sendable, Equatable, Codable {
    public var ipv4Prefixes = 0
    public var ipv4Addresses: UInt64 = 0
    public var ipv6Prefixes = 0
    public var ipv6Addresses = 0.0

    public init() {}

    /// Adds one prefix.
    mutating func add(_ prefix: IPPrefix) {
        if prefix.address.isIPv6 {
            ipv6Prefixes += 1
            ipv6Addresses += Double(sign: .plus, exponent: 128 - prefix.length, significand: 1)
        } else {
            ipv4Prefixes += 1
            ipv4Addresses += 1 << UInt64(32 - prefix.length)
        }
    }

    public var isEmpty: Bool { ipv4Prefixes == 0 && ipv6Prefixes == 0 }
}

/// The clients of one service whose first choice (with every address up) differs between the two
/// configurations.
public struct ClientMoves: Sendable, Equatable, Codable {
    /// A first choice: the data center(s) answering A and AAAA queries (nil: no address of that family).
    public struct Choice: Sendable, Hashable, Codable, CustomStringConvertible {
        public var a: String?
        public var aaaa: String?

        public init(a: String?, aaaa: String?) {
            self.a = a
            self.aaaa = aaaa
        }

        /// `nrt` when both query types get the same, else `nrt (AAAA iad)`; `none` for no address.
        public var description: String {
            a == aaaa ? a ?? "none" : "\(a ?? "none") (AAAA \(aaaa ?? "none"))"
        }
    }

    /// Clients moving from one first choice to another.
    public struct Move: Sendable, Equatable, Codable {
        public var from: Choice
        public var to: Choice
        public var clients: ClientCount
    }

    /// The clients of one country (as the proposed geo data locates them, else the current) that move.
    public struct Country: Sendable, Equatable, Codable {
        /// ISO 3166 code; nil for networks without a country and for addresses in no network.
        public var country: String?
        /// Networks of the geo data (merged where neighbours share a location), cut at the edges
        /// of the moving prefixes.
        public var clients: ClientCount
    }

    /// One moving prefix.
    public struct Prefix: Sendable, Equatable, Codable {
        public var prefix: String
        public var from: Choice
        public var to: Choice
    }

    /// Every moving client: prefixes (the widest that each move allows) and addresses.
    public var total = ClientCount()
    /// Per pair of first choices, most prefixes first, at most `limit`.
    public var moves: [Move] = []
    /// Pairs of first choices left out of `moves`.
    public var movesLeftOff = 0
    /// Per country, most networks first, at most `limit`.
    public var countries: [Country] = []
    /// Countries left out of `countries`.
    public var countriesLeftOff = 0
    /// The first moving prefixes in address order (IPv4 first), at most `limit`.
    public var prefixes: [Prefix] = []

    /// Walks the client address space of two services, one per table.
    /// Nil when neither service depends on the client's location.
    init?(current: RoutingTable, service old: Int, proposed: RoutingTable, service new: Int, countries: CountryLookup, limit: Int) {
        let sides = [ServiceSide(current, old), ServiceSide(proposed, new)]
        guard sides.contains(where: { !$0.maps.isEmpty }) else { return nil }
        // Both geo tables answer these from IPv4: skip them in the IPv6 walk.
        let aliases = sides.filter { !$0.maps.isEmpty }
            .map { Set($0.table.geo?.ipv4Aliases ?? []) }
            .reduce(nil as Set<IPPrefix>?) { common, aliases in common.map { $0.intersection(aliases) } ?? aliases } ?? []
        var pieces: [(prefix: IPPrefix, move: Int)] = []
        var moveKeys: [(from: Choice, to: Choice)] = []
        for ipv6 in [false, true] {
            var address: IPAddress? = IPAddress(high: 0, low: 0, isIPv6: ipv6)
            while let here = address {
                if ipv6, let alias = aliases.first(where: { $0.contains(here) }) {
                    address = here.advanced(pastPrefixOf: alias.length)
                    continue
                }
                var length = 0
                let rows = sides.map { side in
                    side.maps.map { ranked in
                        let found = ranked.row(here)
                        length = max(length, Int(found.prefixLength))
                        return found.row
                    }
                }
                let from = sides[0].choice(rows: rows[0]), to = sides[1].choice(rows: rows[1])
                if from != to {
                    let key = moveKeys.firstIndex { $0.from == from && $0.to == to } ?? {
                        moveKeys.append((from, to))
                        return moveKeys.count - 1
                    }()
                    // Merge with the left sibling while both halves move alike: the widest prefixes.
                    var piece = (prefix: IPPrefix(address: here.masked(to: length), length: length)!, move: key)
                    while let last = pieces.last, last.move == key, last.prefix.length == piece.prefix.length, piece.prefix.length > 0,
                          last.prefix.address != piece.prefix.address,
                          last.prefix.address.masked(to: piece.prefix.length - 1) == piece.prefix.address.masked(to: piece.prefix.length - 1) {
                        pieces.removeLast()
                        piece.prefix = IPPrefix(address: last.prefix.address, length: piece.prefix.length - 1)!
                    }
                    pieces.append(piece)
                }
                address = here.advanced(pastPrefixOf: length)
            }
        }

        guard !pieces.isEmpty else { return }
        var perMove = [ClientCount](repeating: ClientCount(), count: moveKeys.count)
        var perCountry: [String?: ClientCount] = [:]
        let locations = countries.maps
        for (prefix, move) in pieces {
            total.add(prefix)
            perMove[move].add(prefix)
            // The country of each network inside the moving prefix: the proposed data's, else the current's.
            var address: IPAddress? = prefix.address
            while let here = address, prefix.contains(here) {
                var length = prefix.length
                var country: String? = nil
                for map in locations.reversed() {
                    guard let found = map?.country(here) else { continue }
                    length = max(length, found.prefixLength)
                    if country == nil { country = found.country }
                }
                perCountry[country, default: ClientCount()].add(IPPrefix(address: here.masked(to: length), length: length)!)
                address = here.advanced(pastPrefixOf: length)
            }
        }
        let moves = zip(moveKeys, perMove).map { Move(from: $0.from, to: $0.to, clients: $1) }
            .sorted { ($0.clients.ipv4Prefixes + $0.clients.ipv6Prefixes, $0.to.description) > ($1.clients.ipv4Prefixes + $1.clients.ipv6Prefixes, $1.to.description) }
        self.moves = Array(moves.prefix(limit))
        movesLeftOff = moves.count - self.moves.count
        let countries = perCountry.map { Country(country: $0.key, clients: $0.value) }.sorted { a, b in
            let x = a.clients.ipv4Prefixes + a.clients.ipv6Prefixes, y = b.clients.ipv4Prefixes + b.clients.ipv6Prefixes
            if x != y { return x > y }
            if a.clients.ipv4Addresses != b.clients.ipv4Addresses { return a.clients.ipv4Addresses > b.clients.ipv4Addresses }
            return (a.country ?? "~") < (b.country ?? "~")
        }
        self.countries = Array(countries.prefix(limit))
        countriesLeftOff = countries.count - self.countries.count
        prefixes = pieces.prefix(limit).map { Prefix(prefix: $0.prefix.description, from: moveKeys[$0.move].from, to: moveKeys[$0.move].to) }
    }
}

/// A way the proposed configuration answers a query type with no address although every address is
/// up: a data-center list (a service's, a geo map entry's, an unlocated order, every step of a
/// failover) none of whose data centers has an address of the family.
public struct EmptyAnswer: Sendable, Hashable, Codable {
    /// The service, absolute.
    public var service: String
    /// `A` or `AAAA`.
    public var type: String
    /// Which list answers empty: `datacenters`, `unlocated`, `map entry JP`, `map entry default`,
    /// or for a failover every step's (`failover: step 1 map entry JP; step 2 datacenters`).
    public var list: String
    /// The data centers of that list (of every step, for a failover).
    public var datacenters: [String]
    /// False when the current configuration already answers so.
    public var isNew = true

    public init(service: String, type: String, list: String, datacenters: [String], isNew: Bool = true) {
        self.service = service
        self.type = type
        self.list = list
        self.datacenters = datacenters
        self.isNew = isNew
    }

    public static func == (a: EmptyAnswer, b: EmptyAnswer) -> Bool {
        a.service == b.service && a.type == b.type && a.list == b.list && a.datacenters == b.datacenters
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(service)
        hasher.combine(type)
        hasher.combine(list)
        hasher.combine(datacenters)
    }

    /// Every empty answer of `config`'s services, A before AAAA per service.
    static func all(in config: RoutingConfiguration) -> [EmptyAnswer] {
        var families: [String: (ipv4: Bool, ipv6: Bool)] = [:]
        for dc in config.datacenters {
            families[dc.name] = (dc.addresses.contains { !$0.isIPv6 }, dc.addresses.contains(where: \.isIPv6))
        }
        var result: [EmptyAnswer] = []
        for service in config.services {
            for (type, ipv6) in [("A", false), ("AAAA", true)] {
                let answers = { (names: [String]) in names.contains { n in families[n].map { ipv6 ? $0.ipv6 : $0.ipv4 } ?? false } }
                for (list, names) in emptyLists(service.policy, answers: answers) {
                    result.append(EmptyAnswer(service: service.name.description, type: type, list: list, datacenters: names))
                }
            }
        }
        return result
    }

    /// The lists of `policy` that hold no data center for which `answers` is true.
    private static func emptyLists(_ policy: PolicyConfig, answers: ([String]) -> Bool) -> [(String, [String])] {
        switch policy {
        case .roundRobin(let names):
            return answers(names) ? [] : [("datacenters", names)]
        case .weighted(let weights, _):
            let names = weights.map(\.name)
            return answers(names) ? [] : [("datacenters", names)]
        case .geoNearest(let names, let unlocated, _):
            if !answers(names) { return [("datacenters", names)] }
            if let unlocated, !answers(unlocated) { return [("unlocated", unlocated)] }
            return []
        case .geoMap(let map, _):
            return map.filter { !answers($0.datacenters) }.map { ("map entry \($0.key)", $0.datacenters) }
        case .failover(let steps):
            // Empty only when every step can be: list each step's empty lists.
            var parts: [String] = []
            var names: [String] = []
            for (i, step) in steps.enumerated() {
                let lists = emptyLists(step, answers: answers)
                guard !lists.isEmpty else { return [] }
                parts.append("step \(i + 1) " + lists.map(\.0).joined(separator: ", "))
                for (_, list) in lists { for n in list where !names.contains(n) { names.append(n) } }
            }
            return [("failover: " + parts.joined(separator: "; "), names)]
        }
    }
}

/// One data center that differs.
public struct DataCenterDiff: Sendable, Equatable, Codable {
    public var name: String
    public var change: ServiceDiff.Change
    /// What changed (`addresses +2001:db8::10 -192.0.2.11`, `location [35.77, 140.39]→[…]`); for an
    /// added or removed data center, its addresses.
    public var changes: [String]
}

// MARK: - Walking

/// One service of one table, as the walk reads it.
private struct ServiceSide {
    let table: RoutingTable
    let policy: AnyPolicy
    /// Every geo map of the policy, in the order `choice(rows:)` consumes their rows.
    let maps: [RankedSites]

    init(_ table: RoutingTable, _ index: Int) {
        self.table = table
        policy = table.services[index].policy
        var maps: [RankedSites] = []
        func collect(_ p: AnyPolicy) {
            switch p {
            case .geoNearest(let g): maps.append(g.ranked)
            case .geoMap(let g): maps.append(g.ranked)
            case .failover(let f): f.steps.forEach(collect)
            case .roundRobin, .weighted: break
            }
        }
        collect(policy)
        self.maps = maps
    }

    /// The first choice of a client whose row in each of `maps` is `rows`.
    func choice(rows: [Int]) -> ClientMoves.Choice {
        var a = rows.makeIterator(), aaaa = rows.makeIterator()
        return ClientMoves.Choice(a: choice(policy, ipv6: false, rows: &a), aaaa: choice(policy, ipv6: true, rows: &aaaa))
    }

    private func choice(_ policy: AnyPolicy, ipv6: Bool, rows: inout IndexingIterator<[Int]>) -> String? {
        func name(_ site: Site) -> String { table.sites[Int(site.index)].name }
        func joined(_ sites: [Site]) -> String? {
            var names: [String] = []
            for s in sites where !s.addresses(ipv6: ipv6).isEmpty && !names.contains(name(s)) { names.append(name(s)) }
            return names.isEmpty ? nil : names.joined(separator: "+")
        }
        switch policy {
        case .roundRobin(let p):
            return joined(p.sites)
        case .weighted(let p):
            // Addresses of the family with a positive weight, else the standbys.
            let family = p.entries.filter { $0.address < 0 ? !$0.site.addresses(ipv6: ipv6).isEmpty : $0.isIPv6 == ipv6 }
            let weighted = family.filter { $0.weight > 0 }
            return joined((weighted.isEmpty ? family : weighted).map(\.site))
        case .geoNearest(let g):
            return first(g.ranked, row: rows.next()!, ipv6: ipv6)
        case .geoMap(let g):
            return first(g.ranked, row: rows.next()!, ipv6: ipv6)
        case .failover(let f):
            // Every step consumes its rows, so a later step reads its own even after a choice.
            var chosen: String? = nil
            for step in f.steps {
                let c = choice(step, ipv6: ipv6, rows: &rows)
                if chosen == nil { chosen = c }
            }
            return chosen
        }
    }

    /// The first data center of the ranking row with an address of the family.
    private func first(_ ranked: RankedSites, row: Int, ipv6: Bool) -> String? {
        for position in ranked.rankings[row] {
            let site = ranked.sites[Int(position)]
            if !site.addresses(ipv6: ipv6).isEmpty { return table.sites[Int(site.index)].name }
        }
        return nil
    }
}

extension RankedSites {
    /// The ranking row of a client at `address` and the prefix length over which it holds.
    fileprivate func row(_ address: IPAddress) -> (row: Int, prefixLength: UInt8) {
        guard let full = location.full else { return (Int(location.unlocatedRow), 0) }
        let found = full.lookup(address)
        return (Int(found.decision), found.prefixLength)
    }
}

/// The country maps of the current and the proposed geo data, built on first use: a geo database's
/// map takes a while, and only moving clients need it.
final class CountryLookup {
    private let tables: (current: GeoNetworkTable?, proposed: GeoNetworkTable?)
    private var built: [CountryMap?]? = nil

    init(current: GeoNetworkTable?, proposed: GeoNetworkTable?) { tables = (current, proposed) }

    /// Current, then proposed.
    var maps: [CountryMap?] {
        if let built { return built }
        let current = tables.current.map(CountryMap.init)
        let proposed = tables.proposed == tables.current ? current : tables.proposed.map(CountryMap.init)
        built = [current, proposed]
        return [current, proposed]
    }
}

/// Address → country of the geo data, merged by location.
struct CountryMap {
    let countries: [String?]
    let map: PrefixMap

    init(_ table: GeoNetworkTable) {
        countries = table.locations.map(\.countryCode) + [nil]
        map = PrefixMap(table: table, decisions: (0..<UInt32(table.locations.count)).map { $0 },
                        unknown: UInt32(table.locations.count))
    }

    /// The country of `address` (nil for none) and the prefix length over which its location holds.
    func country(_ address: IPAddress) -> (country: String?, prefixLength: Int) {
        let found = map.lookup(address)
        return (countries[Int(found.decision)], Int(found.prefixLength))
    }
}

extension IPAddress {
    /// The first address after the prefix of `length` that holds this one; nil past the end of the family.
    fileprivate func advanced(pastPrefixOf length: Int) -> IPAddress? {
        guard length > 0 else { return nil }
        if !isIPv6 {
            let size = UInt64(1) << UInt64(32 - length)
            let next = UInt64(masked(to: length).ipv4Value) + size
            return next > UInt64(UInt32.max) ? nil : IPAddress(ipv4: UInt32(next))
        }
        let base = masked(to: length)
        let value = UInt128(base.high) << 64 | UInt128(base.low)
        let (next, overflow) = value.addingReportingOverflow(1 << UInt128(128 - length))
        return overflow ? nil : IPAddress(high: UInt64(truncatingIfNeeded: next >> 64), low: UInt64(truncatingIfNeeded: next), isIPv6: true)
    }
}

// MARK: - Configuration changes

extension RoutingDiff {
    /// One line for a policy: `geo-nearest [iad, dub, nrt]`, `weighted {iad: 3, dub: 1}`.
    static func summary(_ policy: PolicyConfig) -> String {
        switch policy {
        case .roundRobin(let names): return policy.name + " " + list(names)
        case .weighted(let weights, let perAddress):
            return policy.name + " {" + weights.map { "\($0.name): \(number($0.weight))" }.joined(separator: ", ") + "}"
                + (perAddress ? " per address" : "")
        case .geoNearest(let names, let unlocated, let pick):
            return policy.name + " " + list(names) + (unlocated.map { ", unlocated " + list($0) } ?? "")
                + (pick == .roundRobin ? "" : ", pick \(pick.rawValue)")
        case .geoMap(let map, let pick):
            return policy.name + " {" + map.map { "\($0.key): \(list($0.datacenters))" }.joined(separator: ", ") + "}"
                + (pick == .roundRobin ? "" : ", pick \(pick.rawValue)")
        case .failover(let steps): return policy.name + " [" + steps.map(summary).joined(separator: "; ") + "]"
        }
    }

    static func list(_ names: [String]) -> String { "[" + names.joined(separator: ", ") + "]" }

    /// `3`, `0.5`.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }

    /// `75%`, `66.7%` → `67%`: whole percents.
    static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }

    static func serviceChanges(_ old: ServiceConfig, _ new: ServiceConfig) -> [String] {
        var changes = policyChanges(old.policy, new.policy)
        if old.check != new.check { changes.append("check \(old.check ?? "none")→\(new.check ?? "none")") }
        if old.ttl != new.ttl { changes.append("TTL \(old.ttl)→\(new.ttl)") }
        if old.degradedTTL != new.degradedTTL { changes.append("degraded TTL \(old.degradedTTL)→\(new.degradedTTL)") }
        if old.maxAnswers != new.maxAnswers {
            changes.append("max answers \(old.maxAnswers.map(String.init) ?? "all")→\(new.maxAnswers.map(String.init) ?? "all")")
        }
        if old.whenAllDown != new.whenAllDown { changes.append("when all down \(old.whenAllDown.rawValue)→\(new.whenAllDown.rawValue)") }
        return changes
    }

    static func policyChanges(_ old: PolicyConfig, _ new: PolicyConfig) -> [String] {
        switch (old, new) {
        case let (.roundRobin(a), .roundRobin(b)):
            return a == b ? [] : ["data centers \(list(a))→\(list(b))"]
        case let (.weighted(a, p), .weighted(b, q)):
            var changes: [String] = []
            if !a.elementsEqual(b, by: { $0.name == $1.name && $0.weight == $1.weight }) {
                var names = b.map(\.name)
                for w in a where !names.contains(w.name) { names.append(w.name) }
                let oldTotal = a.reduce(0) { $0 + $1.weight }, newTotal = b.reduce(0) { $0 + $1.weight }
                func weight(_ list: [(name: String, weight: Double)], _ n: String) -> Double? { list.first { $0.name == n }?.weight }
                let weights = names.map { n in "\(n) \(weight(a, n).map(number) ?? "-")→\(weight(b, n).map(number) ?? "-")" }
                let shares = names.map { n in
                    "\(weight(a, n).map { percent($0 / oldTotal) } ?? "-")→\(weight(b, n).map { percent($0 / newTotal) } ?? "-")"
                }
                changes.append("weights " + weights.joined(separator: ", ") + "; shares " + shares.joined(separator: " / "))
            }
            if p != q { changes.append("per-address \(p)→\(q)") }
            return changes
        case let (.geoNearest(a, u, p), .geoNearest(b, v, q)):
            var changes: [String] = []
            if a != b { changes.append("data centers \(list(a))→\(list(b))") }
            if u != v { changes.append("unlocated \(u.map(list) ?? "(data centers)")→\(v.map(list) ?? "(data centers)")") }
            if p != q { changes.append("pick \(p.rawValue)→\(q.rawValue)") }
            return changes
        case let (.geoMap(a, p), .geoMap(b, q)):
            var changes: [String] = []
            for entry in b {
                if let before = a.first(where: { $0.key == entry.key }) {
                    if before.datacenters != entry.datacenters {
                        changes.append("map \(entry.key) \(list(before.datacenters))→\(list(entry.datacenters))")
                    }
                } else {
                    changes.append("map \(entry.key) added \(list(entry.datacenters))")
                }
            }
            for entry in a where !b.contains(where: { $0.key == entry.key }) {
                changes.append("map \(entry.key) removed (was \(list(entry.datacenters)))")
            }
            if p != q { changes.append("pick \(p.rawValue)→\(q.rawValue)") }
            return changes
        case let (.failover(a), .failover(b)) where a.count == b.count:
            return zip(a, b).enumerated().flatMap { i, pair in
                policyChanges(pair.0, pair.1).map { "failover step \(i + 1): \($0)" }
            }
        default:
            return old == new ? [] : ["policy \(summary(old))→\(summary(new))"]
        }
    }

    static func datacenterChanges(_ old: [DataCenterConfig], _ new: [DataCenterConfig]) -> [DataCenterDiff] {
        func addresses(_ dc: DataCenterConfig) -> String { dc.addresses.map(\.ip.description).joined(separator: ", ") }
        func place(_ c: Coordinates?) -> String { c.map { "[\(number($0.latitude)), \(number($0.longitude))]" } ?? "none" }
        var result: [DataCenterDiff] = []
        for dc in new {
            guard let before = old.first(where: { $0.name == dc.name }) else {
                result.append(DataCenterDiff(name: dc.name, change: .added, changes: ["addresses " + addresses(dc)]))
                continue
            }
            var changes: [String] = []
            if before.location != dc.location { changes.append("location \(place(before.location))→\(place(dc.location))") }
            if before.country != dc.country { changes.append("country \(before.country ?? "none")→\(dc.country ?? "none")") }
            if before.continent != dc.continent { changes.append("continent \(before.continent ?? "none")→\(dc.continent ?? "none")") }
            let added = dc.addresses.filter { a in !before.addresses.contains { $0.ip == a.ip } }.map { "+\($0.ip)" }
            let removed = before.addresses.filter { a in !dc.addresses.contains { $0.ip == a.ip } }.map { "-\($0.ip)" }
            if !(added + removed).isEmpty { changes.append("addresses " + (added + removed).joined(separator: " ")) }
            for a in dc.addresses {
                if let b = before.addresses.first(where: { $0.ip == a.ip }), b.checkTarget != a.checkTarget {
                    changes.append("\(a.ip) checked at \(b.checkTarget ?? a.ip.description)→\(a.checkTarget ?? a.ip.description)")
                }
            }
            if !changes.isEmpty { result.append(DataCenterDiff(name: dc.name, change: .changed, changes: changes)) }
        }
        for dc in old where !new.contains(where: { $0.name == dc.name }) {
            result.append(DataCenterDiff(name: dc.name, change: .removed, changes: ["addresses " + addresses(dc)]))
        }
        return result
    }

    static func checkChanges(_ old: [CheckDefinition], _ new: [CheckDefinition]) -> [String] {
        var result: [String] = []
        for check in new {
            guard var before = old.first(where: { $0.name == check.name }) else {
                result.append("check \(check.name) added (\(check.type))")
                continue
            }
            before.line = check.line
            if before != check { result.append("check \(check.name) changed") }
        }
        for check in old where !new.contains(where: { $0.name == check.name }) { result.append("check \(check.name) removed") }
        return result
    }

    static func geoipChanges(_ old: GeoIPConfig?, _ new: GeoIPConfig?) -> [String] {
        var result: [String] = []
        if old?.database != new?.database {
            result.append("database \(old?.database ?? "none")→\(new?.database ?? "none")")
        }
        let before = old?.networks ?? [], after = new?.networks ?? []
        func place(_ n: NetworkConfig) -> String {
            [n.location.map { "[\(number($0.latitude)), \(number($0.longitude))]" }, n.country, n.continent]
                .compactMap { $0 }.joined(separator: " ")
        }
        for n in after {
            if let b = before.first(where: { $0.prefix == n.prefix }) {
                if place(b) != place(n) { result.append("network \(n.prefix) \(place(b))→\(place(n))") }
            } else {
                result.append("network \(n.prefix) added (\(place(n)))")
            }
        }
        for n in before where !after.contains(where: { $0.prefix == n.prefix }) {
            result.append("network \(n.prefix) removed (was \(place(n)))")
        }
        return result
    }
}
