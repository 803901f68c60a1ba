import HealthModel
import DNSWire
import DNSZone
import FleetModel
import Foundation
import IPNet
import Health
import QueryEngine
import Routing
import ServerConfig

extension DeploymentController {
    /// The state an operator needs: zones with the serials served and load times, services with their answer
    /// share per data center over the last `shareWindow` seconds, data centers with per-address
    /// health (since when, why, the last changes), the last reload.
    public func status() -> Status {
        var s = Status()
        let now = Date().timeIntervalSince1970
        s.generatedAt = now
        s.zones = (publication?.zones ?? deployment.zones).map {
            .init(origin: $0.entry.origin.description, file: $0.entry.file, serial: $0.zone.serial, records: $0.zone.recordCount,
                  loadedAt: zoneLoadedAt[$0.entry.origin.description] ?? 0)
        }
        if let routing = deployment.services?.routing {
            let local = monitor?.snapshot ?? .allUp(count: routing.addresses.count)
            // What is served: with a fleet, this instance's checks merged with the fleet's view.
            let health = HealthSnapshot.merging(local, fleet: fleet?.view, addresses: deployment.monitoredAddresses)
            let policies = Dictionary(deployment.config.routing.services.map { ($0.name, $0.policy) }, uniquingKeysWith: { a, _ in a })
            let share = answerShares(now: now, datacenters: routing.sites.map(\.name))
            s.services = routing.services.map { service in
                .init(name: service.name.description, ttl: service.ttl, degradedTTL: service.degradedTTL,
                      policy: policies[service.name]?.name ?? "", share: share(service.name.description))
            }
            s.datacenters = routing.sites.enumerated().map { index, site in
                let addresses: [Status.Address] = routing.addresses.indices.filter { Int(routing.addresses[$0].site) == index }.map { id in
                    let a = routing.addresses[id]
                    let known = id < health.states.count
                    return .init(ip: a.ip.description, check: a.check, state: known ? health.states[id].description : "up",
                                 since: known ? health.since[id] : 0, reason: known ? health.reasons[id] : "",
                                 local: fleet != nil && id < local.states.count ? local.states[id].description : nil,
                                 observers: observers(id, routing: routing, site: site.name),
                                 history: history.changes(datacenter: site.name, ip: a.ip.description))
                }
                let state = addresses.contains { $0.state == "up" } ? "up" : (addresses.contains { $0.state == "drain" } ? "drain" : "down")
                return .init(name: site.name, state: state, addresses: addresses,
                             location: site.coordinates.map { [$0.latitude, $0.longitude] })
            }
        }
        s.secondaries = secondaryStatus()
        if let settings = deployment.config.fleet, let member = fleet?.member {
            let view = fleet?.view
            let snapshot = member.snapshot
            s.fleet = .init(
                name: settings.name, instance: settings.instance, connected: member.isConnected, revision: view?.revision ?? 0,
                quorum: settings.quorum.description, whenDisconnected: settings.whenDisconnected.rawValue,
                members: (snapshot?.members.values.sorted { $0.instance < $1.instance } ?? []).map {
                    .init(instance: $0.instance, version: $0.version, configDigest: $0.configDigest, started: $0.started,
                          zones: $0.zones.map { .init(name: $0.name, serial: $0.serial) })
                },
                observers: view?.observers.sorted() ?? [], ignored: view?.ignored.sorted() ?? [],
                drains: (view?.drains.values.sorted { $0.datacenter < $1.datacenter } ?? []).map {
                    .init(datacenter: $0.datacenter, who: $0.who, when: $0.when, why: $0.why, safeAfter: $0.safeAfter)
                },
                problems: (snapshot?.problems ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })
        }
        if let r = lastReload { s.lastReload = .init(at: r.at, ok: r.problems.isEmpty, problems: r.problems) }
        return s
    }

    /// With a fleet: each live observer's verdict on the address with ID `id` (none without a check).
    private func observers(_ id: Int, routing: RoutingTable, site: String) -> [Status.Observer]? {
        guard let view = fleet?.view, let snapshot = fleet?.member?.snapshot, let check = routing.addresses[id].check else { return nil }
        let key = AddressKey(datacenter: site, ip: routing.addresses[id].ip.description, check: check, target: routing.addresses[id].checkTarget)
        return view.observers.sorted().compactMap { instance in
            snapshot.verdicts[instance]?.verdicts[key].map {
                Status.Observer(instance: instance, state: $0.state.description, since: $0.since, reason: $0.reason)
            }
        }
    }

    /// `GET /status`.
    public struct Status: Codable, Sendable {
        public struct ZoneStatus: Codable, Sendable { var origin: String; var file: String; var serial: UInt32?; var records: Int; var loadedAt: Double }
        /// Answers that included each data center over the last `windowSeconds`.
        public struct Share: Codable, Sendable { var windowSeconds: Double; var answers: [String: UInt64] }
        public struct ServiceStatus: Codable, Sendable {
            var name: String; var ttl: UInt32; var degradedTTL: UInt32; var policy: String; var share: Share
        }
        public struct Address: Codable, Sendable {
            /// `state`, `since` and `reason` are what is served (with a fleet: the fleet's verdict);
            /// `local` is this instance's own checks' state, with a fleet only; `observers`, with a
            /// fleet, what each live instance's checks say of the address (the quorum's inputs).
            var ip: String; var check: String?; var state: String; var since: Double; var reason: String; var local: String?
            var observers: [Observer]?
            var history: [HealthHistory.Change]
        }
        public struct Observer: Codable, Sendable { var instance: String; var state: String; var since: Double; var reason: String }
        /// This instance's fleet (`fleet:`): whether etcd answers, the revision of the view, the
        /// live members, who was counted, the fleet's drains and the records that were skipped.
        public struct FleetStatus: Codable, Sendable {
            public struct Member: Codable, Sendable {
                public struct Zone: Codable, Sendable { var name: String; var serial: UInt32 }
                var instance: String; var version: String; var configDigest: String; var started: Double; var zones: [Zone]
            }
            public struct Drain: Codable, Sendable { var datacenter: String; var who: String; var when: Double; var why: String; var safeAfter: Double? }
            var name: String; var instance: String; var connected: Bool; var revision: Int64; var quorum: String
            var whenDisconnected: String; var members: [Member]; var observers: [String]; var ignored: [String]
            var drains: [Drain]; var problems: [String]
        }
        /// `location`: [latitude, longitude] as configured, for the status page's map.
        public struct DataCenter: Codable, Sendable { var name: String; var state: String; var addresses: [Address]; var location: [Double]? }
        public struct Reload: Codable, Sendable { var at: Double; var ok: Bool; var problems: [String] }
        public var zones: [ZoneStatus] = []
        public var services: [ServiceStatus] = []
        public var datacenters: [DataCenter] = []
        public var lastReload: Reload?
        /// Each secondary zone's primary, serial, last refresh, last error and expiry.
        public var secondaries: [SecondaryStatus] = []
        public var fleet: FleetStatus?
        public var generatedAt: Double = 0
    }
}
