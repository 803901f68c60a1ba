import HealthModel
import IPNet
import QueryEngine
import Routing
import Synchronization

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
                var list = changes[key, default: []]
                list.append(Change(at: snapshot.since[id], state: state, reason: snapshot.reasons[id]))
                if list.count > Self.depth { list.removeFirst() }
                changes[key] = list
            }
        }
    }

    func changes(datacenter: String, ip: String) -> [Change] {
        changes.withLock { $0[Self.key(datacenter: datacenter, ip: ip)] ?? [] }
    }
}
