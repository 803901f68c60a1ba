import Health
public import DNSAuth
import DNSSEC
import DNSWire
import DNSZone
import Foundation
import GeoIP
public import IPNet
import HealthModel
public import QueryEngine
import Routing
import ServerConfig
import ZoneFile
import ZoneTransfer

/// The fixed data the query fuzzer answers from: `Fuzz/fixture/meridian.yaml` (every zone of the
/// differential test and the example, the malformed-RDATA zone, services of each routing policy
/// over the test geo database), loaded the way `Deployment` loads a configuration, as engines
/// that differ in health and options.
public enum FuzzFixture {
    /// The repository root: this file is `Fuzz/Sources/FuzzHarness/Fixture.swift`.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The TSIG key the engines accept (so fuzzed signed queries reach verification, not only BADKEY).
    public static let tsigKey = TSIGKey(
        name: DNSName.root.child("fuzz-key"), algorithm: .hmacSHA256, secret: Array("meridian-fuzz-tsig-secret-bytes!".utf8))

    /// Engines over the same zones and routing table: every address up; every address down (fail-open
    /// and `when-all-down: nodata` answers); every other address down and changing (degraded TTLs),
    /// with cookies required.
    public static let engines: [QueryEngine] = load()

    /// Clients a query may come from: loopback, loopback placed in Japan and Brazil by the
    /// configuration, IPv6 loopback and an IPv6 prefix placed in Ireland, an address the database
    /// locates, and the unspecified address.
    public static let clients: [IPAddress] = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "::1", "2001:db8:77::9", "81.2.69.160", "0.0.0.0", "::"]
        .map { IPAddress($0)! }

    private static func load() -> [QueryEngine] {
        let path = root + "/Fuzz/fixture/meridian.yaml"
        let config: ServerConfiguration
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "@ROOT@", with: root)
            config = try ServerConfiguration.parse(yaml: text, file: path, baseDirectory: root + "/Fuzz/fixture", checkKinds: HealthCheckers.kinds)
        } catch {
            fatalError("fuzz fixture \(path): \(error)")
        }
        var zones: [Zone] = []
        for entry in config.zones {
            do { zones.append(try ZoneFile.load(origin: entry.origin, path: entry.file)) } catch {
                fatalError("fuzz fixture zone \(entry.file): \(error)")
            }
        }
        let zoneSet = ZoneSet(zones: zones)
        let routing: RoutingTable
        do {
            var geo = try GeoDatabase(path: root + "/Tests/Fixtures/geo/test-city.mmdb").networks()
            geo = geo.overlaying(config.routing.geoip?.locatedNetworks ?? [])
            routing = try RoutingTable(config: config.routing, geo: geo)
        } catch {
            fatalError("fuzz fixture routing: \(error)")
        }
        let services = ServiceSet(routing: routing, zones: zoneSet)
        let count = routing.addresses.count
        var options = QueryEngine.Options()
        options.identity = config.identity
        options.version = config.version
        options.nsid = config.nsid
        options.tsigKeys = TSIGKeyring([tsigKey])
        options.cookies = ServerCookies(secret: Array("0123456789abcdef".utf8))
        // Every zone transferable from loopback and taking NOTIFY from 127.0.0.1 (half of them
        // signed), so fuzzed IXFR over UDP and NOTIFY reach their answers, not only REFUSED.
        for (i, zone) in zones.enumerated() {
            options.transfers[zone.origin] = TransferAccess(allow: [IPPrefix("127.0.0.0/8")].compactMap { $0 }, keys: [])
            options.notifyAccess[zone.origin] = NotifyAccess(primaries: [IPAddress("127.0.0.1")].compactMap { $0 },
                                                             key: i % 2 == 0 ? nil : tsigKey.name)
        }
        var strict = options
        strict.requireCookies = true
        let down = HealthSnapshot(states: Array(repeating: .down, count: count), changing: Array(repeating: false, count: count),
                                  since: Array(repeating: 0, count: count), reasons: Array(repeating: "fuzz", count: count))
        let half = HealthSnapshot(states: (0..<count).map { $0 % 2 == 0 ? .down : .up }, changing: (0..<count).map { $0 % 3 == 0 },
                                  since: Array(repeating: 0, count: count), reasons: Array(repeating: "fuzz", count: count))
        // The same zones signed online (each with its DNSKEY, RFC 8080's Ed25519 key, so every
        // signature is the same from run to run), for DO=1 queries: signed answers, compact
        // denial, per-query signatures, TC with signatures.
        var signedZones: [Zone] = []
        var signed = options
        for entry in config.zones {
            do {
                let key = try KeyFile.parse(key: "\(entry.origin) IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
                                            private: "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n")
                var records = try ZoneFile.readValid(origin: entry.origin, path: entry.file)
                records.append(ZoneRecord(owner: entry.origin, type: .dnskey, ttl: 3600, rdata: key.dnskey.rdata,
                                          location: SourceLocation(file: "fuzz", line: 1)))
                let zone = Zone(origin: entry.origin, records: records)
                signedZones.append(zone)
                signed.signatures[entry.origin] = try ZoneSignatures(zone: zone, key: key,
                                                                     validity: SignatureValidity(inception: 1_796_000_000, expiration: 1_797_000_000))
            } catch {
                fatalError("fuzz fixture signed zone \(entry.file): \(error)")
            }
        }
        // Two zones signed elsewhere (ldns-signzone: NSEC, and NSEC3 with opt-out), served with their
        // own RRSIGs and proofs for DO=1 queries.
        for origin in ["nsec.presigned.test.", "nsec3.presigned.test."] {
            do {
                let name = try DNSName(origin)
                signedZones.append(try ZoneFile.load(origin: name, path: root + "/Fuzz/fixture/\(origin)zone"))
            } catch {
                fatalError("fuzz fixture zone \(origin): \(error)")
            }
        }
        let signedSet = ZoneSet(zones: signedZones)
        return [
            QueryEngine(zones: zoneSet, services: services, health: nil, options: options),
            QueryEngine(zones: zoneSet, services: services, health: routing.health(down), options: options),
            QueryEngine(zones: zoneSet, services: services, health: routing.health(half), options: strict),
            QueryEngine(zones: signedSet, services: ServiceSet(routing: routing, zones: signedSet), health: routing.health(half), options: signed),
        ]
    }
}
