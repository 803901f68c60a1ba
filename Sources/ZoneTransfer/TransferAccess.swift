public import DNSWire
public import IPNet

/// Who may transfer one zone (the `transfer` key of its `zones` entry), in the spirit of one Knot
/// `acl` with `action: transfer`: when `allow` is given the client's address must lie in one of
/// its prefixes, AND when `keys` is given the request must be signed (and verified) with one of
/// those TSIG keys. At least one of the two is given; a zone without a `TransferAccess` is never
/// transferred.
public struct TransferAccess: Sendable, Equatable {
    /// Client networks allowed; empty: any address (then `keys` is not empty).
    public var allow: [IPPrefix]
    /// TSIG key names, one of which must sign the request; empty: signed or not.
    public var keys: [DNSName]

    public init(allow: [IPPrefix], keys: [DNSName]) {
        self.allow = allow
        self.keys = keys
    }

    /// Whether a request from `client`, signed with the verified key `key` (nil: unsigned), may
    /// transfer the zone.
    public func permits(_ client: IPAddress, key: DNSName?) -> Bool {
        guard !allow.isEmpty || !keys.isEmpty else { return false }
        if !allow.isEmpty && !allow.contains(where: { $0.contains(client) }) { return false }
        if !keys.isEmpty {
            guard let key, keys.contains(key) else { return false }
        }
        return true
    }
}
