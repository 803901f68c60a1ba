import DNSWire
import DNSZone
import Foundation
import QueryEngine
import ServerConfig
import ZoneTransfer

extension Deployment {
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
        // The zone's journal, if it has one, ends at the old copy's serial: IXFR out is answered
        // AXFR-style until the next reload starts it again.
        var next = Deployment(config: config, zones: zones, zoneSet: zoneSet, services: services, geoDatabase: geoDatabase,
                              stamps: stamps, includers: includers, catalogMembers: catalogMembers, journals: journals,
                              changedJournals: [], notices: [])
        next.notifyInbox = notifyInbox
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
