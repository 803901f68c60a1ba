public import DNSSEC
public import DNSWire
public import DNSZone
public import FleetModel
public import ZoneFile
public import GeoIP
public import HealthModel
import IPNet
public import QueryEngine
public import Routing
public import ServerConfig
import CDNSIO
public import ZoneTransfer
import Foundation
import ZoneTransfer

/// Everything one configuration file describes, loaded and cross-checked: the zones, the client
/// location data, the routing table and the service names indexed for the query path. Built off
/// the query path (at start and, later, on reload); the engine is made from it.
public struct Deployment: Sendable {
    public let config: ServerConfiguration
    /// The zones in configuration order, with the entries they came from.
    public let zones: [(entry: ZoneEntry, zone: Zone)]
    public let zoneSet: ZoneSet
    /// The routing table, when the configuration has services.
    public let services: ServiceSet?
    /// The MaxMind DB, kept open for `explain` (its networks are already merged into the routing table).
    public let geoDatabase: GeoDatabase?
    /// What each zone file looked like when it was read, so a reload can keep zones whose file is unchanged.
    let stamps: [String: FileStamp]
    /// Zone files that use `$INCLUDE`: the files they include are not stamped, so they are always read again.
    let includers: Set<String>
    /// The members each generated catalog zone lists, so a reload that changes none keeps the catalog (and its serial).
    let catalogMembers: [DNSName: [DNSName]]
    /// The IXFR journals read from `journal-dir` at a start, by origin: what the zones were last
    /// served with before this process (`ServicePublication` carries them on). Empty on a reload.
    public let storedJournals: [DNSName: ZoneJournal]
    /// What the log should say about this load: a zone changed without a new serial, a consumed
    /// catalog's entries skipped.
    public let notices: [String]
    /// Where the engines of this deployment hand accepted NOTIFYs (set by `DeploymentController`).
    var notifyInbox: NotifyInbox? = nil
    /// The signatures of each zone signed online (`dnssec:`), by origin, made from its zone.
    public internal(set) var signatures: [DNSName: ZoneSignatures] = [:]
    /// The zones whose keys come from a `key-directory`: what their keys were at load and when
    /// they change next.
    public internal(set) var keySchedules: [DNSName: KeySchedule] = [:]
    /// With `fleet:`, the fleet's view read at start before the first answer (`readingFleet`);
    /// the fleet membership starts from it.
    public internal(set) var fleetView: FleetHealth? = nil

    /// Loads every zone, the geo data and the routing table, collecting every problem as
    /// `file:line: reason` (a service name that has records in a zone names both places).
    /// With `previous`, a zone whose origin and file are the same and whose file is unchanged
    /// (modification time, size and inode; files with `$INCLUDE` are always read again) is reused.
    /// A zone read again is checked against the one served before (`ZoneVersion.check`: a
    /// backwards serial refused); the serial it is served with is chosen when the deployment
    /// starts serving (`ServicePublication`), from `previous` or at a start the `stored` journals.
    public static func load(
        _ config: ServerConfiguration, reusing previous: Deployment? = nil, stored: [DNSName: ZoneJournal] = [:]
    ) throws(DeploymentErrors) -> Deployment {
        var problems: [DeploymentError] = []
        var zones: [(entry: ZoneEntry, zone: Zone)] = []
        var owners: [DNSName: SourceLocation] = [:]
        var stamps: [String: FileStamp] = [:]
        var includers: Set<String> = []
        var catalogMembers: [DNSName: [DNSName]] = [:]
        var notices: [String] = []
        var signatures: [DNSName: ZoneSignatures] = [:]
        var keySchedules: [DNSName: KeySchedule] = [:]
        let serviceNames = Set(config.routing.services.map(\.name))
        var unavailable: Set<DNSName> = []
        // The members of consumed catalogs are served as secondary zones after the configured ones.
        let members = catalogMemberEntries(config)
        notices += members.problems
        let entries = config.zones + members.entries
        for entry in entries {
            // A secondary zone with no stored copy answers SERVFAIL until its first transfer.
            if entry.isSecondary && !FileManager.default.fileExists(atPath: entry.file) {
                zones.append((entry, placeholder(entry)))
                unavailable.insert(entry.origin)
                continue
            }
            if entry.generatesCatalog {
                let members = config.zones.filter { $0.catalogZone == entry.origin }.map(\.origin)
                catalogMembers[entry.origin] = members
                let old = previous?.zones.first { $0.entry.origin == entry.origin && $0.entry.generatesCatalog }
                if let old, previous?.catalogMembers[entry.origin] == members {
                    zones.append((entry, old.zone))
                    continue
                }
                let serial = CatalogZone.nextSerial(after: old?.zone.serial, now: UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970)))
                do throws(DNSWireError) {
                    let records = try CatalogZone.records(origin: entry.origin, members: members, serial: serial)
                    zones.append((entry, Zone(origin: entry.origin, records: records)))
                } catch {
                    problems.append(DeploymentError(.catalog, "\(config.file):\(entry.line): zones.catalog-role: \(entry.origin): \(error)"))
                }
                continue
            }
            let stamp = FileStamp(path: entry.file)
            stamps[entry.file] = stamp
            // A zone whose keys changed (a key time reached, a key added) is read again: its
            // DNSKEY RRset and every signature change.
            let schedule = Self.keySchedule(entry)
            if let schedule { keySchedules[entry.origin] = schedule }
            if let previous, let stamp, previous.stamps[entry.file] == stamp, !previous.includers.contains(entry.file),
               previous.keySchedules[entry.origin]?.keys == schedule?.keys,
               let old = previous.zones.first(where: { $0.entry.origin == entry.origin && $0.entry.file == entry.file }) {
                for name in serviceNames where name.isSubdomain(of: entry.origin) {
                    let key = name.lowercased().wire
                    let node = old.zone.node(key, key.count)
                    if node >= 0 && old.zone.nodes[Int(node)].rrsetCount > 0 { owners[name] = SourceLocation(file: entry.file, line: 0) }
                }
                if entry.signing != nil {
                    // Signatures are kept while more than `refresh` of their validity remains, else made again.
                    if let kept = previous.signatures[entry.origin], kept.fits(old.zone), old.entry.signing == entry.signing,
                       !Self.resignDue(kept, entry, now: Int64(Date().timeIntervalSince1970)) {
                        signatures[entry.origin] = kept
                    } else {
                        do throws(DeploymentError) { signatures[entry.origin] = try Self.sign(old.zone, entry, config) } catch {
                            problems.append(error)
                            continue
                        }
                    }
                }
                zones.append((entry, old.zone))
                continue
            }
            do {
                let now = Int64(Date().timeIntervalSince1970)
                let origin = entry.origin
                let compile = { @Sendable (records: [ZoneRecord]) in
                    Zone(origin: origin, records: records, notes: SignatureExpiry.warnings(records, now: now))
                }
                // Before the read: the mapped file's pages count as resident while it is scanned, and
                // during the compile they would add the file's size to the load's peak.
                if let text = try? Data(contentsOf: URL(fileURLWithPath: entry.file), options: .alwaysMapped),
                   FileStamp.mentionsInclude(text) {
                    includers.insert(entry.file)
                }
                var records: [ZoneRecord]
                var compiled: Zone? = nil
                if entry.signing == nil {
                    // Compiled while it is validated; a zone signed here is compiled once its keys are in.
                    let loaded = try ZoneFile.readValid(origin: origin, path: entry.file, compiling: compile)
                    records = loaded.records
                    compiled = loaded.compiled
                } else {
                    records = try ZoneFile.readValid(origin: origin, path: entry.file)
                }
                var key: ZoneKeys? = nil
                if entry.signing != nil {
                    do throws(DeploymentError) {
                        let keys = try Self.signingKeys(entry, config, records: records)
                        key = keys
                        records += Self.keyRecords(keys, records: records, entry: entry)
                    } catch {
                        problems.append(error)
                        continue
                    }
                }
                if !serviceNames.isEmpty {
                    for r in records where serviceNames.contains(r.owner) && owners[r.owner] == nil {
                        owners[r.owner] = r.location
                    }
                }
                let zone = compiled ?? compile(records)
                do throws(DeploymentError) {
                    notices += try ZoneVersion.check(
                        entry: entry, records: records, zone: zone, previous: previous?.zones.first { $0.entry.origin == entry.origin }?.zone)
                } catch {
                    problems.append(error)
                    continue
                }
                if let key, let settings = entry.signing {
                    do throws(DeploymentError) { signatures[entry.origin] = try Self.sign(zone, keys: key, settings, entry, config) } catch {
                        problems.append(error)
                        continue
                    }
                }
                zones.append((entry, zone))
            } catch {
                problems += error.errors.map { DeploymentError(.zone($0.code), $0.description) }
            }
        }
        let file = config.file
        for service in config.routing.services {
            let where_ = "\(file):\(service.line): services.\(service.name)"
            if let record = owners[service.name] {
                problems.append(DeploymentError(.serviceNameHasRecords, "\(where_): the name also has records in a zone file (\(record)); a service name must have none"))
            }
            let enclosing = entries.filter { service.name.isSubdomain(of: $0.origin) }
            if enclosing.isEmpty {
                problems.append(DeploymentError(.serviceNameOutsideZones, "\(where_): the name lies outside every zone served"))
            }
            for (_, zone) in zones where service.name.isSubdomain(of: zone.origin) {
                if zone.presigned != nil {
                    problems.append(DeploymentError(.serviceNameInPresignedZone,
                        "\(where_): zone \(zone.origin) is signed elsewhere (its file holds RRSIG records) and its routed answers could not be signed: sign the zone online (zones[].dnssec) or serve the name from an unsigned zone"))
                    continue
                }
                var name = DNSName?.some(service.name.lowercased())
                while let n = name, n.wire.count > zone.apex.count {
                    let node = zone.node(n.wire, n.wire.count)
                    if node >= 0 && zone.nodes[Int(node)].flags & Zone.Node.isDelegation != 0 {
                        problems.append(DeploymentError(.serviceNameBelowDelegation, "\(where_): the name is at or below the delegation \(n) in zone \(zone.origin)"))
                        break
                    }
                    name = n.parent
                }
            }
        }

        var geoDatabase: GeoDatabase? = nil
        var geo: GeoNetworkTable? = nil
        if let geoip = config.routing.geoip {
            if let path = geoip.database {
                do {
                    let db = try GeoDatabase(path: path)
                    geoDatabase = db
                    geo = try db.networks()
                } catch {
                    problems.append(DeploymentError(.geoDatabase(error.code), "\(file):\(geoip.line): geoip.database: \(error)"))
                }
            }
            let explicit = geoip.locatedNetworks
            if !explicit.isEmpty { geo = (geo ?? GeoNetworkTable()).overlaying(explicit) }
        }

        var services: ServiceSet? = nil
        // A stored copy past EXPIRE answers SERVFAIL until a refresh succeeds.
        for (entry, zone) in zones where entry.isSecondary && isExpired(zone, file: entry.file) { unavailable.insert(entry.origin) }
        let zoneSet = ZoneSet(zones: zones.map(\.zone), unavailable: unavailable)
        if !config.routing.services.isEmpty {
            do {
                services = ServiceSet(routing: try RoutingTable(config: config.routing, geo: geo), zones: zoneSet)
            } catch {
                problems.append(DeploymentError(.routing(error.code), "\(file): services: \(error)"))
            }
        }
        guard problems.isEmpty else { throw DeploymentErrors(problems) }
        // The records read from the zone files are freed by now; glibc would keep their pages
        // (a 1M-record zone: 434 MB resident instead of 131 MB).
        cdnsio_release_free_memory()
        var deployment = Deployment(config: config, zones: zones, zoneSet: zoneSet, services: services, geoDatabase: geoDatabase, stamps: stamps,
                                    includers: includers, catalogMembers: catalogMembers, storedJournals: stored, notices: notices)
        deployment.signatures = signatures
        deployment.keySchedules = keySchedules
        return deployment
    }

    /// A zone's keys as its `key-directory` has them now, and when they change next (a key time,
    /// or a rollover `zsk-lifetime` schedules); nil without a directory, or when its keys cannot
    /// be read (`signingKeys` then says why).
    static func keySchedule(_ entry: ZoneEntry, now: Int64 = Int64(Date().timeIntervalSince1970)) -> KeySchedule? {
        guard let settings = entry.signing, let directory = settings.keyDirectory,
              let (keys, state) = try? KeyDirectory.read(directory, zone: entry.origin, at: now) else { return nil }
        return KeySchedule(keys: state.fingerprint, nextChange: KeyDirectory.nextEvent(keys, after: now),
                           rolloverDue: settings.zskLifetime.flatMap { KeyDirectory.rolloverDue(keys, state, at: now, lifetime: $0.components.seconds) })
    }

    /// Whether `signatures` have `refresh` or less of their validity left at `now`.
    static func resignDue(_ signatures: ZoneSignatures, _ entry: ZoneEntry, now: Int64) -> Bool {
        Int64(signatures.validity.expiration) - now <= (entry.signing?.refreshSeconds ?? 0)
    }

    /// When the first of this deployment's signatures is due to be made again, or its keys
    /// change, seconds since 1970.
    public var nextResign: Int64? {
        let resign = zones.compactMap { entry, _ in
            signatures[entry.origin].map { Int64($0.validity.expiration) - (entry.signing?.refreshSeconds ?? 0) }
        }
        return (resign + keySchedules.values.flatMap { [$0.nextChange, $0.rolloverDue].compactMap { $0 } }).min()
    }

    /// This deployment with the signatures of every zone due at `now` made again (the zones
    /// signed again, by origin; problems as `file:line: reason`).
    func resigned(now: Int64) -> (deployment: Deployment, zones: [DNSName], problems: [DeploymentError]) {
        var next = self
        var renewed: [DNSName] = [], problems: [DeploymentError] = []
        for (entry, zone) in zones {
            guard let current = signatures[entry.origin], Self.resignDue(current, entry, now: now) else { continue }
            do throws(DeploymentError) {
                next.signatures[entry.origin] = try Self.sign(zone, entry, config)
                renewed.append(entry.origin)
            } catch {
                problems.append(error)
            }
        }
        return (next, renewed, problems)
    }

    /// A zone's keys: the one signing its data (a ZSK or a CSK), the one signing its keys (a
    /// KSK, or the same CSK), and the DNSKEYs published without signing.
    struct ZoneKeys {
        var zoneSigning: SigningKey
        var keySigning: SigningKey
        var published: [DNSKEYData]
    }

    /// The zone's keys, each read as `meridian ds` reads it and checked against the zone (one
    /// signing key is a CSK; two are a KSK, flags 257, and a ZSK, flags 256); and no signatures
    /// or proofs of another signer in the file (a zone signed elsewhere is served as it is,
    /// without `dnssec:`).
    static func signingKeys(_ entry: ZoneEntry, _ config: ServerConfiguration, records: [ZoneRecord] = []) throws(DeploymentError) -> ZoneKeys {
        let where_ = "\(config.file):\(entry.signing?.line ?? entry.line): zones.dnssec"
        if let signed = records.first(where: { [.rrsig, .nsec, .nsec3, .nsec3param].contains($0.type) }) {
            throw DeploymentError(.signing, "\(signed.location): \(signed.type) in a zone signed online (\(where_)); remove it, or serve the signed file without dnssec:")
        }
        guard let settings = entry.signing else { throw DeploymentError(.signing, "\(where_): no key") }
        if let directory = settings.keyDirectory {
            do throws(DNSSECError) {
                let state = try KeyDirectory.read(directory, zone: entry.origin, at: Int64(Date().timeIntervalSince1970)).state
                let ksk = try KeyFile.read(state.keySigning.path)
                let zsk = state.zoneSigning == state.keySigning ? ksk : try KeyFile.read(state.zoneSigning.path)
                return ZoneKeys(zoneSigning: zsk, keySigning: ksk, published: state.published.map(\.dnskey))
            } catch {
                throw DeploymentError(.signing, "\(where_).key-directory: \(error)")
            }
        }
        guard !settings.keys.isEmpty else { throw DeploymentError(.signing, "\(where_): no key") }
        var keys: [SigningKey] = []
        for path in settings.keys {
            let key: SigningKey
            do { key = try KeyFile.read(path) } catch { throw DeploymentError(.signing, "\(where_): \(error)") }
            guard key.zone == entry.origin else { throw DeploymentError(.signing, "\(where_): \(path) is a key for \(key.zone), not \(entry.origin)") }
            keys.append(key)
        }
        var published: [DNSKEYData] = []
        for path in settings.publish {
            do {
                let (zone, dnskey) = try KeyFile.readPublic(path)
                guard zone == entry.origin else { throw DeploymentError(.signing, "\(where_): \(path) is a key for \(zone), not \(entry.origin)") }
                published.append(dnskey)
            } catch let error as DeploymentError {
                throw error
            } catch {
                throw DeploymentError(.signing, "\(where_): \(error)")
            }
        }
        if keys.count == 1 { return ZoneKeys(zoneSigning: keys[0], keySigning: keys[0], published: published) }
        guard let ksk = keys.first(where: \.dnskey.isSecureEntryPoint), let zsk = keys.first(where: { !$0.dnskey.isSecureEntryPoint }) else {
            throw DeploymentError(.signing, "\(where_): two signing keys are a KSK (flags 257) and a ZSK (flags 256); these have flags \(keys.map(\.dnskey.flags))")
        }
        return ZoneKeys(zoneSigning: zsk, keySigning: ksk, published: published)
    }

    /// The keys' DNSKEYs at the apex (with the SOA's TTL), those the file does not already hold,
    /// and with `cds: true` the key-signing key's CDS (SHA-256) and CDNSKEY (RFC 7344 §3).
    static func keyRecords(_ keys: ZoneKeys, records: [ZoneRecord], entry: ZoneEntry) -> [ZoneRecord] {
        let ttl = records.first { $0.type == .soa && $0.owner == entry.origin }?.ttl ?? 3600
        let location = SourceLocation(file: entry.signing?.keys.first ?? entry.file, line: 1)
        var out: [ZoneRecord] = []
        var dnskeys = [keys.keySigning.dnskey, keys.zoneSigning.dnskey] + keys.published
        var seen: Set<[UInt8]> = []
        dnskeys = dnskeys.filter { seen.insert($0.rdata).inserted }
        for dnskey in dnskeys where !records.contains(where: { $0.type == .dnskey && $0.owner == entry.origin && $0.rdata == dnskey.rdata }) {
            out.append(ZoneRecord(owner: entry.origin, type: .dnskey, ttl: ttl, rdata: dnskey.rdata, location: location))
        }
        if entry.signing?.cds == true {
            out.append(ZoneRecord(owner: entry.origin, type: .cds, ttl: ttl, rdata: keys.keySigning.dnskey.ds(owner: entry.origin), location: location))
            out.append(ZoneRecord(owner: entry.origin, type: .cdnskey, ttl: ttl, rdata: keys.keySigning.dnskey.rdata, location: location))
        }
        return out
    }

    /// Every signature of `zone`, valid from now less the inception offset for the validity.
    static func sign(_ zone: Zone, keys: ZoneKeys, _ settings: SigningSettings, _ entry: ZoneEntry, _ config: ServerConfiguration) throws(DeploymentError) -> ZoneSignatures {
        let validity = SignatureValidity(now: Int64(Date().timeIntervalSince1970), inceptionOffset: settings.inceptionOffset.components.seconds,
                                         validity: settings.validity.components.seconds, jitter: settings.jitterSeconds)
        do { return try ZoneSignatures(zone: zone, key: keys.zoneSigning, keySigningKey: keys.keySigning, validity: validity) } catch {
            throw DeploymentError(.signing, "\(config.file):\(settings.line): zones.dnssec: \(entry.origin): \(error)")
        }
    }

    /// `sign` for a zone kept from the previous deployment, reading its keys again.
    static func sign(_ zone: Zone, _ entry: ZoneEntry, _ config: ServerConfiguration) throws(DeploymentError) -> ZoneSignatures {
        guard let settings = entry.signing else { throw DeploymentError(.signing, "\(config.file):\(entry.line): zones.dnssec: no key") }
        return try sign(zone, keys: try signingKeys(entry, config), settings, entry, config)
    }

    /// The query engine for this deployment with `health` (all up when nil), serving `zones` (the
    /// deployment's own, or the same zones with the serials served) and transferring
    /// `serviceRecords` for their service names and answering IXFR from `journals`.
    public func engine(
        health: HealthSnapshot? = nil, zones: ZoneSet? = nil, serviceRecords: [DNSName: [TransferRecord]] = [:],
        journals: [DNSName: ZoneJournal] = [:]
    ) -> QueryEngine {
        var options = QueryEngine.Options(config)
        options.signatures = signatures
        options.serviceRecords = serviceRecords
        options.journals = journals
        options.notifyInbox = notifyInbox
        // The members of consumed catalogs take NOTIFY from their catalog's primaries.
        for (entry, _) in self.zones where entry.memberCatalog != nil {
            options.notifyAccess[entry.origin] = NotifyAccess(primaries: entry.primaries.compactMap { IPAddress($0.host) }, key: entry.primaryKey)
        }
        return QueryEngine(
            zones: zones ?? zoneSet, services: services,
            health: services.map { s in s.routing.health(health ?? .allUp(count: s.routing.addresses.count)) },
            options: options)
    }
}

/// One problem found while loading a deployment: its code (the module's own code where a module
/// below found it) and its text, `file:line: reason`.
public struct DeploymentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A zone file's problem.
        case zone(ZoneFileError.Code)
        /// The geo database cannot be read.
        case geoDatabase(GeoIPError.Code)
        /// The routing table cannot be built.
        case routing(RoutingError.Code)
        /// A service name also owns records in a zone file.
        case serviceNameHasRecords
        /// A service name is outside every zone served.
        case serviceNameOutsideZones
        /// A service name is at or below a delegation.
        case serviceNameBelowDelegation
        /// A service name is in a zone signed elsewhere, whose keys Meridian does not hold to
        /// sign the routed answers.
        case serviceNameInPresignedZone
        /// A generated catalog zone's records cannot be made (a member name too long under it).
        case catalog
        /// A zone's new SOA serial is not newer than the one served (RFC 1982), under `serial-policy: keep`.
        case serialBackwards
        /// A zone signed online cannot be signed: its key cannot be used, or the file holds
        /// another signer's records.
        case signing
    }

    public var code: Code
    public var description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// Every problem found while loading a deployment.
public struct DeploymentErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [DeploymentError]
    public init(_ errors: [DeploymentError]) { self.errors = errors }
    /// Each problem as `file:line: reason`.
    public var problems: [String] { errors.map(\.description) }
    public var description: String { problems.joined(separator: "\n") }
}

/// A file's identity and version: device, inode, size and modification time (one `stat`, so
/// `watch-zones` can poll it cheaply).
struct FileStamp: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: UInt64
    let modified: Double

    init?(path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.uint64Value,
              let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
        else { return nil }
        self.device = (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
        self.inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        self.size = size
        self.modified = modified
    }

    /// True when `$INCLUDE` appears in any letter case: a scan for `$`, which is rare in zone files
    /// (a million-record file is checked in milliseconds, where a search for each spelling took 0.15 s).
    static func mentionsInclude(_ data: Data) -> Bool {
        let directive = Array("include".utf8)
        return data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Bool in
            var i = 0
            while i < bytes.count {
                guard let dollar = bytes[i...].firstIndex(of: UInt8(ascii: "$")) else { return false }
                if dollar + directive.count < bytes.count,
                   directive.indices.allSatisfy({ bytes[dollar + 1 + $0] | 0x20 == directive[$0] }) {
                    return true
                }
                i = dollar + 1
            }
            return false
        }
    }
}

/// A zone's keys from its `key-directory` at load (`KeyDirectory.State.fingerprint`), when a key
/// is next published, activated, retired or removed, and when `zsk-lifetime` begins a rollover.
public struct KeySchedule: Sendable, Equatable {
    public var keys: [String]
    public var nextChange: Int64?
    public var rolloverDue: Int64?
}
