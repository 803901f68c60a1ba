import Routing
import HealthModel
import IPNet
import Health
import DNSWire
import Foundation
import ServerConfig
import Testing

/// A temporary directory with a zone file and a stand-in GeoIP database.
private struct RoutingFixture {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "meridian-routing-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "; zone\n".write(toFile: directory + "/example.com.zone", atomically: true, encoding: .utf8)
        try "mmdb".write(toFile: directory + "/GeoLite2-City.mmdb", atomically: true, encoding: .utf8)
    }

    /// `body` after the required listen and zones keys (lines 1 and 2).
    func parse(_ body: String) throws(ServerConfigErrors) -> ServerConfiguration {
        try ServerConfiguration.parse(yaml: Self.header + body, file: "m.yaml", baseDirectory: directory, checkKinds: HealthCheckers.kinds)
    }

    /// The errors of `body` as "line key code", in the order reported.
    func errors(_ body: String) -> [String] {
        do {
            _ = try parse(body)
            Issue.record("expected errors")
            return []
        } catch {
            return error.errors.map { "\($0.line ?? 0) \($0.key ?? "-") \($0.code)" }
        }
    }

    static let header = """
        listen: ["127.0.0.1:5353"]
        zones: [{ origin: example.com., file: example.com.zone }]

        """
}

@Test func parsesFullRoutingConfiguration() throws {
    let f = try RoutingFixture()
    let config = try f.parse("""
        geoip:
          database: GeoLite2-City.mmdb
          networks:
            10.20.0.0/16: { location: [35.68, 139.69], country: jp, continent: AS }
            "2001:db8:100::/48": { country: IE }
        datacenters:
          iad:
            location: [38.95, -77.45]
            country: US
            continent: NA
            addresses:
              - 192.0.2.10
              - { ip: 198.51.100.10, check: "127.0.0.1:8081" }
              - "2001:DB8:1::10"
          dub: { location: [53.35, -6.26], addresses: [192.0.2.20] }
          nrt: { location: [35.77, 140.39], continent: AS, addresses: [{ ip: 192.0.2.30, check: "[::1]:8443" }] }
          gru: { addresses: [192.0.2.40] }
        checks:
          web: { type: http, path: /healthz, expect: 200, interval: 5s, timeout: 2s, jitter: 20%, rise: 1, fall: 4, host: www.example.com, insecure: false }
          tls: { type: https, port: 8443, body: ok, insecure: true, jitter: 0.05 }
          port: { type: tcp, port: 443 }
          resolver: { type: dns, port: 5353, name: probe.example.com., qtype: aaaa, rcode: noerror, answer: 192.0.2.1 }
          script: { type: exec, command: [/usr/lib/nagios/plugins/check_http, -H, 127.0.0.1] }
          words: { type: exec, command: /bin/check --quiet }
          drain: { type: file, path: state/drain }
        health:
          state-file: health-state.json
        services:
          www.example.com.:
            policy: geo-nearest
            datacenters: [iad, dub, nrt]
            unlocated: [dub, iad]
            pick: random
            check: web
            ttl: 60
            degraded-ttl: 10
            max-answers: 2
            when-all-down: nodata
          rr.example.com.: { datacenters: [iad, gru] }
          w.example.com.: { policy: weighted, datacenters: { iad: 3, dub: 1.5, nrt: 0 }, per-address: true, ttl: 3 }
          map.example.com.:
            policy: geo-map
            map: { JP: [nrt, iad], EU: [dub], continent:NA: [iad], country:sa: [gru], default: [iad] }
          fo.example.com.:
            policy: failover
            check: tls
            failover:
              - { policy: geo-nearest, datacenters: [iad, nrt] }
              - gru
              - policy: failover
                failover: [dub, { policy: round-robin, datacenters: [iad, dub] }]
        """)
    let r = config.routing
    let d = f.directory
    #expect(r.geoip == GeoIPConfig(database: d + "/GeoLite2-City.mmdb", networks: [
        NetworkConfig(prefix: IPPrefix("10.20.0.0/16")!, location: Coordinates(latitude: 35.68, longitude: 139.69), country: "JP", continent: "AS", line: 6),
        NetworkConfig(prefix: IPPrefix("2001:db8:100::/48")!, location: nil, country: "IE", continent: nil, line: 7),
    ], line: 3))
    #expect(r.datacenters == [
        DataCenterConfig(name: "iad", location: Coordinates(latitude: 38.95, longitude: -77.45), country: "US", continent: "NA", addresses: [
            AddressConfig(ip: IPAddress("192.0.2.10")!, checkTarget: nil, line: 14),
            AddressConfig(ip: IPAddress("198.51.100.10")!, checkTarget: "127.0.0.1:8081", line: 15),
            AddressConfig(ip: IPAddress("2001:db8:1::10")!, checkTarget: nil, line: 16),
        ], line: 9),
        DataCenterConfig(name: "dub", location: Coordinates(latitude: 53.35, longitude: -6.26), country: nil, continent: nil,
                         addresses: [AddressConfig(ip: IPAddress("192.0.2.20")!, checkTarget: nil, line: 17)], line: 17),
        DataCenterConfig(name: "nrt", location: Coordinates(latitude: 35.77, longitude: 140.39), country: nil, continent: "AS",
                         addresses: [AddressConfig(ip: IPAddress("192.0.2.30")!, checkTarget: "[::1]:8443", line: 18)], line: 18),
        DataCenterConfig(name: "gru", location: nil, country: nil, continent: nil,
                         addresses: [AddressConfig(ip: IPAddress("192.0.2.40")!, checkTarget: nil, line: 19)], line: 19),
    ])
    let us = "\u{1F}"
    #expect(r.checks == [
        CheckDefinition(name: "web", type: "http", interval: .seconds(5), timeout: .seconds(2), jitter: 0.2, rise: 1, fall: 4,
                    parameters: ["path": "/healthz", "expect": "200", "host": "www.example.com", "insecure": "false"], line: 21),
        CheckDefinition(name: "tls", type: "https", interval: .seconds(10), timeout: .seconds(2), jitter: 0.05, rise: 2, fall: 3,
                    parameters: ["port": "8443", "body": "ok", "insecure": "true"], line: 22),
        CheckDefinition(name: "port", type: "tcp", interval: .seconds(10), timeout: .seconds(2), jitter: 0.1, rise: 2, fall: 3,
                    parameters: ["port": "443"], line: 23),
        CheckDefinition(name: "resolver", type: "dns", interval: .seconds(10), timeout: .seconds(2), jitter: 0.1, rise: 2, fall: 3,
                    parameters: ["port": "5353", "name": "probe.example.com.", "qtype": "AAAA", "rcode": "NOERROR", "answer": "192.0.2.1"], line: 24),
        CheckDefinition(name: "script", type: "exec", interval: .seconds(10), timeout: .seconds(2), jitter: 0.1, rise: 2, fall: 3,
                    parameters: ["command": "/usr/lib/nagios/plugins/check_http\(us)-H\(us)127.0.0.1"], line: 25),
        CheckDefinition(name: "words", type: "exec", interval: .seconds(10), timeout: .seconds(2), jitter: 0.1, rise: 2, fall: 3,
                    parameters: ["command": "/bin/check\(us)--quiet"], line: 26),
        CheckDefinition(name: "drain", type: "file", interval: .seconds(10), timeout: .seconds(2), jitter: 0.1, rise: 2, fall: 3,
                    parameters: ["path": d + "/state/drain"], line: 27),
    ])
    #expect(r.healthStateFile == d + "/health-state.json")
    #expect(r.services == [
        ServiceConfig(name: try DNSName("www.example.com."),
                      policy: .geoNearest(datacenters: ["iad", "dub", "nrt"], unlocated: ["dub", "iad"], pick: .random),
                      check: "web", ttl: 60, degradedTTL: 10, maxAnswers: 2, whenAllDown: .noData, line: 31),
        ServiceConfig(name: try DNSName("rr.example.com."), policy: .roundRobin(datacenters: ["iad", "gru"]),
                      check: nil, ttl: 30, degradedTTL: 5, maxAnswers: nil, whenAllDown: .failOpen, line: 41),
        ServiceConfig(name: try DNSName("w.example.com."),
                      policy: .weighted(datacenters: [("iad", 3), ("dub", 1.5), ("nrt", 0)], perAddress: true),
                      check: nil, ttl: 3, degradedTTL: 3, maxAnswers: nil, whenAllDown: .failOpen, line: 42),
        ServiceConfig(name: try DNSName("map.example.com."),
                      policy: .geoMap(map: [("JP", ["nrt", "iad"]), ("continent:EU", ["dub"]), ("continent:NA", ["iad"]),
                                            ("SA", ["gru"]), ("default", ["iad"])], pick: .roundRobin),
                      check: nil, ttl: 30, degradedTTL: 5, maxAnswers: nil, whenAllDown: .failOpen, line: 43),
        ServiceConfig(name: try DNSName("fo.example.com."), policy: .failover([
            .geoNearest(datacenters: ["iad", "nrt"], unlocated: nil, pick: .roundRobin),
            .roundRobin(datacenters: ["gru"]),
            .failover([.roundRobin(datacenters: ["dub"]), .roundRobin(datacenters: ["iad", "dub"])]),
        ]), check: "tls", ttl: 30, degradedTTL: 5, maxAnswers: nil, whenAllDown: .failOpen, line: 46),
    ])
}

@Test func routingIsEmptyWithoutItsKeys() throws {
    let config = try RoutingFixture().parse("")
    #expect(config.routing == RoutingConfiguration())
}

@Test func appliesRoutingDefaults() throws {
    let f = try RoutingFixture()
    let r = try f.parse("""
        datacenters: { a: { addresses: ["::1"] } }
        checks: { c: { type: tcp } }
        services: { s.example.com.: { datacenters: [a] }, t.example.com.: { datacenters: [a], ttl: 4 } }
        """).routing
    #expect(r.geoip == nil)
    #expect(r.healthStateFile == nil)
    #expect(r.checks == [CheckDefinition(name: "c", type: "tcp", interval: .seconds(10), timeout: .seconds(2), jitter: 0.1,
                                     rise: 2, fall: 3, parameters: [:], line: 4)])
    #expect(r.services.map(\.policy) == [.roundRobin(datacenters: ["a"]), .roundRobin(datacenters: ["a"])])
    #expect(r.services.map(\.ttl) == [30, 4])
    #expect(r.services.map(\.degradedTTL) == [5, 4])
    #expect(r.services.map(\.whenAllDown) == [.failOpen, .failOpen])
    #expect(r.services.map(\.maxAnswers) == [nil, nil])
    #expect(r.services.map(\.check) == [nil, nil])
}

/// Every kind of routing error in one file, all reported in one pass with line, key and code.
@Test func reportsEveryRoutingError() throws {
    let f = try RoutingFixture()
    let errors = f.errors("""
        geoip:
          database: missing.mmdb
          networks:
            10.1.0.0/8: { country: US }
            10.2.0.0/33: { location: [91, 0] }
            "2001:db8::/ab": { continent: XX }
            10.3.0.0/16: { country: ZZ }
        datacenters:
          iad:
            location: [38.95, -181]
            addresses: [192.0.2.300, { ip: "2001:db8::g" }, 192.0.2.1]
          dub: { country: USA, addresses: [] }
          nrt: { continent: Asia }
          iad: { addresses: [192.0.2.2] }
          sfo: { addresses: [192.0.2.3], colour: red }
        checks:
          web: { type: http, interval: 5s, timeout: 5s, rise: 0, fall: 0, expect: 700 }
          ping: { type: icmp }
          web: { type: tcp }
          slow: { type: tcp, interval: 1s }
          run: { type: exec, port: 22 }
        services:
          a.example.com.: { datacenters: [iad, lax], check: nope, ttl: 0, max-answers: 0 }
          a.example.com.: { datacenters: [iad] }
          A.Example.COM.: { datacenters: [iad] }
          relative.example.com: { datacenters: [iad] }
          w.example.com.: { policy: weighted, datacenters: { iad: -1, dub: heavy, sfo: 0, lax: 1 } }
          z.example.com.: { policy: weighted, datacenters: { iad: 0, sfo: 0 } }
          g.example.com.: { policy: geo-nearest, datacenters: [iad, sfo], unlocated: [lax] }
          m.example.com.: { policy: geo-map, map: { JP: [lax], NA: [iad], XX: [iad] } }
          f.example.com.: { policy: failover, failover: [lax, { policy: round-robin, datacenters: [ord] }] }
          t.example.com.: { datacenters: [iad], ttl: 4294967296, degraded-ttl: 10 }
          d.example.com.: { datacenters: [iad], ttl: 20, degraded-ttl: 30 }
          p.example.com.: { policy: closest, datacenters: [iad] }
        """)
    #expect(errors == [
        "16 datacenters.iad duplicateKey",
        "21 checks.web duplicateKey",
        "26 services.a.example.com. duplicateKey",
        "4 geoip.database missingFile",
        "6 geoip.networks.10.1.0.0/8 badPrefix",
        "7 geoip.networks.10.2.0.0/33 badPrefix",
        "7 geoip.networks.10.2.0.0/33.location badCoordinates",
        "8 geoip.networks.2001:db8::/ab badPrefix",
        "8 geoip.networks.2001:db8::/ab.continent badContinent",
        "9 geoip.networks.10.3.0.0/16.country badCountry",
        "12 datacenters.iad.location badCoordinates",
        "13 datacenters.iad.addresses[0] badAddress",
        "13 datacenters.iad.addresses[1].ip badAddress",
        "14 datacenters.dub.country badCountry",
        "14 datacenters.dub.addresses noAddresses",
        "15 datacenters.nrt.continent badContinent",
        "15 datacenters.nrt.addresses noAddresses",
        "17 datacenters.sfo.colour unknownKey",
        "19 checks.web.rise invalidValue",
        "19 checks.web.fall invalidValue",
        "19 checks.web.expect invalidValue",
        "19 checks.web.timeout badTimeout",
        "20 checks.ping.type unknownCheckType",
        "22 checks.slow.interval badTimeout",
        "23 checks.run.port unknownKey",
        "23 checks.run.command missingKey",
        "25 services.a.example.com..check unknownCheck",
        "25 services.a.example.com..ttl badTTL",
        "25 services.a.example.com..max-answers invalidValue",
        "25 services.a.example.com..datacenters[1] unknownDataCenter",
        "27 services.A.Example.COM. duplicateKey",
        "28 services.relative.example.com relativeName",
        "29 services.w.example.com..datacenters.iad badWeight",
        "29 services.w.example.com..datacenters.dub badWeight",
        "29 services.w.example.com..datacenters.lax unknownDataCenter",
        "30 services.z.example.com..datacenters badWeight",
        "31 services.g.example.com..datacenters[1] missingLocation",
        "31 services.g.example.com..unlocated[0] unknownDataCenter",
        "32 services.m.example.com..map.JP[0] unknownDataCenter",
        "32 services.m.example.com..map.NA badCountry",
        "32 services.m.example.com..map.XX badCountry",
        "32 services.m.example.com..map.default missingDefault",
        "33 services.f.example.com..failover[0] unknownDataCenter",
        "33 services.f.example.com..failover[1].datacenters[0] unknownDataCenter",
        "34 services.t.example.com..ttl badTTL",
        "35 services.d.example.com..degraded-ttl badTTL",
        "36 services.p.example.com..policy unknownPolicy",
    ])
}

@Test func explainsErrors() throws {
    let f = try RoutingFixture()
    do {
        _ = try f.parse("""
            datacenters: { a: { addresses: [192.0.2.1] } }
            checks: { c: { type: smtp } }
            services: { s.example.com.: { datacenters: [a, b] } }
            """)
        Issue.record("expected errors")
    } catch {
        #expect(error.errors.map(\.description) == [
            "m.yaml:4: checks.c.type: unknown check type \"smtp\"; known: tcp, http, https, dns, exec, file",
            "m.yaml:5: services.s.example.com..datacenters[1]: no data center named \"b\" in datacenters",
        ])
    }
}

@Test func reportsBlockDuplicatesAtTheRepeatedLine() throws {
    let f = try RoutingFixture()
    let errors = f.errors("""
        datacenters:
          a:
            addresses: [192.0.2.1]
          b:
            addresses: [192.0.2.2]
            addresses: [192.0.2.3]
          "a":
            addresses: [192.0.2.4]
        services:
          s.example.com.: { datacenters: [a, c] }
        """)
    #expect(errors == [
        "8 datacenters.b.addresses duplicateKey",
        "9 datacenters.a duplicateKey",
        "12 services.s.example.com..datacenters[1] unknownDataCenter",
    ])
}

@Test(arguments: [
    ("10.0.0.0/8", nil), ("0.0.0.0/0", nil), ("2001:db8::/32", nil), ("::/0", nil), ("192.0.2.1/32", nil),
    ("10.1.0.0/8", "bits"), ("10.0.0.0/33", "length"), ("10.0.0.0", "address/length"), ("10.0.0/8", "address"),
    ("2001:db8::1/64", "bits"), ("2001:db8::/129", "length"), ("10.0.0.0/+8", "length"), ("10.0.0.0/", "length"),
])
func validatesPrefixes(text: String, problem: String?) throws {
    let f = try RoutingFixture()
    let yaml = "geoip: { networks: { \"\(text)\": { country: US } } }\n"
    if let problem {
        let errors = f.errors(yaml)
        #expect(errors == ["3 geoip.networks.\(text) badPrefix"])
        do { _ = try f.parse(yaml) } catch { #expect(error.errors.first?.reason.contains(problem) == true) }
    } else {
        #expect(try f.parse(yaml).routing.geoip?.networks.map(\.prefix.description) == [text])
    }
}

@Test func reportsFlowDuplicatesAtTheRepeatedKey() throws {
    let f = try RoutingFixture()
    let errors = f.errors("""
        datacenters: { a: { addresses: [192.0.2.1] }, b: { addresses: [192.0.2.2] } }
        services:
          w.example.com.: { policy: weighted, datacenters: { a: 1, b: 2,
                                                             "a": 3 } }
          m.example.com.: { policy: geo-map, map: { default: [a], JP: [b], jp: [a] } }
        """)
    #expect(errors == [
        "6 services.w.example.com..datacenters.a duplicateKey",
        "7 services.m.example.com..map.jp duplicateKey",
    ])
}

/// `transfer` per service: healthy by default, all-addresses and omit by name, anything else an
/// error at its line.
@Test func parsesServiceTransferModes() throws {
    let f = try RoutingFixture()
    let r = try f.parse("""
        datacenters: { a: { addresses: ["::1"] } }
        services:
          h.example.com.: { datacenters: [a] }
          all.example.com.: { datacenters: [a], transfer: all-addresses }
          o.example.com.: { policy: failover, failover: [a], transfer: omit }
        """).routing
    #expect(r.services.map(\.transfer) == [.healthy, .allAddresses, .omit])
    #expect(f.errors("""
        datacenters: { a: { addresses: ["::1"] } }
        services:
          h.example.com.: { datacenters: [a], transfer: everything }
        """) == ["5 services.h.example.com..transfer invalidValue"])
}
