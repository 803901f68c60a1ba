import GeoIP
import IPNet
import Testing

@Suite struct GeoDatabaseTests {
    let db: GeoDatabase
    init() throws { db = try GeoDatabase(path: Fixture.path) }

    @Test func metadata() {
        #expect(db.metadata.databaseType == "Meridian-Test-City")
        #expect(db.metadata.ipVersion == 6)
        #expect(db.metadata.nodeCount > 0)
        #expect(db.metadata.buildEpoch > 1_700_000_000)
    }

    @Test(arguments: [
        ("192.0.2.77", Fixture.tokyo, 24),
        ("198.51.100.1", Fixture.dublin, 25),
        ("198.51.100.200", Fixture.dublin, 25),
        ("203.0.113.255", Fixture.saoPaulo, 24),
        ("3.95.1.1", Fixture.ashburn, 12),
        ("3.121.0.1", Fixture.frankfurt, 14),
        ("177.71.200.9", Fixture.saoPaulo, 17),
        ("198.19.1.1", Fixture.europeOnly, 15),
        ("::192.0.2.77", Fixture.tokyo, 120),  // the IPv4 subtree seen as IPv6
        ("2001:db8:1:2::3", Fixture.tokyo, 48),
        ("2001:db8::1", Fixture.frankfurt, 48),
        ("2001:db8:ffff::1", Fixture.frankfurt, 33),
        ("2406:da14:1::1", Fixture.tokyo, 32),
        ("2600:1f18:7fff::1", Fixture.ashburn, 33),
    ])
    func lookup(address: String, location: GeoLocation, length: Int) throws {
        let found = try #require(try db.lookup(IPAddress(address)!))
        #expect(found.location == location)
        #expect(found.prefixLength == length)
    }

    @Test func locationWithoutCoordinates() throws {
        let found = try #require(try db.lookup(IPAddress("198.18.0.1")!))
        #expect(found.location.latitude == nil && found.location.longitude == nil && found.location.city == nil)
        #expect(found.location.countryCode == "EU")
    }

    @Test(arguments: ["8.8.8.8", "192.0.3.1", "0.0.0.0", "255.255.255.255", "2001:db9::1", "::1", "::ffff:192.0.2.1"])
    func unknownAddresses(address: String) throws {
        #expect(try db.lookup(IPAddress(address)!) == nil)
    }

    @Test func openErrors() {
        #expect(throws: GeoIPError.self) { try GeoDatabase(path: "/nonexistent/city.mmdb") }
        do {
            _ = try GeoDatabase(path: "/nonexistent/city.mmdb")
        } catch {
            #expect(error.code == .open)
            #expect(error.reason.contains("/nonexistent/city.mmdb"))
        }
        do {
            _ = try GeoDatabase(path: Fixture.path.replacingSuffix("test-city.mmdb", with: "make-fixture.py"))
            Issue.record("a Python script opened as a database")
        } catch {
            #expect(error.code == .open)
            #expect(error.reason.contains("make-fixture.py"))
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with other: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + other : self
    }
}
