import DNSWire
import Foundation
import Routing

/// How `meridian diff` prints a `RoutingDiff`: the text an operator reads and the JSON object
/// `--json` gives tools. The service and data-center phrases are the model's `description`s.
enum DiffRendering {
    /// The text report; `header` is its first line (`current → proposed`).
    static func text(_ diff: RoutingDiff, header: String) -> String {
        var lines = [header]
        let mark: [ServiceDiff.Change: String] = [.added: "+", .removed: "-", .changed: "~"]
        if !diff.datacenters.isEmpty { lines.append("data centers:") }
        for dc in diff.datacenters {
            lines.append("  \(mark[dc.change]!) \(dc.name): " + dc.changes.map(\.description).joined(separator: "; "))
        }
        if !diff.checks.isEmpty { lines.append("checks:") }
        lines += diff.checks.map { "  " + phrase($0) }
        if !diff.geoip.isEmpty { lines.append("geoip:") }
        lines += diff.geoip.map { "  " + phrase($0) }
        if !diff.services.isEmpty { lines.append("services:") }
        for service in diff.services {
            let what = service.changes.map(\.description).joined(separator: "; ")
            lines.append("  \(mark[service.change]!) \(service.name)" + (what.isEmpty ? " (configuration unchanged)" : ": " + what))
            guard let clients = service.clients, !clients.total.isEmpty else { continue }
            lines.append("      clients with a different first choice: " + count(clients.total))
            for move in clients.moves {
                lines.append("        \(move.from) → \(move.to): " + count(move.clients))
            }
            if clients.movesLeftOff > 0 { lines.append("        and \(clients.movesLeftOff) more pairs") }
            lines.append("      by country:")
            for c in clients.countries {
                lines.append("        \(c.country ?? "unknown"): " + count(c.clients, unit: "network"))
            }
            if clients.countriesLeftOff > 0 { lines.append("        and \(clients.countriesLeftOff) more countries") }
            lines.append("      prefixes:" + (clients.prefixes.count < clients.total.ipv4Prefixes + clients.total.ipv6Prefixes ? " (the first \(clients.prefixes.count))" : ""))
            for p in clients.prefixes { lines.append("        \(p.prefix) \(p.from) → \(p.to)") }
        }
        if !diff.emptyAnswers.isEmpty { lines.append("empty answers (every address up):") }
        lines += diff.emptyAnswers.map { "  " + warning($0) }
        if !diff.changed { lines.append("no routing changes") }
        return lines.joined(separator: "\n")
    }

    /// The JSON object of `--json`: pretty-printed, keys sorted.
    static func json(_ diff: RoutingDiff) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(DiffJSON(diff)), as: UTF8.self)
    }

    // MARK: phrases

    /// `check web added (http)`.
    static func phrase(_ change: CheckChange) -> String {
        switch change {
        case .added(let name, let type): "check \(name) added (\(type))"
        case .changed(let name): "check \(name) changed"
        case .removed(let name): "check \(name) removed"
        }
    }

    /// `database none→/var/lib/GeoLite2-City.mmdb`, `network 10.0.0.0/8 [1, 2] JP→[3, 4] FR`.
    static func phrase(_ change: GeoIPChange) -> String {
        func place(_ p: NetworkPlace) -> String {
            [p.location?.summary, p.country, p.continent].compactMap { $0 }.joined(separator: " ")
        }
        switch change {
        case .database(let from, let to): return "database \(from ?? "none")→\(to ?? "none")"
        case .networkAdded(let prefix, let p): return "network \(prefix) added (\(place(p)))"
        case .networkMoved(let prefix, let from, let to): return "network \(prefix) \(place(from))→\(place(to))"
        case .networkRemoved(let prefix, let p): return "network \(prefix) removed (was \(place(p)))"
        }
    }

    /// The list's name in the JSON: `datacenters`, `unlocated`, `map entry JP`,
    /// `failover: step 1 map entry JP; step 2 datacenters`.
    static func name(_ source: EmptyAnswer.Source) -> String {
        switch source {
        case .datacenters: "datacenters"
        case .unlocated: "unlocated"
        case .mapEntry(let key): "map entry \(key)"
        case .failover(let steps):
            "failover: " + steps.enumerated().map { i, lists in
                "step \(i + 1) " + lists.map { name($0.source) }.joined(separator: ", ")
            }.joined(separator: "; ")
        }
    }

    /// The list as the text names it: `map entry JP [nrt]`; for a failover, every step with its
    /// own lists: `failover step 1 datacenters [lab1] and step 2 datacenters [lab1, lab2]`.
    static func phrase(_ list: EmptyAnswer.List) -> String {
        func names(_ list: EmptyAnswer.List) -> String { "[" + list.datacenters.joined(separator: ", ") + "]" }
        switch list.source {
        case .datacenters, .unlocated, .mapEntry: return name(list.source) + " " + names(list)
        case .failover(let steps):
            return "failover " + steps.enumerated().map { i, lists in
                "step \(i + 1) " + lists.map(phrase).joined(separator: ", ")
            }.joined(separator: " and ")
        }
    }

    /// `new: m.example.com. AAAA from map entry JP [nrt]: no IPv6 address`;
    /// `new: x.example.com. AAAA from failover step 1 datacenters [lab1] and step 2 datacenters
    /// [lab1, lab2]: no IPv6 address in any step`.
    static func warning(_ e: EmptyAnswer) -> String {
        let family = e.type == .a ? "IPv4" : "IPv6"
        let everyStep: Bool
        if case .failover = e.list.source { everyStep = true } else { everyStep = false }
        return "\(e.isNew ? "new" : "already"): \(e.service) \(e.type) from \(phrase(e.list)): no \(family) address"
            + (everyStep ? " in any step" : "")
    }

    /// `IPv4 2 prefixes, 262,400 addresses; IPv6 1 prefix, 2^96 addresses`.
    static func count(_ c: ClientCount, unit: String = "prefix") -> String {
        func units(_ n: Int) -> String { "\(grouped(UInt64(n))) \(unit)" + (n == 1 ? "" : unit == "prefix" ? "es" : "s") }
        var parts: [String] = []
        if c.ipv4Prefixes > 0 { parts.append("IPv4 \(units(c.ipv4Prefixes)), \(grouped(c.ipv4Addresses)) addresses") }
        if c.ipv6Prefixes > 0 {
            let exponent = log2(c.ipv6Addresses)
            let power = exponent == exponent.rounded() ? "\(Int(exponent))" : String(format: "%.2f", exponent)
            parts.append("IPv6 \(units(c.ipv6Prefixes)), 2^\(power) addresses")
        }
        return parts.joined(separator: "; ")
    }

    /// `262,400`.
    static func grouped(_ n: UInt64) -> String {
        var digits = Array(String(n))
        var i = digits.count - 3
        while i > 0 {
            digits.insert(",", at: i)
            i -= 3
        }
        return String(digits)
    }
}

/// The shape of the `--json` object: each change as the phrase the text prints, each empty answer
/// with its list named as one string (`map entry JP`, `failover: step 1 datacenters; step 2 unlocated`).
private struct DiffJSON: Encodable {
    struct Service: Encodable {
        var name: String
        var change: String
        var changes: [String]
        var clients: ClientMoves?
    }

    struct DataCenter: Encodable {
        var name: String
        var change: String
        var changes: [String]
    }

    struct Empty: Encodable {
        var service: String
        var type: String
        var list: String
        var datacenters: [String]
        var isNew: Bool
    }

    var services: [Service]
    var datacenters: [DataCenter]
    var checks: [String]
    var geoip: [String]
    var emptyAnswers: [Empty]
    var changed: Bool

    init(_ diff: RoutingDiff) {
        services = diff.services.map {
            Service(name: $0.name, change: $0.change.rawValue, changes: $0.changes.map(\.description), clients: $0.clients)
        }
        datacenters = diff.datacenters.map { DataCenter(name: $0.name, change: $0.change.rawValue, changes: $0.changes.map(\.description)) }
        checks = diff.checks.map(DiffRendering.phrase)
        geoip = diff.geoip.map(DiffRendering.phrase)
        emptyAnswers = diff.emptyAnswers.map {
            Empty(service: $0.service, type: $0.type.description, list: DiffRendering.name($0.list.source),
                  datacenters: $0.list.datacenters, isNew: $0.isNew)
        }
        changed = diff.changed
    }
}
