public import Health
public import Logging
import QueryEngine
public import HealthModel
import IPNet
import Routing
public import ServiceLifecycle
import ServerConfig
import DNSWire
import DNSZone
import Foundation
import Metrics
import Synchronization
import UnixSignals

/// The DNS listeners as a service of the service group: they are already answering when the
/// group starts; graceful shutdown closes them.
public struct DNSService: Service {
    let server: DNSServer
    let logger: Logger

    public init(server: DNSServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        logger.notice("stopping")
        server.shutdown()
    }
}

extension Deployment {
    /// The addresses the health monitor watches: one per routing-table address, with its check.
    public var monitoredAddresses: [MonitoredAddress] {
        guard let routing = services?.routing else { return [] }
        return routing.addresses.enumerated().map { id, a in
            MonitoredAddress(id: id, datacenter: routing.sites[Int(a.site)].name, ip: a.ip.description,
                             target: a.checkTarget, check: a.check)
        }
    }

    /// A health monitor for this deployment that swaps a new engine into `server` on every change,
    /// logs each service whose every candidate goes down or comes back, and keeps `history`.
    func healthMonitor(server: DNSServer, history: HealthHistory, logger: Logger) throws(HealthError) -> HealthMonitor {
        let watch = AllDownWatch(deployment: self, logger: logger)
        let monitor = try HealthMonitor(
            addresses: monitoredAddresses, checks: config.routing.checks, stateFile: config.routing.healthStateFile,
            logger: logger
        ) { snapshot in
            server.replaceEngine(engine(health: snapshot))
            watch.update(snapshot)
            history.update(snapshot, self)
        }
        server.replaceEngine(engine(health: monitor.snapshot))
        watch.update(monitor.snapshot)
        history.update(monitor.snapshot, self)
        return monitor
    }
}

/// The last state changes of every address (by data center and IP, so they outlive reloads),
/// for the status page.
final class HealthHistory: Sendable {
    /// One published state of an address.
    struct Change: Codable, Sendable, Equatable {
        var at: Double
        var state: String
        var reason: String
    }
    /// Changes kept per address.
    static let depth = 20
    private let changes = Mutex<[String: [Change]]>([:])

    static func key(datacenter: String, ip: String) -> String { datacenter + "|" + ip }

    /// Records every address whose published state differs from its last recorded one.
    func update(_ snapshot: HealthSnapshot, _ deployment: Deployment) {
        guard let routing = deployment.services?.routing else { return }
        changes.withLock { changes in
            for (id, a) in routing.addresses.enumerated() where id < snapshot.states.count {
                let key = Self.key(datacenter: routing.sites[Int(a.site)].name, ip: a.ip.description)
                let state = snapshot.states[id].description
                if changes[key]?.last?.state == state { continue }
                changes[key, default: []].append(Change(at: snapshot.since[id], state: state, reason: snapshot.reasons[id]))
                if changes[key]!.count > Self.depth { changes[key]!.removeFirst() }
            }
        }
    }

    func changes(datacenter: String, ip: String) -> [Change] {
        changes.withLock { $0[Self.key(datacenter: datacenter, ip: ip)] ?? [] }
    }
}

/// Logs (and counts, as `meridian_service_all_down_total`) the services whose every candidate is
/// down, when that starts and ends: the query path answers them fail-open or NODATA without saying anything.
final class AllDownWatch: Sendable {
    let deployment: Deployment
    let logger: Logger
    private let down = Mutex<Set<Int>>([])

    init(deployment: Deployment, logger: Logger) {
        self.deployment = deployment
        self.logger = logger
    }

    func update(_ snapshot: HealthSnapshot) {
        guard let routing = deployment.services?.routing else { return }
        var now = Set<Int>()
        for (i, service) in routing.services.enumerated()
        where !service.candidates.isEmpty && service.candidates.allSatisfy({ Int($0) < snapshot.states.count && snapshot.states[Int($0)] != .up }) {
            now.insert(i)
        }
        let before = down.withLock { old in
            defer { old = now }
            return old
        }
        for i in now.subtracting(before) {
            let s = routing.services[i]
            Counter(label: "meridian_service_all_down_total", dimensions: [("service", s.name.description)]).increment()
            logger.error("every candidate of the service is down", metadata: [
                "service": "\(s.name)",
                "answering": "\(s.whenAllDown == .failOpen ? "all candidates (fail open)" : "NODATA (fail closed)")",
            ])
        }
        for i in before.subtracting(now) {
            logger.notice("a candidate of the service is up again", metadata: ["service": "\(routing.services[i].name)"])
        }
    }
}

/// Keeps the server answering from the current deployment: runs its health monitor, and reloads
/// (on SIGHUP or the admin API) the configuration, the zone files (those unchanged are kept), the
/// geo database and the routing table off the query path, then swaps them in with one atomic store.
/// A file with an error is logged with its file and line and leaves the old data serving; health
/// carries over through the state file for every address whose check did not change. Drains go to
/// the current monitor. An actor: reloads and drains never interleave.
public actor DeploymentController {
    let configPath: String
    let server: DNSServer
    let logger: Logger
    public private(set) var deployment: Deployment
    private var monitor: HealthMonitor?
    private var monitorTask: Task<Void, Never>?
    /// When each zone (by origin) was last read from its file, seconds since 1970.
    private var zoneLoadedAt: [String: Double] = [:]
    /// The last reload: when, and its problems (empty when it succeeded).
    private var lastReload: (at: Double, problems: [String])?
    private let history = HealthHistory()
    /// Zone file stamps at the last poll of `watch-zones`, and those of the last watched reload that failed.
    private var watchedStamps: [FileStamp?] = []
    private var failedStamps: [FileStamp?]?
    private let startedAt = Date().timeIntervalSince1970
    /// Routed-answer totals taken every `shareSampleInterval`, for answer shares over `shareWindow`.
    private var answerSamples: [(at: Double, answers: [QueryStatistics.AnswerKey: UInt64])] = []
    /// The window of the answer shares on the status page, in seconds.
    public static let shareWindow = 300.0
    static let shareSampleInterval: Duration = .seconds(10)

    public init(configPath: String, deployment: Deployment, server: DNSServer, logger: Logger) {
        self.configPath = configPath
        self.deployment = deployment
        self.server = server
        self.logger = logger
        let now = Date().timeIntervalSince1970
        for z in deployment.zones { zoneLoadedAt[z.entry.origin.description] = now }
    }

    /// Swaps the current deployment in and starts its health monitor, if it has services.
    public func start() throws(HealthError) {
        guard deployment.services != nil else {
            server.replaceEngine(deployment.engine())
            return
        }
        let m = try deployment.healthMonitor(server: server, history: history, logger: logger)
        monitor = m
        monitorTask = Task { try? await m.run() }
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
            let config = try ServerConfiguration.load(path: configPath, checkKinds: HealthCheckers.kinds)
            if config.listen != deployment.config.listen || config.workers != deployment.config.workers
                || config.tcp != deployment.config.tcp || config.admin != deployment.config.admin
                || config.logLevel != deployment.config.logLevel || config.logFormat != deployment.config.logFormat
                || config.queryLog != deployment.config.queryLog || config.watchZones != deployment.config.watchZones
                || config.udpBuffers != deployment.config.udpBuffers || config.pidFile != deployment.config.pidFile
                || config.rateLimit != deployment.config.rateLimit
            {
                logger.warning("reload: listen, workers, tcp, admin, log-level, log-format, query-log, watch-zones, udp-receive-buffer, udp-send-buffer, pid-file and rate-limit take effect only at restart")
            }
            let loaded = try Deployment.load(config, reusing: deployment)
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
            server.replaceEngine(next.engine())
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
    }

    /// Takes a data center out of every answer (or puts it back); nil when there is no such data
    /// center in the routing table.
    public func drain(_ name: String, _ on: Bool) -> DrainResult? {
        guard let routing = deployment.services?.routing,
              let site = routing.sites.firstIndex(where: { $0.name == name }), let monitor
        else { return nil }
        let ids = routing.addresses.indices.filter { Int(routing.addresses[$0].site) == site }
        monitor.setDrain(addressIDs: ids, on)
        let idSet = Set(ids.map(Int32.init))
        let ttl = routing.services.filter { !idSet.isDisjoint(with: $0.candidates) }.map(\.ttl).max() ?? 0
        let now = Date().timeIntervalSince1970
        logger.notice(on ? "data center drained" : "data center undrained", metadata: ["datacenter": "\(name)", "largest-ttl": "\(ttl)"])
        return DrainResult(datacenter: name, drained: on, addresses: ids.map { routing.addresses[$0].ip.description },
                           safeAfter: on ? now + Double(ttl) : now, largestTTL: ttl)
    }

    /// `watch-zones`: reloads when a zone file differs from the one serving and has not changed
    /// since the previous poll (so a file still being written is not read half-way). A reload that
    /// fails is not retried until a file changes again. Files pulled in with `$INCLUDE` are not watched.
    func reloadIfZoneFilesChanged() async {
        let now = deployment.config.zones.map { FileStamp(path: $0.file) }
        defer { watchedStamps = now }
        let serving = deployment.config.zones.map { deployment.stamps[$0.file] }
        guard now != serving, now == watchedStamps, now != failedStamps else { return }
        logger.notice("zone file changed on disk: reloading")
        failedStamps = await reload().isEmpty ? nil : now
    }

    /// Takes a sample of the routed-answer totals and drops those older than the share window.
    func sampleAnswers() {
        let now = Date().timeIntervalSince1970
        answerSamples.append((now, server.answerTotals()))
        answerSamples.removeAll { now - $0.at > Self.shareWindow + 30 }
    }

    /// The state an operator needs: zones with serials and load times, services with their answer
    /// share per data center over the last `shareWindow` seconds, data centers with per-address
    /// health (since when, why, the last changes), the last reload.
    public func status() -> Status {
        var s = Status()
        let now = Date().timeIntervalSince1970
        s.generatedAt = now
        let answers = server.answerTotals()
        // The oldest sample still inside the window (none yet: counts since start).
        let base = answerSamples.first { now - $0.at <= Self.shareWindow }
        let window = base.map { now - $0.at } ?? min(Self.shareWindow, now - startedAt)
        s.zones = deployment.zones.map {
            .init(origin: $0.entry.origin.description, file: $0.entry.file, serial: $0.zone.serial, records: $0.zone.recordCount,
                  loadedAt: zoneLoadedAt[$0.entry.origin.description] ?? 0)
        }
        if let routing = deployment.services?.routing {
            let health = monitor?.snapshot ?? .allUp(count: routing.addresses.count)
            let policies = Dictionary(deployment.config.routing.services.map { ($0.name, $0.policy) }, uniquingKeysWith: { a, _ in a })
            s.services = routing.services.map { service in
                let name = service.name.description
                var share: [String: UInt64] = [:]
                for site in routing.sites {
                    let key = QueryStatistics.AnswerKey(service: name, datacenter: site.name)
                    let n = (answers[key] ?? 0) - min(answers[key] ?? 0, base?.answers[key] ?? 0)
                    if n > 0 { share[site.name] = n }
                }
                return .init(name: name, ttl: service.ttl, degradedTTL: service.degradedTTL,
                             policy: policies[service.name]?.name ?? "",
                             share: .init(windowSeconds: window.rounded(), answers: share))
            }
            s.datacenters = routing.sites.enumerated().map { index, site in
                let addresses: [Status.Address] = routing.addresses.indices.filter { Int(routing.addresses[$0].site) == index }.map { id in
                    let a = routing.addresses[id]
                    let known = id < health.states.count
                    return .init(ip: a.ip.description, check: a.check, state: known ? health.states[id].description : "up",
                                 since: known ? health.since[id] : 0, reason: known ? health.reasons[id] : "",
                                 history: history.changes(datacenter: site.name, ip: a.ip.description))
                }
                let state = addresses.contains { $0.state == "up" } ? "up" : (addresses.contains { $0.state == "drain" } ? "drain" : "down")
                return .init(name: site.name, state: state, addresses: addresses)
            }
        }
        if let r = lastReload { s.lastReload = .init(at: r.at, ok: r.problems.isEmpty, problems: r.problems) }
        return s
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
            var ip: String; var check: String?; var state: String; var since: Double; var reason: String
            var history: [HealthHistory.Change]
        }
        public struct DataCenter: Codable, Sendable { var name: String; var state: String; var addresses: [Address] }
        public struct Reload: Codable, Sendable { var at: Double; var ok: Bool; var problems: [String] }
        public var zones: [ZoneStatus] = []
        public var services: [ServiceStatus] = []
        public var datacenters: [DataCenter] = []
        public var lastReload: Reload?
        public var generatedAt: Double = 0
    }
}

/// Runs the deployment controller as a service: starts its monitor, reloads on every SIGHUP,
/// samples the answer totals for the status page's shares, and stops the monitor at shutdown.
public struct DeploymentService: Service {
    let controller: DeploymentController

    public init(controller: DeploymentController) { self.controller = controller }

    public func run() async throws {
        try await controller.start()
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let controller = controller
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        await controller.sampleAnswers()
                        try? await Task.sleep(for: DeploymentController.shareSampleInterval)
                    }
                }
                group.addTask {
                    for await _ in hangups { await controller.reload() }
                }
                if let interval = await controller.deployment.config.watchZones {
                    group.addTask {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: interval)
                            await controller.reloadIfZoneFilesChanged()
                        }
                    }
                }
            }
        }
        await controller.stop()
    }
}
