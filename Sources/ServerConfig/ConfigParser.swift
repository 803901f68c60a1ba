import DNSWire
import Foundation
import HealthModel
import IPNet
import Routing
import Yams

/// Walks the composed YAML tree, collecting every error rather than stopping at the first.
struct ConfigParser {
    let file: String
    let baseDirectory: String
    /// The health-check kinds and the parameters each declares.
    let checkKinds: CheckKinds
    var errors: [ServerConfigError] = []
    /// Keys renamed because they repeat an earlier key of their mapping: placeholder → (key, line of the first).
    var duplicates: [String: (key: String, firstLine: Int)] = [:]
    /// Key names zones' `transfer.keys` and `primary-key` use, with their lines and keys, checked
    /// once `tsig-keys` is read.
    var transferKeyLines: [(DNSName, Int, String)] = []

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
            case "log-level": if let level: LogLevel = oneOf(value, key: key) { config.logLevel = level }
            case "identity": config.identity = txt(value, key: key)
            case "version": config.version = txt(value, key: key)
            case "nsid": config.nsid = txt(value, key: key).map { Array($0.utf8) }
            case "nsid-hex": config.nsid = hex(value, key: key)
            case "log-format": if let format: LogFormat = oneOf(value, key: key) { config.logFormat = format }
            case "query-log": config.queryLog = queryLog(value)
            case "watch-zones": config.watchZones = duration(value, key: key)
            case "transfer-serial-interval":
                if let d = duration(value, key: key) {
                    if d < .seconds(1) { fail(.badDuration, value, key, "at least 1s: a zone's serial rises at most once a second") }
                    else { config.transferSerialInterval = d }
                }
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
            case "journal-dir":
                guard let text = scalar(value, key: key) else { break }
                if text.isEmpty { fail(.invalidValue, value, key, "a directory path is required"); break }
                config.journalDirectory = text
            case "tsig-keys": config.tsigKeys = tsigKeys(value)
            case "cookies": config.cookies = cookies(value)
            case "rate-limit": config.rateLimit = rateLimit(value)
            case "geoip", "datacenters", "checks", "health", "services": routingSections[key] = (keyNode, value)
            case "admin": config.admin = admin(value)
            case "fleet": config.fleet = fleet(value)
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        for required in ["listen", "zones"] where !seen.contains(required) {
            fail(.missingKey, root, required, "required key is missing")
        }
        if !config.journalDirectory.hasPrefix("/") { config.journalDirectory = baseDirectory + "/" + config.journalDirectory }
        config.routing = routing(routingSections)
        checkTransferKeys(config.tsigKeys)
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
            var transfer: TransferSettings?
            var notify: [ListenAddress] = []
            var generatesCatalog = false
            var interpretsCatalog = false
            var catalogZone: DNSName?
            var serialPolicy = SerialPolicy.keep
            var signing: SigningSettings?
            var primaries: [ListenAddress] = []
            var primaryKey: DNSName?
            var fileNode: (node: Node, text: String)?
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
                    // Checked once the whole entry is read: a secondary's file need not exist.
                    guard let text = scalar(value, key: key) else { break }
                    fileNode = (value, text.hasPrefix("/") ? text : baseDirectory + "/" + text)
                case "primaries":
                    guard let items = sequence(value, key: key) else { break }
                    if items.isEmpty { fail(.invalidValue, value, key, "at least one primary is required") }
                    for item in items {
                        guard let text = scalar(item, key: key) else { continue }
                        if let address = Self.primaryAddress(text) {
                            primaries.append(address)
                        } else {
                            fail(.badAddress, item, key, "\"\(text)\" is not an IP address, address:port or [ipv6]:port")
                        }
                    }
                case "primary-key":
                    guard let text = scalar(value, key: key) else { break }
                    do throws(DNSWireError) {
                        let name = try DNSName(text.hasSuffix(".") ? text : text + ".")
                        primaryKey = name
                        transferKeyLines.append((name, value.mark?.line ?? 1, key))
                    } catch {
                        fail(.badName, value, key, "\"\(text)\" is not a key name: \(error)")
                    }
                case "transfer":
                    transfer = transferSettings(value)
                case "notify":
                    guard let items = sequence(value, key: key) else { break }
                    for item in items {
                        guard let text = scalar(item, key: key) else { continue }
                        if let address = ListenAddress(text) {
                            notify.append(address)
                        } else {
                            fail(.badAddress, item, key, "\"\(text)\" is not address:port or [ipv6]:port")
                        }
                    }
                case "catalog-role":
                    guard let text = scalar(value, key: key) else { break }
                    if text == "generate" {
                        generatesCatalog = true
                    } else if text == "interpret" {
                        interpretsCatalog = true
                    } else {
                        fail(.invalidValue, value, key, "\"\(text)\" is not a catalog role; Meridian has generate and interpret")
                    }
                case "catalog-zone":
                    guard let text = scalar(value, key: key) else { break }
                    do throws(DNSWireError) {
                        catalogZone = try DNSName(text)
                    } catch {
                        fail(.badName, value, key, "\"\(text)\" is not a domain name: \(error)")
                    }
                case "serial-policy":
                    if let policy: SerialPolicy = oneOf(value, key: key) { serialPolicy = policy }
                case "dnssec":
                    signing = signingSettings(value)
                default: fail(.unknownKey, keyNode, key, "unknown key")
                }
            }
            if generatesCatalog {
                if let fileNode = map["file"] { fail(.badCatalog, fileNode, "zones.file", "a generated catalog (catalog-role: generate) has no file") }
                if catalogZone != nil, let member = map["catalog-zone"] {
                    fail(.badCatalog, member, "zones.catalog-zone", "a generated catalog cannot be a member of a catalog")
                }
                if let origin {
                    result.append(ZoneEntry(origin: origin, file: "", line: item.mark?.line ?? 1, transfer: transfer, notify: notify,
                                            generatesCatalog: true))
                }
                continue
            }
            // A secondary once `primaries` is given, even when none of its addresses parsed.
            let isSecondary = map["primaries"] != nil
            if let (node, resolved) = fileNode {
                if isSecondary {
                    path = secondaryFile(resolved, node)
                } else if FileManager.default.isReadableFile(atPath: resolved) {
                    path = resolved
                } else {
                    fail(.missingZoneFile, node, "zones.file", "\(resolved): no such readable file")
                }
            }
            if interpretsCatalog && !isSecondary, let role = map["catalog-role"] {
                fail(.badCatalog, role, "zones.catalog-role", "catalog-role: interpret needs primaries (a consumed catalog is transferred from them)")
            }
            if primaryKey != nil && !isSecondary {
                fail(.missingKey, item, "zones.primaries", "primary-key is given without primaries")
            }
            for (required, present) in [("origin", origin != nil), ("file", path != nil)]
            where !present && map[required] == nil {
                fail(.missingKey, item, "zones." + required, "required key is missing")
            }
            if signing != nil, isSecondary, let node = map["dnssec"] {
                fail(.invalidValue, node, "zones.dnssec", "a secondary zone is served as its primary signed it; online signing is for zones read from a file")
            }
            if let origin, let path {
                result.append(ZoneEntry(origin: origin, file: path, line: item.mark?.line ?? 1, transfer: transfer, notify: notify,
                                        serialPolicy: serialPolicy, catalogZone: catalogZone, primaries: primaries,
                                        primaryKey: primaryKey, interpretsCatalog: interpretsCatalog && isSecondary, signing: signing))
            }
        }
        for entry in result {
            guard let catalog = entry.catalogZone else { continue }
            if !result.contains(where: { $0.origin == catalog && $0.generatesCatalog }) {
                errors.append(ServerConfigError(.badCatalog, file: file, line: entry.line, key: "zones.catalog-zone",
                                                "\(catalog) is not a zone with catalog-role: generate in this file"))
            }
        }
        return result
    }

    /// A zone's `transfer` mapping. Key names are checked against `tsig-keys` once the whole file
    /// is read (`checkTransferKeys`), since that section may come later.
    /// A zone's `dnssec:` mapping: `keys` (required, each pair's `.key` and `.private` must
    /// exist), `validity`, `refresh`, `jitter` and `inception-offset`.
    mutating func signingSettings(_ node: Node) -> SigningSettings? {
        guard let map = mapping(node, key: "zones.dnssec") else { return nil }
        var settings = SigningSettings()
        settings.line = node.mark?.line ?? 1
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let name = keyNode.scalar?.string ?? "?"
            let key = "zones.dnssec." + name
            switch name {
            case "keys", "publish":
                guard let items = sequence(value, key: key) else { break }
                for item in items {
                    guard var text = scalar(item, key: key) else { continue }
                    for suffix in [".key", ".private"] where text.hasSuffix(suffix) { text.removeLast(suffix.count) }
                    let path = text.hasPrefix("/") ? text : baseDirectory + "/" + text
                    // A published key needs only its .key file; a signing key both.
                    let missing = (name == "keys" ? [".key", ".private"] : [".key"]).filter { !FileManager.default.fileExists(atPath: path + $0) }
                    if !missing.isEmpty {
                        fail(.invalidValue, item, key, "\(path)\(missing[0]): no such file (a key is a .key and a .private file)")
                    } else if name == "keys" {
                        settings.keys.append(path)
                    } else {
                        settings.publish.append(path)
                    }
                }
            case "key-directory":
                guard let text = scalar(value, key: key) else { break }
                let path = text.hasPrefix("/") ? text : baseDirectory + "/" + text
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                    settings.keyDirectory = path
                } else {
                    fail(.invalidValue, value, key, "\(path): no such directory")
                }
            case "zsk-lifetime":
                if let d = duration(value, key: key) { settings.zskLifetime = d }
            case "propagation-delay":
                if let d = duration(value, key: key) { settings.propagationDelay = d }
            case "cds":
                guard let text = scalar(value, key: key) else { break }
                if text == "true" || text == "false" { settings.cds = text == "true" } else {
                    fail(.invalidValue, value, key, "\"\(text)\" is not true or false")
                }
            case "validity":
                if let d = duration(value, key: key) {
                    if d < .seconds(3_600) { fail(.badDuration, value, key, "at least 1h: signatures are re-made well before they expire") }
                    else { settings.validity = d }
                }
            case "inception-offset":
                if let d = duration(value, key: key) { settings.inceptionOffset = d }
            case "refresh":
                if let d = duration(value, key: key) { settings.refresh = d }
            case "jitter":
                if let d = duration(value, key: key) { settings.jitter = d }
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        if let refresh = settings.refresh, refresh >= settings.validity, let node = map["refresh"] {
            fail(.badDuration, node, "zones.dnssec.refresh", "shorter than validity: signatures are made again before they expire")
        }
        if let jitter = settings.jitter, jitter.components.seconds >= settings.refreshSeconds, let node = map["jitter"] {
            fail(.badDuration, node, "zones.dnssec.jitter", "shorter than refresh: a signature is made again before its earliest expiration")
        }
        if map["key-directory"] != nil {
            for name in ["keys", "publish"] {
                if let other = map[name] { fail(.invalidValue, other, "zones.dnssec." + name, "not with key-directory: the directory's key times say which keys sign and which are published") }
            }
        } else if let lifetime = map["zsk-lifetime"] {
            fail(.invalidValue, lifetime, "zones.dnssec.zsk-lifetime", "needs key-directory, where the rollover's new key and times are written")
        } else if map["keys"] == nil { fail(.missingKey, node, "zones.dnssec.keys", "required key is missing (or key-directory)") }
        else if settings.keys.count > 2 || Set(settings.keys).count < settings.keys.count, let keys = map["keys"] {
            fail(.invalidValue, keys, "zones.dnssec.keys", "one combined key (CSK), or a KSK and a ZSK; published keys go in publish")
        }
        return settings
    }

    mutating func transferSettings(_ node: Node) -> TransferSettings? {
        guard let map = mapping(node, key: "zones.transfer") else { return nil }
        // A /0 written as a prefix, kept to report when no key narrows it.
        var everyone: (Node, String)?
        var settings = TransferSettings()
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let name = keyNode.scalar?.string ?? "?"
            let key = "zones.transfer." + name
            switch name {
            case "allow":
                guard let items = sequence(value, key: key) else { break }
                for item in items {
                    guard let text = scalar(item, key: key) else { continue }
                    if text == "any" {
                        settings.allow += TransferSettings.anyAddress
                        continue
                    }
                    do throws(IPParseError) {
                        let prefix = try IPPrefix.parseCIDR(text)
                        settings.allow.append(prefix)
                        if prefix.length == 0 { everyone = (item, text) }
                    } catch {
                        fail(.badPrefix, item, key, "\(error)")
                    }
                }
            case "keys":
                guard let items = sequence(value, key: key) else { break }
                for item in items {
                    guard let text = scalar(item, key: key) else { continue }
                    do throws(DNSWireError) {
                        settings.keys.append(try DNSName(text.hasSuffix(".") ? text : text + "."))
                        transferKeyLines.append((settings.keys[settings.keys.count - 1], item.mark?.line ?? 1, key))
                    } catch {
                        fail(.badName, item, key, "\"\(text)\" is not a key name: \(error)")
                    }
                }
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        if settings.allow.isEmpty && settings.keys.isEmpty {
            fail(.invalidValue, node, "zones.transfer", "give allow (client prefixes), keys (TSIG key names) or both")
            return nil
        }
        if let (item, text) = everyone, settings.keys.isEmpty {
            fail(.openTransfer, item, "zones.transfer.allow",
                 "\(text) lets every address transfer the zone; write `any` to mean that, or add keys")
        }
        return settings
    }

    /// Every key a zone's `transfer.keys` or `primary-key` names must be one of `tsig-keys`.
    mutating func checkTransferKeys(_ keys: [TSIGKeySettings]) {
        for (name, line, key) in transferKeyLines where !keys.contains(where: { $0.name == name }) {
            errors.append(ServerConfigError(.unknownTSIGKey, file: file, line: line, key: key,
                                            "\(name) is not defined in tsig-keys"))
        }
    }

    /// A primary as `address`, `address:port` or `[ipv6]:port`; port 53 when not given.
    static func primaryAddress(_ text: String) -> ListenAddress? {
        if let address = ListenAddress(text) { return address }
        if text.contains(":") { return ListenAddress("[\(text)]:53") }
        return ListenAddress(text + ":53")
    }

    /// A secondary zone's file: the server writes the received copy there (through a temporary
    /// file in the same directory, renamed over it), so the directory must exist and be writable,
    /// and the file, when it exists, must be a readable regular file.
    mutating func secondaryFile(_ path: String, _ node: Node) -> String? {
        let directory = (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory, isDirectory: &isDirectory),
              isDirectory.boolValue, FileManager.default.isWritableFile(atPath: directory.isEmpty ? "." : directory)
        else {
            fail(.unwritableZoneFile, node, "zones.file", "\(directory): a secondary zone's directory must exist and be writable")
            return nil
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
           isDirectory.boolValue || !FileManager.default.isReadableFile(atPath: path) {
            fail(.unwritableZoneFile, node, "zones.file", "\(path): not a readable file")
            return nil
        }
        return path
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
