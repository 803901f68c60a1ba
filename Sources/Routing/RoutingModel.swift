public import DNSWire
public import HealthModel
public import IPNet

/// The data-center routing model: where clients are, which data centers answer, how they are
/// checked, and which names are answered dynamically — typed values, checked and converted once by
/// the configuration layer (`ServerConfig` parses them from YAML), from which `RoutingTable`
/// compiles the query path's tables. `line` fields are the configuration file's lines, for messages.
public struct RoutingConfiguration: Sendable, Equatable {
    public var geoip: GeoIPConfig?
    /// In file order.
    public var datacenters: [DataCenterConfig]
    /// In file order.
    public var checks: [CheckDefinition]
    /// Where the health monitor keeps the last known states; nil keeps none.
    public var healthStateFile: String?
    /// In file order.
    public var services: [ServiceConfig]

    public init(geoip: GeoIPConfig? = nil, datacenters: [DataCenterConfig] = [], checks: [CheckDefinition] = [],
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
    /// The prefix (`10.20.0.0/16`; no bits set beyond its length).
    public var prefix: IPPrefix
    public var location: Coordinates?
    /// ISO 3166 alpha-2, upper case.
    public var country: String?
    /// Two-letter continent code, upper case.
    public var continent: String?
    public var line: Int
    public init(prefix: IPPrefix, location: Coordinates?, country: String?, continent: String?, line: Int) {
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
    /// The address put in answers.
    public var ip: IPAddress
    /// Where its health is checked, when not at `ip` itself: `host:port`, `[v6]:port`, a host,
    /// or a URL for http(s) checks. Meaning depends on the check type.
    public var checkTarget: String?
    public var line: Int
    public var isIPv6: Bool { ip.isIPv6 }
    public init(ip: IPAddress, checkTarget: String?, line: Int) {
        self.ip = ip
        self.checkTarget = checkTarget
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
    /// What standard secondaries receive for the name in zone transfers.
    public var transfer: TransferMode
    public var line: Int
    public init(name: DNSName, policy: PolicyConfig, check: String?, ttl: UInt32, degradedTTL: UInt32, maxAnswers: Int?,
                whenAllDown: AllDownBehaviour, transfer: TransferMode = .healthy, line: Int) {
        self.name = name
        self.policy = policy
        self.check = check
        self.ttl = ttl
        self.degradedTTL = degradedTTL
        self.maxAnswers = maxAnswers
        self.whenAllDown = whenAllDown
        self.transfer = transfer
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

/// What a service name becomes in zone transfers, where secondaries cannot run its policy
/// (docs/OPERATIONS.md, "Service names in zone transfers").
public enum TransferMode: String, Sendable, Equatable {
    /// Every address an unlocated client could be answered with now (`RoutingTable.transferAddresses`).
    case healthy
    /// Every configured address of the service's data centers, whatever their health.
    case allAddresses = "all-addresses"
    /// Not in transfers at all.
    case omit
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

extension GeoIPConfig {
    /// The explicit networks as a `GeoNetworkTable` overlay takes them.
    public var locatedNetworks: [(prefix: IPPrefix, location: GeoLocation)] {
        networks.map { n in
            (n.prefix, GeoLocation(latitude: n.location?.latitude, longitude: n.location?.longitude,
                                   countryCode: n.country, continentCode: n.continent))
        }
    }
}
