import FleetModel
import Foundation
import Health
import ServerConfig
import Testing

/// `fleet:` (issue 11): the etcd endpoints, the fleet and instance names, the lease TTL, the
/// quorum and the disconnected mode, TLS and credentials, each bad value a `file:line` error.
@Suite struct FleetConfigTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "meridian-fleet-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "; zone\n".write(toFile: directory + "/example.com.zone", atomically: true, encoding: .utf8)
    }

    func parse(_ fleet: String) throws(ServerConfigErrors) -> ServerConfiguration {
        let yaml = "listen: [\"127.0.0.1:5353\"]\nzones:\n  - { origin: example.com., file: example.com.zone }\nfleet:\n" + fleet
        return try ServerConfiguration.parse(yaml: yaml, file: "m.yaml", baseDirectory: directory, checkKinds: HealthCheckers.kinds)
    }

    func errors(_ fleet: String) -> [ServerConfigError] {
        do {
            _ = try parse(fleet)
            Issue.record("expected errors for \(fleet)")
            return []
        } catch {
            return error.errors
        }
    }

    @Test func everySettingIsRead() throws {
        try "secret\n".write(toFile: directory + "/etcd-password", atomically: true, encoding: .utf8)
        try "ca".write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
        let config = try parse("""
              endpoints: ["http://127.0.0.1:2379", "https://[::1]:2380"]
              name: prod
              instance: dub-1
              lease-ttl: 7s
              quorum: 2
              when-disconnected: freeze
              ca-file: ca.pem
              username: meridian
              password-file: etcd-password
            """)
        let fleet = try #require(config.fleet)
        #expect(fleet.endpoints == ["http://127.0.0.1:2379", "https://[::1]:2380"])
        #expect(fleet.name == "prod" && fleet.instance == "dub-1")
        #expect(fleet.leaseTTL == .seconds(7) && fleet.quorum == .count(2) && fleet.whenDisconnected == .freeze)
        #expect(fleet.caFile == directory + "/ca.pem" && fleet.certFile == nil)
        #expect(fleet.username == "meridian" && fleet.password == "secret")
        #expect(fleet.line == 5)
    }

    @Test func defaults() throws {
        let fleet = try #require(try parse("  endpoints: [\"http://127.0.0.1:2379\"]\n  name: prod\n  instance: a\n").fleet)
        #expect(fleet.leaseTTL == .seconds(5) && fleet.quorum == .majority && fleet.whenDisconnected == .local)
        #expect(fleet.username == nil && fleet.password == nil && fleet.caFile == nil)
        for (text, quorum) in [("majority", Quorum.majority), ("any", .any), ("all", .all), ("1", .count(1))] {
            let q = try #require(try parse("  endpoints: [\"http://127.0.0.1:2379\"]\n  name: p\n  instance: a\n  quorum: \(text)\n").fleet)
            #expect(q.quorum == quorum)
        }
    }

    @Test func badValuesAreFileLineErrors() {
        let bad = errors("""
              endpoints: ["127.0.0.1:2379", "ftp://h:1", "http://h:1/v3", "http://nohost"]
              name: Prod/x
              instance: ..
              lease-ttl: 1s
              quorum: 0
              when-disconnected: panic
              ca-file: missing.pem
              username: u
              color: blue
            """)
        #expect(bad.map(\.line) == [5, 5, 5, 5, 6, 7, 8, 9, 10, 11, 13, 12], "\(bad)")
        #expect(bad.map(\.key) == ["fleet.endpoints", "fleet.endpoints", "fleet.endpoints", "fleet.endpoints", "fleet.name", "fleet.instance",
                                   "fleet.lease-ttl", "fleet.quorum", "fleet.when-disconnected", "fleet.ca-file", "fleet.color", "fleet.username"],
                "\(bad)")
        #expect(bad[0].description == "m.yaml:5: fleet.endpoints: \"127.0.0.1:2379\" is not http://host:port or https://host:port", "\(bad[0])")
        #expect(bad.last?.reason.contains("username and password") == true)
        let missing = errors("  quorum: any\n")
        #expect(missing.map(\.key) == ["fleet.endpoints", "fleet.name"] && missing.allSatisfy { $0.code == .missingKey }, "\(missing)")
        let empty = errors("  endpoints: []\n  name: p\n  instance: a\n")
        #expect(empty.map(\.code) == [.invalidValue], "\(empty)")
    }
}
