public import DNSWire

/// The data-center routing part of `meridian.yaml`: where clients are, which data centers answer,
/// how they are checked, and which names are answered dynamically.
///
/// ```yaml
/// geoip:
///   database: GeoLite2-City.mmdb            # optional; relative to the config file
///   networks:                                # explicit prefixes, checked before the database
///     10.20.0.0/16: { location: [35.68, 139.69], country: JP, continent: AS }
/// datacenters:
///   iad:
///     location: [38.95, -77.45]              # latitude, longitude
///     country: US                            # optional, ISO 3166 alpha-2
///     continent: NA                          # optional: AF AN AS EU NA OC SA
///     addresses:
///       - 192.0.2.10                         # checked at its own address
///       - { ip: 198.51.100.10, check: "127.0.0.1:8081" }   # answered with ip, checked at check
///       - "2001:db8:1::10"
/// checks:
///   web: { type: http, path: /healthz, expect: 200, interval: 5s, timeout: 2s, rise: 2, fall: 3 }
/// health:
///   state-file: health-state.json            # last known states, used at the next start
/// services:
///   www.example.com.:
///     policy: geo-nearest                    # round-robin | weighted | geo-nearest | geo-map | failover
///     datacenters: [iad, dub, nrt]
///     check: web
///     ttl: 30
/// ```
public struct RoutingConfiguration: Sendable, Equatable {
    public var geoip: GeoIPConfig?
    /// In file order.
    public var datacenters: [DataCenterConfig]
    /// In file order.
    public var checks: [CheckConfig]
    /// Where the health monitor keeps the last known states; nil keeps none.
    public var healthStateFile: String?
    /// In file order.
    public var services: [ServiceConfig]

    public init(geoip: GeoIPConfig? = nil, datacenters: [DataCenterConfig] = [], checks: [CheckConfig] = [],
                healthStateFile: String? = nil, services: [ServiceConfig] = []) {
        self.geoip = geoip
        self.datacenters = datacenters
        self.checks = checks
        self.healthStateFile = healthStateFile
        self.services = services
    }
}

/// A place on Earth, in degrees.
public struct Coordinates: Sendable, Equatable, Hashable {
    /// −90…90.
    public var latitude: Double
    /// −180…180.
    public var longitude: Double
    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }
}

/// Where clients are located from: a MaxMind DB and explicit networks.
public struct GeoIPConfig: Sendable, Equatable {
    /// Absolute path of the MaxMind DB file, if any.
    public var database: String?
    /// Explicit prefixes, checked before the database, in file order.
    public var networks: [NetworkConfig]
    public var line: Int
    public init(database: String?, networks: [NetworkConfig], line: Int) {
        self.database = database
        self.networks = networks
        self.line = line
    }
}

/// One explicit network of `geoip.networks`.
public struct NetworkConfig: Sendable, Equatable {
    /// The prefix as written (`10.20.0.0/16`), validated.
    public var prefix: String
    public var location: Coordinates?
    /// ISO 3166 alpha-2, upper case.
    public var country: String?
    /// Two-letter continent code, upper case.
    public var continent: String?
    public var line: Int
    public init(prefix: String, location: Coordinates?, country: String?, continent: String?, line: Int) {
        self.prefix = prefix
        self.location = location
        self.country = country
        self.continent = continent
        self.line = line
    }
}

/// A data center: where it is and which addresses answer for it.
public struct DataCenterConfig: Sendable, Equatable {
    public var name: String
    public var location: Coordinates?
    public var country: String?
    public var continent: String?
    public var addresses: [AddressConfig]
    public var line: Int
    public init(name: String, location: Coordinates?, country: String?, continent: String?, addresses: [AddressConfig], line: Int) {
        self.name = name
        self.location = location
        self.country = country
        self.continent = continent
        self.addresses = addresses
        self.line = line
    }
}

/// One answer address of a data center.
public struct AddressConfig: Sendable, Equatable {
    /// The address put in answers, in presentation form (validated IPv4 or IPv6).
    public var ip: String
    public var isIPv6: Bool
    /// Where its health is checked, when not at `ip` itself: `host:port`, `[v6]:port`, a host,
    /// or a URL for http(s) checks. Meaning depends on the check type.
    public var checkTarget: String?
    public var line: Int
    public init(ip: String, isIPv6: Bool, checkTarget: String?, line: Int) {
        self.ip = ip
        self.isIPv6 = isIPv6
        self.checkTarget = checkTarget
        self.line = line
    }
}

/// A named health check.
public struct CheckConfig: Sendable, Equatable {
    public var name: String
    /// The checker kind: `tcp`, `http`, `https`, `dns`, `exec`, `file` (validated against the known kinds).
    public var type: String
    public var interval: Duration
    public var timeout: Duration
    /// Random spread of each interval, as a fraction (0.1 = ±10 %).
    public var jitter: Double
    /// Consecutive successes that bring a down address up.
    public var rise: Int
    /// Consecutive failures that take an up address down.
    public var fall: Int
    /// The kind's own settings, as written (`port`, `path`, `expect`, `body`, `insecure`, `name`,
    /// `qtype`, `rcode`, `answer`, `command`, `path`, …), scalars as strings, lists joined by
    /// U+001F (unit separator).
    public var parameters: [String: String]
    public var line: Int
    public init(name: String, type: String, interval: Duration, timeout: Duration, jitter: Double, rise: Int, fall: Int,
                parameters: [String: String], line: Int) {
        self.name = name
        self.type = type
        self.interval = interval
        self.timeout = timeout
        self.jitter = jitter
        self.rise = rise
        self.fall = fall
        self.parameters = parameters
        self.line = line
    }
}

/// A service name answered by routing.
public struct ServiceConfig: Sendable, Equatable {
    /// The owner name (absolute).
    public var name: DNSName
    public var policy: PolicyConfig
    /// The check applied to every address of the service's data centers; nil = always up.
    public var check: String?
    /// TTL of answers when every candidate is healthy and steady.
    public var ttl: UInt32
    /// TTL while any candidate is down or changing state (at most `ttl`).
    public var degradedTTL: UInt32
    /// Most addresses in one answer; nil = no limit.
    public var maxAnswers: Int?
    /// What to answer when every candidate is down.
    public var whenAllDown: AllDownBehaviour
    public var line: Int
    public init(name: DNSName, policy: PolicyConfig, check: String?, ttl: UInt32, degradedTTL: UInt32, maxAnswers: Int?,
                whenAllDown: AllDownBehaviour, line: Int) {
        self.name = name
        self.policy = policy
        self.check = check
        self.ttl = ttl
        self.degradedTTL = degradedTTL
        self.maxAnswers = maxAnswers
        self.whenAllDown = whenAllDown
        self.line = line
    }
}

/// When every candidate of a service is down.
public enum AllDownBehaviour: String, Sendable, Equatable {
    /// Answer with every candidate anyway (Route 53 and gdnsd do this).
    case failOpen = "fail-open"
    /// Answer NODATA.
    case noData = "nodata"
}

/// How a service (or one step of a failover) chooses addresses.
public indirect enum PolicyConfig: Sendable, Equatable {
    /// Every healthy address of these data centers, order rotated per response.
    case roundRobin(datacenters: [String])
    /// One data center (or, with `perAddress`, one address) at random in proportion to weight;
    /// weight 0 is standby, used only when every weighted one is down.
    case weighted(datacenters: [(name: String, weight: Double)], perAddress: Bool)
    /// The nearest healthy data center by great-circle distance from the client; clients that cannot
    /// be located get `unlocated` order (default: the listed order). `pick` chooses among its addresses.
    case geoNearest(datacenters: [String], unlocated: [String]?, pick: AddressPick)
    /// Country or continent code (or `default`) → ordered data centers; the first healthy one answers.
    case geoMap(map: [(key: String, datacenters: [String])], pick: AddressPick)
    /// The first step that has a healthy answer.
    case failover([PolicyConfig])

    public static func == (a: PolicyConfig, b: PolicyConfig) -> Bool {
        switch (a, b) {
        case let (.roundRobin(x), .roundRobin(y)): return x == y
        case let (.weighted(x, p), .weighted(y, q)): return p == q && x.elementsEqual(y) { $0.name == $1.name && $0.weight == $1.weight }
        case let (.geoNearest(x, u, p), .geoNearest(y, v, q)): return x == y && u == v && p == q
        case let (.geoMap(x, p), .geoMap(y, q)): return p == q && x.elementsEqual(y) { $0.key == $1.key && $0.datacenters == $1.datacenters }
        case let (.failover(x), .failover(y)): return x == y
        default: return false
        }
    }
}

/// How a chosen data center's healthy addresses make up the answer.
public enum AddressPick: String, Sendable, Equatable {
    /// All of them, order rotated per response (the default).
    case roundRobin = "round-robin"
    /// One of them, at random (equal weights).
    case random
}
