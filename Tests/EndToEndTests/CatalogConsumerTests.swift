import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Meridian as a catalog consumer (RFC 9432, version 2; issue 10 item 3): knotd generates the
/// catalog of its member zones, and Meridian, whose configuration names only the catalog
/// (`catalog-role: interpret`), serves the members; a member added on Knot is then served by
/// Meridian and one removed on Knot is no longer served (REFUSED), all on loopback.
@Suite(.serialized) struct CatalogConsumerTests {
    static let fixture = E2E.repo.appendingPathComponent("Tests/Fixtures/zones/transfer.zone")

    /// Knot's configuration: the generated catalog.example. with `members` in it, each member
    /// read from `<member>zone`; every zone NOTIFYs Meridian on `meridianPort` and may be
    /// transferred from loopback.
    static func knotConf(_ dir: URL, port: UInt16, meridianPort: UInt16, members: [String]) -> String {
        var text = KnotDaemon.head(dir: dir, port: port) + """
            remote:
              - id: meridian
                address: 127.0.0.1@\(meridianPort)
            acl:
              - id: xfr
                address: 127.0.0.0/8
                action: transfer
            template:
              - id: default
                storage: \(dir.path)
                zonefile-sync: -1
                journal-content: changes
                notify: meridian
                acl: xfr
            zone:
              - domain: catalog.example.
                catalog-role: generate

            """
        for member in members {
            text += "  - domain: \(member)\n    file: \(member)zone\n    catalog-role: member\n    catalog-zone: catalog.example.\n"
        }
        return text
    }

    static func status(_ port: UInt16, _ name: String, _ type: String = "SOA") throws -> DigResponse {
        try SecondaryTests.query(port, name, type)
    }

    @Test("Meridian consumes Knot's catalog: the members are served, a member added on Knot is served and one removed is REFUSED",
          .timeLimit(.minutes(3)))
    func meridianConsumesKnotCatalog() throws {
        let dir = try SecondaryTests.temporaryDirectory("catalog-consumer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let knotDir = dir.appendingPathComponent("knot")
        try FileManager.default.createDirectory(at: knotDir, withIntermediateDirectories: true)
        for origin in ["member-a.", "member-b.", "member-c."] {
            try FileManager.default.copyItem(at: Self.fixture, to: knotDir.appendingPathComponent(origin + "zone"))
        }
        let knotPort = try E2E.freePort()
        var port = try E2E.freePort()
        while port == knotPort { port = try E2E.freePort() }

        let knot = try KnotDaemon(dir: knotDir, port: knotPort,
                                  config: Self.knotConf(knotDir, port: knotPort, meridianPort: port, members: ["member-a.", "member-b."]),
                                  readyZone: "member-a.")
        defer { knot.stop() }
        let knotText = { knot.logText }

        // Meridian names only the catalog.
        let zones = """
              - origin: catalog.example.
                primaries: ["127.0.0.1:\(knotPort)"]
                file: store/catalog.example.zone
                catalog-role: interpret

            """
        let meridian = try SecondaryTests.Secondary(dir: dir, port: port, zones: zones)
        defer { meridian.stop() }
        let serves = { (origin: String) throws -> Bool in try E2E.servesAuthoritatively(port, origin) }
        for origin in ["member-a.", "member-b."] {
            #expect(try E2E.eventually(20) { try serves(origin) }, "\(origin)\n\(meridian.logText)\n\(knotText())")
        }
        #expect(try Self.status(port, "member-c.").status == "REFUSED")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("store/member-a.zone").path))
        // Meridian answers the members as Knot does.
        for (name, type) in [("www.member-a.", "A"), ("member-a.", "MX"), ("member-b.", "NS"), ("nope.member-b.", "A")] {
            let mine = try Self.status(port, name, type)
            let knots = try Self.status(knotPort, name, type)
            #expect(mine.status == knots.status && Set(mine.answer) == Set(knots.answer) && Set(mine.authority) == Set(knots.authority),
                    "\(name) \(type): \(mine) vs \(knots)")
        }

        // member-c. added and member-a. removed on Knot; its NOTIFY of the catalog reaches Meridian.
        try knot.configure(Self.knotConf(knotDir, port: knotPort, meridianPort: port, members: ["member-b.", "member-c."]))
        try knot.knotc(["reload"])
        #expect(try E2E.eventually(20) { try serves("member-c.") }, "\(meridian.logText)\n\(knotText())")
        #expect(try E2E.eventually(20) { try Self.status(port, "member-a.").status == "REFUSED" }, "\(meridian.logText)")
        #expect(try serves("member-b."))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("store/member-a.zone").path))
        #expect(meridian.logText.contains("catalog: member added") && meridian.logText.contains("catalog: member removed"), "\(meridian.logText)")

        // A restart serves the members from the stored copies before Knot is asked.
        knot.stop()
        meridian.stop()
        try meridian.start()
        #expect(try serves("member-c.") && serves("member-b."), "\(meridian.logText)")
        #expect(try Self.status(port, "member-a.").status == "REFUSED")
    }

    /// A catalog written by hand, as knotd serves it as an ordinary zone: `members` are
    /// (unique ID, target) pairs.
    static func catalogFile(serial: Int, members: [(String, String)]) -> String {
        var text = """
            $ORIGIN catalog.example.
            $TTL 0
            @ SOA invalid. invalid. \(serial) 3600 600 2147483646 0
            @ NS invalid.
            version TXT "2"

            """
        for (id, target) in members { text += "\(id).zones PTR \(target)\n" }
        return text
    }

    @Test("a member whose unique ID changes is transferred again by AXFR; hostile catalog entries are skipped with a log line",
          .timeLimit(.minutes(3)))
    func uniqueIDChangeAndHostileEntries() throws {
        let dir = try SecondaryTests.temporaryDirectory("catalog-id")
        defer { try? FileManager.default.removeItem(at: dir) }
        let knotDir = dir.appendingPathComponent("knot")
        try FileManager.default.createDirectory(at: knotDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.fixture, to: knotDir.appendingPathComponent("member-a.zone"))
        let hostile = [("dup", "member-a."), ("self", "catalog.example."), ("inside", "x.catalog.example."), ("bad", "a\\/b.example.")]
        let catalogPath = knotDir.appendingPathComponent("catalog.example.zone")
        try Self.catalogFile(serial: 1, members: [("id1", "member-a.")] + hostile).write(to: catalogPath, atomically: true, encoding: .utf8)
        let knotPort = try E2E.freePort()
        var port = try E2E.freePort()
        while port == knotPort { port = try E2E.freePort() }
        let conf = KnotDaemon.head(dir: knotDir, port: knotPort) + """
            remote:
              - id: meridian
                address: 127.0.0.1@\(port)
            acl:
              - id: xfr
                address: 127.0.0.0/8
                action: transfer
            template:
              - id: default
                storage: \(knotDir.path)
                zonefile-sync: -1
                journal-content: none
                notify: meridian
                acl: xfr
                semantic-checks: off
            zone:
              - domain: catalog.example.
                file: catalog.example.zone
              - domain: member-a.
                file: member-a.zone

            """
        let knot = try KnotDaemon(dir: knotDir, port: knotPort, config: conf, readyZone: "catalog.example.")
        defer { knot.stop() }
        let knotText = { knot.logText }

        let zones = """
              - origin: catalog.example.
                primaries: ["127.0.0.1:\(knotPort)"]
                file: store/catalog.example.zone
                catalog-role: interpret

            """
        let meridian = try SecondaryTests.Secondary(dir: dir, port: port, zones: zones)
        defer { meridian.stop() }
        let serves = { (origin: String) throws -> Bool in try E2E.servesAuthoritatively(port, origin) }
        let transfers = { meridian.logText.split(separator: "\n").filter { $0.contains("zone transferred") && $0.contains("zone=member-a.") && $0.contains("kind=AXFR") }.count }
        #expect(try E2E.eventually(20) { try serves("member-a.") && transfers() == 1 }, "\(meridian.logText)\n\(knotText())")
        let log = meridian.logText
        #expect(log.contains("listed twice") && log.contains("is the catalog or a name in it") && log.contains("letters, digits"), "\(log)")
        for origin in ["x.catalog.example.", "b.example."] {
            #expect(try Self.status(port, origin).status != "NOERROR" || !(try serves(origin)), "\(origin)")
        }

        // The member's ID changes: its copy is dropped and transferred again by AXFR.
        try Self.catalogFile(serial: 2, members: [("id2", "member-a.")]).write(to: catalogPath, atomically: true, encoding: .utf8)
        try knot.knotc(["zone-reload", "catalog.example."])
        #expect(E2E.eventually(20) { transfers() == 2 }, "\(meridian.logText)\n\(knotText())")
        #expect(meridian.logText.contains("catalog: member's unique ID changed"), "\(meridian.logText)")
        #expect(try serves("member-a."), "\(meridian.logText)")
    }
}
