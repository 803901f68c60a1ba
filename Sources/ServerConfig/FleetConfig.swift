public import FleetModel
import Foundation
import Yams

/// `fleet:`: the etcd cluster several Meridians share their view through, and who this one is.
public struct FleetSettings: Sendable, Equatable {
    /// What an instance answers with while etcd cannot be reached.
    public enum Disconnected: String, Sendable, Equatable, CaseIterable {
        /// The last fleet view, with this instance's own verdicts taking over as they change.
        case local
        /// The last fleet view, unchanged, until etcd is back.
        case freeze
    }

    /// The etcd client URLs (`http://host:port` or `https://host:port`, no path), tried in order.
    public var endpoints: [String]
    /// The fleet's name: every key lives under `/<name>/` (`FleetKeys`).
    public var name: String
    /// This instance's name in the fleet (default: the host name).
    public var instance: String
    /// The TTL of this instance's lease: its membership and verdicts vanish this long after it
    /// stops renewing (it renews every third of it). 5 s: a dead instance's verdicts stop counting
    /// within about one health-check interval, and a renewal can be late by two periods first.
    public var leaseTTL: Duration = .seconds(5)
    public var quorum: Quorum = .majority
    /// Where the configuration comes from: this file, or the one `meridian push` stored in etcd
    /// (this file then only bootstraps: its `fleet:` section is kept for this instance).
    public var configSource: ConfigSource = .file
    public enum ConfigSource: String, Sendable, Equatable, CaseIterable { case file, etcd }
    public var whenDisconnected: Disconnected = .local
    /// TLS to etcd: the CA that signs its certificate, and a client certificate and key.
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// etcd authentication (user and password), when both are given.
    public var username: String?
    public var password: String?
    /// The line of `fleet:`, for messages.
    public var line: Int

    public init(endpoints: [String], name: String, instance: String, line: Int) {
        self.endpoints = endpoints
        self.name = name
        self.instance = instance
        self.line = line
    }


}

extension ConfigParser {
    mutating func fleet(_ node: Node) -> FleetSettings? {
        guard let map = mapping(node, key: "fleet") else { return nil }
        var settings = FleetSettings(endpoints: [], name: "", instance: "", line: node.mark?.line ?? 1)
        var sawEndpoints = false, sawName = false, sawInstance = false
        var credentialNode: Node? = nil
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let key = "fleet." + (keyNode.scalar?.string ?? "?")
            switch keyNode.scalar?.string {
            case "endpoints":
                sawEndpoints = true
                guard let items = sequence(value, key: key) else { break }
                if items.isEmpty { fail(.invalidValue, value, key, "at least one etcd endpoint is required") }
                for item in items {
                    guard let text = scalar(item, key: key) else { continue }
                    guard let url = URL(string: text), let scheme = url.scheme, scheme == "http" || scheme == "https",
                          let host = url.host, !host.isEmpty, url.port != nil, url.path.isEmpty || url.path == "/"
                    else {
                        fail(.invalidValue, item, key, "\"\(text)\" is not http://host:port or https://host:port")
                        continue
                    }
                    settings.endpoints.append("\(scheme)://\(url.host.map { $0.contains(":") ? "[\($0)]" : $0 } ?? host):\(url.port ?? 0)")
                }
            case "name":
                sawName = true
                guard let text = scalar(value, key: key) else { break }
                if FleetKeys.isValidName(text) { settings.name = text } else {
                    fail(.invalidValue, value, key, "\"\(text)\" is not 1-63 letters, digits, -, _ and . (not . or ..)")
                }
            case "instance":
                sawInstance = true
                guard let text = scalar(value, key: key) else { break }
                if FleetKeys.isValidName(text) { settings.instance = text } else {
                    fail(.invalidValue, value, key, "\"\(text)\" is not 1-63 letters, digits, -, _ and . (not . or ..)")
                }
            case "lease-ttl":
                guard let d = duration(value, key: key) else { break }
                if d < .seconds(2) || d > .seconds(60) {
                    fail(.invalidValue, value, key, "the lease TTL must be between 2s and 60s")
                } else {
                    settings.leaseTTL = d
                }
            case "quorum":
                guard let text = scalar(value, key: key) else { break }
                do {
                    settings.quorum = try Quorum(parsing: text)
                } catch {
                    fail(.invalidValue, value, key, "\"\(text)\" is not majority, any, all or a number of observers from 1")
                }
            case "config-source":
                if let source: FleetSettings.ConfigSource = oneOf(value, key: key) { settings.configSource = source }
            case "when-disconnected":
                if let mode: FleetSettings.Disconnected = oneOf(value, key: key) { settings.whenDisconnected = mode }
            case "ca-file", "cert-file", "key-file":
                guard let path = scalar(value, key: key) else { break }
                let resolved = path.hasPrefix("/") ? path : baseDirectory + "/" + path
                guard FileManager.default.isReadableFile(atPath: resolved) else {
                    fail(.missingFile, value, key, "cannot read \(resolved)")
                    break
                }
                switch keyNode.scalar?.string {
                case "ca-file": settings.caFile = resolved
                case "cert-file": settings.certFile = resolved
                default: settings.keyFile = resolved
                }
            case "username":
                credentialNode = credentialNode ?? value
                settings.username = scalar(value, key: key)
            case "password":
                credentialNode = credentialNode ?? value
                settings.password = scalar(value, key: key)
            case "password-file":
                credentialNode = credentialNode ?? value
                guard let path = scalar(value, key: key) else { break }
                let resolved = path.hasPrefix("/") ? path : baseDirectory + "/" + path
                guard let text = try? String(contentsOfFile: resolved, encoding: .utf8) else {
                    fail(.missingFile, value, key, "cannot read \(resolved)")
                    break
                }
                settings.password = text.trimmingCharacters(in: .whitespacesAndNewlines)
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        if !sawEndpoints { fail(.missingKey, node, "fleet.endpoints", "required key is missing (the etcd client URLs)") }
        if !sawName { fail(.missingKey, node, "fleet.name", "required key is missing (the fleet's name, shared by its instances)") }
        if !sawInstance {
            let host = ProcessInfo.processInfo.hostName.lowercased()
            let short = String(host.split(separator: ".").first ?? "")
            if FleetKeys.isValidName(short) { settings.instance = short } else {
                fail(.missingKey, node, "fleet.instance", "required key is missing: the host name \"\(host)\" is no instance name")
            }
        }
        if (settings.certFile == nil) != (settings.keyFile == nil) {
            fail(.invalidValue, node, "fleet.cert-file", "cert-file and key-file go together")
        }
        if (settings.username == nil) != (settings.password == nil) {
            fail(.invalidValue, credentialNode ?? node, "fleet.username", "username and password (or password-file) go together")
        }
        return settings
    }
}
