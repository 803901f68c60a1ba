import Foundation
@testable import Health
import HealthModel
import Logging
import Synchronization
import Testing

/// Every snapshot a monitor published, with when.
final class Published: Sendable {
    let snapshots = Mutex<[(at: ContinuousClock.Instant, snapshot: HealthSnapshot)]>([])
    func record(_ snapshot: HealthSnapshot) { snapshots.withLock { $0.append((.now, snapshot)) } }
    var last: HealthSnapshot? { snapshots.withLock { $0.last?.snapshot } }
    func state(_ id: Int) -> HealthState? { last?.states[id] }
    /// When address `id` first reached `state` after `after`.
    func firstTime(_ id: Int, is state: HealthState, after: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        snapshots.withLock { $0.first { $0.at >= after && $0.snapshot.states[id] == state }?.at }
    }
    func all() -> [HealthSnapshot] { snapshots.withLock { $0.map(\.snapshot) } }
}

func monitor(_ addresses: [MonitoredAddress], _ checks: [CheckDefinition], stateFile: String? = nil,
             published: Published) throws -> HealthMonitor {
    try HealthMonitor(addresses: addresses, checks: checks, stateFile: stateFile, logger: logger, publish: published.record)
}

/// Runs `monitor` while `body` runs, then stops it.
func running<T>(_ monitor: HealthMonitor, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await monitor.run() }
    defer { task.cancel() }
    let result = try await body()
    task.cancel()
    try await task.value
    return result
}

@Suite struct HysteresisTests {
    @Test func riseAndFall() {
        var h = AddressHealth(state: .up, since: 0, reason: "")
        #expect(h.apply(.fail("a"), rise: 2, fall: 3, now: 1) == nil)
        #expect(h.published.changing && h.reason == "a (1 of 3 to down)")
        #expect(h.apply(.pass("ok"), rise: 2, fall: 3, now: 2) == nil)
        #expect(!h.published.changing)
        #expect(h.apply(.fail("a"), rise: 2, fall: 3, now: 3) == nil)
        #expect(h.apply(.fail("a"), rise: 2, fall: 3, now: 4) == nil)
        #expect(h.apply(.fail("a"), rise: 2, fall: 3, now: 5)! == (.up, .down))
        #expect(h.since == 5 && !h.published.changing)
        #expect(h.apply(.pass("ok"), rise: 2, fall: 3, now: 6) == nil)
        #expect(h.published.changing)
        #expect(h.apply(.pass("ok"), rise: 2, fall: 3, now: 7)! == (.down, .up))
        #expect(h.apply(CheckOutcome(.fail, "file", immediate: true), rise: 2, fall: 3, now: 8)! == (.up, .down))
        #expect(h.apply(CheckOutcome(.drain, "file"), rise: 2, fall: 3, now: 9)! == (.down, .drain))
        h.drained = true
        #expect(h.published == (.drain, false, "drained by operator"))
    }
}

@Suite(.serialized) struct MonitorTests {
    /// A backend killed goes down after exactly `fall` failures, within interval × fall (plus one
    /// check's time); restarted, it comes back after `rise` successes. `changing` is set meanwhile.
    @Test func killAndRestartBackend() async throws {
        let backend = try await TCPBackend(.accept)
        let port = backend.port
        let interval = Duration.milliseconds(100)
        let check = CheckDefinition(name: "web", type: "tcp", interval: interval, timeout: .milliseconds(80), jitter: 0, rise: 2, fall: 3)
        let addresses = [MonitoredAddress(id: 0, datacenter: "iad", ip: "127.0.0.1", target: "127.0.0.1:\(port)", check: "web"),
                         MonitoredAddress(id: 1, datacenter: "dub", ip: "127.0.0.2")]
        let published = Published()
        let m = try monitor(addresses, [check], published: published)
        try await running(m) {
            try await Task.sleep(for: .milliseconds(250))
            #expect(published.state(0) == .up)
            #expect(published.last?.reasons[0] == "connected to port \(port)")
            try await backend.stop()
            let killed = ContinuousClock.now
            #expect(await eventually(within: .seconds(2)) { published.state(0) == .down })
            let down = try #require(published.firstTime(0, is: .down, after: killed))
            #expect(down - killed <= interval * 3 + .milliseconds(150))
            let reasons = published.all().map { $0.reasons[0] }
            #expect(reasons.contains { $0.hasSuffix("(1 of 3 to down)") })
            #expect(reasons.contains { $0.hasSuffix("(2 of 3 to down)") })
            #expect(published.all().contains { $0.states[0] == .up && $0.changing[0] })

            let restarted = try await TCPBackend(.accept, port: port)
            let back = ContinuousClock.now
            #expect(await eventually(within: .seconds(2)) { published.state(0) == .up })
            #expect(try #require(published.firstTime(0, is: .up, after: back)) - back <= interval * 2 + .milliseconds(150))
            #expect(published.all().contains { $0.states[0] == .down && $0.changing[0] })
            #expect(published.last?.changing[0] == false)
            try await restarted.stop()
        }
        #expect(published.all().allSatisfy { $0.states[1] == .up && $0.reasons[1] == "no check" })
    }

    /// States survive a restart through the state file; an address the file does not know starts up.
    @Test func stateFilePersists() async throws {
        let directory = try temporaryDirectory()
        let stateFile = directory.appendingPathComponent("state.json").path
        let port = try await closedPort()
        let check = CheckDefinition(name: "web", type: "tcp", interval: .milliseconds(50), timeout: .milliseconds(50), jitter: 0, rise: 1, fall: 1)
        let dead = MonitoredAddress(id: 0, datacenter: "iad", ip: "127.0.0.1", target: "127.0.0.1:\(port)", check: "web")
        let first = Published()
        let m1 = try monitor([dead], [check], stateFile: stateFile, published: first)
        try await running(m1) {
            #expect(await eventually(within: .seconds(2)) { first.state(0) == .down })
        }
        let since = try #require(first.last?.since[0])
        let saved = try #require(try StateFile.load(stateFile))
        #expect(saved.addresses.map(\.state) == ["down"])

        let slow = CheckDefinition(name: "web", type: "tcp", interval: .seconds(60), timeout: .milliseconds(50))
        let renumbered = MonitoredAddress(id: 1, datacenter: "iad", ip: "127.0.0.1", target: "127.0.0.1:\(port)", check: "web")
        let fresh = MonitoredAddress(id: 0, datacenter: "dub", ip: "127.0.0.2", target: "127.0.0.1:\(port)", check: "web")
        let m2 = try monitor([fresh, renumbered], [slow], stateFile: stateFile, published: Published())
        #expect(m2.snapshot.states == [.up, .down])
        #expect(m2.snapshot.since[1] == since)
        #expect(m2.snapshot.reasons[1].hasPrefix("saved: "))
    }

    /// A check that hangs (and ignores cancellation) neither delays another address's checks nor
    /// its own next one.
    @Test func hungCheckDelaysNothing() async throws {
        let directory = try temporaryDirectory()
        let counter = directory.appendingPathComponent("count").path
        let counting = try script("echo x >> \(counter)", in: directory)
        let checks = [
            CheckDefinition(name: "hang", type: "exec", interval: .milliseconds(100), timeout: .milliseconds(200), jitter: 0, rise: 1, fall: 1,
                            parameters: ["command": "sleep\u{1F}60"]),
            CheckDefinition(name: "count", type: "exec", interval: .milliseconds(50), timeout: .seconds(1), jitter: 0,
                            parameters: ["command": counting]),
        ]
        let addresses = [MonitoredAddress(id: 0, datacenter: "iad", ip: "127.0.0.1", check: "hang"),
                         MonitoredAddress(id: 1, datacenter: "dub", ip: "127.0.0.2", check: "count")]
        let published = Published()
        try await running(try monitor(addresses, checks, published: published)) {
            try await Task.sleep(for: .seconds(1))
        }
        let runs = try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count
        #expect(runs >= 12, "50 ms checks ran \(runs) times in 1 s")
        #expect(published.state(0) == .down)
        #expect(published.state(1) == .up)
    }

    @Test func guardAbandonsCheckIgnoringCancellation() async {
        struct Stuck: HealthChecker {
            static let parameters: [CheckParameter] = []
            init(definition: CheckDefinition, logger: Logger) {}
            func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome {
                let end = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(50)) }
                return .pass("late")
            }
        }
        let start = ContinuousClock.now
        let stuck = Stuck(definition: CheckDefinition(name: "s", type: "s", interval: .seconds(1), timeout: .seconds(1)), logger: logger)
        let outcome = await HealthMonitor.guarded(stuck, CheckTarget(ip: "127.0.0.1", datacenter: "x"), timeout: .milliseconds(100))
        #expect(outcome.verdict == .fail)
        #expect(ContinuousClock.now - start < .seconds(2), "the stuck check runs 5 s")
    }

    /// An operator drain wins over passing checks until undrained, and survives a restart.
    @Test func drainOverride() async throws {
        let backend = try await TCPBackend(.accept)
        defer { Task { try await backend.stop() } }
        let directory = try temporaryDirectory()
        let stateFile = directory.appendingPathComponent("state.json").path
        let check = CheckDefinition(name: "web", type: "tcp", interval: .milliseconds(50), timeout: .milliseconds(50), jitter: 0.2)
        let addresses = [MonitoredAddress(id: 0, datacenter: "iad", ip: "127.0.0.1", target: "127.0.0.1:\(backend.port)", check: "web")]
        let published = Published()
        let m = try monitor(addresses, [check], stateFile: stateFile, published: published)
        try await running(m) {
            try await Task.sleep(for: .milliseconds(150))
            m.setDrain(addressIDs: [0], true)
            #expect(published.state(0) == .drain)
            try await Task.sleep(for: .milliseconds(200))
            #expect(published.state(0) == .drain)
            #expect(m.snapshot.reasons[0] == "drained by operator")
        }
        let restarted = try monitor(addresses, [check], stateFile: stateFile, published: Published())
        #expect(restarted.snapshot.states == [.drain])
        restarted.setDrain(addressIDs: [0], false)
        #expect(restarted.snapshot.states == [.up])
    }

    /// The file check's verdicts apply at once, and the monitor publishes them.
    @Test func fileCheckDrivesState() async throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("ops.txt").path
        let check = CheckDefinition(name: "ops", type: "file", interval: .milliseconds(50), timeout: .milliseconds(50), rise: 5, fall: 5,
                                    parameters: ["path": path])
        let addresses = [MonitoredAddress(id: 0, datacenter: "iad", ip: "127.0.0.1", check: "ops"),
                         MonitoredAddress(id: 1, datacenter: "iad", ip: "127.0.0.2", check: "ops"),
                         MonitoredAddress(id: 2, datacenter: "dub", ip: "127.0.0.3", check: "ops")]
        let published = Published()
        try await running(try monitor(addresses, [check], published: published)) {
            try await Task.sleep(for: .milliseconds(100))
            #expect(published.last?.states == [.up, .up, .up])
            try "iad down\n127.0.0.3 drain\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(await eventually(within: .seconds(1)) { published.last?.states == [.down, .down, .drain] })
            try "127.0.0.2 up\niad down\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(await eventually(within: .seconds(1)) { published.last?.states == [.down, .up, .up] })
        }
    }
}
