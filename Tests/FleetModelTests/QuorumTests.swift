@testable import FleetModel
import HealthModel
import Testing

/// Verdict sets from `states`: instance → (state, since) of `web1`.
func sets(_ states: [String: (HealthState, Double)], address: AddressKey = web1) -> [String: VerdictSet] {
    states.reduce(into: [:]) { result, entry in
        result[entry.key] = VerdictSet(instance: entry.key, published: 100, verdicts: [
            address: Verdict(state: entry.value.0, since: entry.value.1, reason: "\(entry.key) says \(entry.value.0)"),
        ])
    }
}

func fleetState(_ states: [String: (HealthState, Double)], live: Set<String>? = nil, quorum: Quorum = .majority) -> FleetVerdict? {
    let verdicts = sets(states)
    return FleetHealth.compute(verdicts: verdicts, liveMembers: live ?? Set(verdicts.keys), quorum: quorum, revision: 7).addresses[web1]
}

@Suite struct QuorumTests {
    @Test func parsing() throws {
        #expect(try Quorum(parsing: "majority") == .majority)
        #expect(try Quorum(parsing: "any") == .any)
        #expect(try Quorum(parsing: "all") == .all)
        #expect(try Quorum(parsing: "3") == .count(3))
        for bad in ["0", "-1", "most", "", "2.5"] {
            #expect(throws: FleetModelError.invalidQuorum(bad)) { try Quorum(parsing: bad) }
        }
    }

    @Test func neededUpVerdicts() {
        #expect((1...6).map { Quorum.majority.needed(observers: $0) } == [1, 1, 2, 2, 3, 3])
        #expect((1...4).map { Quorum.any.needed(observers: $0) } == [1, 1, 1, 1])
        #expect((1...4).map { Quorum.all.needed(observers: $0) } == [1, 2, 3, 4])
        #expect((1...4).map { Quorum.count(3).needed(observers: $0) } == [1, 2, 3, 3])
        #expect(Quorum.count(0).needed(observers: 3) == 1)
    }

    @Test func majority() {
        #expect(fleetState(["a": (.up, 1), "b": (.up, 2), "c": (.down, 3)])?.state == .up)
        #expect(fleetState(["a": (.up, 1), "b": (.down, 2), "c": (.down, 3)])?.state == .down)
        #expect(fleetState(["a": (.down, 1)])?.state == .down)
        #expect(fleetState(["a": (.up, 1)])?.state == .up)
    }

    @Test func anEvenSplitStaysUp() {
        #expect(fleetState(["a": (.up, 1), "b": (.down, 2)])?.state == .up)
        #expect(fleetState(["a": (.up, 1), "b": (.down, 2), "c": (.up, 3), "d": (.down, 4)])?.state == .up)
        #expect(fleetState(["a": (.up, 1), "b": (.down, 2), "c": (.down, 3), "d": (.down, 4)])?.state == .down)
    }

    @Test func anyAllAndCount() {
        let oneUp: [String: (HealthState, Double)] = ["a": (.up, 1), "b": (.down, 2), "c": (.down, 3)]
        #expect(fleetState(oneUp, quorum: .any)?.state == .up)
        #expect(fleetState(oneUp, quorum: .all)?.state == .down)
        #expect(fleetState(["a": (.up, 1), "b": (.up, 2), "c": (.down, 3)], quorum: .all)?.state == .down)
        #expect(fleetState(["a": (.up, 1), "b": (.up, 2), "c": (.up, 3)], quorum: .all)?.state == .up)
        #expect(fleetState(oneUp, quorum: .count(2))?.state == .down)
        #expect(fleetState(["a": (.up, 1), "b": (.up, 2), "c": (.down, 3)], quorum: .count(2))?.state == .up)
        #expect(fleetState(["a": (.down, 1), "b": (.down, 2)], quorum: .any)?.state == .down)
    }

    @Test func aCountAboveTheObserversGoesByTheSurvivors() {
        #expect(fleetState(["a": (.up, 1), "b": (.up, 2)], quorum: .count(3))?.state == .up)
        #expect(fleetState(["a": (.up, 1), "b": (.down, 2)], quorum: .count(3))?.state == .down)
    }

    @Test func onlyLiveMembersObserve() {
        // b and c say down but their leases expired: a alone decides.
        let verdicts = sets(["a": (.up, 1), "b": (.down, 2), "c": (.down, 3)])
        let health = FleetHealth.compute(verdicts: verdicts, liveMembers: ["a", "z"], quorum: .majority, revision: 7)
        #expect(health.addresses[web1]?.state == .up)
        #expect(health.addresses[web1]?.up == ["a"] && health.addresses[web1]?.down == [])
        #expect(health.observers == ["a"])
        #expect(health.ignored == ["b", "c"])
        #expect(health.revision == 7)
        // Nobody live observes it: no fleet verdict.
        #expect(FleetHealth.compute(verdicts: verdicts, liveMembers: ["z"], quorum: .majority, revision: 7).addresses.isEmpty)
    }

    @Test func anAddressNobodyObservesGoesByTheLocalVerdict() {
        let health = FleetHealth.compute(verdicts: sets(["a": (.down, 1), "b": (.down, 2)]), liveMembers: ["a", "b"], quorum: .majority, revision: 3)
        #expect(health.addresses[web2] == nil)
        #expect(health.state(of: web2, local: .up) == .up)
        #expect(health.state(of: web2, local: .down) == .down)
        // An address the fleet observes goes by the fleet, whatever this instance's checks say.
        #expect(health.state(of: web1, local: .up) == .down)
    }

    @Test func anInstanceNotYetLiveIsNotCounted() {
        // "new" has published its verdicts but its member record is not in the view yet.
        let health = FleetHealth.compute(verdicts: sets(["a": (.up, 1), "new": (.down, 2)]), liveMembers: ["a"], quorum: .all, revision: 3)
        #expect(health.addresses[web1]?.state == .up)
        #expect(health.ignored == ["new"])
    }

    @Test func drainsWin() {
        let drain = DrainRecord(datacenter: "fra", who: "alice", when: 50, why: "maintenance")
        let health = FleetHealth.compute(verdicts: sets(["a": (.up, 1)]), liveMembers: ["a"], quorum: .majority, revision: 3, drains: ["fra": drain])
        #expect(health.addresses[web1]?.state == .drain)
        #expect(health.addresses[web1]?.since == 50)
        #expect(health.addresses[web1]?.reason.hasPrefix("drained by alice: maintenance") == true)
        let unobserved = AddressKey(datacenter: "fra", ip: "192.0.2.99", check: "web")
        #expect(health.state(of: unobserved, local: .up) == .drain)
        #expect(health.state(of: web2, local: .up) == .up)
        let undrained = FleetHealth.compute(verdicts: sets(["a": (.up, 1)]), liveMembers: ["a"], quorum: .majority, revision: 3)
        #expect(undrained.state(of: web1, local: .drain) == .drain)
    }

    @Test func sinceIsWhenTheQuorumWasReached() {
        // Down since the second of three went down (at 20), whatever the third did later.
        #expect(fleetState(["a": (.down, 10), "b": (.down, 20), "c": (.up, 5)])?.since == 20)
        #expect(fleetState(["a": (.down, 10), "b": (.down, 20), "c": (.down, 30)])?.since == 20)
        // Up since the second up verdict of three (at 8).
        #expect(fleetState(["a": (.up, 8), "b": (.up, 3), "c": (.down, 1)])?.since == 8)
        #expect(fleetState(["a": (.up, 8), "b": (.up, 3), "c": (.up, 12)], quorum: .all)?.since == 12)
    }

    @Test func theReasonNamesTheDownObservers() throws {
        let verdict = try #require(fleetState(["a": (.down, 1), "b": (.down, 2), "c": (.up, 3)]))
        #expect(verdict.reason == "down on 2 of 3 observers (majority needs 2 up): a: a says down; b: b says down")
        #expect(verdict.down == ["a", "b"] && verdict.up == ["c"])
    }

    @Test func everyInstanceComputesTheSameFromTheSameRevision() throws {
        let keys = try FleetKeys(fleet: "f")
        var entries: [(key: String, value: [UInt8], modRevision: Int64)] = []
        for (i, name) in ["a", "b", "c", "d", "e"].enumerated() {
            entries.append((keys.member(name), MemberRecord(instance: name, version: "1", configDigest: "d", zones: [], started: 1).encoded(), Int64(2 * i + 1)))
            let state: HealthState = i % 2 == 0 ? .down : .up
            let set = VerdictSet(instance: name, published: 1, verdicts: [
                web1: Verdict(state: state, since: Double(i), reason: "r\(i)"),
                web2: Verdict(state: i == 0 ? .down : .up, since: Double(i), reason: "s\(i)"),
            ])
            entries.append((keys.verdicts(name), set.encoded(), Int64(2 * i + 2)))
        }
        let one = FleetHealth.compute(FleetSnapshot(keys: keys, entries: entries, revision: 10), quorum: .majority)
        let other = FleetHealth.compute(FleetSnapshot(keys: keys, entries: entries.reversed(), revision: 10), quorum: .majority)
        #expect(one == other)
        #expect(one.addresses[web1]?.state == .down)  // a, c, e down
        #expect(one.addresses[web2]?.state == .up)
        #expect(one.observers.count == 5)
    }
}
