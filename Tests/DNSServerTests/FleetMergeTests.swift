@testable import DNSServer
import Foundation
import FleetModel
import Health
import HealthModel
import ServerConfig
import Testing

/// What an instance in a fleet answers with (`HealthSnapshot.merging`) and which settings of a
/// pushed configuration stay the instance's own (`FleetConfigSource.keepingLocal`).
@Suite struct FleetMergeTests {
    let addresses = [
        MonitoredAddress(id: 0, datacenter: "a", ip: "192.0.2.1", check: "web"),
        MonitoredAddress(id: 1, datacenter: "b", ip: "192.0.2.2", check: "web"),
        MonitoredAddress(id: 2, datacenter: "b", ip: "192.0.2.3"),
    ]

    func view(_ verdicts: [String: [AddressKey: HealthState]], drains: [String: DrainRecord] = [:]) -> FleetHealth {
        var sets: [String: VerdictSet] = [:]
        for (instance, states) in verdicts {
            sets[instance] = VerdictSet(instance: instance, published: 1, verdicts: states.mapValues { Verdict(state: $0, since: 5, reason: "r") })
        }
        return FleetHealth.compute(verdicts: sets, liveMembers: Set(verdicts.keys), quorum: .majority, revision: 9, drains: drains)
    }

    @Test func theFleetsVerdictReplacesTheLocalOneWhereItHasOne() {
        let a = AddressKey(datacenter: "a", ip: "192.0.2.1", check: "web"), b = AddressKey(datacenter: "b", ip: "192.0.2.2", check: "web")
        let local = HealthSnapshot(states: [.down, .up, .up], changing: [false, true, false], since: [1, 1, 1], reasons: ["x", "y", "z"])
        // a: 2 of 3 up (the local down is outvoted); b: no fleet verdict, the local one stands.
        let merged = HealthSnapshot.merging(local, fleet: view(["i1": [a: .up], "i2": [a: .up], "i3": [a: .down]]), addresses: addresses)
        #expect(merged.states == [.up, .up, .up])
        #expect(merged.reasons[0].hasPrefix("fleet: up on 2 of 3") && merged.reasons[1] == "y")
        #expect(merged.changing == local.changing)
        // b down by the fleet; the unchecked address is never the fleet's.
        let down = HealthSnapshot.merging(local, fleet: view(["i1": [b: .down], "i2": [b: .down]]), addresses: addresses)
        #expect(down.states == [.down, .down, .up])
        // A fleet drain of b drains its checked address; without a view, local stands.
        let drain = DrainRecord(datacenter: "b", who: "alice", when: 3, why: "")
        #expect(HealthSnapshot.merging(local, fleet: view([:], drains: ["b": drain]), addresses: addresses).states == [.down, .drain, .up])
        #expect(HealthSnapshot.merging(local, fleet: nil, addresses: addresses).states == local.states)
    }

    @Test func aPushedConfigurationKeepsTheInstancesOwnSockets() throws {
        let dir = NSTemporaryDirectory() + "meridian-fleet-merge-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "; zone\n".write(toFile: dir + "/z.zone", atomically: true, encoding: .utf8)
        func parse(_ yaml: String) throws -> ServerConfiguration {
            try ServerConfiguration.parse(yaml: yaml + "zones:\n  - { origin: example.com., file: z.zone }\n", file: "m.yaml",
                                          baseDirectory: dir, checkKinds: HealthCheckers.kinds)
        }
        let stored = try parse("listen: [\"127.0.0.1:53\"]\nworkers: 4\npid-file: /run/other.pid\n")
        let bootstrap = try parse("""
            listen: ["127.0.0.9:5300"]
            pid-file: /run/meridian.pid
            fleet: { endpoints: ["http://127.0.0.1:2379"], name: prod, instance: dub-1, config-source: etcd }

            """)
        let served = FleetConfigSource.keepingLocal(stored, from: bootstrap)
        #expect(served.listen == bootstrap.listen && served.fleet == bootstrap.fleet && served.pidFile == "/run/meridian.pid")
        #expect(served.fleet?.configSource == .etcd)
        #expect(served.workers == 4, "everything else is the fleet's")
    }
}
