public import DNSWire
public import HealthModel
public import IPNet
public import Routing
import Foundation

/// The validated contents of `meridian.yaml`.
///
/// ```yaml
/// listen: ["127.0.0.1:5353", "[::1]:5353"]   # UDP and TCP on each
/// workers: 2                 # UDP worker threads; default = number of cores
/// log-level: info            # trace|debug|info|notice|warning|error
/// identity: ns1.example.     # optional CHAOS TXT id.server. / hostname.bind.
/// version: "meridian 0.1"    # optional CHAOS TXT version.server. / version.bind.
/// nsid: ns1-iad              # optional RFC 5001 NSID (or nsid-hex: 6e7331)
/// log-format: logfmt         # logfmt|json
/// query-log: { path: queries.log, sample: 0.01 }   # optional; "-" is stdout
/// watch-zones: 2s            # optional: reload when a zone file changes, checked this often
/// transfer-serial-interval: 60s   # at most one health-driven serial increase per zone this often
/// tcp: { idle-timeout: 10s, max-connections: 1000 }
/// udp-receive-buffer: 8M     # per UDP socket (K or M suffix), for bursts; see ``UDPBufferSettings``
/// udp-send-buffer: 1M
/// pid-file: /run/meridian/meridian.pid   # optional: written once every address is bound
/// tsig-keys: [...]           # see ``TSIGKeySettings``
/// cookies: { secret: ..., require: false }   # see ``CookieSettings``
/// rate-limit: { responses-per-second: 20, slip: 2 }   # optional; see ``RateLimitSettings``
/// zones:
///   - origin: example.com.
///     file: zones/example.com.zone     # relative to the config file's directory
///     transfer:                        # optional: who may AXFR it (TCP); default: nobody
///       allow: [192.0.2.0/24, "2001:db8::/32"]   # client prefixes (address/length)
///       keys: [xfr-key]                # names from tsig-keys; the request must be signed with one
///     notify: ["127.0.0.1:5300", "[::1]:5301"]   # optional: secondaries sent NOTIFY on a new serial
///     serial-policy: increment         # keep (default) | increment | unixtime | dateserial
///     catalog-zone: catalog.example.   # optional: listed as a member of this generated catalog
///   - origin: catalog.example.
///     catalog-role: generate           # RFC 9432 catalog of its members; no file
///     transfer: { allow: [127.0.0.1/32] }
///   - origin: example.net.
///     file: secondary/example.net.zone # a secondary: where the received copy is stored
///     primaries: ["127.0.0.1:53001"]   # transferred from these (port 53 when not given)
///     primary-key: xfr-key             # optional: signs requests, required on NOTIFY
/// journal-dir: journal                 # IXFR journals of zones with transfer; default: journal/ next to this file
/// # geoip, datacenters, checks, health, services: see ``RoutingConfiguration``
/// ```
public struct ServerConfiguration: Sendable, Equatable {
    /// Addresses served over both UDP and TCP.
    public var listen: [ListenAddress]
    /// UDP worker threads, each with its own socket on every listen address; nil means one per core.
    public var workers: Int?
    public var logLevel: LogLevel
    /// CHAOS TXT answer for `id.server.` / `hostname.bind.`; nil leaves it unanswered.
    public var identity: String?
    /// CHAOS TXT answer for `version.server.` / `version.bind.`; nil leaves it unanswered.
    public var version: String?
    /// NSID option payload answered to queries that ask for it (RFC 5001); nil leaves it out.
    public var nsid: [UInt8]?
    public var logFormat: LogFormat = .logfmt
    /// The sampled query log, when configured.
    public var queryLog: QueryLogSettings?
    /// How often zone files are checked for changes (a change reloads); nil when not watched.
    public var watchZones: Duration?
    /// The shortest time between two serial increases of a zone made because health changed what
    /// its service names render to in transfers; changes within it are served at its end, in one
    /// increase. 60 s: a down data center leaves secondaries within a minute plus their transfer
    /// (issue 10), while a flapping check costs each secondary at most one transfer a minute.
    public var transferSerialInterval: Duration = .seconds(60)
    public var tcp: TCPSettings
    /// Kernel buffer sizes of each UDP socket.
    public var udpBuffers = UDPBufferSettings()
    /// Where the server writes its process ID once it is listening; nil writes none.
    public var pidFile: String?
    /// TSIG keys accepted on signed messages (``TSIGKeySettings``).
    public var tsigKeys: [TSIGKeySettings] = []
    /// DNS Cookies (``CookieSettings``).
    public var cookies = CookieSettings()
    /// Response rate limiting (``RateLimitSettings``); nil: off.
    public var rateLimit: RateLimitSettings?
    public var zones: [ZoneEntry]
    /// Where the IXFR journals of zones with `transfer` are kept, one file per zone (`journal-dir`,
    /// relative to the config file's directory; default `journal` there). Created when first written.
    public var journalDirectory = "journal"
    /// The file this configuration was read from, for messages about it.
    public var file = ""
    /// The admin HTTP API, when configured.
    public var admin: AdminSettings?
    /// `fleet:`: the etcd cluster this instance shares health, drains and configuration through.
    public var fleet: FleetSettings?
    /// Data centers, health checks and the service names answered by routing; empty when the file has none.
    public var routing = RoutingConfiguration()

    /// Reads and validates the configuration file at `path`; zone paths are resolved against its
    /// directory. `checkKinds` declares the health-check kinds and their parameters (the `Health`
    /// module's `HealthCheckers.kinds`).
    public static func load(path: String, checkKinds: CheckKinds) throws(ServerConfigErrors) -> ServerConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ServerConfigErrors([ServerConfigError(.io, file: path, line: nil, key: nil, "cannot read: \(error.localizedDescription)")])
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(yaml: text, file: path, baseDirectory: directory.isEmpty ? "." : directory, checkKinds: checkKinds)
    }

    /// Validates YAML text; `file` names it in errors and `baseDirectory` anchors relative zone paths.
    public static func parse(yaml: String, file: String, baseDirectory: String,
                             checkKinds: CheckKinds) throws(ServerConfigErrors) -> ServerConfiguration {
        var parser = ConfigParser(file: file, baseDirectory: baseDirectory, checkKinds: checkKinds)
        let config = parser.parse(yaml)
        guard var config, parser.errors.isEmpty else { throw ServerConfigErrors(parser.errors) }
        config.file = file
        return config
    }
}

/// The admin HTTP API: where it listens (loopback by default in every example) and the bearer token
/// its mutating calls need (without one they are refused).
public struct AdminSettings: Sendable, Equatable {
    /// Where the admin API listens when `admin.listen` is not given: loopback only.
    public static let defaultListen = ListenAddress("127.0.0.1:8053")!
    public var listen: ListenAddress
    public var token: String?
    public init(listen: ListenAddress, token: String?) {
        self.listen = listen
        self.token = token
    }
}

/// One `host:port` to serve on.
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address in presentation form, without brackets.
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool

    public init(host: String, port: UInt16, isIPv6: Bool) {
        self.host = host
        self.port = port
        self.isIPv6 = isIPv6
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How log lines are written: `key=value` pairs (logfmt) or one JSON object per line.
public enum LogFormat: String, Sendable, CaseIterable {
    case logfmt, json
}

/// The query log: one JSON line per sampled query, to a file (appended) or standard output.
public struct QueryLogSettings: Sendable, Equatable {
    /// A file path, or `-` for standard output.
    public var path: String
    /// The share of queries logged, in (0, 1].
    public var sample: Double
    public init(path: String, sample: Double) {
        self.path = path
        self.sample = sample
    }
}

/// Log verbosity, with the names swift-log uses.
public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error
}

/// TCP connection handling (RFC 7766).
public struct TCPSettings: Sendable, Equatable {
    /// A connection with no complete read for this long is closed (RFC 7766 §6.2.3 suggests seconds).
    public var idleTimeout: Duration = .seconds(10)
    /// Open connections allowed; at the limit a new connection closes the longest-idle one.
    public var maxConnections: Int = 1000
    public init() {}
}

/// The kernel buffers of each UDP socket (`udp-receive-buffer`, `udp-send-buffer`), in bytes.
///
/// The receive buffer is what carries a burst: datagrams arriving faster than the workers answer
/// wait there, and beyond it the kernel drops them. Linux charges each datagram its whole socket
/// buffer, about 830 bytes on loopback for a 40-byte query (measured here), against twice the size
/// set, so the usual default (net.core.rmem_default, 208 KB, not doubled) holds about 250 queries.
/// 8 MiB holds about 20,000 per socket: with two workers, a 50,000-query burst offered at 120k
/// QPS to a debug build (which answers about half of that rate) is answered whole, where the
/// default answered 65 % of it (Tests/Network/burst.py). Memory is taken only while queries wait;
/// a longer queue would only add latency under a sustained overload, since a resolver retries
/// after about a second anyway. Responses leave as fast as they are written, so the send buffer
/// needs only a few batches: 1 MiB. With CAP_NET_ADMIN (root) the sizes are forced past
/// net.core.rmem_max and wmem_max (NSD does the same, with 1 MiB); otherwise the kernel caps them
/// there, and the log says so.
public struct UDPBufferSettings: Sendable, Equatable {
    public var receive: Int = 8 << 20
    public var send: Int = 1 << 20
    /// The largest size accepted: the kernel keeps the size in an int and doubles it.
    public static let maximum = 1 << 30
    public init() {}
}

/// One zone to serve.
public struct ZoneEntry: Sendable, Equatable {
    public var origin: DNSName
    /// The zone file path, resolved against the config file's directory; empty for a generated
    /// catalog zone.
    public var file: String
    /// The config line of this entry, for messages about the zone.
    public var line: Int
    /// Who may transfer the zone; nil: nobody.
    public var transfer: TransferSettings? = nil
    /// Secondaries sent a NOTIFY (RFC 1996, UDP) whenever a reload or the start serves a new SOA
    /// serial; `address:port` or `[ipv6]:port`. Empty: none.
    public var notify: [ListenAddress] = []
    /// What a reload does with a zone whose content changed while its SOA serial did not.
    public var serialPolicy: SerialPolicy = .keep
    /// `catalog-role: generate`: the zone is a catalog (RFC 9432) whose records Meridian writes from
    /// the zones that name it in `catalog-zone`; it has no file.
    public var generatesCatalog = false
    /// `catalog-zone`: the generated catalog that lists this zone as a member; nil: none.
    public var catalogZone: DNSName? = nil
    /// The primaries this zone is transferred from (`primaries:`, port 53 when not given); empty:
    /// the zone is read from `file`. A secondary zone's `file` is where the server stores the copy
    /// it received (it need not exist yet; its directory must be writable).
    public var primaries: [ListenAddress] = []
    /// The TSIG key (from `tsig-keys`) that signs this zone's SOA, IXFR and AXFR requests to its
    /// primaries and that a NOTIFY from them must carry (`primary-key:`); nil: unsigned.
    public var primaryKey: DNSName? = nil
    /// `catalog-role: interpret`: the zone is a secondary catalog (RFC 9432) whose members Meridian
    /// serves as secondary zones of the same primaries and key, stored next to the catalog's file.
    public var interpretsCatalog = false
    /// For a member of a consumed catalog (an entry made from the catalog's stored copy, not from
    /// the config file): the catalog; nil for a configured zone.
    public var memberCatalog: DNSName? = nil
    /// For a member of a consumed catalog: its unique ID there (RFC 9432 §4.1); a new ID means
    /// the copy is dropped and transferred again (§5.4).
    public var memberID = ""

    /// `dnssec:`: the zone is signed online with these keys; nil: served as it is.
    public var signing: SigningSettings? = nil

    /// Whether the zone is a secondary: transferred from `primaries` rather than read from a file
    /// the operator writes.
    public var isSecondary: Bool { !primaries.isEmpty }
}

/// How a zone is signed online (`dnssec:` of a zone entry):
///
/// ```yaml
/// dnssec: { keys: [Kexample.com.+013+12345], validity: 14d, refresh: 7d, inception-offset: 1h, cds: true }
/// ```
public struct SigningSettings: Sendable, Equatable {
    /// The signing key pairs in BIND's key-file format (the path without `.key`/`.private`, or
    /// either file), resolved against the config file's directory: one combined key (CSK), or a
    /// key-signing key (flags 257) and a zone-signing key (flags 256).
    public var keys: [String] = []
    /// Pairs whose DNSKEY is published without signing anything: the next key of a rollover by
    /// pre-publication (RFC 6781 §4.1.1.1), or the one just retired.
    public var publish: [String] = []
    /// Instead of `keys` and `publish`: a directory of the zone's key pairs whose timing metadata
    /// (BIND's `Publish`, `Activate`, `Inactive`, `Delete`) says which are published and which
    /// sign at each moment; `meridian rollover` and `zsk-lifetime` write those times.
    public var keyDirectory: String? = nil
    /// With `keyDirectory`: a ZSK rollover is begun when the active ZSK has signed this long.
    public var zskLifetime: Duration? = nil
    /// How long a change of the zone takes to reach every server of it (secondaries included):
    /// added to the DNSKEY TTL before a new key signs, and to the largest TTL before an old one goes.
    public var propagationDelay: Duration = .seconds(3_600)
    /// Whether the key-signing key's CDS (SHA-256) and CDNSKEY are published at the apex (RFC 7344).
    public var cds = false
    /// How long a signature is valid from the moment it is made.
    public var validity: Duration = .seconds(14 * 86_400)
    /// Signatures are made again once less than this remains of their validity; nil: half of it.
    public var refresh: Duration? = nil
    /// How far before now signatures start, for validators whose clocks run behind.
    public var inceptionOffset: Duration = .seconds(3_600)
    /// Up to how much earlier than `validity` each RRset's signature expires (spread per RRset,
    /// RFC 6781 §4.4.2.2); nil: 12 hours (BIND's `signatures-jitter`), at most a quarter of `refresh`.
    public var jitter: Duration? = nil
    /// The config line of the `dnssec` key, for messages.
    public var line: Int = 1
    /// `refresh` in seconds, half the validity when not set.
    public var refreshSeconds: Int64 { refresh?.components.seconds ?? validity.components.seconds / 2 }
    /// `jitter` in seconds: it is always less than `refresh`, so a signature is made again before
    /// the earliest expiration of its window.
    public var jitterSeconds: Int64 { jitter?.components.seconds ?? min(12 * 3_600, refreshSeconds / 4) }
    public init() {}
}

/// The `serial-policy` of a zone, as Knot's: when a reload reads a zone whose content changed but
/// whose SOA serial did not, `keep` serves it as it is (and warns: secondaries will not see the
/// change); the others raise the serial above the one served (RFC 1982) — by one (`increment`), to
/// the time in seconds since 1970 (`unixtime`), or to YYYYMMDDnn (`dateserial`) — or by one when
/// that would not be above it.
public enum SerialPolicy: String, Sendable, CaseIterable {
    case keep, increment, unixtime, dateserial
}

/// The `transfer` key of a zone entry: outgoing AXFR over TCP (RFC 5936) is allowed to a request
/// whose client address lies in one of `allow` (when given) AND that is signed with one of `keys`
/// (when given). At least one of the two is required. A request that does not match is REFUSED.
///
/// ```yaml
/// transfer: { allow: [127.0.0.1/32, "::1/128"], keys: [xfr-key] }
/// ```
public struct TransferSettings: Sendable, Equatable {
    /// Client networks, as `address/length`.
    public var allow: [IPPrefix] = []
    /// TSIG key names, each defined in `tsig-keys`.
    public var keys: [DNSName] = []
    /// What `allow: [any]` means: every IPv4 and IPv6 address.
    public static let anyAddress = [IPPrefix("0.0.0.0/0"), IPPrefix("::/0")].compactMap { $0 }
    public init(allow: [IPPrefix] = [], keys: [DNSName] = []) {
        self.allow = allow
        self.keys = keys
    }
}
