/// One answer address whose health the monitor keeps.
public struct MonitoredAddress: Sendable, Equatable {
    /// The address ID: its index in the routing configuration's address table and in `HealthSnapshot`.
    public var id: Int
    public var datacenter: String
    /// The answer address, presentation form.
    public var ip: String
    /// Where it is checked when not at `ip`: `host:port`, `[v6]:port`, a host, a URL (http/https).
    public var target: String?
    /// The name of its check; nil = always up, never probed.
    public var check: String?

    public init(id: Int, datacenter: String, ip: String, target: String? = nil, check: String? = nil) {
        self.id = id
        self.datacenter = datacenter
        self.ip = ip
        self.target = target
        self.check = check
    }

    /// What its checker probes.
    public var checkTarget: CheckTarget { CheckTarget(ip: ip, target: target, datacenter: datacenter) }
}

/// What a checker probes: the address's check target (else its answer address) and its data center.
public struct CheckTarget: Sendable, Equatable, CustomStringConvertible {
    /// The answer address.
    public var ip: String
    /// The configured check target, if any.
    public var target: String?
    public var datacenter: String

    public init(ip: String, target: String? = nil, datacenter: String) {
        self.ip = ip
        self.target = target
        self.datacenter = datacenter
    }

    /// `target` when set, else `ip`.
    public var endpoint: String { target ?? ip }

    /// `endpoint` split into host and port (`host:port`, `[v6]:port`, bare IPv6, bare host).
    public var hostPort: (host: String, port: Int?) {
        let s = endpoint
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            let host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        let colons = s.count(where: { $0 == ":" })
        if colons == 1, let colon = s.firstIndex(of: ":") {
            return (String(s[..<colon]), Int(s[s.index(after: colon)...]))
        }
        return (s, nil)
    }

    public var description: String { target.map { "\(ip) via \($0)" } ?? ip }
}
