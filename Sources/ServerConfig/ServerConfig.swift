public import DNSWire
public import HealthModel
public import Routing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Yams

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
    /// The file this configuration was read from, for messages about it.
    public var file = ""
    /// The admin HTTP API, when configured.
    public var admin: AdminSettings?
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

    /// Parses `a.b.c.d:port` or `[ipv6]:port`; nil when malformed.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            var bytes = in6_addr()
            guard inet_pton(AF_INET6, String(host), &bytes) == 1 else { return nil }
            isIPv6 = true
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ $0.count <= 3 && Self.isDigits($0) && UInt8($0) != nil })
            else { return nil }
            isIPv6 = false
        }
        guard Self.isDigits(portText), let port = UInt16(portText), port != 0 else { return nil }
        self.host = String(host)
        self.port = port
    }

    private static func isDigits(_ s: Substring) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
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
    /// The zone file path, resolved against the config file's directory.
    public var file: String
    /// The config line of this entry, for messages about the zone.
    public var line: Int
}

/// One problem in the configuration, shown as `file:line: key: reason`.
public struct ServerConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem this is, for tests to compare.
    public enum Code: Hashable, Sendable {
        case io, syntax, unknownKey, missingKey, wrongType, invalidValue
        case badListenAddress, duplicateListenAddress, badDuration, badName
        case duplicateOrigin, missingZoneFile
        /// A mapping key given twice (data center, check, service, …), or two service names equal
        /// ignoring case.
        case duplicateKey
        case unknownDataCenter, unknownCheck, unknownPolicy, unknownCheckType
        /// Negative or non-numeric weight, or every weight zero.
        case badWeight
        /// Latitude outside −90…90 or longitude outside −180…180.
        case badCoordinates
        case badAddress
        /// Malformed CIDR prefix, or one with bits set beyond its length.
        case badPrefix
        case badCountry, badContinent
        /// geo-nearest over a data center that has no `location`.
        case missingLocation
        /// A geo map without a `default` entry.
        case missingDefault
        /// TTL 0 or above 2^31−1, or degraded-ttl above ttl.
        case badTTL
        /// A check timeout not shorter than its interval.
        case badTimeout
        /// A data center without addresses.
        case noAddresses
        /// A service name without the final dot.
        case relativeName
        /// A file the configuration names (GeoIP database) that cannot be read.
        case missingFile
    }

    public let code: Code
    public let file: String
    public let line: Int?
    /// The dotted key path (`tcp.idle-timeout`, `zones.origin`), nil for file-level problems.
    public let key: String?
    public let reason: String

    public init(_ code: Code, file: String, line: Int?, key: String?, _ reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        if let key { s += ": \(key)" }
        return s + ": " + reason
    }
}

/// Every problem found in a configuration file.
public struct ServerConfigErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [ServerConfigError]
    public init(_ errors: [ServerConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Walks the composed YAML tree, collecting every error rather than stopping at the first.
struct ConfigParser {
    let file: String
    let baseDirectory: String
    /// The health-check kinds and the parameters each declares.
    let checkKinds: CheckKinds
    var errors: [ServerConfigError] = []
    /// Keys renamed because they repeat an earlier key of their mapping: placeholder → (key, line of the first).
    var duplicates: [String: (key: String, firstLine: Int)] = [:]

    init(file: String, baseDirectory: String, checkKinds: CheckKinds) {
        self.file = file
        self.baseDirectory = baseDirectory
        self.checkKinds = checkKinds
    }

    mutating func fail(_ code: ServerConfigError.Code, _ node: Node?, _ key: String?, _ reason: String) {
        errors.append(ServerConfigError(code, file: file, line: node?.mark?.line ?? 1, key: key, reason))
    }

    mutating func parse(_ yaml: String) -> ServerConfiguration? {
        let root: Node?
        do {
            root = try composeKeepingDuplicates(yaml)
        } catch let error as YamlError {
            errors.append(ServerConfigError(.syntax, file: file, line: Self.line(of: error), key: nil, Self.problem(of: error)))
            return nil
        } catch {
            errors.append(ServerConfigError(.syntax, file: file, line: nil, key: nil, "\(error)"))
            return nil
        }
        guard let root, let top = mapping(root, key: "top level") else {
            if root == nil { fail(.missingKey, nil, "listen", "the file is empty; listen and zones are required") }
            return nil
        }

        reportDuplicates(root, path: "")

        var config = ServerConfiguration(listen: [], workers: nil, logLevel: .info, identity: nil, version: nil, tcp: TCPSettings(), zones: [])
        var seen: Set<String> = []
        var routingSections: [String: (key: Node, value: Node)] = [:]
        for (keyNode, value) in top where !isDuplicate(keyNode) {
            guard let key = keyNode.scalar?.string else { fail(.wrongType, keyNode, nil, "keys must be plain names"); continue }
            seen.insert(key)
            switch key {
            case "listen": config.listen = listen(value)
            case "workers": config.workers = positiveInt(value, key: key, max: 1024)
            case "log-level":
                guard let text = scalar(value, key: key) else { break }
                if let level = LogLevel(rawValue: text) {
                    config.logLevel = level
                } else {
                    fail(.invalidValue, value, key, "\"\(text)\" is not one of \(LogLevel.allCases.map(\.rawValue).joined(separator: "|"))")
                }
            case "identity": config.identity = txt(value, key: key)
            case "version": config.version = txt(value, key: key)
            case "nsid": config.nsid = txt(value, key: key).map { Array($0.utf8) }
            case "nsid-hex": config.nsid = hex(value, key: key)
            case "log-format":
                guard let text = scalar(value, key: key) else { break }
                if let format = LogFormat(rawValue: text) {
                    config.logFormat = format
                } else {
                    fail(.invalidValue, value, key, "\"\(text)\" is not one of \(LogFormat.allCases.map(\.rawValue).joined(separator: "|"))")
                }
            case "query-log": config.queryLog = queryLog(value)
            case "watch-zones": config.watchZones = duration(value, key: key)
            case "tcp": config.tcp = tcp(value)
            case "udp-receive-buffer":
                if let n = byteSize(value, key: key) { config.udpBuffers.receive = n }
            case "udp-send-buffer":
                if let n = byteSize(value, key: key) { config.udpBuffers.send = n }
            case "pid-file":
                guard let text = scalar(value, key: key) else { break }
                if text.isEmpty { fail(.invalidValue, value, key, "a file path is required"); break }
                config.pidFile = text.hasPrefix("/") ? text : baseDirectory + "/" + text
            case "zones": config.zones = zones(value)
            case "tsig-keys": config.tsigKeys = tsigKeys(value)
            case "cookies": config.cookies = cookies(value)
            case "rate-limit": config.rateLimit = rateLimit(value)
            case "geoip", "datacenters", "checks", "health", "services": routingSections[key] = (keyNode, value)
            case "admin": config.admin = admin(value)
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        for required in ["listen", "zones"] where !seen.contains(required) {
            fail(.missingKey, root, required, "required key is missing")
        }
        config.routing = routing(routingSections)
        return config
    }

    // MARK: sections

    mutating func listen(_ node: Node) -> [ListenAddress] {
        guard let items = sequence(node, key: "listen") else { return [] }
        if items.isEmpty { fail(.invalidValue, node, "listen", "at least one address is required") }
        var result: [ListenAddress] = []
        for item in items {
            guard let text = scalar(item, key: "listen") else { continue }
            guard let address = ListenAddress(text) else {
                fail(.badListenAddress, item, "listen", "\"\(text)\" is not a.b.c.d:port or [ipv6]:port with a port of 1-65535")
                continue
            }
            if result.contains(address) {
                fail(.duplicateListenAddress, item, "listen", "\(address) is listed twice")
                continue
            }
            result.append(address)
        }
        return result
    }

    mutating func admin(_ node: Node) -> AdminSettings? {
        guard let map = mapping(node, key: "admin") else { return nil }
        var listen: ListenAddress? = nil
        var token: String? = nil
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let key = "admin." + (keyNode.scalar?.string ?? "?")
            switch keyNode.scalar?.string {
            case "listen":
                guard let text = scalar(value, key: key) else { break }
                guard let address = ListenAddress(text) else {
                    fail(.badListenAddress, value, key, "\"\(text)\" is not a.b.c.d:port or [ipv6]:port with a port of 1-65535")
                    break
                }
                listen = address
            case "token":
                token = scalar(value, key: key)
            case "token-file":
                guard let path = scalar(value, key: key) else { break }
                let resolved = path.hasPrefix("/") ? path : baseDirectory + "/" + path
                guard let text = try? String(contentsOfFile: resolved, encoding: .utf8) else {
                    fail(.missingFile, value, key, "cannot read \(resolved)")
                    break
                }
                token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        if token?.isEmpty == true { fail(.invalidValue, node, "admin.token", "the token is empty") }
        return AdminSettings(listen: listen ?? AdminSettings.defaultListen, token: token)
    }

    mutating func queryLog(_ node: Node) -> QueryLogSettings? {
        guard let map = mapping(node, key: "query-log") else { return nil }
        var path: String? = nil
        var sample = 1.0
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let key = "query-log." + (keyNode.scalar?.string ?? "?")
            switch keyNode.scalar?.string {
            case "path":
                guard let text = scalar(value, key: key) else { break }
                path = text == "-" || text.hasPrefix("/") ? text : baseDirectory + "/" + text
            case "sample":
                guard let text = scalar(value, key: key) else { break }
                guard let rate = Double(text), rate > 0, rate <= 1 else {
                    fail(.invalidValue, value, key, "\"\(text)\" is not a share of queries greater than 0 and at most 1")
                    break
                }
                sample = rate
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        guard let path else {
            fail(.missingKey, node, "query-log.path", "required key is missing (a file, or - for standard output)")
            return nil
        }
        return QueryLogSettings(path: path, sample: sample)
    }

    /// Bytes written as hexadecimal digits (1 to 128 bytes).
    mutating func hex(_ node: Node, key: String) -> [UInt8]? {
        guard let text = scalar(node, key: key) else { return nil }
        let digits = Array(text)
        guard !digits.isEmpty, digits.count.isMultiple(of: 2), digits.count <= 256,
              digits.allSatisfy({ $0.isASCII && $0.isHexDigit })
        else {
            fail(.invalidValue, node, key, "\"\(text)\" is not 1 to 128 bytes written as pairs of hexadecimal digits")
            return nil
        }
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    mutating func tcp(_ node: Node) -> TCPSettings {
        var settings = TCPSettings()
        guard let map = mapping(node, key: "tcp") else { return settings }
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let key = "tcp." + (keyNode.scalar?.string ?? "?")
            switch keyNode.scalar?.string {
            case "idle-timeout":
                if let d = duration(value, key: key) { settings.idleTimeout = d }
            case "max-connections":
                if let n = positiveInt(value, key: key, max: 1_000_000) { settings.maxConnections = n }
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        return settings
    }

    mutating func zones(_ node: Node) -> [ZoneEntry] {
        guard let items = sequence(node, key: "zones") else { return [] }
        if items.isEmpty { fail(.invalidValue, node, "zones", "at least one zone is required") }
        var result: [ZoneEntry] = []
        for item in items {
            guard let map = mapping(item, key: "zones") else { continue }
            var origin: DNSName?
            var path: String?
            for (keyNode, value) in map where !isDuplicate(keyNode) {
                let name = keyNode.scalar?.string ?? "?"
                let key = "zones." + name
                switch name {
                case "origin":
                    guard let text = scalar(value, key: key) else { break }
                    do throws(DNSWireError) {
                        let parsed = try DNSName(text)
                        if result.contains(where: { $0.origin == parsed }) {
                            fail(.duplicateOrigin, value, key, "zone \(parsed) is listed twice")
                        } else {
                            origin = parsed
                        }
                    } catch {
                        fail(.badName, value, key, "\"\(text)\" is not a domain name: \(error)")
                    }
                case "file":
                    guard let text = scalar(value, key: key) else { break }
                    let resolved = text.hasPrefix("/") ? text : baseDirectory + "/" + text
                    if FileManager.default.isReadableFile(atPath: resolved) {
                        path = resolved
                    } else {
                        fail(.missingZoneFile, value, key, "\(resolved): no such readable file")
                    }
                default: fail(.unknownKey, keyNode, key, "unknown key")
                }
            }
            for (required, present) in [("origin", origin != nil), ("file", path != nil)]
            where !present && map[required] == nil {
                fail(.missingKey, item, "zones." + required, "required key is missing")
            }
            if let origin, let path {
                result.append(ZoneEntry(origin: origin, file: path, line: item.mark?.line ?? 1))
            }
        }
        return result
    }

    // MARK: values

    mutating func mapping(_ node: Node, key: String) -> Node.Mapping? {
        guard let map = node.mapping else { fail(.wrongType, node, key, "expected a mapping"); return nil }
        return map
    }

    mutating func sequence(_ node: Node, key: String) -> Node.Sequence? {
        guard let seq = node.sequence else { fail(.wrongType, node, key, "expected a list"); return nil }
        return seq
    }

    mutating func scalar(_ node: Node, key: String) -> String? {
        guard let s = node.scalar?.string else { fail(.wrongType, node, key, "expected a single value"); return nil }
        return s
    }

    mutating func positiveInt(_ node: Node, key: String, max: Int) -> Int? {
        guard let text = scalar(node, key: key) else { return nil }
        guard let n = Int(text), n >= 1, n <= max else {
            fail(.invalidValue, node, key, "\"\(text)\" is not a whole number from 1 to \(max)")
            return nil
        }
        return n
    }

    /// A size in bytes: a whole number, optionally with a K (KiB) or M (MiB) suffix, from 4K to
    /// `UDPBufferSettings.maximum`.
    mutating func byteSize(_ node: Node, key: String) -> Int? {
        guard let text = scalar(node, key: key) else { return nil }
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let units: [Substring: Int] = ["": 1, "K": 1 << 10, "k": 1 << 10, "M": 1 << 20, "m": 1 << 20]
        guard digits.count <= 10, let n = Int(digits), let scale = units[text.dropFirst(digits.count)],
              n * scale >= 4096, n * scale <= UDPBufferSettings.maximum
        else {
            fail(.invalidValue, node, key, "\"\(text)\" is not a size from 4K to 1024M such as 262144, 512K or 8M")
            return nil
        }
        return n * scale
    }

    /// A TXT character-string: 1 to 255 bytes (RFC 1035 §3.3).
    mutating func txt(_ node: Node, key: String) -> String? {
        guard let text = scalar(node, key: key) else { return nil }
        guard !text.isEmpty, text.utf8.count <= 255 else {
            fail(.invalidValue, node, key, "must be 1 to 255 bytes long")
            return nil
        }
        return text
    }

    /// `500ms`, `10s`, `2m`, `1h`: a positive whole number and a unit.
    mutating func duration(_ node: Node, key: String) -> Duration? {
        guard let text = scalar(node, key: key) else { return nil }
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let units: [Substring: Int64] = ["ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000]
        guard let n = Int64(digits), n > 0, let scale = units[text.dropFirst(digits.count)],
              n <= Int64.max / scale / 1_000_000
        else {
            fail(.badDuration, node, key, "\"\(text)\" is not a positive duration such as 500ms, 10s, 2m or 1h")
            return nil
        }
        return .milliseconds(n * scale)
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: nil
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            "YAML syntax: \(problem)"
        case .duplicatedKeysInMapping(let duplicates, _):
            "YAML: duplicate keys \(duplicates.joined(separator: ", "))"
        default: "YAML: \(error)"
        }
    }
}
