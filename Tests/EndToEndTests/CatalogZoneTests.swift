import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Catalog zones (RFC 9432, version 2): Knot, as a catalog consumer of the catalog Meridian
/// generates, serves the member zones without a line of its configuration naming them; a zone
/// added to or removed from the catalog on Meridian (a reload) is added or purged by Knot after
/// Meridian's NOTIFY.
@Suite(.serialized) struct CatalogZoneTests {
    static let fixture = E2E.repo.appendingPathComponent("Tests/Fixtures/zones/transfer.zone")

    /// Meridian's configuration: member-a. and member-b. from the fixture, each in the catalog
    /// when listed in `members`, and the generated catalog.example., transferable from loopback and
    /// notified to `knotPort`.
    static func config(port: UInt16, knotPort: UInt16, members: Set<String>) -> String {
        var yaml = "listen: [\"127.0.0.1:\(port)\"]\nworkers: 1\nzones:\n"
        for origin in ["member-a.", "member-b."] {
            yaml += "  - origin: \(origin)\n    file: \(origin)zone\n    transfer: { allow: [127.0.0.1/32] }\n"
            if members.contains(origin) { yaml += "    catalog-zone: catalog.example.\n" }
        }
        yaml += """
              - origin: catalog.example.
                catalog-role: generate
                transfer: { allow: [127.0.0.1/32] }
                notify: ["127.0.0.1:\(knotPort)"]

            """
        return yaml
    }

    @Test("Knot consumes Meridian's catalog: the members are served, a member added on Meridian is transferred and one removed is purged after a reload",
          .timeLimit(.minutes(2)))
    func knotConsumesCatalog() throws {
        let kdig = try E2E.tool("kdig")
        let binary = try E2E.meridianBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for origin in ["member-a.", "member-b."] {
            try FileManager.default.copyItem(at: Self.fixture, to: dir.appendingPathComponent(origin + "zone"))
        }
        let port = try E2E.freePort()
        var knotPort = try E2E.freePort()
        while knotPort == port { knotPort = try E2E.freePort() }

        // Meridian, with member-a. in the catalog.
        let configFile = dir.appendingPathComponent("meridian.yaml")
        try Self.config(port: port, knotPort: knotPort, members: ["member-a."]).write(to: configFile, atomically: true, encoding: .utf8)
        let check = try E2E.run(binary, ["check", "--config", configFile.path], timeout: 30)
        #expect(check.status == 0 && check.stdout.contains("catalog.example.: 4 records"), "\(check.stdout)\(check.stderr)")
        let log = dir.appendingPathComponent("meridian.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let meridian = Process()
        meridian.executableURL = URL(fileURLWithPath: binary)
        meridian.arguments = ["serve", "--config", configFile.path]
        let handle = try FileHandle(forWritingTo: log)
        meridian.standardOutput = handle
        meridian.standardError = handle
        try meridian.run()
        defer { if meridian.isRunning { meridian.terminate(); meridian.waitUntilExit() } }
        let meridianLog = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        // The catalog, read by kdig: the RFC 9432 version and one PTR per member, the ID from the name.
        var catalog = ""
        let served = E2E.eventually(10) {
            catalog = (try? E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", "catalog.example.", "AXFR"], timeout: 10).stdout) ?? ""
            return catalog.contains("PTR")
        }
        #expect(served, "\(catalog)\n\(meridianLog())")
        let records = DigResponse.parseKdig(catalog).answer
        #expect(records.contains { $0.hasPrefix("version.catalog.example.") && $0.hasSuffix("TXT \"2\"") }, "\(records)")
        let members = records.filter { $0.contains(" PTR ") }
        #expect(members.count == 1 && members[0].hasSuffix("PTR member-a.") && members[0].contains(".zones.catalog.example."), "\(members)")

        // Knot, configured with the catalog only.
        let knotDir = dir.appendingPathComponent("knot")
        let knot = try KnotDaemon(dir: knotDir, port: knotPort, config: KnotDaemon.head(dir: knotDir, port: knotPort) + """
            remote:
              - id: meridian
                address: 127.0.0.1@\(port)
            acl:
              - id: from-meridian
                address: 127.0.0.1
                action: notify
            template:
              - id: default
                storage: \(knotDir.path)
                zonefile-sync: -1
                zonefile-load: none
                journal-content: none
              - id: member
                storage: \(knotDir.path)
                master: meridian
                acl: from-meridian
                zonefile-sync: -1
                zonefile-load: none
                journal-content: none
            zone:
              - domain: catalog.example.
                master: meridian
                acl: from-meridian
                catalog-role: interpret
                catalog-template: member

            """)
        defer { knot.stop() }
        let knotText = { knot.logText }

        #expect(try E2E.eventually(20) { try knot.serves("member-a.") }, "\(knotText())")
        #expect(try !knot.serves("member-b."), "\(knotText())")
        // Knot answers the member like Meridian.
        for (name, type) in [("www.member-a.", "A"), ("member-a.", "MX")] {
            let fromKnot = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(knotPort)", "+noall", "+answer", name, type], timeout: 10)
            let fromMeridian = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", name, type], timeout: 10)
            let answer = Set(DigResponse.parseKdig(fromMeridian.stdout).answer)
            #expect(!answer.isEmpty && answer == Set(DigResponse.parseKdig(fromKnot.stdout).answer), "\(name) \(type)")
        }

        // member-b. joins the catalog and member-a. leaves it; Meridian reloads and NOTIFYs.
        try Self.config(port: port, knotPort: knotPort, members: ["member-b."]).write(to: configFile, atomically: true, encoding: .utf8)
        kill(meridian.processIdentifier, SIGHUP)
        #expect(try E2E.eventually(10) { try knot.serves("member-b.") }, "\(knotText())\n\(meridianLog())")
        #expect(try E2E.eventually(10) { try !knot.serves("member-a.") }, "\(knotText())")
        #expect(knotText().contains("[member-b.] zone added from catalog") && knotText().contains("[member-a.] zone purged"), "\(knotText())")
        // Meridian still serves both zones itself.
        for origin in ["member-a.", "member-b."] {
            let r = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+header", origin, "SOA"], timeout: 5)
            #expect(DigResponse.parseKdig(r.stdout).status == "NOERROR", "\(origin)")
        }
    }
}
