import DNSAuth
public import DNSWire
import DNSZone
import Foundation
import IPNet
import Logging
import Metrics
import QueryEngine
import ServerConfig
import ZoneTransfer

/// The refresh state of every secondary zone (by origin), kept by `DeploymentController` across
/// reloads: RFC 1034 §4.3.5's timers, read from each copy's SOA.
struct SecondaryZones {
    /// How often the scheduler looks at the timers and the requests (NOTIFY, `zone refresh`): a
    /// NOTIFY starts its refresh within this, well inside the 2 s a change should take to serve.
    static let tick: Duration = .milliseconds(100)
    /// Each wait (REFRESH, RETRY) is shortened by a random share of up to this much, so that zones
    /// loaded together (every zone at a restart) and secondaries started together do not query
    /// their primaries in step; a wait is never longer than the SOA asks.
    static let jitter = 0.1
    /// The wait before the next try when no copy (hence no SOA RETRY) exists: short, since the
    /// zone answers SERVFAIL until it is transferred.
    static let retryWithoutCopy: Double = 5
    /// The shortest REFRESH or RETRY honoured, so an SOA with 0 cannot make us query in a loop.
    static let minimumWait: Double = 1

    struct State {
        var entry: ZoneEntry
        /// The primary that answered last, the serial we hold and when it was last confirmed.
        var primary: String?
        var serial: UInt32?
        var lastRefresh: Double?
        var lastError: String?
        var lastErrorAt: Double?
        var nextRefresh: Double
        var expiresAt: Double?
        var refreshing = false
        /// A request (NOTIFY, by hand) that came while a refresh ran: refresh again at its end.
        var again = false
    }

    var states: [DNSName: State] = [:]
    var task: Task<Void, Never>?
    var inboxTask: Task<Void, Never>?
    /// When a refused NOTIFY was last logged, and how many were refused since without a line.
    var refusedLoggedAt: Double = 0
    var refusedUnlogged = 0

    /// Refused NOTIFYs are logged at most this often: a flood (perhaps spoofed) must not flood the log.
    static let refusedLogInterval: Double = 1

    /// A wait of `seconds` (at least `minimumWait`) shortened by up to `jitter`.
    static func wait(_ seconds: UInt32) -> Double {
        max(minimumWait, Double(seconds)) * (1 - Double.random(in: 0...jitter))
    }
}

/// What `/status` shows of one secondary zone.
public struct SecondaryStatus: Codable, Sendable {
    var origin: String
    var primaries: [String]
    var primary: String?
    var serial: UInt32?
    var lastRefresh: Double?
    var lastError: String?
    var lastErrorAt: Double?
    var nextRefresh: Double
    var expiresAt: Double?
    /// True while the zone answers SERVFAIL (no copy yet, or expired).
    var expired: Bool
}

extension DeploymentController {
    /// Brings the secondary states in line with the deployment's zones (new zones refresh now,
    /// removed ones are forgotten) and starts the scheduler and the NOTIFY reader once.
    func startSecondaries() {
        let now = Date().timeIntervalSince1970
        var states: [DNSName: SecondaryZones.State] = [:]
        for (entry, zone) in deployment.zones where entry.isSecondary {
            if var old = secondary.states[entry.origin] {
                old.entry = entry
                states[entry.origin] = old
                continue
            }
            let held = zone.soaFields != nil  // a stored copy, current or expired
            let refreshed = held ? Deployment.modificationTime(entry.file) : nil
            states[entry.origin] = SecondaryZones.State(
                entry: entry, serial: held ? zone.serial : nil, lastRefresh: refreshed, nextRefresh: now,
                expiresAt: refreshed.flatMap { r in zone.soaFields.map { r + Double($0.expire) } })
        }
        secondary.states = states
        if secondary.inboxTask == nil, let inbox = deployment.notifyInbox {
            secondary.inboxTask = Task { [weak self] in
                for await event in inbox.events { await self?.received(event) }
            }
        }
        guard secondary.task == nil, !states.isEmpty else { return }
        secondary.task = Task { [weak self] in
            while !Task.isCancelled, let controller = self {
                await controller.secondaryTick()
                try? await Task.sleep(for: SecondaryZones.tick)
            }
        }
    }

    /// Acts on a NOTIFY the engine answered: an accepted one asks for a refresh, a refused one is
    /// logged (at most `refusedLogInterval` apart; the lines left out are counted in the next).
    func received(_ event: NotifyInbox.Event) {
        switch event {
        case .accepted(let zone):
            requestRefresh(zone, reason: "NOTIFY")
        case .refused(let zone, let client):
            let now = Date().timeIntervalSince1970
            guard now - secondary.refusedLoggedAt >= SecondaryZones.refusedLogInterval else {
                secondary.refusedUnlogged += 1
                return
            }
            let access = deployment.config.zones.first { $0.origin == zone }
            let why = access?.isSecondary == true
                ? (access?.primaries.contains { $0.host == client.description } == true ? "not signed with its primary-key" : "not from one of its primaries")
                : "not a secondary zone"
            logger.warning("secondary: NOTIFY refused", metadata: [
                "client": "\(client)", "zone": "\(zone)", "reason": "\(why)", "not-logged-before": "\(secondary.refusedUnlogged)",
            ])
            secondary.refusedLoggedAt = now
            secondary.refusedUnlogged = 0
        }
    }

    /// Asks for a refresh of secondary zone `origin` now; false when it is not a secondary zone.
    @discardableResult
    public func requestRefresh(_ origin: DNSName, reason: String) -> Bool {
        guard var state = secondary.states[origin] else { return false }
        logger.info("secondary: refresh requested", metadata: ["zone": "\(origin)", "reason": "\(reason)"])
        if state.refreshing { state.again = true } else { state.nextRefresh = 0 }
        secondary.states[origin] = state
        return true
    }

    /// Expires zones whose EXPIRE passed and starts the refreshes that are due.
    func secondaryTick() async {
        let now = Date().timeIntervalSince1970
        for (origin, state) in secondary.states {
            if let expires = state.expiresAt, now >= expires, !deployment.isUnavailable(origin) {
                logger.error("secondary: zone expired, answering SERVFAIL until a refresh succeeds", metadata: [
                    "zone": "\(origin)", "last-refresh": "\(state.lastRefresh.map { "\($0)" } ?? "-")",
                ])
                await replaceZone(origin, with: nil, unavailable: true)
            }
            guard let current = secondary.states[origin], !current.refreshing, now >= current.nextRefresh else { continue }
            startRefresh(origin)
        }
    }

    func startRefresh(_ origin: DNSName) {
        guard var state = secondary.states[origin],
              let zone = deployment.zones.first(where: { $0.entry.origin == origin })?.zone else { return }
        state.refreshing = true
        secondary.states[origin] = state
        let keyring = QueryEngine.Options(deployment.config).tsigKeys
        let hasCopy = state.serial != nil
        let refresh = SecondaryRefresh(
            entry: state.entry, keyring: keyring, key: state.entry.primaryKey.flatMap { k in keyring.keys.firstIndex { $0.name == k } },
            ourSerial: hasCopy ? zone.serial : nil, ourSOA: hasCopy ? zone.soaRData : nil)
        Task { [weak self] in
            let outcome = await Self.onThread { refresh.run() }
            await self?.finishRefresh(origin, outcome)
        }
    }

    /// Runs `body` on a thread of its own (blocking I/O stays off the cooperative pool).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "meridian-secondary"
            thread.start()
        }
    }

    func finishRefresh(_ origin: DNSName, _ outcome: SecondaryRefresh.Outcome) async {
        guard var state = secondary.states[origin] else { return }
        let now = Date().timeIntervalSince1970
        let zoneName = "\(origin)"
        switch outcome {
        case .current(let primary, let serial):
            state.primary = "\(primary)"
            state.serial = serial
            state.lastRefresh = now
            state.lastError = nil
            let timers = deployment.zones.first { $0.entry.origin == origin }?.zone.soaFields
            state.expiresAt = timers.map { now + Double($0.expire) }
            state.nextRefresh = now + SecondaryZones.wait(timers?.refresh ?? 3600)
            logger.debug("secondary: zone is current", metadata: ["zone": "\(zoneName)", "primary": "\(primary)", "serial": "\(serial)"])
            count(zoneName, "current")
            if deployment.isUnavailable(origin) {
                logger.notice("secondary: zone refreshed after expiry, answering again", metadata: ["zone": "\(zoneName)"])
                secondary.states[origin] = state
                await replaceZone(origin, with: nil, unavailable: false)
                state = secondary.states[origin] ?? state
            }
        case .transferred(let primary, let zone, let kind, let records):
            for warning in zone.warnings { logger.warning("\(warning)") }
            state.primary = "\(primary)"
            state.serial = zone.serial
            state.lastRefresh = now
            state.lastError = nil
            let timers = zone.soaFields
            state.expiresAt = timers.map { now + Double($0.expire) }
            state.nextRefresh = now + SecondaryZones.wait(timers?.refresh ?? 3600)
            logger.notice("secondary: zone transferred", metadata: [
                "zone": "\(zoneName)", "primary": "\(primary)", "serial": "\(zone.serial.map { "\($0)" } ?? "-")",
                "kind": "\(kind)", "records": "\(records)",
            ])
            count(zoneName, "transferred")
            secondary.states[origin] = state
            if deployment.zones.first(where: { $0.entry.origin == origin })?.entry.interpretsCatalog == true,
               await catalogChanged(origin) {
                state = secondary.states[origin] ?? state
                break
            }
            await replaceZone(origin, with: zone, unavailable: false)
            state = secondary.states[origin] ?? state
        case .failed(let failures):
            state.lastError = failures.map { "\($0.primary): \($0.reason)" }.joined(separator: "; ")
            state.lastErrorAt = now
            let retry = deployment.zones.first { $0.entry.origin == origin }?.zone.soaFields?.retry
            state.nextRefresh = now + (state.serial == nil ? SecondaryZones.retryWithoutCopy : SecondaryZones.wait(retry ?? 600))
            for failure in failures {
                logger.error("secondary: refresh failed, old data still serving", metadata: [
                    "zone": "\(zoneName)", "primary": "\(failure.primary)", "reason": "\(failure.reason)",
                ])
            }
            count(zoneName, "failed")
        }
        state.refreshing = false
        if state.again {
            state.again = false
            state.nextRefresh = 0
        }
        secondary.states[origin] = state
    }

    /// After a transfer of the consumed catalog `origin` (already stored): when the members it
    /// lists differ from the ones served (a member added or removed, or a unique ID changed), the
    /// deployment is reloaded, as `reload()` does, so new members get their timers and first
    /// transfer and removed ones stop being served. The stored copy of a removed member is
    /// deleted, and so is the copy of a member whose ID changed, so it is transferred again by AXFR
    /// (RFC 9432 §5.4). Returns false (nothing done) when the member set is unchanged.
    func catalogChanged(_ origin: DNSName) async -> Bool {
        let (entries, _) = Deployment.catalogMemberEntries(deployment.config)
        let now = entries.filter { $0.memberCatalog == origin }
        let before = deployment.zones.map(\.entry).filter { $0.memberCatalog == origin }
        let key: (ZoneEntry) -> String = { "\($0.origin) \($0.memberID)" }
        guard Set(now.map(key)) != Set(before.map(key)) else { return false }
        for old in before where !now.contains(where: { $0.origin == old.origin && $0.memberID == old.memberID }) {
            let renamed = now.contains { $0.origin == old.origin }
            logger.notice(renamed ? "catalog: member's unique ID changed, transferring it again" : "catalog: member removed", metadata: [
                "catalog": "\(origin)", "zone": "\(old.origin)",
            ])
            try? FileManager.default.removeItem(atPath: old.file)
            secondary.states[old.origin] = nil
        }
        for new in now where !before.contains(where: { $0.origin == new.origin }) {
            logger.notice("catalog: member added", metadata: ["catalog": "\(origin)", "zone": "\(new.origin)"])
        }
        let problems = await reload()
        if !problems.isEmpty {
            // The catalog's new copy is on disk; serve it even though the members could not be reloaded.
            return false
        }
        return true
    }

    /// Serves `zone` (when given) for `origin`, answering SERVFAIL or not, with one swap of the
    /// engine; the health monitor is restarted over the new deployment as a reload does.
    func replaceZone(_ origin: DNSName, with zone: Zone?, unavailable: Bool) async {
        guard let next = deployment.replacing(origin, with: zone, unavailable: unavailable) else { return }
        await stop()
        deployment = next
        if zone != nil { zoneLoadedAt[origin.description] = Date().timeIntervalSince1970 }
        do {
            try start()
        } catch {
            logger.error("secondary: health checks cannot start; answering with every address up", metadata: ["error": "\(error)"])
            server.replaceEngine(next.engine())
        }
    }

    private func count(_ zone: String, _ outcome: String) {
        Counter(label: "meridian_secondary_refresh_total", dimensions: [("zone", zone), ("outcome", outcome)]).increment()
    }

    /// The secondary zones for `/status`.
    func secondaryStatus() -> [SecondaryStatus] {
        secondary.states.values.sorted { $0.entry.origin < $1.entry.origin }.map { s in
            SecondaryStatus(origin: "\(s.entry.origin)", primaries: s.entry.primaries.map(\.description), primary: s.primary,
                            serial: s.serial, lastRefresh: s.lastRefresh, lastError: s.lastError, lastErrorAt: s.lastErrorAt,
                            nextRefresh: s.nextRefresh, expiresAt: s.expiresAt, expired: deployment.isUnavailable(s.entry.origin))
        }
    }
}

extension DeploymentController {
    /// Sends NOTIFY for zone `origin` to its `notify` secondaries now, whatever its serial (the
    /// admin API's `POST /zones/{name}/notify`); returns the secondaries, nil when no such zone is
    /// served or it has no copy to announce.
    public func notifyNow(_ origin: DNSName) -> [String]? {
        guard let (entry, zone) = deployment.zones.first(where: { $0.entry.origin == origin }),
              !deployment.isUnavailable(origin) else { return nil }
        let keyring = QueryEngine.Options(deployment.config).tsigKeys
        var key: Int? = nil
        if let keys = entry.transfer?.keys, keys.count == 1 { key = keyring.keys.firstIndex { $0.name == keys[0] } }
        let name = origin.description
        for task in notifyTasks[name] ?? [] { task.cancel() }
        notifyTasks[name] = entry.notify.map { secondary in
            let sender = NotifySender(zone: zone, secondary: secondary, keyring: keyring, key: key, logger: logger)
            return Task.detached { await sender.run() }
        }
        logger.notice("notify: sent by hand", metadata: ["zone": "\(name)", "secondaries": "\(entry.notify.count)"])
        return entry.notify.map(\.description)
    }
}
