public import DNSWire
public import HealthModel
public import Routing
public import ZoneTransfer
import IPNet

/// The records zone transfers carry for service names: routing's transfer addresses
/// (`RoutingTable.transferAddresses`) as A and AAAA records at each service's TTL, grouped by the
/// zone they belong to. Pure: the same table, health and zones give the same records.
public enum ServiceRecords {
    /// For each origin of `origins` (the zones served) that encloses a service name, that zone's
    /// records, sorted by owner (canonical order, RFC 4034 §6.1) then type then RDATA; an address
    /// that two data centers share appears once. A service belongs to the zone with the longest
    /// origin enclosing it, the zone its queries are answered from. Zones without any record are
    /// left out.
    public static func render(_ routing: RoutingTable, health: HealthSnapshot, origins: [DNSName]) -> [DNSName: [TransferRecord]] {
        var byZone: [DNSName: Set<Rendered>] = [:]
        for (index, service) in routing.services.enumerated() {
            guard let origin = origins.filter({ service.name.isSubdomain(of: $0) }).max(by: { $0.wire.count < $1.wire.count })
            else { continue }
            let owner = service.name.lowercased()
            for id in routing.transferAddresses(service: index, health: health) {
                let ip = routing.answerIPs[Int(id)]
                byZone[origin, default: []].insert(Rendered(owner: owner, type: ip.isIPv6 ? .aaaa : .a, ttl: service.ttl, rdata: ip.bytes))
            }
        }
        return byZone.compactMapValues { set in
            set.isEmpty ? nil : set.sorted().map { TransferRecord(owner: $0.owner.wire, type: $0.type, ttl: $0.ttl, rdata: $0.rdata) }
        }
    }

    /// A record before it leaves as a `TransferRecord`, ordered as transfers list them.
    private struct Rendered: Hashable, Comparable {
        let owner: DNSName
        let type: RRType
        let ttl: UInt32
        let rdata: [UInt8]

        static func < (a: Rendered, b: Rendered) -> Bool {
            if a.owner != b.owner { return a.owner < b.owner }
            if a.type != b.type { return a.type.rawValue < b.type.rawValue }
            return a.rdata.lexicographicallyPrecedes(b.rdata)
        }
    }
}
