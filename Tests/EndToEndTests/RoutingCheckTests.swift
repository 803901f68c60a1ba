import Foundation
import Testing

/// `meridian check` on broken routing configs (exit 1, every problem as `file:line: key: reason`),
/// and the differential test against Knot and NSD with a routing section in meridian's config.

private func check(_ fixture: String) throws -> (status: Int32, lines: [String], file: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-check-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let config = dir.appendingPathComponent(fixture)
    try FileManager.default.copyItem(at: RoutingFixtures.dir.appendingPathComponent(fixture), to: config)
    try FileManager.default.copyItem(at: RoutingFixtures.zone, to: dir.appendingPathComponent("example.com.zone"))
    let r = try E2E.run(try E2E.meridianBinary(), ["check", "--config", config.path], timeout: 30)
    let lines = (r.stderr + r.stdout).split(separator: "\n").map(String.init)
    return (r.status, lines, config.path)
}

@Suite("Routing end to end: meridian check and the differential test", .serialized)
struct RoutingCheckTests {
    @Test("broken routing config: exit 1 and each problem with file, line and key")
    func brokenConfig() throws {
        let (status, lines, file) = try check("broken-config.yaml")
        #expect(status == 1, "meridian check must exit 1:\n\(lines.joined(separator: "\n"))")
        // (line, key, a word of the reason): the lines of Tests/Fixtures/routing/broken-config.yaml
        let expected: [(Int, String, String)] = [
            (8, "geoip.networks.10.1.2.0/33", "prefix length"),          // bad CIDR
            (11, "datacenters.far.location", "latitude"),                // coordinates out of range
            (13, "checks.ping.type", "unknown check type"),              // unknown check type
            (17, "services.geo.example.com..datacenters[1]", "lhr"),     // unknown data center
            (20, "services.w.example.com..datacenters.iad", "weight"),   // negative weight
        ]
        for (line, key, word) in expected {
            let prefix = "\(file):\(line): \(key): "
            #expect(lines.contains { $0.hasPrefix(prefix) && $0.contains(word) },
                    "expected a line starting \"\(prefix)\" mentioning \"\(word)\" in:\n\(lines.joined(separator: "\n"))")
        }
    }

    @Test("service names with zone records or outside every zone: both locations printed")
    func brokenZones() throws {
        let (status, lines, file) = try check("broken-zones.yaml")
        let zone = (file as NSString).deletingLastPathComponent + "/example.com.zone"
        let text = lines.joined(separator: "\n")
        #expect(status == 1, "meridian check must exit 1:\n\(text)")
        // static.example.com. has an A record at line 8 of example.com.zone; the service is at line 9.
        #expect(lines.contains { $0.hasPrefix("\(file):9: services.static.example.com.: ") && $0.contains("\(zone):8") },
                "the service and the zone record must both be located:\n\(text)")
        #expect(lines.contains { $0.hasPrefix("\(file):11: services.svc.example.org.: ") && $0.contains("outside every zone") },
                "svc.example.org. lies outside every zone:\n\(text)")
        #expect(!text.contains("ok.example.com"), "ok.example.com. is fine and must not be reported:\n\(text)")
    }

    @Test("the health and policy fixture configs pass meridian check")
    func goodConfigs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: RoutingFixtures.zone, to: dir.appendingPathComponent("example.com.zone"))
        try "".write(to: dir.appendingPathComponent("operator-state"), atomically: true, encoding: .utf8)
        let values = ["DIR": dir.path, "FIX": RoutingFixtures.dir.path, "HTTP1": "1081", "HTTP2": "1082",
                      "TCP1": "1083", "TCP2": "1084", "INTERVAL": "200ms", "TIMEOUT": "150ms", "RISE": "2"]
        for fixture in ["health.yaml", "policies.yaml"] {  // geo.yaml is served by RoutingGeoTests
            let yaml = "listen: [\"127.0.0.1:5399\"]\nzones:\n  - origin: example.com.\n    file: example.com.zone\n"
                + (try RoutingFixtures.config(fixture, values))
            let config = dir.appendingPathComponent(fixture)
            try yaml.write(to: config, atomically: true, encoding: .utf8)
            let r = try E2E.run(try E2E.meridianBinary(), ["check", "--config", config.path], timeout: 30)
            #expect(r.status == 0 && r.stdout.contains("routing:"), "\(fixture): \(r.stdout)\(r.stderr)")
        }
    }

    @Test("differential test against Knot and NSD passes with a routing section in meridian's config",
          .timeLimit(.minutes(10)))
    func differentialWithRouting() throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        let wrapper = RoutingFixtures.dir.appendingPathComponent("meridian-with-routing.sh").path
        let record = FileManager.default.temporaryDirectory.appendingPathComponent("routing-diff-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: record) }
        let run = try E2E.runSuite(Suites.differential, arguments: ["--meridian", wrapper],
                                   environment: ["MERIDIAN": try E2E.meridianBinary(), "ROUTING_DIFF_RECORD": record.path],
                                   timeout: 540)
        #expect(run.status == 0, "with routing: \(run)")
        let served = (try? String(contentsOf: record, encoding: .utf8)) ?? ""
        #expect(served.contains("routed-rr.example.org.") && served.contains("services:"),
                "meridian did not serve the config with the routing section:\n\(served)")
    }
}
