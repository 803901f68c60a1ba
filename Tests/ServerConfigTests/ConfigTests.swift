import Routing
import HealthModel
import IPNet
import Health
import DNSWire
import Foundation
import ServerConfig
import Testing

/// A temporary directory holding a config file and the zone files it names.
private struct Fixture {
    let directory: String

    init(zoneFiles: [String] = ["example.com.zone"]) throws {
        directory = NSTemporaryDirectory() + "meridian-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in zoneFiles {
            try "; zone\n".write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
        }
    }

    func parse(_ yaml: String) throws(ServerConfigErrors) -> ServerConfiguration {
        try ServerConfiguration.parse(yaml: yaml, file: "m.yaml", baseDirectory: directory, checkKinds: HealthCheckers.kinds)
    }

    /// The errors of `yaml` as (code, line, key), in the order reported.
    func errors(_ yaml: String) -> [ServerConfigError] {
        do {
            _ = try parse(yaml)
            Issue.record("expected errors")
            return []
        } catch {
            return error.errors
        }
    }
}

@Test func parsesFullConfiguration() throws {
    let f = try Fixture(zoneFiles: ["example.com.zone", "example.net.zone"])
    let config = try f.parse("""
        listen: ["127.0.0.1:5353", "[::1]:5353"]
        workers: 3
        log-level: debug
        identity: ns1.example.
        version: "meridian 0.1"
        tcp: { idle-timeout: 500ms, max-connections: 20 }
        zones:
          - origin: example.com.
            file: example.com.zone
          - origin: Example.NET
            file: \(f.directory)/example.net.zone
        """)
    #expect(config.listen == [
        ListenAddress(host: "127.0.0.1", port: 5353, isIPv6: false),
        ListenAddress(host: "::1", port: 5353, isIPv6: true),
    ])
    #expect(config.listen.map(\.description) == ["127.0.0.1:5353", "[::1]:5353"])
    #expect(config.workers == 3)
    #expect(config.logLevel == .debug)
    #expect(config.identity == "ns1.example.")
    #expect(config.version == "meridian 0.1")
    #expect(config.tcp.idleTimeout == .milliseconds(500))
    #expect(config.tcp.maxConnections == 20)
    #expect(config.zones.map(\.origin) == [try DNSName("example.com."), try DNSName("example.net.")])
    #expect(config.zones.map(\.file) == [f.directory + "/example.com.zone", f.directory + "/example.net.zone"])
    #expect(config.zones.map(\.line) == [8, 10])
}

@Test func appliesDefaults() throws {
    let f = try Fixture()
    let config = try f.parse("""
        listen: ["127.0.0.1:53"]
        zones: [{ origin: example.com., file: example.com.zone }]
        """)
    #expect(config.workers == nil)
    #expect(config.logLevel == .info)
    #expect(config.identity == nil)
    #expect(config.version == nil)
    #expect(config.tcp.idleTimeout == .seconds(10))
    #expect(config.tcp.maxConnections == 1000)
}

@Test(arguments: [("10s", Duration.seconds(10)), ("2m", .seconds(120)), ("1h", .seconds(3600)), ("250ms", .milliseconds(250))])
func parsesDurations(text: String, expected: Duration) throws {
    let f = try Fixture()
    let config = try f.parse("""
        listen: ["127.0.0.1:53"]
        tcp: { idle-timeout: \(text) }
        zones: [{ origin: example.com., file: example.com.zone }]
        """)
    #expect(config.tcp.idleTimeout == expected)
}

/// Every kind of error, each on its own line, all reported in one pass.
@Test func reportsEveryErrorWithItsLine() throws {
    let f = try Fixture()
    let errors = f.errors("""
        listen:
          - "127.0.0.1:5353"
          - "127.0.0.256:53"
          - "[::1]:0"
          - "[fe80::zz]:53"
          - "localhost:53"
          - "127.0.0.1:5353"
        workers: 0
        log-level: loud
        identity: ""
        tcp:
          idle-timeout: 10
          max-connections: many
          idle-timout: 5s
        zones:
          - origin: example.com.
            file: example.com.zone
          - origin: EXAMPLE.com
            file: example.com.zone
          - origin: bad..name
            file: missing.zone
          - file: example.com.zone
          - origin: x.example.
            flie: example.com.zone
          - "not a mapping"
        lisen: []
        """)
    let summary = errors.map { "\($0.line ?? 0) \($0.key ?? "-") \($0.code)" }
    #expect(summary == [
        "3 listen badListenAddress",
        "4 listen badListenAddress",
        "5 listen badListenAddress",
        "6 listen badListenAddress",
        "7 listen duplicateListenAddress",
        "8 workers invalidValue",
        "9 log-level invalidValue",
        "10 identity invalidValue",
        "12 tcp.idle-timeout badDuration",
        "13 tcp.max-connections invalidValue",
        "14 tcp.idle-timout unknownKey",
        "18 zones.origin duplicateOrigin",
        "20 zones.origin badName",
        "21 zones.file missingZoneFile",
        "22 zones.origin missingKey",
        "24 zones.flie unknownKey",
        "23 zones.file missingKey",
        "25 zones wrongType",
        "26 lisen unknownKey",
    ])
    #expect(errors[0].description == "m.yaml:3: listen: \"127.0.0.256:53\" is not a.b.c.d:port or [ipv6]:port with a port of 1-65535")
    #expect(errors[13].description.hasPrefix("m.yaml:21: zones.file: \(f.directory)/missing.zone: no such readable file"))
}

@Test func reportsMissingRequiredKeys() throws {
    let f = try Fixture()
    let errors = f.errors("workers: 2\n")
    #expect(errors.map { "\($0.line ?? 0) \($0.key ?? "-") \($0.code)" } == ["1 listen missingKey", "1 zones missingKey"])
}

@Test func reportsWrongTypes() throws {
    let f = try Fixture()
    let errors = f.errors("""
        listen: "127.0.0.1:53"
        tcp: [1, 2]
        zones: {}
        version: [a]
        """)
    #expect(errors.map { "\($0.line ?? 0) \($0.key ?? "-") \($0.code)" } == [
        "1 listen wrongType", "2 tcp wrongType", "3 zones wrongType", "4 version wrongType",
    ])
}

@Test func reportsEmptyLists() throws {
    let f = try Fixture()
    let errors = f.errors("listen: []\nzones: []\n")
    #expect(errors.map { "\($0.line ?? 0) \($0.key ?? "-") \($0.code)" } == ["1 listen invalidValue", "2 zones invalidValue"])
}

@Test func reportsYAMLSyntaxErrorsWithTheirLine() throws {
    let f = try Fixture()
    let errors = f.errors("listen: [\"127.0.0.1:53\"]\nzones:\n  - origin: [unclosed\n")
    #expect(errors.count == 1)
    #expect(errors.first?.code == .syntax)
    #expect(errors.first?.line == 4)
    #expect(errors.first?.description.hasPrefix("m.yaml:4: YAML syntax: ") == true)
}

@Test func reportsDuplicateKeys() throws {
    let f = try Fixture()
    let errors = f.errors("listen: []\nworkers: 1\nworkers: 2\n")
    #expect(errors.map { "\($0.line ?? 0) \($0.key ?? "-") \($0.code)" } == [
        "3 workers duplicateKey", "1 listen invalidValue", "1 zones missingKey",
    ])
    #expect(errors.first?.description == "m.yaml:3: workers: \"workers\" is already defined at line 2")
}

@Test func reportsAnUnreadableFile() {
    do {
        _ = try ServerConfiguration.load(path: "/nonexistent/meridian.yaml", checkKinds: HealthCheckers.kinds)
        Issue.record("expected an error")
    } catch {
        #expect(error.errors.map(\.code) == [.io])
        #expect(error.errors.first?.description.hasPrefix("/nonexistent/meridian.yaml: cannot read") == true)
    }
}

@Test func loadResolvesZonesAgainstTheConfigDirectory() throws {
    let f = try Fixture()
    let path = f.directory + "/meridian.yaml"
    try "listen: [\"[::1]:5353\"]\nzones:\n  - origin: example.com.\n    file: example.com.zone\n"
        .write(toFile: path, atomically: true, encoding: .utf8)
    let config = try ServerConfiguration.load(path: path, checkKinds: HealthCheckers.kinds)
    #expect(config.zones.first?.file == f.directory + "/example.com.zone")
}

@Test(arguments: ["127.0.0.1", "1.2.3.4:", "1.2.3:53", "01234.1.1.1:53", "[::1]53", "::1:53", "[::1]:65536", "1.2.3.4:+53", " 1.2.3.4:53"])
func rejectsListenAddress(text: String) {
    #expect(ListenAddress(text) == nil)
}

/// Hosts are parsed as `IPAddress` parses them, each family in its own form, and kept as written.
@Test(arguments: ["[1.2.3.4]:53", "[fe80::1%eth0]:53", "[::1:53", "1.2.3.04:53", "1.2.3.4.5:53", "[::ffff:1.2.3]:53"])
func rejectsListenHostsOfTheOtherFormOrMalformed(text: String) {
    #expect(ListenAddress(text) == nil)
}

@Test func keepsTheListenHostAsWritten() {
    #expect(ListenAddress("[2001:DB8:0::1]:53") == ListenAddress(host: "2001:DB8:0::1", port: 53, isIPv6: true))
    #expect(ListenAddress("[::ffff:192.0.2.1]:53") == ListenAddress(host: "::ffff:192.0.2.1", port: 53, isIPv6: true))
    #expect(ListenAddress("0.0.0.0:53") == ListenAddress(host: "0.0.0.0", port: 53, isIPv6: false))
}

@Test func parsesOperationsSettings() throws {
    let f = try Fixture()
    let c = try f.parse("""
        listen: ["127.0.0.1:53"]
        zones: [{ origin: example.com., file: example.com.zone }]
        nsid: ns1-iad
        log-format: json
        query-log: { path: queries.log, sample: 0.25 }
        watch-zones: 2s
        transfer-serial-interval: 1s
        """)
    #expect(c.transferSerialInterval == .seconds(1))
    #expect(c.nsid == Array("ns1-iad".utf8))
    #expect(c.logFormat == .json)
    #expect(c.queryLog == QueryLogSettings(path: f.directory + "/queries.log", sample: 0.25))
    #expect(c.watchZones == .seconds(2))
    let hex = try f.parse("listen: [\"127.0.0.1:53\"]\nzones: [{ origin: example.com., file: example.com.zone }]\nnsid-hex: 6E7331\nquery-log: { path: \"-\" }\n")
    #expect(hex.nsid == [0x6E, 0x73, 0x31])
    #expect(hex.queryLog == QueryLogSettings(path: "-", sample: 1))
    #expect(hex.logFormat == .logfmt, "logfmt by default")
    let defaults = try f.parse("listen: [\"127.0.0.1:53\"]\nzones: [{ origin: example.com., file: example.com.zone }]\n")
    #expect(defaults.nsid == nil && defaults.queryLog == nil && defaults.watchZones == nil, "all off by default")
    #expect(defaults.transferSerialInterval == .seconds(60))
}

@Test func reportsBadOperationsSettingsWithTheirLines() throws {
    let f = try Fixture()
    let errors = f.errors("""
        listen: ["127.0.0.1:53"]
        zones: [{ origin: example.com., file: example.com.zone }]
        nsid-hex: 6e7
        log-format: xml
        query-log: { sample: 2 }
        watch-zones: soon
        transfer-serial-interval: 500ms
        """)
    let described = errors.map(\.description)
    #expect(described.contains { $0.hasPrefix("m.yaml:3:") && $0.contains("nsid-hex") && $0.contains("hexadecimal") })
    #expect(described.contains { $0.hasPrefix("m.yaml:4:") && $0.contains("logfmt|json") })
    #expect(described.contains { $0.hasPrefix("m.yaml:5:") && $0.contains("query-log.sample") })
    #expect(described.contains { $0.hasPrefix("m.yaml:5:") && $0.contains("query-log.path") })
    #expect(described.contains { $0.hasPrefix("m.yaml:6:") && $0.contains("watch-zones") })
    #expect(described.contains { $0.hasPrefix("m.yaml:7:") && $0.contains("transfer-serial-interval") && $0.contains("at least 1s") })
    #expect(errors.count == 6, "\(described)")
}

@Test func theAdminListenerDefaultsToLoopback() throws {
    let f = try Fixture()
    let c = try f.parse("listen: [\"127.0.0.1:53\"]\nzones: [{ origin: example.com., file: example.com.zone }]\nadmin: { token: t }\n")
    #expect(c.admin == AdminSettings(listen: ListenAddress("127.0.0.1:8053")!, token: "t"))
}

@Test func parsesZoneTransferAccess() throws {
    let f = try Fixture(zoneFiles: ["example.com.zone", "example.net.zone"])
    let config = try f.parse("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            transfer: { allow: [127.0.0.1/32, "::1/128"], keys: [xfr-key] }
          - origin: example.net.
            file: example.net.zone
        tsig-keys:
          - { name: xfr-key, algorithm: hmac-sha256, secret: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= }
        """)
    let transfer = try #require(config.zones[0].transfer)
    #expect(transfer.allow == [try IPPrefix.parseCIDR("127.0.0.1/32"), try IPPrefix.parseCIDR("::1/128")])
    #expect(transfer.keys == [try DNSName("xfr-key.")])
    #expect(config.zones[1].transfer == nil)
}

@Test func rejectsBadZoneTransferAccess() throws {
    let f = try Fixture()
    let errors = f.errors("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            transfer:
              allow: [10.0.0.1/8, nonsense]
              keys: [missing-key]
              action: yes
        """)
    #expect(errors.map(\.code) == [.badPrefix, .badPrefix, .unknownKey, .unknownTSIGKey], "\(errors)")
    #expect(errors.map(\.line) == [6, 6, 8, 7], "\(errors)")
    #expect(errors.last?.description.contains("missing-key. is not defined in tsig-keys") == true, "\(errors)")
    let empty = f.errors("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            transfer: {}
        """)
    #expect(empty.map(\.code) == [.invalidValue], "\(empty)")
}

@Test func parsesZoneNotifyAddresses() throws {
    let f = try Fixture()
    let config = try f.parse("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            notify: ["127.0.0.1:5300", "[::1]:5301"]
        """)
    #expect(config.zones[0].notify == [ListenAddress("127.0.0.1:5300")!, ListenAddress("[::1]:5301")!])
    let errors = f.errors("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            notify:
              - "127.0.0.1:5300"
              - "::1:5301"
              - nonsense
        """)
    #expect(errors.map(\.code) == [.badAddress, .badAddress], "\(errors)")
    #expect(errors.map(\.line) == [7, 8], "\(errors)")
}

@Test func parsesCatalogZones() throws {
    let f = try Fixture()
    let config = try f.parse("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            catalog-zone: catalog.example.
          - origin: catalog.example.
            catalog-role: generate
            transfer: { allow: [127.0.0.1/32] }
        """)
    let catalog = try DNSName("catalog.example.")
    #expect(config.zones[0].catalogZone == catalog && !config.zones[0].generatesCatalog)
    #expect(config.zones[1].generatesCatalog && config.zones[1].file.isEmpty && config.zones[1].transfer != nil)
    let errors = f.errors("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            catalog-zone: nowhere.example.
          - origin: catalog.example.
            catalog-role: generate
            file: example.com.zone
          - origin: other.example.
            catalog-role: consume
        """)
    #expect(errors.map(\.code) == [.badCatalog, .invalidValue, .missingKey, .badCatalog], "\(errors)")
    #expect(errors.map(\.line) == [8, 10, 9, 3], "\(errors)")
    #expect(errors.last?.description.contains("nowhere.example. is not a zone with catalog-role: generate") == true, "\(errors)")
}

@Test func parsesConsumedCatalog() throws {
    let f = try Fixture()
    let config = try f.parse("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: catalog.example.
            primaries: ["127.0.0.1:5300"]
            file: catalog.example.zone
            catalog-role: interpret
        """)
    #expect(config.zones[0].interpretsCatalog && config.zones[0].isSecondary && !config.zones[0].generatesCatalog)
    // interpret without primaries: reported at the catalog-role line.
    let errors = f.errors("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: catalog.example.
            file: example.com.zone
            catalog-role: interpret
        """)
    #expect(errors.map(\.code) == [.badCatalog] && errors.map(\.line) == [5], "\(errors)")
    #expect(errors.first?.description.contains("catalog-role: interpret needs primaries") == true, "\(errors)")
}

@Test func transferToEveryAddressMustBeSaid() throws {
    let f = try Fixture()
    let errors = f.errors("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            transfer: { allow: [10.0.0.0/8, 0.0.0.0/0] }
        """)
    #expect(errors.map(\.code) == [.openTransfer] && errors.map(\.line) == [5], "\(errors)")
    #expect(errors.first?.description.contains("0.0.0.0/0 lets every address transfer the zone; write `any`") == true, "\(errors)")
    let said = try f.parse("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
            transfer: { allow: [any] }
          - origin: example.net.
            file: example.com.zone
            transfer: { allow: ["::/0"], keys: [k] }
        tsig-keys:
          - { name: k, algorithm: hmac-sha256, secret: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= }
        """)
    #expect(said.zones[0].transfer?.allow.map(\.description) == ["0.0.0.0/0", "::/0"])
    #expect(said.zones[1].transfer?.allow.map(\.length) == [0])
}

@Test func parsesSerialPolicyAndJournalDirectory() throws {
    let f = try Fixture()
    let config = try f.parse("""
        listen: ["127.0.0.1:5353"]
        journal-dir: state/journal
        zones:
          - origin: example.com.
            file: example.com.zone
            serial-policy: dateserial
        """)
    #expect(config.zones[0].serialPolicy == .dateserial)
    #expect(config.journalDirectory == f.directory + "/state/journal")
    let defaults = try f.parse("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.com.
            file: example.com.zone
        """)
    #expect(defaults.zones[0].serialPolicy == .keep && defaults.journalDirectory == f.directory + "/journal")
    let absolute = try f.parse("listen: [\"127.0.0.1:5353\"]\njournal-dir: /var/lib/j\nzones:\n  - { origin: example.com., file: example.com.zone }\n")
    #expect(absolute.journalDirectory == "/var/lib/j")
    let errors = f.errors("""
        listen: ["127.0.0.1:5353"]
        journal-dir: ""
        zones:
          - origin: example.com.
            file: example.com.zone
            serial-policy: sometimes
        """)
    #expect(errors.map(\.code) == [.invalidValue, .invalidValue], "\(errors)")
    #expect(errors.map(\.line) == [2, 6], "\(errors)")
    #expect(errors.last?.description.contains("keep|increment|unixtime|dateserial") == true, "\(errors)")
}
