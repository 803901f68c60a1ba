#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import HealthModel

// The records instances write to etcd, as JSON. Each carries `"format": 1`; a reader skips (and
// reports) a record of another format rather than guess at it. Times are seconds since 1970, as
// in `HealthSnapshot`. Every field read from etcd is checked: a record another instance (or a
// person with etcdctl) wrote wrong is skipped, never trusted, never a crash.

/// The format every record is written in, and the only one read.
public let fleetRecordFormat = 1

/// The longest reason, actor or motive text a record may carry, in UTF-8 bytes: enough for any
/// check failure (`CheckFailure` reasons are one line) and short enough that a verdict set of a
/// few thousand addresses stays far below etcd's default 1.5 MiB request limit. Encoding cuts a
/// longer text at this length; decoding rejects one.
public let fleetMaxTextBytes = 512

/// One instance of the fleet, as it registers itself under its lease.
public struct MemberRecord: Sendable, Equatable, Codable {
    /// The instance's name (also the last part of its key).
    public var instance: String
    /// The software version (`meridian --version`).
    public var version: String
    /// The digest of the configuration it serves, to spot an instance left on an old one.
    public var configDigest: String
    /// Every zone it serves, by name.
    public var zones: [ZoneStatus]
    /// When the instance started.
    public var started: Double
    /// Why the last configuration the fleet stored did not load here (the instance serves its
    /// previous one); nil when it loaded. Absent in records of instances that never had one.
    public var configProblem: String?
    /// The largest TTL the instance answers with for each data center's addresses, by data
    /// center name: a fleet-wide drain is safe only after the largest of these, since instances
    /// may serve different TTLs (a configuration not pushed everywhere yet, or a local one).
    /// Absent in records of instances that route nothing.
    public var largestTTLs: [String: UInt32]?

    public init(instance: String, version: String, configDigest: String, zones: [ZoneStatus], started: Double,
                configProblem: String? = nil, largestTTLs: [String: UInt32]? = nil) {
        self.instance = instance
        self.version = version
        self.configDigest = configDigest
        self.zones = zones
        self.started = started
        self.configProblem = configProblem
        self.largestTTLs = largestTTLs
    }
}

/// A zone as one instance serves it.
public struct ZoneStatus: Sendable, Equatable, Codable {
    /// The zone's origin, in presentation form.
    public var name: String
    /// The SOA serial served.
    public var serial: UInt32
    /// When the zone was last loaded or reloaded.
    public var lastReload: Double

    public init(name: String, serial: UInt32, lastReload: Double) {
        self.name = name
        self.serial = serial
        self.lastReload = lastReload
    }
}

/// An answer address as every instance of the fleet names it: the same configuration gives the
/// same keys on every instance (the fields `Health`'s state file matches addresses by).
public struct AddressKey: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var datacenter: String
    /// The address in answers, as text.
    public var ip: String
    /// The check's name.
    public var check: String
    /// Where the check runs when not at `ip` (`host:port`, a URL); nil for `ip` itself.
    public var target: String?

    public init(datacenter: String, ip: String, check: String, target: String? = nil) {
        self.datacenter = datacenter
        self.ip = ip
        self.check = check
        self.target = target
    }

    public static func < (a: AddressKey, b: AddressKey) -> Bool {
        (a.datacenter, a.ip, a.check, a.target ?? "") < (b.datacenter, b.ip, b.check, b.target ?? "")
    }

    public var description: String {
        "\(datacenter)/\(ip)/\(check)" + (target.map { "@\($0)" } ?? "")
    }
}

/// What one instance's checks say of one address.
public struct Verdict: Sendable, Equatable {
    /// `.up` or `.down`; never `.drain`, which is an operator's act, not a check's verdict
    /// (fleet-wide drains are ``DrainRecord``s).
    public var state: HealthState
    /// When the address entered `state`, on that instance.
    public var since: Double
    /// Why: the last check's result.
    public var reason: String

    public init(state: HealthState, since: Double, reason: String) {
        self.state = state
        self.since = since
        self.reason = reason
    }
}

/// Every verdict of one instance, published under its lease and rewritten when one changes.
public struct VerdictSet: Sendable, Equatable {
    public var instance: String
    /// When the set was written.
    public var published: Double
    public var verdicts: [AddressKey: Verdict]

    public init(instance: String, published: Double, verdicts: [AddressKey: Verdict]) {
        self.instance = instance
        self.published = published
        self.verdicts = verdicts
    }
}

/// A data center taken out of answers by an operator, for the whole fleet. Kept until deleted.
public struct DrainRecord: Sendable, Equatable, Codable {
    public var datacenter: String
    /// Who drained it (the operator's name, or `user@host`).
    public var who: String
    /// When.
    public var when: Double
    /// Why, in the operator's words.
    public var why: String
    /// When no cached answer can still name the data center (the drain's time plus the longest
    /// TTL of the answers that named it); nil when unknown.
    public var safeAfter: Double?

    public init(datacenter: String, who: String, when: Double, why: String, safeAfter: Double? = nil) {
        self.datacenter = datacenter
        self.who = who
        self.when = when
        self.why = why
        self.safeAfter = safeAfter
    }
}

// MARK: - Codecs

extension MemberRecord {
    /// The JSON written to `members/<instance>`.
    public func encoded() -> [UInt8] {
        var copy = self
        copy.version = clipped(version)
        copy.configDigest = clipped(configDigest)
        copy.configProblem = configProblem.map(clipped)
        return encodeRecord(Envelope(format: fleetRecordFormat, record: copy))
    }

    /// The record in `bytes`, checked field by field.
    public static func decode(_ bytes: [UInt8]) throws(FleetModelError) -> MemberRecord {
        let record = try decodeRecord(Envelope<MemberRecord>.self, bytes).record
        try checkName(record.instance, "instance")
        try checkText(record.version, "version")
        try checkText(record.configDigest, "configDigest")
        try checkTime(record.started, "started")
        if let problem = record.configProblem { try checkText(problem, "configProblem") }
        for (datacenter, ttl) in record.largestTTLs ?? [:] {
            try checkName(datacenter, "largestTTLs datacenter")
            // RFC 2181 §8: a TTL is at most 2^31 - 1.
            guard ttl <= 0x7FFF_FFFF else { throw .badRecord("largestTTLs: \(ttl) for \(datacenter) is above 2^31 - 1") }
        }
        for zone in record.zones {
            guard !zone.name.isEmpty, zone.name.utf8.count <= 255, !zone.name.unicodeScalars.contains(where: \.properties.isWhitespace),
                  !zone.name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else { throw .badRecord("zone name \"\(zone.name.prefix(64))\" is not a domain name") }
            try checkTime(zone.lastReload, "lastReload of \(zone.name)")
        }
        return record
    }
}

extension DrainRecord {
    /// The JSON written to `drains/<datacenter>`.
    public func encoded() -> [UInt8] {
        var copy = self
        copy.who = clipped(who)
        copy.why = clipped(why)
        return encodeRecord(Envelope(format: fleetRecordFormat, record: copy))
    }

    /// The record in `bytes`, checked field by field.
    public static func decode(_ bytes: [UInt8]) throws(FleetModelError) -> DrainRecord {
        let record = try decodeRecord(Envelope<DrainRecord>.self, bytes).record
        try checkName(record.datacenter, "datacenter")
        try checkText(record.who, "who")
        try checkText(record.why, "why")
        try checkTime(record.when, "when")
        if let safeAfter = record.safeAfter { try checkTime(safeAfter, "safeAfter") }
        return record
    }
}

extension VerdictSet {
    /// The JSON written to `verdicts/<instance>`: the verdicts as a list sorted by address, so
    /// equal sets are equal bytes (an unchanged set need not be rewritten).
    public func encoded() -> [UInt8] {
        let entries = verdicts.sorted { $0.key < $1.key }.map { key, verdict in
            VerdictEntry(datacenter: key.datacenter, ip: key.ip, check: key.check, target: key.target,
                         state: verdict.state.description, since: verdict.since, reason: clipped(verdict.reason))
        }
        return encodeRecord(SetEnvelope(format: fleetRecordFormat, instance: instance, published: published, verdicts: entries))
    }

    /// The set in `bytes`, and why each entry left out was left out. The set itself is rejected
    /// (thrown) when its envelope is bad; a bad entry (unknown state, `drain`, a time that is not
    /// one, a second verdict for the same address) is only skipped, so one wrong line does not
    /// hide an instance's other verdicts.
    public static func decode(_ bytes: [UInt8]) throws(FleetModelError) -> (set: VerdictSet, skipped: [String]) {
        let envelope = try decodeRecord(SetEnvelope<Lenient<VerdictEntry>>.self, bytes)
        try checkName(envelope.instance, "instance")
        try checkTime(envelope.published, "published")
        var verdicts: [AddressKey: Verdict] = [:]
        var skipped: [String] = []
        for (index, entry) in envelope.verdicts.enumerated() {
            do throws(FleetModelError) {
                let entry = try entry.value.get()
                let (key, verdict) = try entry.checked()
                guard verdicts[key] == nil else { throw .badRecord("a second verdict for \(key)") }
                verdicts[key] = verdict
            } catch {
                skipped.append("verdict \(index): \(error)")
            }
        }
        return (VerdictSet(instance: envelope.instance, published: envelope.published, verdicts: verdicts), skipped)
    }
}

/// A record with its format number.
private struct Envelope<Record: Codable>: Codable {
    var format: Int
    var record: Record
}

/// A verdict set as written (`Entry` is `VerdictEntry`) and as read (`Lenient<VerdictEntry>`).
private struct SetEnvelope<Entry> {
    var format: Int
    var instance: String
    var published: Double
    var verdicts: [Entry]
}

extension SetEnvelope: Encodable where Entry: Encodable {}
extension SetEnvelope: Decodable where Entry: Decodable {}

/// One verdict as written.
private struct VerdictEntry: Codable {
    var datacenter: String
    var ip: String
    var check: String
    var target: String?
    var state: String
    var since: Double
    var reason: String

    func checked() throws(FleetModelError) -> (AddressKey, Verdict) {
        try checkName(datacenter, "datacenter")
        try checkText(ip, "ip", allowEmpty: false)
        try checkText(check, "check", allowEmpty: false)
        if let target { try checkText(target, "target", allowEmpty: false) }
        try checkTime(since, "since")
        try checkText(reason, "reason")
        let parsed: HealthState
        switch state {
        case "up": parsed = .up
        case "down": parsed = .down
        default: throw .badRecord("state \"\(state.prefix(16))\" is not up or down")
        }
        return (AddressKey(datacenter: datacenter, ip: ip, check: check, target: target),
                Verdict(state: parsed, since: since, reason: reason))
    }
}

/// An element that decodes even when its content does not, keeping the error, so that a list
/// can drop its bad elements one by one.
private struct Lenient<Value: Decodable>: Decodable {
    var value: Result<Value, FleetModelError>

    init(from decoder: any Decoder) throws {
        do {
            value = .success(try Value(from: decoder))
        } catch {
            value = .failure(.badRecord(describe(error)))
        }
    }
}

private func encodeRecord(_ value: some Encodable) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    // Encoding these plain structs of strings and numbers cannot fail but on a non-finite
    // double; those are written as 0, which the reader rejects like any other bad time.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "0", negativeInfinity: "0", nan: "0")
    return (try? Array(encoder.encode(value))) ?? []
}

private func decodeRecord<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws(FleetModelError) -> T {
    let format: Int
    do {
        format = try JSONDecoder().decode(FormatOnly.self, from: Data(bytes)).format
    } catch {
        throw .badRecord("not a fleet record: \(describe(error))")
    }
    guard format == fleetRecordFormat else { throw .badRecord("format \(format), not \(fleetRecordFormat)") }
    do {
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch {
        throw .badRecord(describe(error))
    }
}

private struct FormatOnly: Decodable { var format: Int }

/// A decoding error in one line: which field, and what was wrong.
private func describe(_ error: any Error) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "" : "\(p): "
    }
    switch error {
    case DecodingError.keyNotFound(let key, let context): return "\(path(context))\(key.stringValue) missing"
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
         DecodingError.dataCorrupted(let context):
        return "\(path(context))\(context.debugDescription)"
    default: return "\(error)"
    }
}

private func checkName(_ name: String, _ field: String) throws(FleetModelError) {
    guard FleetKeys.isValidName(name) else { throw .badRecord("\(field) \"\(name.prefix(64))\" is not a valid name") }
}

private func checkText(_ text: String, _ field: String, allowEmpty: Bool = true) throws(FleetModelError) {
    guard allowEmpty || !text.isEmpty else { throw .badRecord("\(field) is empty") }
    guard text.utf8.count <= fleetMaxTextBytes else { throw .badRecord("\(field) is longer than \(fleetMaxTextBytes) bytes") }
}

/// A time is finite and not before 1970.
private func checkTime(_ time: Double, _ field: String) throws(FleetModelError) {
    guard time.isFinite, time >= 0 else { throw .badRecord("\(field) \(time) is not a time") }
}

/// `text` cut to at most ``fleetMaxTextBytes`` UTF-8 bytes, at a character boundary.
private func clipped(_ text: String) -> String {
    guard text.utf8.count > fleetMaxTextBytes else { return text }
    var result = ""
    for character in text {
        guard result.utf8.count + character.utf8.count <= fleetMaxTextBytes else { break }
        result.append(character)
    }
    return result
}
