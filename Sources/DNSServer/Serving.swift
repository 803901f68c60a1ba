public import Health
public import Logging
import QueryEngine
import GeoIP
public import Routing
public import ServiceLifecycle
public import ServerConfig
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

/// Keeps the server answering from the current deployment: runs its health monitor, and on every
/// SIGHUP reloads the configuration, the zone files (those unchanged are kept), the geo database and
/// the routing table off the query path, then swaps them in with one atomic store. A file with an
/// error is logged with its file and line and leaves the old data serving; health carries over
/// through the state file for every address whose check did not change.
public final class DeploymentService: Service {
    let configPath: String
    let server: DNSServer
    let logger: Logger
    let initial: Deployment

    public init(configPath: String, deployment: Deployment, server: DNSServer, logger: Logger) {
        self.configPath = configPath
        self.initial = deployment
        self.server = server
        self.logger = logger
    }

    public func run() async throws {
        let first = try start(initial)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let last = await cancelWhenGracefulShutdown { () async -> Task<Void, Never>? in
            var current = self.initial
            var monitor = first
            for await _ in hangups {
                guard let next = self.reload(from: current) else { continue }
                if let task = monitor {
                    task.cancel()
                    _ = await task.result  // it saves the last states, which the next monitor reads
                }
                current = next
                do {
                    monitor = try self.start(next)
                } catch {
                    self.logger.error("reload: health checks cannot start; answering with every address up",
                                      metadata: ["error": "\(error)"])
                    monitor = nil
                }
            }
            return monitor
        }
        if let task = last {
            task.cancel()
            _ = await task.result
        }
    }

    /// Swaps `deployment` in and starts its health monitor, if it has services.
    private func start(_ deployment: Deployment) throws(HealthError) -> Task<Void, Never>? {
        guard deployment.services != nil else {
            server.replaceEngine(deployment.engine())
            return nil
        }
        let monitor = try deployment.healthMonitor(server: server, logger: logger)
        return Task { try? await monitor.run() }
    }

    /// The new deployment, or nil (after logging every problem) when anything is wrong.
    private func reload(from current: Deployment) -> Deployment? {
        logger.notice("reload: reading \(configPath)")
        let config: ServerConfiguration
        do {
            config = try ServerConfiguration.load(path: configPath)
        } catch {
            for problem in error.errors { logger.error("reload failed, old data still serving: \(problem)") }
            logger.error("reload: rejected, old data still serving")
            return nil
        }
        if config.listen != current.config.listen || config.workers != current.config.workers || config.tcp != current.config.tcp {
            logger.warning("reload: listen, workers and tcp settings take effect only at restart")
        }
        do {
            let next = try Deployment.load(config, reusing: current)
            let kept = next.zones.filter { z in current.zones.contains { $0.zone === z.zone } }.count
            logger.notice("reload: done", metadata: [
                "zones": "\(next.zones.count)", "unchanged": "\(kept)",
                "services": "\(next.services?.routing.services.count ?? 0)",
            ])
            return next
        } catch {
            for problem in error.problems { logger.error("reload failed, old data still serving: \(problem)") }
            logger.error("reload: rejected, old data still serving")
            return nil
        }
    }
}
