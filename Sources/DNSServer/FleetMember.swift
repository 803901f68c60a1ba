import Etcd
import FleetModel
import Foundation
import Health
public import QueryEngine
import HealthModel
public import Logging
import Metrics
import Routing
public import ServerConfig
import Synchronization

/// This instance as a member of its fleet (`fleet:`), off the query path: it registers under a
/// lease (a `MemberRecord`), keeps the lease alive, publishes this instance's verdicts (a
/// `VerdictSet`, under the same lease), reads the whole fleet at one revision and follows it with a
/// watch, and hands every new fleet view (`FleetHealth`) to `onView`. When etcd cannot be reached
/// it keeps the last view — with this instance's own fresh verdicts merged in and itself counted
/// live (`when-disconnected: local`) or unchanged (`freeze`) — and reconnects with backoff; every
/// reconnection reads the whole fleet again, so a compacted revision never matters.
final class FleetMember: Sendable {
    /// The first wait before reconnecting, doubled after each failure up to `maxBackoff`.
    static let firstBackoff: Double = 0.5
    /// The longest wait between reconnections: a lease of the default 5 s outlives two of them.
    static let maxBackoff: Double = 4

    private struct State {
        var verdicts: VerdictSet
        var member: MemberRecord
        /// The last fleet read (and watched) from etcd; nil before the first read.
        var snapshot: FleetSnapshot?
        var connected = false
        /// Wakes the session's writer when the verdicts or the member record change.
        var wake: AsyncStream<Void>.Continuation?
        var lease: Int64?
        /// The revision of the stored configuration last handed to `onConfig` (or served at start).
        var configRevision: Int64
    }

    let settings: FleetSettings
    let keys: FleetKeys
    let client: EtcdClient
    let logger: Logger
    let onView: @Sendable (FleetHealth) -> Void
    /// Called with each stored configuration newer than the one served (`config-source: etcd`).
    let onConfig: (@Sendable (StoredConfig) -> Void)?
    private let state: Mutex<State>

    init(settings: FleetSettings, member: MemberRecord, configRevision: Int64, logger: Logger,
         onConfig: (@Sendable (StoredConfig) -> Void)? = nil, onView: @escaping @Sendable (FleetHealth) -> Void) throws {
        self.onConfig = onConfig
        self.settings = settings
        keys = try FleetKeys(fleet: settings.name)
        client = try EtcdClient(fleet: settings)
        self.logger = logger
        self.onView = onView
        state = Mutex(State(verdicts: VerdictSet(instance: settings.instance, published: 0, verdicts: [:]), member: member,
                            configRevision: configRevision))
    }

    /// The stored configuration of `snapshot` when it is newer than the one served; marks it served.
    private func newConfig(_ snapshot: FleetSnapshot, _ s: inout State) -> StoredConfig? {
        guard onConfig != nil, let config = snapshot.config, config.modRevision > s.configRevision else { return nil }
        s.configRevision = config.modRevision
        return config
    }

    /// Whether the last call to etcd succeeded and the watch is running.
    var isConnected: Bool { state.withLock { $0.connected } }

    /// The fleet as last read and watched; nil before the first read.
    var snapshot: FleetSnapshot? { state.withLock { $0.snapshot } }

    /// This instance's verdicts from its checks' `snapshot` over `addresses` (those with a check).
    func publish(_ snapshot: HealthSnapshot, addresses: [MonitoredAddress]) {
        var verdicts: [AddressKey: Verdict] = [:]
        for a in addresses {
            // A locally drained address has no verdict to give: the drain is an operator's act on
            // this instance and hides what its checks say.
            guard let check = a.check, a.id < snapshot.states.count, snapshot.states[a.id] != .drain else { continue }
            verdicts[AddressKey(datacenter: a.datacenter, ip: a.ip, check: check, target: a.target)] =
                Verdict(state: snapshot.states[a.id], since: snapshot.since[a.id], reason: snapshot.reasons[a.id])
        }
        let view: FleetHealth? = state.withLock { s in
            guard verdicts != s.verdicts.verdicts else { return nil }
            s.verdicts = VerdictSet(instance: settings.instance, published: Date().timeIntervalSince1970, verdicts: verdicts)
            s.wake?.yield()
            return s.connected ? nil : disconnectedView(s)
        }
        if let view { onView(view) }
    }

    /// Replaces what this instance's membership record says (its zones' serials, config digest).
    func updateMember(_ member: MemberRecord) {
        state.withLock { s in
            guard member != s.member else { return }
            s.member = member
            s.wake?.yield()
        }
    }

    /// Writes a fleet-wide drain of `datacenter` (`record`), or deletes it (nil). No lease: a drain
    /// outlives the instance that wrote it. Every instance, this one included, applies it when its
    /// watch sees it.
    func setDrain(_ datacenter: String, _ record: DrainRecord?) async throws(EtcdError) {
        if let record {
            _ = try await client.put(key: keys.drain(datacenter), value: record.encoded())
        } else {
            _ = try await client.delete(key: keys.drain(datacenter))
        }
    }

    /// Runs until cancelled: one session after another, each ended by a failure of etcd.
    func run() async {
        var backoff = Self.firstBackoff
        while !Task.isCancelled {
            do {
                try await session()
                backoff = Self.firstBackoff
            } catch {
                if Task.isCancelled { break }
                let view: FleetHealth? = state.withLock { s in
                    let was = s.connected
                    s.connected = false
                    s.lease = nil
                    return was ? disconnectedView(s) : nil
                }
                Gauge(label: "meridian_fleet_connected").record(0)
                logger.warning("fleet: etcd unreachable, answering from the last fleet view", metadata: [
                    "error": "\(error)", "when-disconnected": "\(settings.whenDisconnected.rawValue)", "retry-in": "\(backoff)",
                ])
                if let view { onView(view) }
            }
            try? await Task.sleep(for: .seconds(backoff))
            backoff = min(backoff * 2, Self.maxBackoff)
        }
        // Outside this cancelled task, so the revoke is sent: the fleet stops counting this
        // instance now rather than when its lease would lapse.
        let (client, lease) = (client, state.withLock { $0.lease })
        await Task {
            if let lease { try? await client.revoke(lease: lease) }
            await client.shutdown()
        }.value
    }

    /// One connection's life: lease, registration, a full read, then keepalive, writer and watch
    /// side by side until one of them fails.
    private func session() async throws {
        let ttl = max(2, settings.leaseTTL.components.seconds)
        let lease = try await client.grantLease(ttl: ttl)
        let (wakes, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (member, verdicts) = state.withLock { s in
            s.lease = lease.id
            s.wake = wake
            return (s.member, s.verdicts)
        }
        _ = try await client.put(key: keys.member(settings.instance), value: member.encoded(), lease: lease.id)
        _ = try await client.put(key: keys.verdicts(settings.instance), value: verdicts.encoded(), lease: lease.id)
        let range = try await client.get(prefix: keys.prefix)
        let first = FleetSnapshot(keys: keys, entries: range.kvs.map { ($0.key, $0.value, $0.modRevision) }, revision: range.revision)
        let (view, firstConfig) = state.withLock { s in
            s.snapshot = first
            s.connected = true
            return (FleetHealth.compute(first, quorum: settings.quorum), newConfig(first, &s))
        }
        Gauge(label: "meridian_fleet_connected").record(1)
        logger.notice("fleet: connected", metadata: [
            "fleet": "\(settings.name)", "instance": "\(settings.instance)", "revision": "\(range.revision)",
            "members": "\(first.liveMembers.sorted().joined(separator: ","))",
        ])
        onView(view)
        if let firstConfig { onConfig?(firstConfig) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                // Renew at a third of the TTL: two renewals may be lost before the lease lapses.
                while true {
                    try await Task.sleep(for: .seconds(Double(ttl) / 3))
                    guard try await client.keepAlive(lease: lease.id) > 0 else { throw EtcdError.leaseNotFound(lease.id) }
                }
            }
            group.addTask { [self] in
                for await _ in wakes {
                    let (member, verdicts) = state.withLock { ($0.member, $0.verdicts) }
                    _ = try await client.put(key: keys.member(settings.instance), value: member.encoded(), lease: lease.id)
                    _ = try await client.put(key: keys.verdicts(settings.instance), value: verdicts.encoded(), lease: lease.id)
                }
            }
            group.addTask { [self] in
                for try await batch in client.watch(prefix: keys.prefix, fromRevision: range.revision + 1) where !batch.events.isEmpty {
                    let (view, config) = state.withLock { s -> (FleetHealth, StoredConfig?) in
                        var snapshot = s.snapshot ?? FleetSnapshot(keys: keys, revision: batch.revision)
                        for e in batch.events {
                            switch e.kind {
                            case .put: snapshot.put(key: e.kv.key, value: e.kv.value, modRevision: e.kv.modRevision)
                            case .delete: snapshot.delete(key: e.kv.key, modRevision: batch.revision)
                            }
                        }
                        s.snapshot = snapshot
                        return (FleetHealth.compute(snapshot, quorum: settings.quorum), newConfig(snapshot, &s))
                    }
                    onView(view)
                    if let config { onConfig?(config) }
                }
                throw EtcdError.unreachable(endpoint: "watch", reason: "the watch ended")
            }
            defer { wake.finish() }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// The view while etcd is unreachable: `freeze` keeps the last one; `local` puts this
    /// instance's own verdicts and membership into the last snapshot, so it counts as a live
    /// observer with what its checks say now.
    private func disconnectedView(_ s: State) -> FleetHealth? {
        guard var snapshot = s.snapshot else { return nil }
        if settings.whenDisconnected == .local {
            snapshot.put(key: keys.member(settings.instance), value: s.member.encoded(), modRevision: snapshot.revision)
            snapshot.put(key: keys.verdicts(settings.instance), value: s.verdicts.encoded(), modRevision: snapshot.revision)
        }
        return FleetHealth.compute(snapshot, quorum: settings.quorum)
    }
}

extension Deployment {
    /// The longest a start waits for the fleet's view before answering without it: a round trip
    /// to a reachable etcd is milliseconds, and an unreachable one should not keep the server
    /// from answering for longer than a client's retry.
    static let fleetReadTimeout: Duration = .seconds(2)

    /// This deployment with the fleet's view read (one range read of the fleet's prefix), so the
    /// first answer is already the fleet's (`startEngine`). Without `fleet:`, or when etcd does
    /// not answer within `fleetReadTimeout`, unchanged (logged).
    public func readingFleet(logger: Logger) async -> Deployment {
        guard let settings = config.fleet else { return self }
        var next = self
        do {
            let keys = try FleetKeys(fleet: settings.name)
            let client = try EtcdClient(fleet: settings, requestTimeout: Self.fleetReadTimeout)
            defer { Task { await client.shutdown() } }
            let range = try await client.get(prefix: keys.prefix)
            let snapshot = FleetSnapshot(keys: keys, entries: range.kvs.map { ($0.key, $0.value, $0.modRevision) }, revision: range.revision)
            next.fleetView = FleetHealth.compute(snapshot, quorum: settings.quorum)
            logger.notice("fleet: view read before answering", metadata: [
                "revision": "\(range.revision)", "members": "\(snapshot.liveMembers.sorted().joined(separator: ","))",
            ])
        } catch {
            logger.warning("fleet: no view before answering, starting from this instance's checks", metadata: ["error": "\(error)"])
        }
        return next
    }

    /// The engine a start answers with first: every address up, or with the fleet's view read.
    public func startEngine() -> QueryEngine {
        guard fleetView != nil, let routing = services?.routing else { return engine() }
        return engine(health: HealthSnapshot.merging(.allUp(count: routing.addresses.count), fleet: fleetView, addresses: monitoredAddresses))
    }
}

extension HealthSnapshot {
    /// This instance's `local` health with the fleet's verdict in place of each checked address's
    /// own (`FleetHealth.state(of:local:)`), since and reason taken from the fleet where it decided.
    static func merging(_ local: HealthSnapshot, fleet: FleetHealth?, addresses: [MonitoredAddress]) -> HealthSnapshot {
        guard let fleet else { return local }
        var states = local.states, since = local.since, reasons = local.reasons
        for a in addresses where a.id < states.count {
            guard let check = a.check else { continue }
            let key = AddressKey(datacenter: a.datacenter, ip: a.ip, check: check, target: a.target)
            let state = fleet.state(of: key, local: local.states[a.id])
            if let verdict = fleet.addresses[key], state == verdict.state {
                since[a.id] = verdict.since
                reasons[a.id] = "fleet: " + verdict.reason
            }
            states[a.id] = state
        }
        return HealthSnapshot(states: states, changing: local.changing, since: since, reasons: reasons)
    }
}

/// Where this instance's own health and the fleet's view meet: each change of either hands the
/// merged snapshot (`HealthSnapshot.merging`) to the current deployment's sink (its publication,
/// all-down watch and history), and each local change is published to the fleet. Outlives
/// reloads, as the membership does; each deployment attaches its addresses and sink. Delivery
/// runs under the join's lock to keep snapshots in order, so a local change and a fleet change
/// wait for each other's engine build; both happen off the query path, a few times a second at
/// most.
final class FleetJoin: Sendable {
    private struct State {
        var local: HealthSnapshot?
        var view: FleetHealth?
        var addresses: [MonitoredAddress] = []
        var sink: (@Sendable (HealthSnapshot) -> Void)?
        var member: FleetMember?
    }

    private let state = Mutex(State())

    /// The member that publishes and watches; set once, after both are made.
    func connect(_ member: FleetMember) { state.withLock { $0.member = member } }

    var member: FleetMember? { state.withLock { $0.member } }

    /// The fleet's view, nil before the first read.
    var view: FleetHealth? { state.withLock { $0.view } }

    /// A new deployment: its addresses, and where merged snapshots go.
    func attach(addresses: [MonitoredAddress], sink: @escaping @Sendable (HealthSnapshot) -> Void) {
        state.withLock { s in
            s.addresses = addresses
            s.sink = sink
            s.local = nil
        }
    }

    /// This instance's checks changed. Delivered under the lock, so the sink sees the snapshots
    /// in the order they were made (the sink never calls back into the join).
    func localChanged(_ snapshot: HealthSnapshot) {
        let (member, addresses) = state.withLock { s in
            s.local = snapshot
            s.sink?(HealthSnapshot.merging(snapshot, fleet: s.view, addresses: s.addresses))
            return (s.member, s.addresses)
        }
        member?.publish(snapshot, addresses: addresses)
    }

    /// The fleet's view changed.
    func viewChanged(_ view: FleetHealth) {
        state.withLock { s in
            s.view = view
            if let local = s.local { s.sink?(HealthSnapshot.merging(local, fleet: view, addresses: s.addresses)) }
        }
    }
}

/// The configuration the fleet serves, stored at `/<fleet>/config` (`meridian push`): read, and
/// replaced with a compare-and-swap on the revision the operator diffed against, so a concurrent
/// push is refused rather than overwritten.
public enum FleetConfigStore {
    /// Why a push did not land.
    public enum PushError: Error, CustomStringConvertible {
        /// Another push landed since: the stored configuration is now at `revision`.
        case moved(revision: Int64)
        case etcd(String)

        public var description: String {
            switch self {
            case .moved(let r): return "the fleet's configuration changed since (now at revision \(r))"
            case .etcd(let reason): return "etcd: \(reason)"
            }
        }
    }

    /// The stored configuration text and its revision; nil when none was pushed yet.
    public static func read(_ settings: FleetSettings) async throws(PushError) -> (text: [UInt8], revision: Int64)? {
        let (client, keys) = try connect(settings)
        defer { Task { await client.shutdown() } }
        do {
            guard let kv = try await client.get(key: keys.config).kv else { return nil }
            return (kv.value, kv.modRevision)
        } catch {
            throw .etcd(error.description)
        }
    }

    /// Stores `text` if the stored configuration is still at `expectedRevision` (0: none stored);
    /// returns the new revision.
    public static func push(_ settings: FleetSettings, text: [UInt8], expectedRevision: Int64) async throws(PushError) -> Int64 {
        let (client, keys) = try connect(settings)
        defer { Task { await client.shutdown() } }
        do {
            return try await client.compareAndSwap(key: keys.config, expectedModRevision: expectedRevision, value: text)
        } catch {
            if case .casFailed(let current) = error { throw .moved(revision: current?.modRevision ?? 0) }
            throw .etcd(error.description)
        }
    }

    private static func connect(_ settings: FleetSettings) throws(PushError) -> (EtcdClient, FleetKeys) {
        do {
            let keys = try FleetKeys(fleet: settings.name)
            let client = try EtcdClient(fleet: settings)
            return (client, keys)
        } catch {
            throw .etcd("\(error)")
        }
    }
}

/// `fleet.config-source: etcd`: the configuration an instance serves is the one `meridian push`
/// stored, written next to the bootstrap file (so relative paths resolve the same) and loaded
/// through the ordinary path, with the bootstrap's instance-local settings kept (`keepingLocal`).
public enum FleetConfigSource {
    /// `stored` with what belongs to this instance taken from `bootstrap`: `fleet:` (its instance
    /// name, endpoints, credentials), `listen`, `admin` and `pid-file` (its sockets and files).
    public static func keepingLocal(_ stored: ServerConfiguration, from bootstrap: ServerConfiguration) -> ServerConfiguration {
        var config = stored
        config.fleet = bootstrap.fleet
        config.listen = bootstrap.listen
        config.admin = bootstrap.admin
        config.pidFile = bootstrap.pidFile
        return config
    }

    /// Where the stored configuration is written: `fleet-config.yaml` beside the bootstrap file.
    public static func path(bootstrap: String) -> String {
        URL(fileURLWithPath: bootstrap).deletingLastPathComponent().appendingPathComponent("fleet-config.yaml").path
    }

    /// The configuration to start from: the stored one when `bootstrap` says `config-source: etcd`
    /// and etcd has one that loads, else `bootstrap` itself (logged). Returns the configuration,
    /// the path reloads read, and the stored revision it came from (0: the bootstrap).
    public static func start(bootstrap: ServerConfiguration, path: String, logger: Logger) async -> (ServerConfiguration, String, Int64) {
        guard let fleet = bootstrap.fleet, fleet.configSource == .etcd else { return (bootstrap, path, 0) }
        do {
            guard let stored = try await FleetConfigStore.read(fleet) else {
                logger.notice("fleet: no configuration stored yet; serving the bootstrap file until one is pushed", metadata: ["file": "\(path)"])
                return (bootstrap, path, 0)
            }
            let target = Self.path(bootstrap: path)
            let config = keepingLocal(try install(stored.text, at: target), from: bootstrap)
            logger.notice("fleet: serving the configuration stored in etcd", metadata: ["revision": "\(stored.revision)", "file": "\(target)"])
            return (config, target, stored.revision)
        } catch {
            logger.error("fleet: the stored configuration cannot be used; serving the bootstrap file", metadata: ["error": "\(error)"])
            return (bootstrap, path, 0)
        }
    }

    /// Writes `text` to `target` (a temporary file, then a rename) and parses it.
    static func install(_ text: [UInt8], at target: String) throws -> ServerConfiguration {
        try Data(text).write(to: URL(fileURLWithPath: target), options: .atomic)
        return try ServerConfiguration.load(path: target, checkKinds: HealthCheckers.kinds)
    }
}

extension EtcdClient {
    /// A client of the etcd cluster `fleet:` names: its endpoints, its CA, its user and password.
    convenience init(fleet settings: FleetSettings, requestTimeout: Duration = .seconds(5)) throws(EtcdError) {
        try self.init(
            endpoints: settings.endpoints, tls: settings.caFile.map { EtcdTLS(caFile: $0) },
            credentials: settings.username.flatMap { u in settings.password.map { EtcdCredentials(user: u, password: $0) } },
            requestTimeout: requestTimeout)
    }
}
