import IPNet
public import Health
import Logging
import QueryEngine
import Routing
import ServerConfig

extension Deployment {
    /// The addresses the health monitor watches: one per routing-table address, with its check.
    public var monitoredAddresses: [MonitoredAddress] {
        guard let routing = services?.routing else { return [] }
        return routing.addresses.enumerated().map { id, a in
            MonitoredAddress(id: id, datacenter: routing.sites[Int(a.site)].name, ip: a.ip.description,
                             target: a.checkTarget, check: a.check)
        }
    }

    /// A health monitor for this deployment that hands every change to `publication` (which swaps
    /// a new engine in), logs each service whose every candidate goes down or comes back, and
    /// keeps `history`.
    func healthMonitor(publication: ServicePublication, history: HealthHistory, logger: Logger) throws(HealthError) -> HealthMonitor {
        let watch = AllDownWatch(deployment: self, logger: logger)
        let monitor = try HealthMonitor(
            addresses: monitoredAddresses, checks: config.routing.checks, stateFile: config.routing.healthStateFile,
            logger: logger
        ) { snapshot in
            publication.update(snapshot)
            watch.update(snapshot)
            history.update(snapshot, self)
        }
        publication.update(monitor.snapshot)
        watch.update(monitor.snapshot)
        history.update(monitor.snapshot, self)
        return monitor
    }
}
