public import DNSWire
public import IPNet
import Foundation
import Yams

/// A TSIG key the server accepts (RFC 8945), as configured:
///
/// ```yaml
/// tsig-keys:
///   - name: transfer.example.com.
///     algorithm: hmac-sha256        # hmac-sha256 | hmac-sha384 | hmac-sha512
///     secret: base64-of-the-secret  # as dnssec-keygen, tsig-keygen and keymgr print it
/// ```
public struct TSIGKeySettings: Sendable, Equatable {
    public var name: DNSName
    public var algorithm: String
    public var secret: [UInt8]
    /// The algorithms RFC 8945 §6 makes mandatory or recommended that Meridian implements.
    public static let algorithms = ["hmac-sha256", "hmac-sha384", "hmac-sha512"]
}

/// DNS Cookies (RFC 7873) with RFC 9018 server cookies:
///
/// ```yaml
/// cookies:
///   secret: 000102030405060708090a0b0c0d0e0f   # 16 bytes in hex, the same on every instance
///   previous-secret: ...                      # optional: still accepted while a rotation settles
///   require: false                            # BADCOOKIE to UDP clients without a valid server cookie
/// ```
/// Without the section cookies are answered with a secret made at start (one instance only).
public struct CookieSettings: Sendable, Equatable {
    public var secret: [UInt8]?
    public var previousSecret: [UInt8]?
    public var require = false
    /// SipHash-2-4's key size (RFC 9018 §4.2).
    public static let secretLength = 16
    public init() {}
}

extension ConfigParser {
    mutating func tsigKeys(_ node: Node) -> [TSIGKeySettings] {
        guard let items = sequence(node, key: "tsig-keys") else { return [] }
        var keys: [TSIGKeySettings] = []
        for item in items {
            guard let map = mapping(item, key: "tsig-keys") else { continue }
            var name: DNSName? = nil
            var algorithm: String? = nil
            var secret: [UInt8]? = nil
            for (keyNode, value) in map where !isDuplicate(keyNode) {
                let key = "tsig-keys." + (keyNode.scalar?.string ?? "?")
                switch keyNode.scalar?.string {
                case "name":
                    guard let text = scalar(value, key: key) else { break }
                    guard let parsed = try? DNSName(text.hasSuffix(".") ? text : text + ".") else {
                        fail(.badName, value, key, "\"\(text)\" is not a domain name")
                        break
                    }
                    name = parsed
                case "algorithm":
                    guard let text = scalar(value, key: key) else { break }
                    guard TSIGKeySettings.algorithms.contains(text.lowercased()) else {
                        fail(.invalidValue, value, key, "\"\(text)\" is not one of \(TSIGKeySettings.algorithms.joined(separator: ", "))")
                        break
                    }
                    algorithm = text.lowercased()
                case "secret":
                    guard let text = scalar(value, key: key) else { break }
                    guard let data = Data(base64Encoded: text), !data.isEmpty else {
                        fail(.invalidValue, value, key, "the secret is not base64")
                        break
                    }
                    secret = Array(data)
                default: fail(.unknownKey, keyNode, key, "unknown key")
                }
            }
            for (present, field) in [(name != nil, "name"), (algorithm != nil, "algorithm"), (secret != nil, "secret")] where !present {
                fail(.missingKey, item, "tsig-keys." + field, "required key is missing")
            }
            guard let name, let algorithm, let secret else { continue }
            if keys.contains(where: { $0.name == name }) {
                fail(.duplicateKey, item, "tsig-keys.name", "the key \(name) is defined twice")
                continue
            }
            keys.append(TSIGKeySettings(name: name, algorithm: algorithm, secret: secret))
        }
        return keys
    }

    mutating func cookies(_ node: Node) -> CookieSettings {
        var settings = CookieSettings()
        guard let map = mapping(node, key: "cookies") else { return settings }
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let key = "cookies." + (keyNode.scalar?.string ?? "?")
            switch keyNode.scalar?.string {
            case "secret": settings.secret = cookieSecret(value, key: key)
            case "previous-secret": settings.previousSecret = cookieSecret(value, key: key)
            case "require":
                guard let text = scalar(value, key: key) else { break }
                switch text {
                case "true", "yes": settings.require = true
                case "false", "no": settings.require = false
                default: fail(.invalidValue, value, key, "\"\(text)\" is not true or false")
                }
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        if settings.previousSecret != nil && settings.secret == nil {
            fail(.missingKey, node, "cookies.secret", "previous-secret needs a secret")
        }
        return settings
    }

    private mutating func cookieSecret(_ node: Node, key: String) -> [UInt8]? {
        guard let bytes = hex(node, key: key) else { return nil }
        guard bytes.count == CookieSettings.secretLength else {
            fail(.invalidValue, node, key, "a cookie secret is \(CookieSettings.secretLength) bytes (32 hexadecimal digits), not \(bytes.count)")
            return nil
        }
        return bytes
    }
}

/// Response rate limiting, off unless configured (the semantics of BIND's and Knot's RRL):
///
/// ```yaml
/// rate-limit:
///   responses-per-second: 20   # per client prefix and response kind (answer, nxdomain, referral, error)
///   slip: 2                    # every 2nd limited response goes out truncated (TC=1), the rest are dropped; 0: drop all
///   ipv4-prefix: 24            # clients are grouped by these prefixes
///   ipv6-prefix: 56
///   exempt: [10.0.0.0/8]       # never limited
/// ```
/// Only UDP is limited: a TCP client has shown it owns its address. So has a client that returns a
/// valid server cookie (RFC 7873), and it is never limited either.
public struct RateLimitSettings: Sendable, Equatable {
    public var responsesPerSecond = 20
    public var slip = 2
    public var ipv4Prefix = 24
    public var ipv6Prefix = 56
    public var exempt: [IPPrefix] = []
    public init() {}
}

extension ConfigParser {
    mutating func rateLimit(_ node: Node) -> RateLimitSettings? {
        guard let map = mapping(node, key: "rate-limit") else { return nil }
        var settings = RateLimitSettings()
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let key = "rate-limit." + (keyNode.scalar?.string ?? "?")
            switch keyNode.scalar?.string {
            case "responses-per-second":
                if let n = positiveInt(value, key: key, max: 1_000_000) { settings.responsesPerSecond = n }
            case "slip":
                // 0 is allowed here (drop every limited response), unlike positiveInt.
                guard let text = scalar(value, key: key) else { break }
                guard let n = Int(text), n >= 0, n <= 10 else {
                    fail(.invalidValue, value, key, "\"\(text)\" is not a whole number from 0 to 10")
                    break
                }
                settings.slip = n
            case "ipv4-prefix":
                if let n = positiveInt(value, key: key, max: 32) { settings.ipv4Prefix = n }
            case "ipv6-prefix":
                if let n = positiveInt(value, key: key, max: 128) { settings.ipv6Prefix = n }
            case "exempt":
                guard let items = sequence(value, key: key) else { break }
                for item in items {
                    guard let text = scalar(item, key: key) else { continue }
                    do throws(IPParseError) {
                        settings.exempt.append(try IPPrefix.parseCIDR(text))
                    } catch {
                        fail(.badPrefix, item, key, error.reason)
                    }
                }
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        return settings
    }
}
