import IPNet

/// What Tests/Fixtures/geo/make-fixture.py writes into test-city.mmdb.
enum Fixture {
    static let path: String = {
        let here = #filePath.split(separator: "/").dropLast(2).joined(separator: "/")
        return "/" + here + "/Fixtures/geo/test-city.mmdb"
    }()

    static let tokyo = GeoLocation(latitude: 35.6895, longitude: 139.6917, countryCode: "JP", continentCode: "AS", city: "Tokyo")
    static let dublin = GeoLocation(latitude: 53.3331, longitude: -6.2489, countryCode: "IE", continentCode: "EU", city: "Dublin")
    static let saoPaulo = GeoLocation(latitude: -23.5475, longitude: -46.6361, countryCode: "BR", continentCode: "SA", city: "São Paulo")
    static let frankfurt = GeoLocation(latitude: 50.1155, longitude: 8.6842, countryCode: "DE", continentCode: "EU", city: "Frankfurt am Main")
    static let ashburn = GeoLocation(latitude: 39.0437, longitude: -77.4875, countryCode: "US", continentCode: "NA", city: "Ashburn")
    static let europeOnly = GeoLocation(countryCode: "EU", continentCode: "EU")

    /// The search tree's networks: as inserted, except that 2001:db8::/32 is split around
    /// 2001:db8:1::/48 by the writer.
    static let networks: [(String, GeoLocation)] = {
        var n: [(String, GeoLocation)] = [
            ("192.0.2.0/24", tokyo),
            ("198.51.100.0/25", dublin),
            ("198.51.100.128/25", dublin),
            ("203.0.113.0/24", saoPaulo),
            ("198.18.0.0/15", europeOnly),
            ("13.112.0.0/14", tokyo),
            ("34.240.0.0/13", dublin),
            ("177.71.128.0/17", saoPaulo),
            ("3.120.0.0/14", frankfurt),
            ("3.80.0.0/12", ashburn),
            ("2406:da14::/32", tokyo),
            ("2a05:d018::/33", dublin),
            ("2600:1f1e::/36", saoPaulo),
            ("2a05:d014::/35", frankfurt),
            ("2600:1f18::/33", ashburn),
            ("2001:db8::/48", frankfurt),
            ("2001:db8:1::/48", tokyo),
        ]
        // The siblings of 2001:db8:1::/48 on its path up to the /32 (the /48 one is listed above).
        let inner = IPAddress("2001:db8:1::")!
        for length in 33...47 {
            var sibling = inner.masked(to: length)
            sibling.high ^= 1 << UInt64(64 - length)
            n.append(("\(sibling)/\(length)", frankfurt))
        }
        return n
    }()
}

/// SplitMix64: reproducible random addresses.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
