public import DNSWire

/// The data-center routing part of `meridian.yaml`: where clients are, which data centers answer,
/// how they are checked, and which names are answered dynamically. Every key is optional; unknown keys
/// are errors. Relative paths are resolved against the config file's directory. Errors name keys as
/// dotted paths with 0-based list indexes (`services.www.example.com..datacenters[2]`).
///
/// ```yaml
/// geoip:
///   database: GeoLite2-City.mmdb            # optional; must exist
///   networks:                                # prefix (no host bits set) → location, country and/or continent
///     10.20.0.0/16: { location: [35.68, 139.69], country: JP, continent: AS }
/// datacenters:                               # name (letters, digits, - and _) → data center
///   iad:
///     location: [38.95, -77.45]              # [latitude −90…90, longitude −180…180]; needed by geo-nearest
///     country: US                            # optional, ISO 3166 alpha-2
///     continent: NA                          # optional: AF AN AS EU NA OC SA
///     addresses:                             # at least one; IPv4 or IPv6
///       - 192.0.2.10                         # checked at its own address
///       - { ip: 198.51.100.10, check: "127.0.0.1:8081" }   # answered with ip, checked at check
///       - "2001:db8:1::10"
/// checks:                                    # name → check; services refer to it by name
///   web:
///     type: http                             # tcp | http | https | dns | exec | file
///     interval: 5s                           # default 10s
///     timeout: 2s                            # default 2s; shorter than interval
///     jitter: 10%                            # or 0.1; default 10%, below 100%
///     rise: 2                                # successes to come up, default 2
///     fall: 3                                # failures to go down, default 3
///     path: /healthz                         # kind parameters, see below
///     expect: 200
///   # tcp:        port
///   # http/https: port, path (/…), expect (100–599), body (substring), insecure (true|false), host
///   # dns:        port, name, qtype (A, AAAA, …, TYPEn), rcode (NOERROR, … or 0–4095), answer
///   # exec:       command (required): [program, arg, …], or one string split at spaces
///   # file:       path (required)
/// health:
///   state-file: health-state.json            # last known states, used at the next start
/// services:                                  # absolute owner name → service
///   www.example.com.:
///     policy: geo-nearest                    # round-robin (default) | weighted | geo-nearest | geo-map | failover
///     datacenters: [iad, dub, nrt]           # round-robin, geo-nearest: a list
///     unlocated: [dub, iad]                  # geo-nearest: order for clients not located (default: datacenters)
///     pick: round-robin                      # geo-nearest, geo-map: round-robin (default) | random
///     check: web                             # optional; without one every address is up
///     ttl: 30                                # default 30; 1 to 2^31−1
///     degraded-ttl: 5                        # while a candidate is down or changing; default min(ttl, 5); at most ttl
///     max-answers: 2                         # optional, at least 1
///     when-all-down: fail-open               # fail-open (default) | nodata
///   w.example.com.: { policy: weighted, datacenters: { iad: 3, dub: 1, nrt: 0 }, per-address: false }
///   m.example.com.: { policy: geo-map, map: { JP: [nrt, iad], EU: [dub], continent:NA: [iad], default: [iad] } }
///   f.example.com.:
///     policy: failover
///     failover:                              # first step with a healthy answer; nested failovers allowed
///       - { policy: geo-nearest, datacenters: [iad, nrt] }
///       - dub                                # a name alone: round-robin over that data center
/// ```
///
/// Weights are numbers ≥ 0, not all 0 (0 = standby). Geo map keys are `default` (required), an ISO
/// country code, a continent code, or `country:XX` / `continent:XX` (needed for AF, AS, NA and SA,
/// which are both). Data centers in a service must be declared; duplicate keys anywhere and service
/// names equal ignoring case are errors.
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
    /// `qtype`, `rcode`, `answer`, `command`, `path`, …), validated per type, scalars as strings.
    /// `command` is the argument vector joined by U+001F (unit separator); a file check's `path` is absolute;
    /// `qtype` and `rcode` are upper case.
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
    /// Keys are `default`, an upper-case country code (`JP`), or `continent:` and a continent code
    /// (`continent:EU`); a client's country entry comes before its continent's.
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

extension PolicyConfig {
    /// The policy's name in the configuration file: `round-robin`, `weighted`, `geo-nearest`,
    /// `geo-map` or `failover`.
    public var name: String {
        switch self {
        case .roundRobin: "round-robin"
        case .weighted: "weighted"
        case .geoNearest: "geo-nearest"
        case .geoMap: "geo-map"
        case .failover: "failover"
        }
    }

    /// The ``geoMap(map:pick:)`` key of an ISO country code: `JP`.
    public static func geoMapKey(country: String) -> String { country.uppercased() }
    /// The ``geoMap(map:pick:)`` key of a continent code: `continent:EU`.
    public static func geoMapKey(continent: String) -> String { "continent:" + continent.uppercased() }
}
