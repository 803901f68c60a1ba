public import DNSWire
public import Foundation

/// A zone's keys kept in one directory with BIND's timing metadata (`Publish`, `Activate`,
/// `Inactive`, `Delete` in the `.private` file, and as comments in the `.key` file, as
/// `dnssec-keygen` and `dnssec-settime` write them): at any moment a key is published in the
/// DNSKEY RRset from `Publish` until `Delete`, and signs from `Activate` until `Inactive`. A key
/// without times (`ldns-keygen`'s) is published and signs from the start. A ZSK rollover by
/// pre-publication (RFC 6781 §4.1.1.1, timings of RFC 7583 §3.2) is two times written: the new
/// key's `Activate` and the old key's `Inactive` and `Delete`; the server follows them.
public enum KeyDirectory {
    /// When a key is published and signs, seconds since 1970 (nil: no such time set).
    public struct Timing: Sendable, Equatable {
        public var publish: Int64? = nil
        public var activate: Int64? = nil
        public var inactive: Int64? = nil
        public var delete: Int64? = nil

        public init() {}

        public func isPublished(at now: Int64) -> Bool { (publish ?? .min) <= now && now < (delete ?? .max) }
        public func isActive(at now: Int64) -> Bool { isPublished(at: now) && (activate ?? .min) <= now && now < (inactive ?? .max) }
        /// The times still to come after `now`.
        public func events(after now: Int64) -> [Int64] { [publish, activate, inactive, delete].compactMap { $0 }.filter { $0 > now } }
    }

    /// One key of the directory: its files (the path without suffix), DNSKEY and times.
    public struct Key: Sendable, Equatable {
        public var path: String
        public var dnskey: DNSKEYData
        public var timing: Timing
        public var keyTag: UInt16 { dnskey.keyTag }
        /// A key-signing key or a combined key (flags 257), else a zone-signing key.
        public var signsKeys: Bool { dnskey.isSecureEntryPoint }
        /// `12345 (flags 256, Publish 20261202160000, Activate …)`, for messages.
        var summary: String {
            let times = KeyDirectory.fields.compactMap { f in timing[keyPath: f.path].map { "\(f.name) \(KeyFile.timestamp(Date(timeIntervalSince1970: TimeInterval($0))))" } }
            return "\(keyTag) (" + (["flags \(dnskey.flags)"] + times).joined(separator: ", ") + ")"
        }
    }

    /// The zone's keys at one moment: those that sign (one CSK, or a KSK and a ZSK) and those
    /// only published (the next ZSK of a rollover, or the one just retired).
    public struct State: Sendable, Equatable {
        public var keySigning: Key
        public var zoneSigning: Key
        public var published: [Key]
        /// What the DNSKEY RRset and the signatures depend on: a zone is signed again when it changes.
        public var fingerprint: [String] {
            ["ksk \(keySigning.keyTag)", "zsk \(zoneSigning.keyTag)"] + published.map { "pub \($0.keyTag) \($0.dnskey.flags)" }.sorted()
        }
    }

    /// Every `K<zone>+…key` pair of `zone` in `directory`, in file-name order.
    public static func keys(in directory: String, zone: DNSName) throws(DNSSECError) -> [Key] {
        let prefix = "k" + zone.description.lowercased() + "+"  // file names compared in lower case
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw DNSSECError(.fileAccess, "\(directory): cannot list the key directory: \(error.localizedDescription)")
        }
        var keys: [Key] = []
        for name in names.sorted() where name.lowercased().hasPrefix(prefix) && name.hasSuffix(".key") {
            let base = (directory as NSString).appendingPathComponent(String(name.dropLast(4)))
            let (owner, dnskey) = try KeyFile.readPublic(base)
            guard owner == zone else { throw DNSSECError(.badKeyFile, "\(base).key: a key for \(owner), not \(zone)") }
            var timing = try Self.timing(KeyFile.text(base + ".key"), comments: true)
            if FileManager.default.fileExists(atPath: base + ".private") {
                let fromPrivate = try Self.timing(KeyFile.text(base + ".private"), comments: false)
                if fromPrivate != Timing() { timing = fromPrivate }
            }
            keys.append(Key(path: base, dnskey: dnskey, timing: timing))
        }
        return keys
    }

    /// Which keys sign and which are published at `now`; an error names what is wrong.
    public static func state(_ keys: [Key], zone: DNSName, directory: String, at now: Int64) throws(DNSSECError) -> State {
        let active = keys.filter { $0.timing.isActive(at: now) }
        let published = keys.filter { $0.timing.isPublished(at: now) }
        let ksks = active.filter(\.signsKeys), zsks = active.filter { !$0.signsKeys }
        guard ksks.count == 1, zsks.count <= 1 else {
            throw DNSSECError(.badKeyFile, "\(directory): \(zone) needs one active key with flags 257 (a CSK or KSK) and at most one with flags 256 (a ZSK); active now: \(active.map(\.summary)) of \(keys.map(\.summary))")
        }
        let ksk = ksks[0], zsk = zsks.first ?? ksks[0]
        return State(keySigning: ksk, zoneSigning: zsk, published: published.filter { $0 != ksk && $0 != zsk })
    }

    /// The zone's keys in `directory`, and which of them sign and are published at `now`.
    public static func read(_ directory: String, zone: DNSName, at now: Int64) throws(DNSSECError) -> (keys: [Key], state: State) {
        let keys = try Self.keys(in: directory, zone: zone)
        return (keys, try state(keys, zone: zone, directory: directory, at: now))
    }

    /// The first time after `now` at which a key is published, activated, retired or removed.
    public static func nextEvent(_ keys: [Key], after now: Int64) -> Int64? { keys.flatMap { $0.timing.events(after: now) }.min() }

    /// A ZSK published to take over from `zoneSigning` (it signs later), when a rollover is under way.
    static func successor(_ keys: [Key], of zoneSigning: Key, at now: Int64) -> Key? {
        keys.first { !$0.signsKeys && $0 != zoneSigning && ($0.timing.activate ?? .min) > now && ($0.timing.delete ?? .max) > now }
    }

    /// When a scheduled rollover of `state`'s ZSK is due: once it has signed for `lifetime` (from
    /// its `Activate` time, else its `Publish` time, else when its file was written); nil for a
    /// CSK or while a rollover is under way.
    public static func rolloverDue(_ keys: [Key], _ state: State, at now: Int64, lifetime: Int64) -> Int64? {
        let zsk = state.zoneSigning
        guard !zsk.signsKeys, zsk.timing.inactive == nil, successor(keys, of: zsk, at: now) == nil else { return nil }
        let written = (try? FileManager.default.attributesOfItem(atPath: zsk.path + ".key")[.modificationDate] as? Date)?
            .map { Int64($0.timeIntervalSince1970) } ?? now
        return (zsk.timing.activate ?? zsk.timing.publish ?? written) + lifetime
    }

    /// What a rollover just begun will do.
    public struct Rollover: Sendable, Equatable {
        public var newKey: Key
        public var oldKey: Key
        /// When the new key starts signing (and the old one stops), and when the old one is removed.
        public var activate: Int64
        public var delete: Int64
    }

    /// Begins a ZSK rollover by pre-publication at `now`: a new ZSK like the active one, published
    /// now and signing once every resolver can have it (`dnskeyTTL` + `propagation` later); the old
    /// one retired then and removed when the signatures it made have left every cache
    /// (`largestTTL` + `propagation` after that).
    public static func beginZSKRollover(
        directory: String, zone: DNSName, now: Int64, dnskeyTTL: Int64, largestTTL: Int64, propagation: Int64
    ) throws(DNSSECError) -> Rollover {
        let (keys, state) = try read(directory, zone: zone, at: now)
        guard !state.zoneSigning.signsKeys else {
            throw DNSSECError(.badKeyFile, "\(directory): \(zone) is signed by one combined key (CSK \(state.zoneSigning.keyTag)); a ZSK rollover needs a KSK and a ZSK (meridian keygen --kind zsk)")
        }
        let old = state.zoneSigning
        if let pending = successor(keys, of: old, at: now) {
            throw DNSSECError(.badKeyFile, "\(directory): a rollover of \(zone) is already under way: ZSK \(pending.keyTag) signs from \(KeyFile.timestamp(Date(timeIntervalSince1970: TimeInterval(pending.timing.activate ?? now)))) UTC")
        }
        let signing = try KeyFile.read(old.path)
        let activate = now + dnskeyTTL + propagation
        let delete = activate + largestTTL + propagation
        var bits = 2048
        if case .rsa(_, let components) = signing.material { bits = min(4096, max(2048, components.modulus.count * 8)) }
        let next = try SigningKey.generate(zone: zone, algorithm: signing.algorithm, secureEntryPoint: false, rsaBits: bits)
        var timing = Timing()
        timing.publish = now
        timing.activate = activate
        let (keyPath, _) = try KeyFile.write(next, directory: directory, created: Date(timeIntervalSince1970: TimeInterval(now)), timing: timing)
        var retired = old.timing
        retired.inactive = activate
        retired.delete = delete
        try setTiming(old.path, retired)
        return Rollover(newKey: Key(path: String(keyPath.dropLast(4)), dnskey: next.dnskey, timing: timing),
                        oldKey: Key(path: old.path, dnskey: old.dnskey, timing: retired), activate: activate, delete: delete)
    }

    /// BIND's names of the four times, in the order its files list them.
    static var fields: [(name: String, path: WritableKeyPath<Timing, Int64?>)] {
        [("Publish", \.publish), ("Activate", \.activate), ("Inactive", \.inactive), ("Delete", \.delete)]
    }

    /// The times in a `.private` text (`Activate: 20261202160000`) or a `.key` text's comments
    /// (`; Activate: 20261202160000 (Wed Dec  2 16:00:00 2026)`).
    static func timing(_ text: String, comments: Bool) throws(DNSSECError) -> Timing {
        var timing = Timing()
        for raw in text.split(separator: "\n") {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if comments {
                guard line.hasPrefix(";") else { continue }
                line = line.dropFirst().trimmingCharacters(in: .whitespaces)
            }
            for (name, path) in fields where line.hasPrefix(name + ":") {
                let value = line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces).prefix(14)
                guard let time = KeyFile.time(String(value)) else { throw DNSSECError(.badKeyFile, "\(name): \(value) is not YYYYMMDDHHMMSS") }
                timing[keyPath: path] = time
            }
        }
        return timing
    }

    /// Writes `timing` into the pair's two files (each replaced whole, the `.private` keeping mode 0600).
    static func setTiming(_ base: String, _ timing: Timing) throws(DNSSECError) {
        for (suffix, comments) in [(".private", false), (".key", true)] {
            let path = base + suffix
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let text = try KeyFile.text(path)
            // The old times go; the new ones are written where BIND writes them.
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { line in
                guard comments else { return !fields.contains { line.hasPrefix($0.name + ":") } }
                guard line.hasPrefix(";") else { return true }
                let body = line.dropFirst().drop { $0 == " " }
                return !fields.contains { body.hasPrefix($0.name + ":") }
            }
            let stamps = fields.compactMap { field in timing[keyPath: field.path].map { (field.name, KeyFile.timestamp(Date(timeIntervalSince1970: TimeInterval($0)))) } }
            if comments {
                let at = lines.firstIndex { !$0.hasPrefix(";") } ?? lines.endIndex
                lines.insert(contentsOf: stamps.map { "; \($0.0): \($0.1)" }, at: at)
            } else {
                while lines.last == "" { lines.removeLast() }
                lines += stamps.map { "\($0.0): \($0.1)" } + [""]
            }
            try KeyFile.replace(path, lines.joined(separator: "\n"), mode: suffix == ".private" ? 0o600 : 0o644)
        }
    }
}
