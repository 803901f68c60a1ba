import Foundation
import Testing

/// `meridian diff`: two configuration files in a temporary directory compared by the real binary,
/// as text and JSON, with its exit statuses. Nothing is served and no packet is sent.
@Suite("meridian diff", .serialized)
struct DiffTests {
    /// What both files share: London and Tokyo placed by explicit networks, two data centers.
    static let common = """
        geoip:
          networks:
            81.2.69.0/24: { location: [51.51, -0.13], country: GB, continent: EU }
            1.0.16.0/20: { location: [35.69, 139.69], country: JP, continent: AS }
            2406:da14::/32: { location: [35.69, 139.69], country: JP, continent: AS }
        datacenters:
          iad: { location: [38.95, -77.45], addresses: [192.0.2.10, "2001:db8:1::10"] }
          dub: { location: [53.35, -6.26], addresses: [198.51.100.10, "2001:db8:2::10"] }
        """

    /// The configuration in force.
    static let current = common + """

        services:
          app.example.com.: { policy: geo-nearest, datacenters: [iad, dub] }
          api.example.com.: { policy: weighted, datacenters: { iad: 3, dub: 1 } }
          old.example.com.: { datacenters: [iad] }
        """

    /// The edit: a Tokyo data center with IPv4 only, used by app and by a new geo-map service;
    /// api reweighted; old removed.
    static let proposed = common + """

          nrt: { location: [35.77, 140.39], addresses: [203.0.113.10] }
        services:
          app.example.com.: { policy: geo-nearest, datacenters: [iad, dub, nrt] }
          api.example.com.: { policy: weighted, datacenters: { iad: 2, dub: 1 } }
          map.example.com.: { policy: geo-map, map: { JP: [nrt], default: [iad] } }
        """

    /// A directory with the zone and the two configurations (`current.yaml`, `proposed.yaml`).
    func fixture(current: String = current, proposed: String = proposed) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: RoutingFixtures.zone, to: dir.appendingPathComponent("example.com.zone"))
        let head = "listen: [\"127.0.0.1:1\"]\nzones:\n  - origin: example.com.\n    file: example.com.zone\n"
        try (head + current).write(to: dir.appendingPathComponent("current.yaml"), atomically: true, encoding: .utf8)
        try (head + proposed).write(to: dir.appendingPathComponent("proposed.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func diff(_ dir: URL, _ args: [String] = []) throws -> E2E.Output {
        try E2E.run(try E2E.meridianBinary(), [
            "diff", "--config", dir.appendingPathComponent("proposed.yaml").path,
            "--against", dir.appendingPathComponent("current.yaml").path,
        ] + args, timeout: 60)
    }

    @Test("text: data centers, services added, removed and changed, moving clients, empty answers")
    func text() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try diff(dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        #expect(out.contains("+ nrt: addresses 203.0.113.10"), "\(out)")
        #expect(out.contains("~ app.example.com.: data centers [iad, dub]→[iad, dub, nrt]"), "\(out)")
        #expect(out.contains("~ api.example.com.: weights iad 3→2, dub 1→1; shares 75%→67% / 25%→33%"), "\(out)")
        #expect(out.contains("+ map.example.com.: geo-map {JP: [nrt], default: [iad]}"), "\(out)")
        #expect(out.contains("- old.example.com.: round-robin [iad]"), "\(out)")
        // Tokyo's IPv4 clients move from Dublin to nrt; its AAAA queries stay with Dublin (nrt has no IPv6).
        #expect(out.contains("dub → nrt (AAAA dub): IPv4 1 prefix, 4,096 addresses; IPv6 1 prefix, 2^96 addresses"), "\(out)")
        #expect(out.contains("JP: IPv4 1 network, 4,096 addresses; IPv6 1 network, 2^96 addresses"), "\(out)")
        #expect(out.contains("1.0.16.0/20 dub → nrt (AAAA dub)"), "\(out)")
        #expect(!out.contains("81.2.69.0/24"), "London does not move:\n\(out)")
        #expect(out.contains("new: map.example.com. AAAA from map entry JP [nrt]: no IPv6 address"), "\(out)")
    }

    @Test("JSON for tools, and --exit-code: 2 with changes, 0 without")
    func json() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try diff(dir, ["--json", "--exit-code"])
        #expect(r.status == 2, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["changed"] as? Bool == true)
        let services = try #require(object["services"] as? [[String: Any]])
        #expect(services.map { $0["name"] as? String } == ["app.example.com.", "api.example.com.", "map.example.com.", "old.example.com."])
        #expect(services.map { $0["change"] as? String } == ["changed", "changed", "added", "removed"])
        let clients = try #require(services[0]["clients"] as? [String: Any])
        let total = try #require(clients["total"] as? [String: Any])
        #expect(total["ipv4Addresses"] as? Int == 4096 && total["ipv6Prefixes"] as? Int == 1)
        let countries = try #require(clients["countries"] as? [[String: Any]])
        #expect(countries.map { $0["country"] as? String } == ["JP"])
        let empty = try #require(object["emptyAnswers"] as? [[String: Any]])
        #expect(empty.count == 1 && empty.first?["type"] as? String == "AAAA" && empty.first?["list"] as? String == "map entry JP")

        let same = try fixture(proposed: Self.current)
        defer { try? FileManager.default.removeItem(at: same) }
        let unchanged = try diff(same, ["--exit-code"])
        #expect(unchanged.status == 0, "\(unchanged.stderr)")
        #expect(unchanged.stdout.contains("no routing changes"), "\(unchanged.stdout)")
    }

    @Test("an empty answer of a failover names each step's list and its data centers")
    func failoverEmptyAnswer() throws {
        let labs = Self.common + """

              lab1: { location: [40.0, -80.0], addresses: [203.0.113.21] }
              lab2: { location: [41.0, -81.0], addresses: [203.0.113.22] }
            services:
              x.example.com.: { policy: failover, failover: [lab1, { datacenters: [lab1, lab2] }] }
            """
        let dir = try fixture(current: Self.current, proposed: labs)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try diff(dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("""
              new: x.example.com. AAAA from failover step 1 datacenters [lab1] and step 2 datacenters [lab1, lab2]: \
            no IPv6 address in any step
            """), "\(r.stdout)")
        let json = try diff(dir, ["--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let empty = try #require(object["emptyAnswers"] as? [[String: Any]])
        #expect(empty.first?["list"] as? String == "failover: step 1 datacenters; step 2 datacenters")
        #expect(empty.first?["datacenters"] as? [String] == ["lab1", "lab2"])
    }

    @Test("a configuration error in either file: file:line: reason on stderr, exit 1")
    func errors() throws {
        let broken = Self.proposed.replacingOccurrences(of: "datacenters: [iad, dub, nrt]", with: "datacenters: [iad, dub, hnd]")
        let dir = try fixture(proposed: broken)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try diff(dir)
        #expect(r.status == 1)
        let proposedPath = dir.appendingPathComponent("proposed.yaml").path
        #expect(r.stderr.contains("\(proposedPath):15:") && r.stderr.contains("no data center named \"hnd\""), "\(r.stderr)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        let missing = try E2E.run(try E2E.meridianBinary(), [
            "diff", "--config", dir.appendingPathComponent("current.yaml").path, "--against", dir.appendingPathComponent("absent.yaml").path,
        ], timeout: 60)
        #expect(missing.status == 1 && missing.stderr.contains("absent.yaml"), "\(missing.stderr)")
    }

    @Test("without --against: ./meridian.yaml when the current directory has one, else /etc/meridian/meridian.yaml; --help says so")
    func defaultAgainst() throws {
        let dir = try fixture()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try E2E.meridianBinary()
        /// `meridian diff --config proposed.yaml` run in `cwd`.
        func diffIn(_ cwd: URL) throws -> E2E.Output {
            try E2E.run("/bin/sh", ["-c", "cd \"$0\" && exec \"$1\" diff --config \"$2\"", cwd.path, binary,
                                    dir.appendingPathComponent("proposed.yaml").path], timeout: 60)
        }
        // A checkout (or /etc/meridian itself): the meridian.yaml beside the edited copy is the one in force.
        try FileManager.default.copyItem(at: dir.appendingPathComponent("current.yaml"), to: dir.appendingPathComponent("meridian.yaml"))
        let here = try diffIn(dir)
        #expect(here.status == 0, "\(here.stderr)")
        let explicit = try diff(dir)
        #expect(here.stdout.split(separator: "\n").first == "meridian.yaml → \(dir.appendingPathComponent("proposed.yaml").path)", "\(here.stdout)")
        #expect(here.stdout.split(separator: "\n").dropFirst() == explicit.stdout.split(separator: "\n").dropFirst(),
                "the same comparison as --against current.yaml:\n\(here.stdout)\n\(explicit.stdout)")
        // Elsewhere: the file the systemd unit serves.
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let there = try diffIn(elsewhere)
        if FileManager.default.fileExists(atPath: "/etc/meridian/meridian.yaml") {
            #expect(there.stdout.hasPrefix("/etc/meridian/meridian.yaml → ") || there.stderr.contains("/etc/meridian/meridian.yaml"),
                    "\(there.stdout)\(there.stderr)")
        } else {
            #expect(there.status == 1 && there.stderr.contains("/etc/meridian/meridian.yaml"), "\(there.stderr)")
        }
        let help = try E2E.run(binary, ["diff", "--help"], timeout: 60)
        #expect(help.stdout.contains("./meridian.yaml when the current directory has") && help.stdout.contains("else to /etc/meridian/meridian.yaml"),
                "\(help.stdout)")
    }
}
