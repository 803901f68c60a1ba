public import Health
public import Logging
import QueryEngine
import GeoIP
public import Routing
public import ServiceLifecycle
public import ServerConfig
import DNSWire
import DNSZone
import Foundation
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

    /// The configured checks, as the health monitor takes them.
    public var checkDefinitions: [CheckDefinition] {
        config.routing.checks.map {
            CheckDefinition(name: $0.name, type: $0.type, interval: $0.interval, timeout: $0.timeout, jitter: $0.jitter,
                            rise: $0.rise, fall: $0.fall, parameters: $0.parameters)
        }
    }

    /// A health monitor for this deployment that swaps a new engine into `server` on every change
    /// and logs each service whose every candidate goes down or comes back.
    public func healthMonitor(server: DNSServer, logger: Logger) throws(HealthError) -> HealthMonitor {
        let watch = AllDownWatch(deployment: self, logger: logger)
        let monitor = try HealthMonitor(
            addresses: monitoredAddresses, checks: checkDefinitions, stateFile: config.routing.healthStateFile,
            logger: logger
        ) { snapshot in
            server.replaceEngine(engine(health: snapshot))
            watch.update(snapshot)
        }
        server.replaceEngine(engine(health: monitor.snapshot))
        watch.update(monitor.snapshot)
        return monitor
    }
}

/// Logs (and counts) the services whose every candidate is down, when that starts and ends: the
/// query path answers them fail-open or NODATA without saying anything.
final class AllDownWatch: Sendable {
    let deployment: Deployment
    let logger: Logger
    private let down = Mutex<Set<Int>>([])
    /// How many times a service has gone all-down since start.
    let events = Atomic<Int>(0)

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
            events.add(1, ordering: .relaxed)
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
        let m = try deployment.healthMonitor(server: server, logger: logger)
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
            let config = try ServerConfiguration.load(path: configPath)
            if config.listen != deployment.config.listen || config.workers != deployment.config.workers
                || config.tcp != deployment.config.tcp || config.admin != deployment.config.admin
            {
                logger.warning("reload: listen, workers, tcp and admin settings take effect only at restart")
            }
            next = try Deployment.load(config, reusing: deployment)
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

    /// The state an operator needs: zones with serials and load times, services, data centers with
    /// per-address health (since when, why), the last reload.
    public func status() -> Status {
        var s = Status()
        s.zones = deployment.zones.map {
            .init(origin: $0.entry.origin.description, file: $0.entry.file, serial: $0.zone.serial, records: $0.zone.recordCount,
                  loadedAt: zoneLoadedAt[$0.entry.origin.description] ?? 0)
        }
        if let routing = deployment.services?.routing {
            let health = monitor?.snapshot ?? .allUp(count: routing.addresses.count)
            s.services = routing.services.map { .init(name: $0.name.description, ttl: $0.ttl, degradedTTL: $0.degradedTTL) }
            s.datacenters = routing.sites.enumerated().map { index, site in
                let addresses: [Status.Address] = routing.addresses.indices.filter { Int(routing.addresses[$0].site) == index }.map { id in
                    let a = routing.addresses[id]
                    let known = id < health.states.count
                    return .init(ip: a.ip.description, check: a.check, state: known ? health.states[id].description : "up",
                                 since: known ? health.since[id] : 0, reason: known ? health.reasons[id] : "")
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
        public struct ServiceStatus: Codable, Sendable { var name: String; var ttl: UInt32; var degradedTTL: UInt32 }
        public struct Address: Codable, Sendable { var ip: String; var check: String?; var state: String; var since: Double; var reason: String }
        public struct DataCenter: Codable, Sendable { var name: String; var state: String; var addresses: [Address] }
        public struct Reload: Codable, Sendable { var at: Double; var ok: Bool; var problems: [String] }
        public var zones: [ZoneStatus] = []
        public var services: [ServiceStatus] = []
        public var datacenters: [DataCenter] = []
        public var lastReload: Reload?
    }
}

/// Runs the deployment controller as a service: starts its monitor, reloads on every SIGHUP, and
/// stops the monitor at shutdown.
public struct DeploymentService: Service {
    let controller: DeploymentController

    public init(controller: DeploymentController) { self.controller = controller }

    public func run() async throws {
        try await controller.start()
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let controller = controller
        await cancelWhenGracefulShutdown {
            for await _ in hangups { await controller.reload() }
        }
        await controller.stop()
    }
}
