public import HealthModel
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Keeps the health of every answer address: runs each address's check every `interval` (± jitter),
/// applies rise/fall, logs every state change with its reason, publishes a new `HealthSnapshot` on
/// every change, and saves the last known states to a file that the next start reads.
///
/// Checks run on their own tasks, at most `maxConcurrentChecks` at once, each abandoned (and
/// cancelled) shortly after its timeout, so a hung check delays nothing else. Addresses without a
/// check are always up and never probed. `run()` until cancelled or shut down gracefully.
public final class HealthMonitor: Service {
    /// What one address needs to be checked.
    struct Monitored: Sendable {
        var address: MonitoredAddress
        var definition: CheckDefinition
        var checker: any HealthChecker
        /// True when the state file said nothing of it: checked at once instead of at a random
        /// point of the first interval.
        var unknown: Bool
    }

    struct State {
        var health: [AddressHealth]
        var published: HealthSnapshot
    }

    /// How long after a check's timeout the monitor stops waiting for it and counts it failed: the
    /// checker's own timeout usually fires first and gives the more precise reason.
    static let timeoutGrace: Duration = .milliseconds(100)

    let monitored: [Monitored]
    /// Every address by ID (for logs and the state file); nil where an ID has no address.
    let addresses: [MonitoredAddress?]
    let stateFile: String?
    let logger: Logger
    let publish: @Sendable (HealthSnapshot) -> Void
    let limiter: Limiter
    let state: Mutex<State>
    let saves: AsyncStream<StateFile>
    let saveRequests: AsyncStream<StateFile>.Continuation

    /// Builds the monitor and loads `stateFile`. Address IDs index the snapshot (IDs no address has
    /// are up); every `check` an address names must be among `checks`. `publish` gets every new
    /// snapshot, in order, with the monitor's lock held: it should only store it.
    public init(addresses: [MonitoredAddress], checks: [CheckDefinition], stateFile: String?, logger: Logger,
                maxConcurrentChecks: Int = 64, publish: @escaping @Sendable (HealthSnapshot) -> Void) throws(HealthError) {
        var checkers: [String: (CheckDefinition, any HealthChecker)] = [:]
        for definition in checks {
            checkers[definition.name] = (definition, try HealthCheckers.make(definition, logger: logger))
        }
        var saved: [String: StateFile.Entry] = [:]
        if let stateFile {
            do {
                for entry in try StateFile.load(stateFile)?.addresses ?? [] { saved[entry.key] = entry }
            } catch {
                logger.warning("health state file unreadable: every address starts up",
                               metadata: ["path": "\(stateFile)", "error": "\(error)"])
            }
        }
        let now = Date().timeIntervalSince1970
        let count = (addresses.map(\.id).max() ?? -1) + 1
        var byID = [MonitoredAddress?](repeating: nil, count: count)
        var health = [AddressHealth](repeating: AddressHealth(state: .up, since: now, reason: "not monitored"), count: count)
        var monitored: [Monitored] = []
        for address in addresses {
            byID[address.id] = address
            guard let name = address.check else {
                health[address.id].reason = "no check"
                continue
            }
            guard let (definition, checker) = checkers[name] else {
                throw HealthError(.unknownCheck, check: name, reason: "no such check (address \(address.ip) of \(address.datacenter))")
            }
            let key = StateFile.Entry(datacenter: address.datacenter, ip: address.ip, target: address.target, check: name,
                                      state: "", since: 0, reason: "", drained: false).key
            if let entry = saved[key], let state = HealthState(entry.state) {
                health[address.id] = AddressHealth(state: state, since: entry.since, reason: "saved: \(entry.reason)", drained: entry.drained)
            } else {
                health[address.id].reason = "not checked yet"
            }
            monitored.append(Monitored(address: address, definition: definition, checker: checker, unknown: saved[key] == nil))
        }
        self.monitored = monitored
        self.addresses = byID
        self.stateFile = stateFile
        self.logger = logger
        self.publish = publish
        limiter = Limiter(maxConcurrentChecks)
        state = Mutex(State(health: health, published: Self.snapshot(of: health)))
        (saves, saveRequests) = AsyncStream.makeStream(of: StateFile.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The newest snapshot, for status and `explain`.
    public var snapshot: HealthSnapshot { state.withLock { $0.published } }

    /// Drains (`on`) or undrains addresses by ID: a drained address is published as `drain`
    /// whatever its checks say (they keep running, so undraining restores their verdict at once).
    public func setDrain(addressIDs: some Sequence<Int>, _ on: Bool) {
        update { health in
            for id in addressIDs where health.indices.contains(id) && health[id].drained != on {
                health[id].drained = on
                logger.notice(on ? "address drained" : "address undrained", metadata: metadata(id, check: nil))
            }
        }
    }

    public func run() async throws {
        let initial = state.withLock { s in
            publish(s.published)
            return saveFile(s.health)
        }
        if let initial { saveRequests.yield(initial) }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                // A service the ServiceGroup runs must not return before shutdown: with no address
                // to check and no state file the group would otherwise end at once and take the
                // server down ("A service has finished unexpectedly").
                group.addTask {
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                }
                if let path = self.stateFile {
                    group.addTask { await self.saveLoop(path) }
                }
                for item in self.monitored {
                    let interval = item.definition.interval
                    let firstDelay = item.unknown ? .zero : interval * Double.random(in: 0..<1)
                    group.addTask { await self.checkLoop(item, firstDelay: firstDelay) }
                }
            }
        }
        if let path = stateFile, let file = state.withLock({ saveFile($0.health) }) { save(file, to: path) }
    }

    /// Checks one address until cancelled. Every check is counted (`meridian_health_checks_total`
    /// by type and result) and timed (`meridian_health_check_duration_seconds` by type) through
    /// swift-metrics.
    func checkLoop(_ item: Monitored, firstDelay: Duration) async {
        let clock = ContinuousClock()
        let d = item.definition
        let duration = Metrics.Timer(label: "meridian_health_check_duration_seconds", dimensions: [("type", d.type)])
        let passed = Counter(label: "meridian_health_checks_total", dimensions: [("type", d.type), ("result", "ok")])
        let failed = Counter(label: "meridian_health_checks_total", dimensions: [("type", d.type), ("result", "fail")])
        var next = clock.now + firstDelay
        while true {
            do { try await Task.sleep(until: next, clock: clock) } catch { return }
            let started = clock.now
            guard await limiter.acquire() else { return }
            let probeStarted = clock.now
            let outcome = await Self.guarded(item.checker, item.address.checkTarget, timeout: d.timeout)
            limiter.release()
            if Task.isCancelled { return }
            duration.record(duration: clock.now - probeStarted)
            (outcome.verdict == .fail ? failed : passed).increment()
            record(outcome, for: item)
            next = max(started + d.interval * (1 + Double.random(in: -d.jitter...d.jitter)), clock.now)
        }
    }

    /// Runs one check on its own task and returns its outcome, or a failure once the timeout (plus
    /// `timeoutGrace`) has passed, cancelling the check.
    static func guarded(_ checker: any HealthChecker, _ target: CheckTarget, timeout: Duration) async -> CheckOutcome {
        let race = Race()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation,
                           work: Task { race.finish(await checker.check(target, timeout: timeout)) },
                           timer: Task {
                               try? await Task.sleep(for: timeout + timeoutGrace)
                               race.finish(.fail(CheckFailure.timedOut(timeout)))
                           })
            }
        } onCancel: {
            race.finish(.fail("cancelled"))
        }
    }

    /// The first of a check's result, its timeout and a cancellation resumes the waiter and
    /// cancels the other tasks.
    final class Race: Sendable {
        struct State {
            var continuation: CheckedContinuation<CheckOutcome, Never>?
            var tasks: [Task<Void, Never>] = []
            var result: CheckOutcome?
        }
        let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<CheckOutcome, Never>, work: Task<Void, Never>, timer: Task<Void, Never>) {
            let result = state.withLock { s in
                if s.result == nil {
                    s.continuation = continuation
                    s.tasks = [work, timer]
                }
                return s.result
            }
            guard let result else { return }
            work.cancel()
            timer.cancel()
            continuation.resume(returning: result)
        }

        func finish(_ outcome: CheckOutcome) {
            let taken: (CheckedContinuation<CheckOutcome, Never>?, [Task<Void, Never>])? = state.withLock { s in
                if s.result != nil { return nil }
                s.result = outcome
                defer { s.continuation = nil; s.tasks = [] }
                return (s.continuation, s.tasks)
            }
            guard let (continuation, tasks) = taken else { return }
            for task in tasks { task.cancel() }
            continuation?.resume(returning: outcome)
        }
    }

    /// Applies a check result and logs a state change.
    func record(_ outcome: CheckOutcome, for item: Monitored) {
        let id = item.address.id
        update { health in
            let before = health[id].published.state
            guard let change = health[id].apply(outcome, rise: item.definition.rise, fall: item.definition.fall,
                                                  now: Date().timeIntervalSince1970) else { return }
            var meta = metadata(id, check: item.definition.name)
            meta["from"] = "\(change.from)"
            meta["to"] = "\(change.to)"
            meta["reason"] = "\(outcome.reason)"
            if health[id].drained { meta["drained"] = "true" }
            if before != health[id].published.state || health[id].drained {
                logger.notice("health state changed", metadata: meta)
            }
        }
    }

    /// Mutates the health table; publishes and saves when the snapshot changes.
    func update(_ body: (inout [AddressHealth]) -> Void) {
        let file: StateFile? = state.withLock { s in
            body(&s.health)
            let next = Self.snapshot(of: s.health)
            guard next.states != s.published.states || next.changing != s.published.changing
                || next.since != s.published.since || next.reasons != s.published.reasons else { return nil }
            s.published = next
            publish(next)
            return saveFile(s.health)
        }
        if let file { saveRequests.yield(file) }
    }

    static func snapshot(of health: [AddressHealth]) -> HealthSnapshot {
        let published = health.map(\.published)
        return HealthSnapshot(states: published.map(\.state), changing: published.map(\.changing),
                              since: health.map(\.since), reasons: published.map(\.reason))
    }

    /// What the state file should hold now; nil when there is no state file.
    func saveFile(_ health: [AddressHealth]) -> StateFile? {
        guard stateFile != nil else { return nil }
        return StateFile(addresses: monitored.map { item in
            let h = health[item.address.id]
            return StateFile.Entry(datacenter: item.address.datacenter, ip: item.address.ip, target: item.address.target,
                                   check: item.definition.name, state: h.state.description, since: h.since,
                                   reason: h.reason, drained: h.drained)
        })
    }

    /// Writes the newest requested state, one write at a time, until cancelled.
    func saveLoop(_ path: String) async {
        var last: StateFile?
        for await file in saves where file != last {
            save(file, to: path)
            last = file
        }
    }

    func save(_ file: StateFile, to path: String) {
        do { try file.save(path) } catch {
            logger.error("cannot save health state", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    func metadata(_ id: Int, check: String?) -> Logger.Metadata {
        var meta: Logger.Metadata = ["id": "\(id)"]
        if let address = addresses[id] {
            meta["address"] = "\(address.ip)"
            meta["datacenter"] = "\(address.datacenter)"
            if let target = address.target { meta["target"] = "\(target)" }
        }
        if let check { meta["check"] = "\(check)" }
        return meta
    }
}

extension HealthState {
    /// Parses `up`, `down` or `drain`.
    init?(_ text: String) {
        switch text {
        case "up": self = .up
        case "down": self = .down
        case "drain": self = .drain
        default: return nil
        }
    }
}
