/// The fleet as one etcd revision shows it: the records under the fleet's prefix, decoded, with
/// the ones that could not be. Built from a range read, then kept current by applying the watch's
/// events in order; every instance that has applied the same revisions holds the same snapshot.
public struct FleetSnapshot: Sendable, Equatable {
    public let keys: FleetKeys
    /// The etcd revision the snapshot is current at.
    public var revision: Int64
    /// The live members, by instance: a member key exists only while its lease does.
    public var members: [String: MemberRecord] = [:]
    /// The verdict sets, by instance (members' or not: see ``FleetHealth``).
    public var verdicts: [String: VerdictSet] = [:]
    /// The fleet-wide drains, by data center.
    public var drains: [String: DrainRecord] = [:]
    /// The configuration `meridian push` stored, and the revision it was stored at (the one a
    /// compare-and-swap of the next push must name).
    public var config: StoredConfig?
    /// Why each record left out was left out, by key, for the latest version of the key; a later
    /// good write or a delete clears it.
    public var problems: [String: String] = [:]

    /// An empty fleet at `revision`.
    public init(keys: FleetKeys, revision: Int64) {
        self.keys = keys
        self.revision = revision
    }

    /// The fleet in `entries` (a range read of ``FleetKeys/prefix``) at `revision`.
    public init(keys: FleetKeys, entries: [(key: String, value: [UInt8], modRevision: Int64)], revision: Int64) {
        self.init(keys: keys, revision: revision)
        for entry in entries { put(key: entry.key, value: entry.value, modRevision: entry.modRevision) }
    }

    /// The live members' names.
    public var liveMembers: Set<String> { Set(members.keys) }

    /// The largest TTL any live instance says it serves for `datacenter` (0 when none says).
    public func largestTTL(for datacenter: String) -> UInt32 {
        members.values.compactMap { $0.largestTTLs?[datacenter] }.max() ?? 0
    }

    /// Applies a write of `key` (a watch's put event). A key outside the layout is ignored and
    /// reported; a bad record removes what the key held before, since that is no longer what
    /// etcd holds.
    public mutating func put(key: String, value: [UInt8], modRevision: Int64) {
        revision = max(revision, modRevision)
        problems[key] = nil
        guard let parsed = keys.parse(key) else {
            problems[key] = "not a key of the fleet layout"
            return
        }
        remove(parsed)
        do throws(FleetModelError) {
            switch parsed {
            case .member(let name):
                let record = try MemberRecord.decode(value)
                guard record.instance == name else { throw .badRecord("record of instance \(record.instance) under the key of \(name)") }
                members[name] = record
            case .verdicts(let name):
                let (set, skipped) = try VerdictSet.decode(value)
                guard set.instance == name else { throw .badRecord("verdicts of instance \(set.instance) under the key of \(name)") }
                verdicts[name] = set
                if !skipped.isEmpty { problems[key] = skipped.joined(separator: "; ") }
            case .drain(let name):
                let record = try DrainRecord.decode(value)
                guard record.datacenter == name else { throw .badRecord("drain of \(record.datacenter) under the key of \(name)") }
                drains[name] = record
            case .config:
                config = StoredConfig(text: value, modRevision: modRevision)
            }
        } catch {
            problems[key] = error.description
        }
    }

    /// Applies a delete of `key` (a watch's delete event, a lease's expiry) at `modRevision`.
    public mutating func delete(key: String, modRevision: Int64) {
        revision = max(revision, modRevision)
        problems[key] = nil
        if let parsed = keys.parse(key) { remove(parsed) }
    }

    private mutating func remove(_ key: FleetKey) {
        switch key {
        case .member(let name): members[name] = nil
        case .verdicts(let name): verdicts[name] = nil
        case .drain(let name): drains[name] = nil
        case .config: config = nil
        }
    }
}

/// The configuration text stored at ``FleetKeys/config``, as pushed.
public struct StoredConfig: Sendable, Equatable {
    public var text: [UInt8]
    /// The revision it was stored at.
    public var modRevision: Int64

    public init(text: [UInt8], modRevision: Int64) {
        self.text = text
        self.modRevision = modRevision
    }
}
