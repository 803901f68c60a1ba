import HealthModel
import DNSWire
import Logging
import Metrics
import QueryEngine
import Routing
import ServerConfig
import Synchronization

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
