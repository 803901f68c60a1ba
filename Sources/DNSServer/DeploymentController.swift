import DNSSEC
import DNSAuth
import DNSWire
import DNSZone
import FleetModel
import Foundation
import IPNet
public import Health
public import Logging
import Metrics
import QueryEngine
import Routing
import ServerConfig
import ZoneTransfer

/// Keeps the server answering from the current deployment: runs its health monitor, and reloads
/// (on SIGHUP or the admin API) the configuration, the zone files (those unchanged are kept), the
/// geo database and the routing table off the query path, then swaps them in with one atomic store.
/// A file with an error is logged with its file and line and leaves the old data serving; health
/// carries over through the state file for every address whose check did not change. Drains go to
/// the current monitor. An actor: reloads and drains never interleave.
public actor DeploymentController {
    /// The file reloads read: the configuration file, or with `config-source: etcd` the pushed
    /// one once installed (`FleetConfigSource.path`).
    private(set) var configPath: String
    let server: DNSServer
    let logger: Logger
    public internal(set) var deployment: Deployment
    private(set) var monitor: HealthMonitor?
    private var monitorTask: Task<Void, Never>?
    /// When each zone (by origin) was last read from its file, seconds since 1970.
    var zoneLoadedAt: [String: Double] = [:]
    /// The last reload: when, and its problems (empty when it succeeded).
    private(set) var lastReload: (at: Double, problems: [String])?
    let history = HealthHistory()
    /// Zone file stamps at the last poll of `watch-zones`, and those of the last watched reload that failed.
    var watchedStamps: [FileStamp?] = []
    var failedStamps: [FileStamp?]?
    let startedAt = Date().timeIntervalSince1970
    /// Routed-answer totals taken every `shareSampleInterval`, for answer shares over `shareWindow`.
    var answerSamples: [(at: Double, answers: [QueryStatistics.AnswerKey: UInt64])] = []
    /// The SOA serial each zone (by origin) was last served with, to NOTIFY only on a change.
    var servedSerials: [String: UInt32?] = [:]
    /// The NOTIFY tasks still retrying, by zone origin; a newer serial cancels the older ones.
    var notifyTasks: [String: [Task<Void, Never>]] = [:]
    /// The current deployment's zones and service records as secondaries see them.
    private(set) var publication: ServicePublication?
    /// The secondary zones' timers and the tasks that refresh them (SecondaryZones.swift).
    var secondary = SecondaryZones()
    /// This instance in its fleet (`fleet:`), made at the first start and kept across reloads.
    private(set) var fleet: FleetJoin?
    private var fleetTask: Task<Void, Never>?
    /// After a key change that failed (a scheduled rollover that could not begin, a reload that
    /// was rejected), key times are not acted on again before this time: no reload every second.
    private var keyRetryAt: Int64 = 0
    /// `meridian --version`, for the fleet membership record.
    let version: String
    /// With `config-source: etcd`: this instance's own `fleet:` section (kept over the stored
    /// configuration's), the revision of the stored configuration served, and why the last one
    /// did not load (for the membership record).
    private let fleetBootstrap: ServerConfiguration?
    private var configRevision: Int64
    private var configProblem: String?

    public init(configPath: String, deployment: Deployment, server: DNSServer, logger: Logger, version: String = "",
                configRevision: Int64 = 0) {
        self.version = version
        fleetBootstrap = deployment.config.fleet?.configSource == .etcd ? deployment.config : nil
        self.configRevision = configRevision
        self.configPath = configPath
        self.deployment = deployment
        self.deployment.notifyInbox = NotifyInbox()
        self.server = server
        self.logger = logger
        let now = Date().timeIntervalSince1970
        for z in deployment.zones { zoneLoadedAt[z.entry.origin.description] = now }
    }

    /// Swaps the current deployment in and starts its health monitor, if it has services.
    public func start() throws(HealthError) {
        publication?.stop()
        let p = ServicePublication(deployment: deployment, server: server, previous: publication?.served ?? [:], logger: logger) {
            Task { await self.servedSerialsRaised() }
        }
        publication = p
        defer {
            logNotices()
            notifySecondaries()
            startSecondaries()
        }
        guard deployment.services != nil else {
            startFleet()
            p.update(nil)
            return
        }
        startFleet()
        let m = try deployment.healthMonitor(publication: p, history: history, fleet: fleet, logger: logger)
        monitor = m
        monitorTask = Task { try? await m.run() }
    }

    /// Sends NOTIFY to the `notify` secondaries of every zone now served with a serial other than
    /// the one served before (every zone at the first start), one task per secondary. A zone's
    /// transfer key signs it when `transfer.keys` names exactly one.
    func notifySecondaries() {
        let keyring = QueryEngine.Options(deployment.config).tsigKeys
        for (entry, zone) in publication?.zones ?? deployment.zones where !deployment.isUnavailable(entry.origin) {
            let origin = entry.origin.description
            if let previous = servedSerials[origin], previous == zone.serial { continue }
            servedSerials[origin] = zone.serial
            guard !entry.notify.isEmpty else { continue }
            for task in notifyTasks[origin] ?? [] { task.cancel() }
            var key: Int? = nil
            if let keys = entry.transfer?.keys, keys.count == 1 {
                key = keyring.keys.firstIndex { $0.name == keys[0] }
            }
            notifyTasks[origin] = entry.notify.map { secondary in
                let sender = NotifySender(zone: zone, secondary: secondary, keyring: keyring, key: key, logger: logger)
                return Task.detached { await sender.run() }
            }
        }
    }

    /// A health change raised served serials: secondaries are notified, and the fleet membership
    /// record shows the serials now served.
    private func servedSerialsRaised() {
        notifySecondaries()
        fleet?.member?.updateMember(memberRecord())
    }

    /// Joins the fleet at the first start (a `fleet:` added or changed by a reload takes effect at
    /// restart, as `listen` does), and tells it what this deployment serves.
    func startFleet() {
        guard let settings = deployment.config.fleet else { return }
        if fleet == nil {
            let join = FleetJoin()
            if let view = deployment.fleetView { join.viewChanged(view) }
            do {
                let onConfig: (@Sendable (StoredConfig) -> Void)? = settings.configSource == .etcd
                    ? { @Sendable stored in _ = Task { await self.fleetConfigChanged(stored) } } : nil
                let member = try FleetMember(settings: settings, member: memberRecord(), configRevision: configRevision, logger: logger,
                                             onConfig: onConfig) { view in
                    join.viewChanged(view)
                }
                join.connect(member)
                fleet = join
                fleetTask = Task.detached { await member.run() }
            } catch {
                logger.error("fleet: cannot start: \(error); answering from this instance's checks alone")
                return
            }
        }
        fleet?.member?.updateMember(memberRecord())
    }

    /// Makes again the signatures of every zone signed online that has `refresh` or less of their
    /// validity left (the zone as served, its key read again), with one swap of the engine; the
    /// old signatures serve until then, and keep serving if signing fails (logged).
    func resignIfDue() async {
        let now = Int64(Date().timeIntervalSince1970)
        // Keys of a key directory reached one of their times, or a ZSK its lifetime: a reload
        // reads those zones again with their new DNSKEY RRsets and signs them with the keys now active.
        var keysChanged = false
        for (zone, schedule) in deployment.keySchedules.sorted(by: { $0.key.description < $1.key.description }) where now >= keyRetryAt {
            if let due = schedule.rolloverDue, due <= now {
                switch beginRollover(zone) {
                case .success: keysChanged = true
                case .failure(let problem):
                    logger.error("DNSSEC: the scheduled ZSK rollover cannot begin: \(problem.text)", metadata: ["zone": "\(zone)"])
                    keyRetryAt = now + Self.keyRetry
                }
            }
            if let change = schedule.nextChange, change <= now { keysChanged = true }
        }
        if keysChanged {
            logger.notice("DNSSEC: key times reached; reloading to publish and sign with the keys of now")
            let problems = await reload()
            for problem in problems { logger.error("DNSSEC: reload after a key change failed; the old keys keep serving: \(problem)") }
            if !problems.isEmpty { keyRetryAt = now + Self.keyRetry }
            return
        }
        let (next, zones, problems) = deployment.resigned(now: now)
        for problem in problems { logger.error("DNSSEC: signing again failed; the old signatures keep serving: \(problem)") }
        guard !zones.isEmpty else { return }
        await stop()
        deployment = next
        do {
            try start()
        } catch {
            logger.error("DNSSEC: health checks cannot start; answering with every address up", metadata: ["error": "\(error)"])
            server.replaceEngine(next.engine())
        }
        for zone in zones {
            logger.notice("DNSSEC: zone signed again", metadata: [
                "zone": "\(zone)", "expiration": "\(next.signatures[zone].map { String($0.validity.expiration) } ?? "")",
            ])
        }
    }

    /// What `POST /zones/{name}/rollover` answers: the ZSK rollover begun, times in seconds since 1970.
    public struct RolloverOutcome: Codable, Sendable {
        public var zone: String
        public var newKey: UInt16
        public var oldKey: UInt16
        public var newKeyFile: String
        /// The new key is published now, signs from `activate` (the old one stops then), and
        /// the old one leaves the DNSKEY RRset at `delete`.
        public var published: Int64
        public var activate: Int64
        public var delete: Int64
    }

    /// Begins a ZSK rollover by pre-publication of `zone` (signed online from a `key-directory`)
    /// by writing the new key and the times into the directory (`KeyDirectory.beginZSKRollover`):
    /// the new key signs once the DNSKEY RRset's TTL and the propagation delay have passed, and
    /// the old one goes once the zone's largest TTL (routed answers' and the negative TTL
    /// included) and the propagation delay have passed after that. Reload to publish it.
    func beginRollover(_ zone: DNSName) -> Result<RolloverOutcome, RolloverProblem> {
        guard let (entry, served) = deployment.zones.first(where: { $0.entry.origin == zone }) else {
            return .failure(RolloverProblem(text: "no zone \(zone)", notFound: true))
        }
        guard let settings = entry.signing, let directory = settings.keyDirectory else {
            return .failure(RolloverProblem(text: "\(deployment.config.file):\(entry.line): \(zone) has no dnssec.key-directory: roll its keys by hand (docs/OPERATIONS.md, DNSSEC)", notFound: false))
        }
        let apex = served.rrset(at: 0, .dnskey)
        let soa = served.rrset(at: 0, .soa)
        let dnskeyTTL = Int64(apex >= 0 ? served.rrsets[Int(apex)].ttl : (soa >= 0 ? served.rrsets[Int(soa)].ttl : 3_600))
        let routed = deployment.services?.routing.services.filter { $0.name.isSubdomain(of: zone) }.map(\.ttl).max() ?? 0
        let negative = deployment.signatures[zone]?.negativeTTL ?? 0
        let largest = Int64(max(served.rrsets.map(\.ttl).max() ?? 0, routed, negative))
        let now = Int64(Date().timeIntervalSince1970)
        do {
            let rollover = try KeyDirectory.beginZSKRollover(
                directory: directory, zone: zone, now: now, dnskeyTTL: dnskeyTTL, largestTTL: largest,
                propagation: settings.propagationDelay.components.seconds)
            logger.notice("DNSSEC: ZSK rollover begun", metadata: [
                "zone": "\(zone)", "new-key": "\(rollover.newKey.keyTag)", "old-key": "\(rollover.oldKey.keyTag)",
                "activate": "\(rollover.activate)", "delete": "\(rollover.delete)",
            ])
            return .success(RolloverOutcome(zone: "\(zone)", newKey: rollover.newKey.keyTag, oldKey: rollover.oldKey.keyTag,
                                            newKeyFile: rollover.newKey.path + ".key", published: now, activate: rollover.activate, delete: rollover.delete))
        } catch {
            return .failure(RolloverProblem(text: "\(deployment.config.file):\(settings.line): zones.dnssec: \(error)", notFound: false))
        }
    }

    /// Why a rollover did not begin.
    public struct RolloverProblem: Error, Sendable {
        public var text: String
        public var notFound: Bool
    }

    /// `beginRollover`, then a reload that publishes the new key.
    func rollover(_ zone: DNSName) async -> Result<RolloverOutcome, RolloverProblem> {
        let outcome = beginRollover(zone)
        guard case .success = outcome else { return outcome }
        let problems = await reload()
        guard problems.isEmpty else {
            return .failure(RolloverProblem(text: "the new key is written but the reload failed: " + problems.joined(separator: "; "), notFound: false))
        }
        return outcome
    }

    /// How long until the first signatures are due to be made again (at most `resignCheck`, since
    /// a reload can bring new ones); nil when no zone is signed online.
    func untilNextResign() -> Duration? {
        guard let due = deployment.nextResign else { return nil }
        let wait = max(1, min(due - Int64(Date().timeIntervalSince1970), Self.resignCheck))
        return .seconds(wait)
    }

    /// The longest the re-signing timer sleeps before it looks again (seconds): a reload may bring
    /// signatures due sooner, and 10 minutes is far below the shortest refresh allowed (validity
    /// ≥ 1h, so the default refresh ≥ 30 min).
    static let resignCheck: Int64 = 600
    /// How long a failed key change waits before it is tried again (seconds): long enough not to
    /// flood the log and the disk, short enough that a fixed key directory is picked up soon.
    static let keyRetry: Int64 = 60

    /// Leaves the fleet at shutdown: the member's task ends, revoking its lease, so the other
    /// instances stop counting this one at once rather than when the lease would lapse.
    public func leaveFleet() async {
        fleetTask?.cancel()
        _ = await fleetTask?.value
        fleetTask = nil
    }

    /// What this instance serves, as its fleet membership record says.
    private func memberRecord() -> MemberRecord {
        let zones = (publication?.zones ?? deployment.zones).map {
            ZoneStatus(name: $0.entry.origin.description, serial: $0.zone.serial ?? 0, lastReload: zoneLoadedAt[$0.entry.origin.description] ?? 0)
        }
        // FNV-1a (64 bits) of the file: equal files give equal digests on every instance.
        var digest: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in FileManager.default.contents(atPath: configPath) ?? Data() {
            digest ^= UInt64(b)
            digest &*= 0x0000_0100_0000_01B3
        }
        var ttls: [String: UInt32]? = nil
        if let routing = deployment.services?.routing {
            ttls = Dictionary(routing.sites.indices.map { (routing.sites[$0].name, Self.largestTTL(routing, site: $0)) }, uniquingKeysWith: max)
        }
        return MemberRecord(instance: deployment.config.fleet?.instance ?? "", version: version,
                            configDigest: String(digest, radix: 16), zones: zones, started: startedAt, configProblem: configProblem,
                            largestTTLs: ttls)
    }

    /// The largest TTL of the service names answering with data center `site`'s addresses (0
    /// when none does).
    private static func largestTTL(_ routing: RoutingTable, site: Int) -> UInt32 {
        let ids = Set(routing.addresses.indices.filter { Int(routing.addresses[$0].site) == site }.map(Int32.init))
        return routing.services.filter { !ids.isDisjoint(with: $0.candidates) }.map(\.ttl).max() ?? 0
    }

    /// A newer configuration stored in the fleet (`config-source: etcd`): written beside the
    /// bootstrap file as a candidate and loaded through the reload path; when it serves it
    /// replaces `fleet-config.yaml`, else it is removed, the old configuration keeps serving and
    /// this instance's membership record says why.
    func fleetConfigChanged(_ stored: StoredConfig) async {
        guard fleetBootstrap != nil, stored.modRevision > configRevision else { return }
        let installed = FleetConfigSource.path(bootstrap: configPath)
        let candidate = installed + ".new"
        logger.notice("fleet: a new configuration was pushed", metadata: ["revision": "\(stored.modRevision)", "file": "\(candidate)"])
        var problems: [String]
        let previous = configPath
        do {
            try Data(stored.text).write(to: URL(fileURLWithPath: candidate), options: .atomic)
            configPath = candidate
            problems = await reload()
            configPath = previous
            if problems.isEmpty {
                _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: installed), withItemAt: URL(fileURLWithPath: candidate))
                configPath = installed
            }
        } catch {
            configPath = previous
            problems = ["\(installed): \(error)"]
        }
        try? FileManager.default.removeItem(atPath: candidate)
        configRevision = stored.modRevision
        configProblem = problems.isEmpty ? nil : "revision \(stored.modRevision): " + problems.joined(separator: "; ")
        if let configProblem { logger.error("fleet: the pushed configuration does not load here; the old one keeps serving: \(configProblem)") }
        fleet?.member?.updateMember(memberRecord())
    }

    /// Logs what the current deployment's load had to say (`Deployment.notices`).
    func logNotices() {
        for notice in deployment.notices { logger.notice("\(notice)") }
    }

    /// Stops the health monitor (which saves the last states).
    public func stop() async {
        monitorTask?.cancel()
        _ = await monitorTask?.value
        monitorTask = nil
        monitor = nil
    }

    /// Reloads everything; returns the problems (empty on success, when the new data now serves).
    @discardableResult
    public func reload() async -> [String] {
        logger.notice("reload: reading \(configPath)")
        let now = Date().timeIntervalSince1970
        let problems: [String]
        let next: Deployment?
        do {
            var config = try ServerConfiguration.load(path: configPath, checkKinds: HealthCheckers.kinds)
            if let fleetBootstrap { config = FleetConfigSource.keepingLocal(config, from: fleetBootstrap) }
            if config.listen != deployment.config.listen || config.workers != deployment.config.workers
                || config.tcp != deployment.config.tcp || config.admin != deployment.config.admin
                || config.logLevel != deployment.config.logLevel || config.logFormat != deployment.config.logFormat
                || config.queryLog != deployment.config.queryLog || config.watchZones != deployment.config.watchZones
                || config.udpBuffers != deployment.config.udpBuffers || config.pidFile != deployment.config.pidFile
                || config.rateLimit != deployment.config.rateLimit
            {
                logger.warning("reload: listen, workers, tcp, admin, log-level, log-format, query-log, watch-zones, udp-receive-buffer, udp-send-buffer, pid-file and rate-limit take effect only at restart")
            }
            var loaded = try Deployment.load(config, reusing: deployment)
            loaded.notifyInbox = deployment.notifyInbox
            // Warnings of the zones read again (a zone kept as it was was reported when it was read).
            for (_, zone) in loaded.zones where !deployment.zones.contains(where: { $0.zone === zone }) {
                for warning in zone.warnings { logger.warning("\(warning)") }
            }
            next = loaded
            problems = []
        } catch let error as ServerConfigErrors {
            next = nil
            problems = error.errors.map(\.description)
        } catch let error as DeploymentErrors {
            next = nil
            problems = error.problems
        } catch {
            next = nil
            problems = ["\(error)"]
        }
        lastReload = (now, problems)
        Counter(label: "meridian_reloads_total", dimensions: [("outcome", next == nil ? "failed" : "ok")]).increment()
        guard let next else {
            for problem in problems { logger.error("reload failed, old data still serving: \(problem)") }
            logger.error("reload: rejected, old data still serving")
            return problems
        }
        let kept = next.zones.filter { z in deployment.zones.contains { $0.zone === z.zone } }
        for z in next.zones where !kept.contains(where: { $0.zone === z.zone }) { zoneLoadedAt[z.entry.origin.description] = now }
        await stop()
        deployment = next
        do {
            try start()
        } catch {
            logger.error("reload: health checks cannot start; answering with every address up", metadata: ["error": "\(error)"])
            publication?.update(nil)
        }
        logger.notice("reload: done", metadata: [
            "zones": "\(next.zones.count)", "unchanged": "\(kept.count)",
            "services": "\(next.services?.routing.services.count ?? 0)",
        ])
        return []
    }

    /// What a drain or undrain did.
    public struct DrainResult: Codable, Sendable {
        public var datacenter: String
        public var drained: Bool
        public var addresses: [String]
        /// Seconds since 1970 after which no resolver can still hold a cached answer with the data
        /// center: now + the largest TTL served for it (now when undrained).
        public var safeAfter: Double
        public var largestTTL: UInt32
        /// True when the drain was written to the fleet (every instance applies it); false when it
        /// holds on this instance only (no `fleet:`, or etcd could not be reached).
        public var fleet: Bool
    }

    /// Takes a data center out of every answer (or puts it back); nil when there is no such data
    /// center in the routing table. With `fleet:` the drain is written to etcd with `who` and
    /// `why`, and every instance applies it; when etcd cannot be reached it holds on this instance
    /// only (and `DrainResult.fleet` says so). An undrain also ends a drain of this instance's own.
    public func drain(_ name: String, _ on: Bool, who: String = "admin API", why: String = "") async -> DrainResult? {
        guard let routing = deployment.services?.routing,
              let site = routing.sites.firstIndex(where: { $0.name == name }), let monitor
        else { return nil }
        let ids = routing.addresses.indices.filter { Int(routing.addresses[$0].site) == site }
        // Safe once no resolver can hold an answer any instance gave: the largest TTL served for
        // the data center here or by any live instance of the fleet.
        let ttl = max(Self.largestTTL(routing, site: site), fleet?.member?.snapshot?.largestTTL(for: name) ?? 0)
        let now = Date().timeIntervalSince1970
        var fleetWide = false
        if let member = fleet?.member {
            do {
                try await member.setDrain(name, on ? DrainRecord(datacenter: name, who: who, when: now, why: why, safeAfter: now + Double(ttl)) : nil)
                fleetWide = true
            } catch {
                logger.warning("fleet: the drain could not be written to etcd; it holds on this instance only", metadata: [
                    "datacenter": "\(name)", "error": "\(error)",
                ])
            }
        }
        if !fleetWide || !on { monitor.setDrain(addressIDs: ids, on) }
        logger.notice(on ? "data center drained" : "data center undrained", metadata: [
            "datacenter": "\(name)", "largest-ttl": "\(ttl)", "fleet": "\(fleetWide)", "who": "\(who)",
        ])
        return DrainResult(datacenter: name, drained: on, addresses: ids.map { routing.addresses[$0].ip.description },
                           safeAfter: on ? now + Double(ttl) : now, largestTTL: ttl, fleet: fleetWide)
    }
}
