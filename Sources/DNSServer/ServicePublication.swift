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

/// What one deployment serves to secondaries — each zone's serial, its service names' records and
/// its IXFR journal — and the changes to it. The first health snapshot starts the deployment: each
/// zone's serial is chosen after what was served before (`ZoneVersion.servedSerial`) and the
/// difference recorded in the zone's journal. On every later snapshot each zone's records are
/// rendered again (`ServiceRecords.render`); when a zone's differ from those served, its serial
/// rises by one (RFC 1982 §3.1) — at once if the last rise is `interval` old, else once at the end
/// of the interval, with the health of that moment — the change is journaled, the zone swapped in
/// (queries and transfers alike) and `onBump` called (the controller sends NOTIFY). Every journal
/// that changes is written to `journal-dir`. Every snapshot also swaps in an engine with the new
/// health. One lock orders the swaps, so the last engine stored is built from the last state; it
/// is never taken on the query path.
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
        /// The changes secondaries can be sent (zones with `transfer`), ending at `zone`'s serial.
        let journal: ZoneJournal?

        /// The content secondaries receive (`TransferSnapshot.contentDigest`), serial aside.
        var digest: UInt64 { TransferSnapshot(zone: zone, serviceRecords: records).contentDigest }
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

    /// Starts from `previous`, the served state of the deployment before, by origin (at a start:
    /// none, and the deployment's stored journals say what was served).
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
                    start(z.entry, z.zone, records: rendered[i], previous: s.previous[z.entry.origin], now: now)
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
        let zone = old.zone.replacingSerial(serial)
        s.served[i] = Served(base: old.base, zone: zone, records: records, raisedAt: now,
                             journal: journal(deployment.zones[i].entry, after: old, zone: zone, records: records))
        s.zoneSet = ZoneSet(zones: s.served.map(\.zone), unavailable: deployment.unavailableOrigins)
        logger.notice("zone serial raised: health changed its service names' transfer records", metadata: [
            "zone": "\(old.base.origin)", "serial": "\(serial)", "records": "\(records.count)",
        ])
    }

    private func engine(_ s: State) -> QueryEngine {
        var records: [DNSName: [TransferRecord]] = [:]
        var journals: [DNSName: ZoneJournal] = [:]
        for (z, served) in zip(deployment.zones, s.served) {
            if !served.records.isEmpty { records[z.entry.origin] = served.records }
            if let journal = served.journal { journals[z.entry.origin] = journal }
        }
        return deployment.engine(health: s.snapshot, zones: s.zoneSet, serviceRecords: records, journals: journals)
    }

    /// Each zone's service records under `snapshot`, in `deployment.zones` order; none for a zone
    /// nobody may transfer (no `transfer` key), whose serial health then never moves.
    private static func render(_ deployment: Deployment, _ snapshot: HealthSnapshot?) -> [[TransferRecord]] {
        guard let routing = deployment.services?.routing else { return deployment.zones.map { _ in [] } }
        let byOrigin = ServiceRecords.render(
            routing, health: snapshot ?? .allUp(count: routing.addresses.count), origins: deployment.zones.map(\.entry.origin))
        return deployment.zones.map { $0.entry.transfer == nil ? [] : byOrigin[$0.entry.origin] ?? [] }
    }

    /// A zone as a deployment starts serving it (`zone` from its file, `records` its service
    /// names'), after `previous` was served — or at a start, what the stored journal says was.
    private func start(_ entry: ZoneEntry, _ zone: Zone, records: [TransferRecord], previous: Served?, now: Double) -> Served {
        let stored = previous == nil ? deployment.storedJournals[entry.origin] : nil
        guard let file = zone.serial else {
            return Served(base: zone, zone: zone, records: records, raisedAt: -.infinity, journal: nil)
        }
        var before: ZoneVersion.Before? = nil
        if let previous, let served = previous.zone.serial {
            before = .init(serial: served, raised: served != previous.base.serial)
        } else if let stored {
            before = .init(serial: stored.serial, raised: stored.serial != file)
        }
        // The same zone object with the same records is the same content: no digest needed.
        let reused = previous.map { $0.base === zone && $0.records == records } ?? false
        var computed: UInt64? = nil
        func digest() -> UInt64 {
            if let computed { return computed }
            let d = TransferSnapshot(zone: zone, serviceRecords: records).contentDigest
            computed = d
            return d
        }
        let serial = ZoneVersion.servedSerial(
            file: file, before: before, sameContent: { reused || digest() == (previous?.digest ?? stored?.digest) },
            policy: entry.serialPolicy,
            now: Int64(now))
        if serial != file && serial != before?.serial {
            logger.notice("zone changed without a newer serial in \(entry.file): serving serial \(serial) (serial-policy: \(entry.serialPolicy.rawValue))", metadata: [
                "zone": "\(entry.origin)", "file-serial": "\(file)",
            ])
        }
        let served = serial == file ? zone : zone.replacingSerial(serial)
        let raisedAt = previous?.raisedAt ?? -.infinity
        guard entry.transfer != nil else {
            return Served(base: zone, zone: served, records: records, raisedAt: raisedAt, journal: nil)
        }
        if let previous {
            let kept = reused && serial == previous.zone.serial ? previous.journal : nil
            return Served(base: zone, zone: served, records: records, raisedAt: raisedAt,
                          journal: kept ?? journal(entry, after: previous, zone: served, records: records))
        }
        if let stored, stored.serial == serial, stored.digest == digest() {
            return Served(base: zone, zone: served, records: records, raisedAt: raisedAt, journal: stored)
        }
        if let stored {
            logger.notice("\(JournalStore(directory: deployment.config.journalDirectory).path(for: entry.origin)): the journal ends at serial \(stored.serial) with other content than the zone now served at serial \(serial); it starts again (secondaries behind get the whole zone)", metadata: [
                "zone": "\(entry.origin)",
            ])
        }
        let fresh = ZoneJournal(serial: serial, digest: digest())
        save(fresh, entry.origin)
        return Served(base: zone, zone: served, records: records, raisedAt: raisedAt, journal: fresh)
    }

    /// `after`'s journal with the change to `zone` and `records` recorded, and written to
    /// `journal-dir`; `after`'s own when nothing changed. A change that keeps the serial (an edit
    /// under `serial-policy: keep` without a new one) cannot be sent: the journal starts again at
    /// that serial.
    private func journal(_ entry: ZoneEntry, after: Served, zone: Zone, records: [TransferRecord]) -> ZoneJournal? {
        guard entry.transfer != nil, let serial = zone.serial else { return nil }
        let next = TransferSnapshot(zone: zone, serviceRecords: records)
        if let kept = after.journal, kept.serial == serial, kept.digest == next.contentDigest { return kept }
        var journal: ZoneJournal
        if let old = after.zone.serial, old != serial,
           let change = ZoneChange.diff(from: TransferSnapshot(zone: after.zone, serviceRecords: after.records), to: next) {
            journal = after.journal ?? ZoneJournal(serial: old, digest: after.digest)
            journal.record(change, digest: next.contentDigest)
        } else {
            journal = ZoneJournal(serial: serial, digest: next.contentDigest)
        }
        save(journal, entry.origin)
        return journal
    }

    /// Writes zone `origin`'s journal; a journal that cannot be written is logged (IXFR is still
    /// answered from memory until the next restart). Called under the state lock, so the files
    /// are written in the order the versions were served.
    private func save(_ journal: ZoneJournal, _ origin: DNSName) {
        let store = JournalStore(directory: deployment.config.journalDirectory)
        do {
            try store.write(journal, origin: origin)
        } catch {
            logger.error("\(store.path(for: origin)): journal not written: \(error)")
        }
    }
}
