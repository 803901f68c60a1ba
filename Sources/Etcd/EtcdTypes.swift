/// One key as etcd holds it.
public struct EtcdKeyValue: Sendable, Equatable {
    /// The key as UTF-8 text (a key that is not UTF-8 is read with U+FFFD in place of its bad bytes).
    public var key: String
    public var value: [UInt8]
    /// The revision that created the key (0 in a delete event).
    public var createRevision: Int64
    /// The revision of its last write (or of its delete, in a delete event).
    public var modRevision: Int64
    /// Writes since it was created.
    public var version: Int64
    /// The lease it is attached to; 0 for none.
    public var lease: Int64

    public init(key: String, value: [UInt8], createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

/// The keys a range read found, and the store's revision it read them at: a watch from
/// `revision + 1` misses nothing and repeats nothing.
public struct EtcdRange: Sendable, Equatable {
    public var kvs: [EtcdKeyValue]
    public var revision: Int64

    public init(kvs: [EtcdKeyValue], revision: Int64) {
        self.kvs = kvs
        self.revision = revision
    }
}

/// A lease: keys put under it disappear when it is revoked or not kept alive for `ttl` seconds.
public struct EtcdLease: Sendable, Equatable, Hashable {
    public var id: Int64
    /// The TTL etcd granted, in seconds (etcd may raise a very short one to its minimum).
    public var ttl: Int64
}

/// One change a watch saw.
public struct EtcdEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case put
        case delete
    }

    public var kind: Kind
    /// The key after the change; for a delete, the key with ``EtcdKeyValue/modRevision`` the
    /// delete's revision and an empty value.
    public var kv: EtcdKeyValue

    public init(kind: Kind, kv: EtcdKeyValue) {
        self.kind = kind
        self.kv = kv
    }
}

/// What one watch response carried: its events, in revision order, and the store's revision
/// when etcd sent it. A batch with no events (the first, when etcd confirms the watch, or a
/// progress report) says the watcher has seen everything up to `revision`.
public struct EtcdWatchBatch: Sendable, Equatable {
    public var revision: Int64
    public var events: [EtcdEvent]
}

/// TLS towards `https` endpoints: the certificate authority that signed the etcd servers'
/// certificates (etcd clusters usually have their own). Without it, the system's trust roots.
public struct EtcdTLS: Sendable, Equatable {
    /// A PEM file of CA certificates.
    public var caFile: String?

    public init(caFile: String? = nil) { self.caFile = caFile }
}

/// A user and password for etcd's authentication (`etcdctl auth enable`). Printed, it shows
/// the user only, so that a log line or a failed test never carries the password.
public struct EtcdCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    public var description: String { "user \(user), password hidden" }
    public var debugDescription: String { description }
}

/// Why an etcd call failed. Each case has a stable ``code`` for logs and metrics.
public enum EtcdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No endpoint answered: each endpoint tried (comma-separated) and why each failed.
    case unreachable(endpoint: String, reason: String)
    /// A watch asked for a revision etcd has compacted away; the oldest revision it still has is
    /// `revision`. Read the whole range again, then watch from its revision + 1.
    case compacted(revision: Int64)
    /// The user or password was refused, or etcd wants credentials that were not given.
    case authFailed(String)
    /// A response that is not what etcd 3.4's gateway sends.
    case badResponse(String)
    /// A compare-and-swap found another revision; `current` is the key as it is now (nil when absent).
    case casFailed(current: EtcdKeyValue?)
    /// The lease has expired or was revoked.
    case leaseNotFound(Int64)
    /// Any other error etcd reported: its gRPC code and message.
    case server(code: Int, message: String)
    /// An endpoint that is not an `http://` or `https://` URL, or no endpoint at all.
    case invalidEndpoint(String)
    /// The TLS settings could not be loaded (a CA file missing or not PEM).
    case tls(String)

    public var code: String {
        switch self {
        case .unreachable: return "etcd.unreachable"
        case .compacted: return "etcd.compacted"
        case .authFailed: return "etcd.auth-failed"
        case .badResponse: return "etcd.bad-response"
        case .casFailed: return "etcd.cas-failed"
        case .leaseNotFound: return "etcd.lease-not-found"
        case .server: return "etcd.server"
        case .invalidEndpoint: return "etcd.invalid-endpoint"
        case .tls: return "etcd.tls"
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let reason): return "\(code): \(endpoint): \(reason)"
        case .compacted(let revision): return "\(code): revisions up to \(revision) are compacted"
        case .authFailed(let reason): return "\(code): \(reason)"
        case .badResponse(let reason): return "\(code): \(reason)"
        case .casFailed(let current):
            return "\(code): " + (current.map { "the key is at revision \($0.modRevision)" } ?? "the key does not exist")
        case .leaseNotFound(let id): return "\(code): lease \(id) has expired or was revoked"
        case .server(let grpc, let message): return "\(code): gRPC code \(grpc): \(message)"
        case .invalidEndpoint(let endpoint): return "\(code): \"\(endpoint)\" is not an http:// or https:// URL"
        case .tls(let reason): return "\(code): \(reason)"
        }
    }
}
