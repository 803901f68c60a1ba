import IPNet
public import Health
import HealthModel
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
    /// With `fleet`, what they see is this instance's health merged with the fleet's view.
    func healthMonitor(publication: ServicePublication, history: HealthHistory, fleet: FleetJoin?, logger: Logger) throws(HealthError) -> HealthMonitor {
        let watch = AllDownWatch(deployment: self, logger: logger)
        let sink: @Sendable (HealthSnapshot) -> Void = { snapshot in
            publication.update(snapshot)
            watch.update(snapshot)
            history.update(snapshot, self)
        }
        fleet?.attach(addresses: monitoredAddresses, sink: sink)
        let monitor = try HealthMonitor(
            addresses: monitoredAddresses, checks: config.routing.checks, stateFile: config.routing.healthStateFile,
            logger: logger
        ) { snapshot in
            if let fleet { fleet.localChanged(snapshot) } else { sink(snapshot) }
        }
        if let fleet { fleet.localChanged(monitor.snapshot) } else { sink(monitor.snapshot) }
        return monitor
    }
}
