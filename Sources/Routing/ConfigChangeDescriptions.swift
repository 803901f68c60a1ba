import IPNet

/// The phrases `meridian diff` prints for service and data-center changes. They are the one
/// piece of the diff's English kept beside the model, as `description`s, because RoutingTests
/// (which cannot reach the executable's renderer) assert on them; the CLI (Sources/meridian/
/// DiffRendering.swift) lays them out and writes everything else.

extension ServiceChange: CustomStringConvertible {
    /// `TTL 30→60`, `weights iad 3→2, dub 1→1; shares 75%→67% / 25%→33%`, `failover step 2: pick …`.
    public var description: String {
        func names(_ list: [String]) -> String { "[" + list.joined(separator: ", ") + "]" }
        switch self {
        case .configured(let policy): return policy.summary
        case .policy(let from, let to): return "policy \(from.summary)→\(to.summary)"
        case .datacenters(let from, let to): return "data centers \(names(from))→\(names(to))"
        case .weights(let weights):
            let numbers = weights.map { "\($0.name) \($0.from.map(Self.number) ?? "-")→\($0.to.map(Self.number) ?? "-")" }
            let shares = weights.map { "\($0.shareFrom.map(Self.percent) ?? "-")→\($0.shareTo.map(Self.percent) ?? "-")" }
            return "weights " + numbers.joined(separator: ", ") + "; shares " + shares.joined(separator: " / ")
        case .perAddress(let from, let to): return "per-address \(from)→\(to)"
        case .unlocated(let from, let to):
            return "unlocated \(from.map(names) ?? "(data centers)")→\(to.map(names) ?? "(data centers)")"
        case .pick(let from, let to): return "pick \(from.rawValue)→\(to.rawValue)"
        case .mapEntry(let key, let from, let to): return "map \(key) \(names(from))→\(names(to))"
        case .mapEntryAdded(let key, let list): return "map \(key) added \(names(list))"
        case .mapEntryRemoved(let key, let list): return "map \(key) removed (was \(names(list)))"
        case .failoverStep(let step, let change): return "failover step \(step): \(change)"
        case .check(let from, let to): return "check \(from ?? "none")→\(to ?? "none")"
        case .ttl(let from, let to): return "TTL \(from)→\(to)"
        case .degradedTTL(let from, let to): return "degraded TTL \(from)→\(to)"
        case .maxAnswers(let from, let to):
            return "max answers \(from.map(String.init) ?? "all")→\(to.map(String.init) ?? "all")"
        case .whenAllDown(let from, let to): return "when all down \(from.rawValue)→\(to.rawValue)"
        }
    }

    /// `3`, `0.5`.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }

    /// `75%`, `66.7%` → `67%`: whole percents.
    static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }
}

extension PolicyConfig {
    /// One line for a policy: `geo-nearest [iad, dub, nrt]`, `weighted {iad: 3, dub: 1}`.
    public var summary: String {
        func list(_ names: [String]) -> String { "[" + names.joined(separator: ", ") + "]" }
        switch self {
        case .roundRobin(let names): return name + " " + list(names)
        case .weighted(let weights, let perAddress):
            return name + " {" + weights.map { "\($0.name): \(ServiceChange.number($0.weight))" }.joined(separator: ", ") + "}"
                + (perAddress ? " per address" : "")
        case .geoNearest(let names, let unlocated, let pick):
            return name + " " + list(names) + (unlocated.map { ", unlocated " + list($0) } ?? "")
                + (pick == .roundRobin ? "" : ", pick \(pick.rawValue)")
        case .geoMap(let map, let pick):
            return name + " {" + map.map { "\($0.key): \(list($0.datacenters))" }.joined(separator: ", ") + "}"
                + (pick == .roundRobin ? "" : ", pick \(pick.rawValue)")
        case .failover(let steps): return name + " [" + steps.map(\.summary).joined(separator: "; ") + "]"
        }
    }
}

extension Coordinates {
    /// `[35.77, 140.39]`.
    public var summary: String { "[\(ServiceChange.number(latitude)), \(ServiceChange.number(longitude))]" }
}

extension DataCenterChange: CustomStringConvertible {
    /// `addresses +2001:db8::10 -192.0.2.11`, `location [35.77, 140.39]→[…]`.
    public var description: String {
        switch self {
        case .configured(let addresses): return "addresses " + addresses.map(\.description).joined(separator: ", ")
        case .location(let from, let to): return "location \(from?.summary ?? "none")→\(to?.summary ?? "none")"
        case .country(let from, let to): return "country \(from ?? "none")→\(to ?? "none")"
        case .continent(let from, let to): return "continent \(from ?? "none")→\(to ?? "none")"
        case .addresses(let added, let removed):
            return "addresses " + (added.map { "+\($0)" } + removed.map { "-\($0)" }).joined(separator: " ")
        case .checkTarget(let address, let from, let to):
            return "\(address) checked at \(from ?? address.description)→\(to ?? address.description)"
        }
    }
}
