import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Catalog zones (RFC 9432, version 2): Knot and BIND, as catalog consumers of the catalog
/// Meridian generates, serve the member zones without a line of their configuration naming them;
/// a zone added to or removed from the catalog on Meridian (a reload) is added or deleted by the
/// consumer after Meridian's NOTIFY.
@Suite(.serialized) struct CatalogZoneTests {
    static let fixture = E2E.repo.appendingPathComponent("Tests/Fixtures/zones/transfer.zone")

    /// Meridian's configuration: member-a. and member-b. from the fixture, each in the catalog
    /// when listed in `members`, and the generated catalog.example., transferable from loopback and
    /// notified to `consumerPort`.
    static func config(port: UInt16, consumerPort: UInt16, members: Set<String>) -> String {
        var yaml = "listen: [\"127.0.0.1:\(port)\"]\nworkers: 1\nzones:\n"
        for origin in ["member-a.", "member-b."] {
            yaml += "  - origin: \(origin)\n    file: \(origin)zone\n    transfer: { allow: [127.0.0.1/32] }\n"
            if members.contains(origin) { yaml += "    catalog-zone: catalog.example.\n" }
        }
        yaml += """
              - origin: catalog.example.
                catalog-role: generate
                transfer: { allow: [127.0.0.1/32] }
                notify: ["127.0.0.1:\(consumerPort)"]

            """
        return yaml
    }

    /// What each consumer logs when it adds a member from the catalog and when it removes one.
    static let consumerLog: [PeerKind: (added: String, removed: String)] = [
        .knot: ("[member-b.] zone added from catalog", "[member-a.] zone purged"),
        .bind: ("catz: adding zone 'member-b' from catalog 'catalog.example' - success",
                "catz: deleting zone 'member-a' from catalog 'catalog.example' - success"),
    ]

    @Test("Knot and BIND consume Meridian's catalog: the members are served, a member added on Meridian is transferred and one removed is deleted after a reload",
          .timeLimit(.minutes(2)), arguments: [PeerKind.knot, .bind])
    func consumesCatalog(kind: PeerKind) throws {
        let kdig = try E2E.tool("kdig")
        let binary = try E2E.meridianBinary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for origin in ["member-a.", "member-b."] {
            try FileManager.default.copyItem(at: Self.fixture, to: dir.appendingPathComponent(origin + "zone"))
        }
        let port = try E2E.freePort()
        var consumerPort = try E2E.freePort()
        while consumerPort == port { consumerPort = try E2E.freePort() }

        // Meridian, with member-a. in the catalog.
        let configFile = dir.appendingPathComponent("meridian.yaml")
        try Self.config(port: port, consumerPort: consumerPort, members: ["member-a."]).write(to: configFile, atomically: true, encoding: .utf8)
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

        // The consumer, configured with the catalog only.
        let consumer = try PeerSecondary(kind, port: consumerPort, primaryPort: port, zones: [SecondaryZone(origin: "catalog.example.", catalog: true)])
        defer { consumer.stop() }
        let consumerText = { consumer.logText }

        #expect(try E2E.eventually(20) { try consumer.serves("member-a.") }, "\(consumerText())")
        #expect(try !consumer.serves("member-b."), "\(consumerText())")
        // The consumer answers the member like Meridian.
        for (name, type) in [("www.member-a.", "A"), ("member-a.", "MX")] {
            let fromConsumer = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(consumerPort)", "+noall", "+answer", name, type], timeout: 10)
            let fromMeridian = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", name, type], timeout: 10)
            let answer = Set(DigResponse.parseKdig(fromMeridian.stdout).answer)
            #expect(!answer.isEmpty && answer == Set(DigResponse.parseKdig(fromConsumer.stdout).answer), "\(kind) \(name) \(type): \(fromConsumer.stdout)")
        }

        // member-b. joins the catalog and member-a. leaves it; Meridian reloads and NOTIFYs.
        try Self.config(port: port, consumerPort: consumerPort, members: ["member-b."]).write(to: configFile, atomically: true, encoding: .utf8)
        kill(meridian.processIdentifier, SIGHUP)
        #expect(try E2E.eventually(10) { try consumer.serves("member-b.") }, "\(consumerText())\n\(meridianLog())")
        #expect(try E2E.eventually(10) { try !consumer.serves("member-a.") }, "\(consumerText())")
        let logged = Self.consumerLog[kind]!
        #expect(consumerText().contains(logged.added) && consumerText().contains(logged.removed), "\(consumerText())")
        // Meridian still serves both zones itself.
        for origin in ["member-a.", "member-b."] {
            let r = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(port)", "+noall", "+header", origin, "SOA"], timeout: 5)
            #expect(DigResponse.parseKdig(r.stdout).status == "NOERROR", "\(origin)")
        }
    }
}
