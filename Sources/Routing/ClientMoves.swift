import IPNet

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

