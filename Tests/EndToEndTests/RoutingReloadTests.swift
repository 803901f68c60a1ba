import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A geo database changed on disk is picked up on reload (SIGHUP), and a broken one leaves the old
/// data serving. London (81.2.69.0/24) is not in the small fixture (unlocated: the listed order, iad
/// first) but is in GeoLite2 (nearest: dub).
@Suite("Routing end to end: the geo database is re-read on reload", .serialized)
struct RoutingReloadTests {
    @Test("replace the database file, SIGHUP: answers follow the new database; a corrupt file keeps the old")
    func databaseReload() throws {
        let geolite2 = try RoutingFixtures.geolite2()
        let fixture = E2E.repo.appendingPathComponent("Tests/Fixtures/geo/test-city.mmdb")
        let server = try RoutedMeridian()
        defer { server.remove() }
        let db = server.dir.appendingPathComponent("geo.mmdb")
        try FileManager.default.copyItem(at: fixture, to: db)
        try server.start(routing: """
            geoip: { database: geo.mmdb }
            datacenters:
              iad: { location: [38.95, -77.45], addresses: [192.0.2.10] }
              dub: { location: [53.35, -6.26], addresses: [198.51.100.10] }
            services:
              geo.example.com.: { policy: geo-nearest, datacenters: [iad, dub], ttl: 30 }

            """)
        let london = "81.2.69.0/24"
        #expect(try server.query("geo.example.com.", ecs: london).records.map(\.data) == ["192.0.2.10"],
                "the fixture does not know London: listed order")
        let pid = try #require(server.process?.processIdentifier)

        func reloadsFinished() -> Int {
            server.logText.components(separatedBy: "reload: done").count + server.logText.components(separatedBy: "reload: rejected").count - 2
        }
        func reload() throws {
            let before = reloadsFinished()
            kill(pid, SIGHUP)
            let waited = waitFor(240) { reloadsFinished() > before }
            #expect(waited != nil, "the reload did not finish:\n\(server.logText)")
        }

        // The same path, new contents (written aside and renamed over it, as an updater does).
        let staged = server.dir.appendingPathComponent("geo.mmdb.new")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: geolite2), to: staged)
        _ = rename(staged.path, db.path)
        try reload()
        let after = try server.query("geo.example.com.", ecs: london)
        #expect(after.records.map(\.data) == ["198.51.100.10"], "GeoLite2 places London near Dublin:\n\(after)")
        #expect((after.ecs?.scope ?? 0) >= 16, "scope of a located answer:\n\(after)")

        // A corrupt database is rejected with its path; the old data keeps serving.
        try Data("not a maxmind db".utf8).write(to: staged)
        _ = rename(staged.path, db.path)
        try reload()
        #expect(server.logText.contains("reload: rejected"), "\(server.logText)")
        #expect(server.logText.contains("geoip.database"), "the problem names the key:\n\(server.logText)")
        #expect(try server.query("geo.example.com.", ecs: london).records.map(\.data) == ["198.51.100.10"])
    }
}
