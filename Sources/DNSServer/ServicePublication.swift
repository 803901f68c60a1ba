import DNSWire
import DNSZone
import Foundation
import HealthModel
import Logging
import QueryEngine
import Routing
import ServerConfig
import ServiceTransfer
import Synchronization
import ZoneTransfer

/// What one deployment serves to secondaries for its service names, and the serials that go with
/// it: on every health snapshot, each zone's records are rendered again (`ServiceRecords.render`);
/// when a zone's differ from those served, its serial rises by one (RFC 1982 §3.1) — at once if
/// the last rise is `interval` old, else once at the end of the interval, with the health of that
/// moment — the zone is swapped in with its new serial (queries and transfers alike) and
/// `onBump` is called (the controller sends NOTIFY). Every snapshot also swaps in an engine with
/// the new health, as before. One lock orders the swaps, so the last engine stored is built from
/// the last state; it is never taken on the query path.
final class ServicePublication: Sendable {
    /// What a zone is served with, carried from one deployment to the next so a reload never
    /// serves a serial lower than one already served.
    struct Served: Sendable {
        /// The zone as compiled from its file (the `Deployment`'s).
        let base: Zone
        /// `base` with the serial served.
        let zone: Zone
        let records: [TransferRecord]
        /// When the serial last rose for health (seconds since 1970); -infinity when never.
        let raisedAt: Double
    }

    private struct State {
        /// The previous deployment's, until the first snapshot starts this one from it.
        var previous: [DNSName: Served]
        var stopped = false
        var snapshot: HealthSnapshot?
        /// In `deployment.zones` order; empty until the first snapshot.
        var served: [Served] = []
        var zoneSet: ZoneSet
        /// The timer of each zone whose rise waits for the end of its interval.
        var waiting: [Int: Task<Void, Never>] = [:]
    }

    let deployment: Deployment
    let server: DNSServer
    let interval: Double
    let logger: Logger
    let onBump: @Sendable () -> Void
    private let state: Mutex<State>

    /// Starts from `previous` (the served state of the deployment before, by origin) under the
    /// rule of `ServicePublication.startingSerial`.
    init(deployment: Deployment, server: DNSServer, previous: [DNSName: Served], logger: Logger, onBump: @escaping @Sendable () -> Void) {
        self.deployment = deployment
        self.server = server
        self.interval = Double(deployment.config.transferSerialInterval.components.seconds)
            + Double(deployment.config.transferSerialInterval.components.attoseconds) / 1e18
        self.logger = logger
        self.onBump = onBump
        self.state = Mutex(State(previous: previous, zoneSet: deployment.zoneSet))
    }

    /// The zones as served now, with their entries, in configuration order (the deployment's
    /// before the first snapshot).
    var zones: [(entry: ZoneEntry, zone: Zone)] {
        let served = state.withLock { $0.served }
        guard !served.isEmpty else { return deployment.zones }
        return zip(deployment.zones, served).map { ($0.entry, $1.zone) }
    }

    /// What each zone is served with, by origin, for the next deployment.
    var served: [DNSName: Served] {
        let served = state.withLock { $0.served }
        var byOrigin: [DNSName: Served] = [:]
        for (z, s) in zip(deployment.zones, served) { byOrigin[z.entry.origin] = s }
        return byOrigin
    }

    /// Takes a new health snapshot (nil: every address up). The first one starts the deployment:
    /// its records and each zone's serial (`startingSerial`), against which later changes count.
    func update(_ snapshot: HealthSnapshot?) {
        let rendered = ServicePublication.render(deployment, snapshot)
        let now = Date().timeIntervalSince1970
        let raised: Bool = state.withLock { s in
            guard !s.stopped else { return false }
            s.snapshot = snapshot
            var raised = false
            if s.served.isEmpty {
                // The deployment's first health: it starts with it.
                s.served = deployment.zones.enumerated().map { i, z in
                    ServicePublication.start(z.zone, records: rendered[i], previous: s.previous[z.entry.origin])
                }
                s.zoneSet = ZoneSet(zones: s.served.map(\.zone), unavailable: deployment.unavailableOrigins)
                s.previous = [:]
            }
            for i in s.served.indices where rendered[i] != s.served[i].records {
                if now - s.served[i].raisedAt >= interval {
                    raise(&s, zone: i, rendered[i], at: now)
                    raised = true
                } else if s.waiting[i] == nil {
                    let delay = s.served[i].raisedAt + interval - now
                    s.waiting[i] = Task.detached { [self] in
                        try? await Task.sleep(for: .seconds(delay))
                        flush(zone: i)
                    }
                }
            }
            server.replaceEngine(engine(s))
            return raised
        }
        if raised { onBump() }
    }

    /// Stops the timers; a stopped publication swaps nothing in.
    func stop() {
        let timers = state.withLock { s in
            s.stopped = true
            return Array(s.waiting.values)
        }
        for t in timers { t.cancel() }
    }

    /// The end of zone `i`'s interval: raises its serial when the records of the latest health
    /// still differ from those served.
    private func flush(zone i: Int) {
        let now = Date().timeIntervalSince1970
        let raised: Bool = state.withLock { s in
            s.waiting[i] = nil
            guard !s.stopped else { return false }
            let rendered = ServicePublication.render(deployment, s.snapshot)
            guard rendered[i] != s.served[i].records else { return false }
            raise(&s, zone: i, rendered[i], at: now)
            server.replaceEngine(engine(s))
            return true
        }
        if raised { onBump() }
    }

    private func raise(_ s: inout State, zone i: Int, _ records: [TransferRecord], at now: Double) {
        let old = s.served[i]
        let serial = (old.zone.serial ?? 0) &+ 1
        s.served[i] = Served(base: old.base, zone: old.zone.replacingSerial(serial), records: records, raisedAt: now)
        s.zoneSet = ZoneSet(zones: s.served.map(\.zone), unavailable: deployment.unavailableOrigins)
        logger.notice("zone serial raised: health changed its service names' transfer records", metadata: [
            "zone": "\(old.base.origin)", "serial": "\(serial)", "records": "\(records.count)",
        ])
    }

    private func engine(_ s: State) -> QueryEngine {
        var records: [DNSName: [TransferRecord]] = [:]
        for (z, served) in zip(deployment.zones, s.served) where !served.records.isEmpty { records[z.entry.origin] = served.records }
        return deployment.engine(health: s.snapshot, zones: s.zoneSet, serviceRecords: records)
    }

    /// Each zone's service records under `snapshot`, in `deployment.zones` order; none for a zone
    /// nobody may transfer (no `transfer` key), whose serial health then never moves.
    private static func render(_ deployment: Deployment, _ snapshot: HealthSnapshot?) -> [[TransferRecord]] {
        guard let routing = deployment.services?.routing else { return deployment.zones.map { _ in [] } }
        let byOrigin = ServiceRecords.render(
            routing, health: snapshot ?? .allUp(count: routing.addresses.count), origins: deployment.zones.map(\.entry.origin))
        return deployment.zones.map { $0.entry.transfer == nil ? [] : byOrigin[$0.entry.origin] ?? [] }
    }

    /// A zone as a deployment starts serving it, after `previous` was served.
    private static func start(_ zone: Zone, records: [TransferRecord], previous: Served?) -> Served {
        guard let file = zone.serial, let previous, let served = previous.zone.serial else {
            return Served(base: zone, zone: zone, records: records, raisedAt: -.infinity)
        }
        // No raise of ours is being served and the records are the same: the zone's serial is
        // the file's as the serial policy decided (`ZoneVersion`), kept as it is.
        if previous.zone.serial == previous.base.serial && previous.records == records {
            return Served(base: zone, zone: zone, records: records, raisedAt: previous.raisedAt)
        }
        let serial = startingSerial(file: file, served: served, unchanged: previous.base === zone && previous.records == records)
        return Served(base: zone, zone: serial == file ? zone : zone.replacingSerial(serial), records: records, raisedAt: previous.raisedAt)
    }

    /// The serial a reloaded zone starts with: the file's when it is ahead of the one served (RFC
    /// 1982), else the one served — raised by one when what secondaries would receive changed
    /// (the file was read again or the service records differ), so the same serial never names
    /// two contents and a secondary never sees the serial go back. Applied only when a raise of
    /// ours was served or the service records changed; otherwise the serial policy's serial stands.
    static func startingSerial(file: UInt32, served: UInt32, unchanged: Bool) -> UInt32 {
        if file != served && file &- served < 1 << 31 { return file }
        return unchanged ? served : served &+ 1
    }
}
