import Foundation
import GeoIP
import IPNet
import Testing

/// GeoLite2-City of 2018 from the PyPI package maxminddb-geolite2, fetched once before `swift test`
/// by scripts/fetch-geolite2 (scripts/test runs it): $MERIDIAN_GEOLITE2 when set, else
/// Tests/.cache/geolite2/GeoLite2-City.mmdb. Nothing is downloaded from inside the tests.
enum GeoLite2 {
    /// The database path, or why it is not there.
    static let path: Result<String, FetchError> = {
        let root = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let path = ProcessInfo.processInfo.environment["MERIDIAN_GEOLITE2"].flatMap { $0.isEmpty ? nil : $0 }
            ?? root + "/Tests/.cache/geolite2/GeoLite2-City.mmdb"
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 0 else {
            return .failure(FetchError(message: "\(path) is absent: run scripts/fetch-geolite2 (scripts/test runs it before swift test)"))
        }
        return .success(path)
    }()

    struct FetchError: Error { var message: String }

    /// The database, or nil after recording an issue saying that GeoLite2 is absent (so a test
    /// depending on it fails rather than passing silently).
    static func open() throws -> GeoDatabase? {
        switch path {
        case .success(let p): return try GeoDatabase(path: p)
        case .failure(let e):
            Issue.record("GeoLite2-City not found: \(e.message)")
            return nil
        }
    }
}

@Suite(.serialized) struct GeoLite2Tests {
    @Test func walkAndPrefixMapAgreeWithLibmaxminddb() throws {
        guard let db = try GeoLite2.open() else { return }
        #expect(db.metadata.databaseType == "GeoLite2-City")
        #expect(db.metadata.ipVersion == 6)
        let clock = ContinuousClock()
        var table = GeoNetworkTable()
        let walk = try clock.measure { table = try db.networks() }
        // MaxMind links these IPv6 subtrees back to the IPv4 data.
        #expect(Set(table.ipv4Aliases) == Set(["::/96", "::ffff:0:0/96", "2001::/32", "2002::/16"].map { IPPrefix($0)! }))
        #expect(table.ipv4.count > 1_000_000)
        var map: PrefixMap?
        let build = clock.measure {
            map = PrefixMap(table: table, decisions: (0..<UInt32(table.locations.count)).map { $0 }, unknown: .max)
        }
        let m = try #require(map)
        print("GeoLite2-City: \(table.ipv4.count) IPv4 + \(table.ipv6.count) IPv6 networks, \(table.locations.count) locations; walk \(walk), PrefixMap build \(build), \(m.nodeCount) nodes")

        var rng = SeededGenerator(seed: 2018)
        for _ in 0..<10_000 {
            try expectAgreement(m, db, table, IPAddress(ipv4: UInt32.random(in: 0...UInt32.max, using: &rng)))
        }
        // Uniformly random IPv6 addresses are almost all unallocated: draw them inside networks.
        for _ in 0..<10_000 {
            let n = table.ipv6[Int.random(in: table.ipv6.indices, using: &rng)]
            try expectAgreement(m, db, table, n.prefix.randomAddress(using: &rng))
        }
        for _ in 0..<1_000 {
            try expectAgreement(m, db, table, IPAddress(high: rng.next(), low: rng.next(), isIPv6: true))
        }
        // The aliases: IPv4-mapped, IPv4-compatible, 6to4, Teredo.
        for _ in 0..<1_000 {
            let v4 = UInt64(UInt32.random(in: 0...UInt32.max, using: &rng))
            for a in [
                IPAddress(high: 0, low: 0xFFFF_0000_0000 | v4, isIPv6: true),
                IPAddress(high: 0, low: v4, isIPv6: true),
                IPAddress(high: 0x2002 << 48 | v4 << 16, low: rng.next(), isIPv6: true),
                IPAddress(high: 0x2001_0000 << 32 | v4, low: rng.next(), isIPv6: true),
            ] {
                try expectAgreement(m, db, table, a)
            }
        }
    }

    /// ECS subnets in the five cities of the issue land in the right place.
    @Test(arguments: [
        ("1.0.16.0", "JP"), ("87.32.0.0", "IE"), ("177.71.128.0", "BR"), ("46.4.0.0", "DE"), ("54.80.0.0", "US"),
    ])
    func cities(address: String, country: String) throws {
        guard let db = try GeoLite2.open() else { return }
        let found = try #require(try db.lookup(IPAddress(address)!))
        #expect(found.location.countryCode == country)
        #expect(found.location.latitude != nil)
    }
}
