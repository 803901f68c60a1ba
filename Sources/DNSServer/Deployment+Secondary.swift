import DNSWire
import DNSZone
import Foundation
import ZoneFile
import QueryEngine
import ServerConfig
import ZoneTransfer

extension Deployment {
    /// The zone entries of the members of every consumed catalog (`catalog-role: interpret`) in
    /// `config`, read from the catalog's stored copy (none before its first transfer): secondary
    /// zones of the catalog's primaries and key, stored as `<member>zone` in the directory of the
    /// catalog's file. A member that is also a configured zone, or already a member of an earlier
    /// catalog, is skipped; each entry skipped is in `problems` (to be logged, not refused).
    static func catalogMemberEntries(_ config: ServerConfiguration) -> (entries: [ZoneEntry], problems: [String]) {
        var entries: [ZoneEntry] = []
        var problems: [String] = []
        var taken = Set(config.zones.map { $0.origin.lowercased() })
        for catalog in config.zones where catalog.interpretsCatalog {
            guard FileManager.default.fileExists(atPath: catalog.file) else { continue }
            let records: [ZoneRecord]
            do {
                records = try ZoneFile.readValid(origin: catalog.origin, path: catalog.file)
            } catch {
                problems.append("catalog \(catalog.origin): stored copy \(catalog.file) cannot be read; no members: \(error)")
                continue
            }
            let (members, skipped) = CatalogZone.members(origin: catalog.origin, records: records)
            problems += skipped
            let directory = (catalog.file as NSString).deletingLastPathComponent
            for member in members {
                guard !taken.contains(member.name) else {
                    problems.append("catalog \(catalog.origin): member \(member.name) is also a zone of the configuration or of another catalog; skipped")
                    continue
                }
                taken.insert(member.name)
                // The catalog's primaries, key and line; nothing else of its entry.
                var entry = catalog
                entry.origin = member.name
                entry.file = directory + "/" + member.name.description + "zone"
                entry.transfer = nil
                entry.notify = []
                entry.serialPolicy = .keep
                entry.catalogZone = nil
                entry.interpretsCatalog = false
                entry.memberCatalog = catalog.origin
                entry.memberID = member.id
                entries.append(entry)
            }
        }
        return (entries, problems)
    }

    /// A secondary zone with no stored copy yet: served as SERVFAIL (`ZoneSet.unavailable`) until
    /// its first transfer, so queries for it are not REFUSED as outside every zone.
    static func placeholder(_ entry: ZoneEntry) -> Zone { Zone(origin: entry.origin, records: []) }

    /// Whether a secondary zone's stored copy is past EXPIRE: its file's modification time is
    /// the last successful refresh (`SecondaryRefresh` touches it), and the SOA's EXPIRE counts
    /// from there (RFC 1034 §4.3.5).
    static func isExpired(_ zone: Zone, file: String, now: Double = Date().timeIntervalSince1970) -> Bool {
        guard let timers = zone.soaFields, let refreshed = Self.modificationTime(file) else { return true }
        return now >= refreshed + Double(timers.expire)
    }

    /// When `path` was last modified, seconds since 1970; nil when it cannot be read.
    static func modificationTime(_ path: String) -> Double? {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date)?.timeIntervalSince1970
    }

    /// This deployment with zone `origin` replaced by `zone` (when given) and answering SERVFAIL or
    /// not (`unavailable`); the routing table is re-indexed over the new zone set. Nil when no such
    /// zone is served.
    func replacing(_ origin: DNSName, with zone: Zone?, unavailable: Bool) -> Deployment? {
        guard let at = zones.firstIndex(where: { $0.entry.origin == origin }) else { return nil }
        var zones = self.zones
        if let zone { zones[at].zone = zone }
        var down = unavailableOrigins
        if unavailable { down.insert(origin) } else { down.remove(origin) }
        let zoneSet = ZoneSet(zones: zones.map(\.zone), unavailable: down)
        let services = self.services.map { ServiceSet(routing: $0.routing, zones: zoneSet) }
        // The publication started over the result journals the new copy as a change from the old.
        var next = Deployment(config: config, zones: zones, zoneSet: zoneSet, services: services, geoDatabase: geoDatabase,
                              stamps: stamps, includers: includers, catalogMembers: catalogMembers, storedJournals: [:], notices: [])
        next.notifyInbox = notifyInbox
        next.signatures = signatures
        return next
    }

    /// The origins of the zones that answer SERVFAIL.
    var unavailableOrigins: Set<DNSName> {
        Set(zip(zoneSet.zones, zoneSet.unavailable).filter(\.1).map(\.0.origin))
    }

    /// Whether zone `origin` answers SERVFAIL.
    func isUnavailable(_ origin: DNSName) -> Bool {
        zip(zoneSet.zones, zoneSet.unavailable).contains { $0.0.origin == origin && $0.1 }
    }
}

extension Zone {
    /// The numbers of the apex SOA; nil for a zone without one (a secondary not yet transferred).
    var soaFields: SOAFields? { soaRData.flatMap { SOAFields(rdata: $0) } }

    /// The apex SOA's RDATA (the SOA an IXFR request carries); nil for a zone without one.
    var soaRData: [UInt8]? {
        let soa = rrset(at: 0, .soa)
        guard soa >= 0 else { return nil }
        // The RRset as stored: TYPE, CLASS, TTL, RDLENGTH, then the uncompressed RDATA.
        let bytes = self.bytes(of: soa)
        guard bytes.count >= 10 else { return nil }
        let length = Int(bytes[8]) << 8 | Int(bytes[9])
        guard 10 + length <= bytes.count else { return nil }
        return Array(bytes[10..<(10 + length)])
    }
}
