import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A client of etcd 3.4's v3 API through its JSON gateway (`POST /v3/...` on the client port),
/// over AsyncHTTPClient: no gRPC stack, no generated code (docs/ARCHITECTURE.md, "Fleet (etcd)").
///
/// Several endpoints (members of one cluster) may be given: a call goes to the one that answered
/// last and, when it cannot be reached (refused, reset, timed out, or etcd says it has no
/// leader), to the next. A call that broke after etcd received it may so reach etcd twice: a put
/// writes the same value again, and a compare-and-swap then reports ``EtcdError/casFailed(current:)``
/// against its own write, which the caller can recognize by the value.
///
/// With credentials, the client authenticates at its first call and again when etcd says the
/// token has expired. Call ``shutdown()`` before dropping the client.
public final class EtcdClient: Sendable {
    /// The endpoints' base URLs, without a trailing `/`.
    public let endpoints: [String]
    private let credentials: EtcdCredentials?
    private let requestTimeout: Duration
    /// For unary calls: every read is bounded by `requestTimeout`.
    private let unary: HTTPClient
    /// For watches, whose responses stay open and quiet for as long as nothing changes.
    private let streaming: HTTPClient
    private let state = Mutex(State())

    private struct State {
        /// The endpoint that answered last: the first one tried.
        var preferred = 0
        var token: String?
    }

    /// How long connecting to one endpoint may take before the next is tried: a loopback or
    /// LAN connect takes milliseconds, and two seconds still leaves a lease of a few seconds
    /// time to be kept alive through the next endpoint.
    static let connectTimeout = TimeAmount.seconds(2)

    /// The largest response body read: far beyond any fleet's records (etcd refuses a request
    /// over 1.5 MiB by default, so a value is smaller than that), and a bound on what a broken
    /// or hostile endpoint can make the client buffer.
    static let maxResponseBytes = 64 * 1024 * 1024

    /// - Parameters:
    ///   - endpoints: `http://host:port` or `https://host:port` URLs of the cluster's members.
    ///   - tls: for `https` endpoints; nil uses the system's trust roots.
    ///   - credentials: for a cluster with authentication enabled.
    ///   - requestTimeout: the longest a unary call waits for one endpoint's answer.
    public init(endpoints: [String], tls: EtcdTLS? = nil, credentials: EtcdCredentials? = nil,
                requestTimeout: Duration = .seconds(5)) throws(EtcdError) {
        guard !endpoints.isEmpty else { throw .invalidEndpoint("") }
        var urls: [String] = []
        for endpoint in endpoints {
            guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https", url.host != nil,
                  url.query == nil, url.path.isEmpty || url.path == "/"
            else { throw .invalidEndpoint(endpoint) }
            urls.append(endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint)
        }
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let caFile = tls?.caFile {
            do {
                tlsConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw .tls("CA file \(caFile): \(error)")
            }
        }
        func client(read: TimeAmount?) -> HTTPClient {
            HTTPClient(
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                configuration: HTTPClient.Configuration(
                    tlsConfiguration: tlsConfiguration, redirectConfiguration: .disallow,
                    timeout: HTTPClient.Configuration.Timeout(connect: Self.connectTimeout, read: read)))
        }
        self.endpoints = urls
        self.credentials = credentials
        self.requestTimeout = requestTimeout
        unary = client(read: TimeAmount(requestTimeout))
        streaming = client(read: nil)
    }

    /// Closes the connections. End every watch (stop iterating it) first.
    public func shutdown() async {
        try? await unary.shutdown()
        try? await streaming.shutdown()
    }

    // MARK: - Keys

    /// The key `key`, if it exists, and the revision it was read at.
    public func get(key: String) async throws(EtcdError) -> (kv: EtcdKeyValue?, revision: Int64) {
        let range = try await range(["key": .bytes(Array(key.utf8))])
        return (range.kvs.first, range.revision)
    }

    /// Every key that starts with `prefix`, sorted by key, at one revision.
    public func get(prefix: String) async throws(EtcdError) -> EtcdRange {
        try await range(["key": .bytes(Array(prefix.utf8)), "range_end": .bytes(Self.rangeEnd(prefix))])
    }

    /// Writes `value` at `key` (attached to `lease` when not 0); returns the revision written.
    @discardableResult
    public func put(key: String, value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        try await naming(lease) { () async throws(EtcdError) in
            try await call("/v3/kv/put", Self.putRequest(key: key, value: value, lease: lease)).headerRevision()
        }
    }

    /// Deletes `key`; returns how many keys went (0 or 1) and the revision.
    @discardableResult
    public func delete(key: String) async throws(EtcdError) -> (deleted: Int64, revision: Int64) {
        try await deleteRange(["key": .bytes(Array(key.utf8))])
    }

    /// Deletes every key that starts with `prefix`.
    @discardableResult
    public func delete(prefix: String) async throws(EtcdError) -> (deleted: Int64, revision: Int64) {
        try await deleteRange(["key": .bytes(Array(prefix.utf8)), "range_end": .bytes(Self.rangeEnd(prefix))])
    }

    /// Writes `value` at `key` only if the key's last write is still `expectedModRevision` (0:
    /// only if the key does not exist), in one transaction; returns the revision written.
    /// Throws ``EtcdError/casFailed(current:)`` with the key as it is when it has moved on.
    @discardableResult
    public func compareAndSwap(key: String, expectedModRevision: Int64, value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> Int64 {
        let keyBytes = JSONValue.bytes(Array(key.utf8))
        // A missing key compares as mod_revision 0, so one comparison covers "absent" too.
        let request: [String: JSONValue] = [
            "compare": .array([.object(["key": keyBytes, "target": .string("MOD"), "result": .string("EQUAL"),
                                        "mod_revision": .int64(expectedModRevision)])]),
            "success": .array([.object(["request_put": .object(Self.putRequest(key: key, value: value, lease: lease))])]),
            "failure": .array([.object(["request_range": .object(["key": keyBytes])])]),
        ]
        let response = try await naming(lease) { () async throws(EtcdError) in try await call("/v3/kv/txn", request) }
        let revision = try response.headerRevision()
        guard try response.bool("succeeded") else {
            let responses = try response.objects("responses")
            guard responses.count == 1 else { throw .badResponse("txn: \(responses.count) responses to the failure branch's one range") }
            let kvs = try responses[0].object("response_range").objects("kvs")
            throw .casFailed(current: try kvs.first.map(Self.keyValue))
        }
        return revision
    }

    // MARK: - Leases

    /// A new lease of `ttl` seconds.
    public func grantLease(ttl: Int64) async throws(EtcdError) -> EtcdLease {
        let response = try await call("/v3/lease/grant", ["TTL": .int64(ttl)])
        let message = try response.string("error")
        guard message.isEmpty else { throw .server(code: 0, message: message) }
        let lease = EtcdLease(id: try response.int64("ID"), ttl: try response.count("TTL"))
        guard lease.id != 0, lease.ttl > 0 else { throw .badResponse("lease grant: ID \(lease.id), TTL \(lease.ttl)") }
        return lease
    }

    /// Renews `lease` for its full TTL; returns the TTL. Throws ``EtcdError/leaseNotFound(_:)``
    /// once it has expired: its keys are gone, and a new lease must be granted and the keys put again.
    @discardableResult
    public func keepAlive(lease: Int64) async throws(EtcdError) -> Int64 {
        // The gateway serves this streaming call as one request, one response wrapped in "result".
        let response = try await naming(lease) { () async throws(EtcdError) in
            try await call("/v3/lease/keepalive", ["ID": .int64(lease)])
        }
        try throwIfStreamError(response)
        let ttl = try response.object("result").count("TTL")
        guard ttl > 0 else { throw .leaseNotFound(lease) }
        return ttl
    }

    /// Ends `lease` now, deleting its keys. (etcd 3.4 serves this at `/v3/lease/revoke` and, as
    /// before 3.4, `/v3/kv/lease/revoke`; the first is the one 3.5 keeps.)
    public func revoke(lease: Int64) async throws(EtcdError) {
        _ = try await naming(lease) { () async throws(EtcdError) in try await call("/v3/lease/revoke", ["ID": .int64(lease)]) }
    }

    /// `body`, with a lease-not-found error naming `lease` (etcd's message does not).
    private func naming<T>(_ lease: Int64, _ body: () async throws(EtcdError) -> T) async throws(EtcdError) -> T {
        do {
            return try await body()
        } catch {
            if case .leaseNotFound = error { throw .leaseNotFound(lease) }
            throw error
        }
    }

    // MARK: - Watch

    /// Every change to the keys under `prefix` from `fromRevision` on (nil: from now), in order,
    /// as batches. The stream ends with an error: ``EtcdError/compacted(revision:)`` when
    /// `fromRevision` is compacted, ``EtcdError/unreachable(endpoint:reason:)`` when the connection
    /// breaks (watch again from the last batch's `revision + 1`). Stopping the iteration cancels
    /// the watch. Batches wait in the stream until read (a fleet's changes are few and small). A
    /// silent network keeps the watch open: a failing ``keepAlive(lease:)`` is what notices first
    /// that etcd is gone.
    public func watch(prefix: String, fromRevision: Int64? = nil) -> AsyncThrowingStream<EtcdWatchBatch, any Error> {
        var create: [String: JSONValue] = ["key": .bytes(Array(prefix.utf8)), "range_end": .bytes(Self.rangeEnd(prefix))]
        if let fromRevision { create["start_revision"] = .int64(fromRevision) }
        let body: [String: JSONValue] = ["create_request": .object(create)]
        return AsyncThrowingStream { continuation in
            let task = Task {
                do throws(EtcdError) {
                    try await self.runWatch(body, continuation)
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func runWatch(_ body: [String: JSONValue], _ continuation: AsyncThrowingStream<EtcdWatchBatch, any Error>.Continuation) async throws(EtcdError) {
        let (response, endpoint) = try await send("/v3/watch", body, token: try await authToken(), client: streaming)
        guard response.status == .ok else {
            let bytes = try await Self.collect(response, "watch")
            throw failure(status: response.status, bytes, "watch")
        }
        var buffer: [UInt8] = []
        do {
            for try await chunk in response.body {
                buffer += chunk.readableBytesView
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = buffer[..<newline]
                    defer { buffer.removeSubrange(...newline) }
                    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                    let batch = try watchBatch(JSONObject(parsing: line, what: "watch"))
                    continuation.yield(batch)
                }
                guard buffer.count <= Self.maxResponseBytes else { throw EtcdError.badResponse("watch: a line longer than \(Self.maxResponseBytes) bytes") }
            }
        } catch let error as EtcdError {
            throw error
        } catch is CancellationError {
            continuation.finish()
            return
        } catch {
            if Task.isCancelled {
                continuation.finish()
                return
            }
            throw .unreachable(endpoint: endpoint, reason: "watch broken: \(error)")
        }
        if Task.isCancelled {
            continuation.finish()
            return
        }
        throw .unreachable(endpoint: endpoint, reason: "watch ended by the server")
    }

    /// One line of the watch stream: a batch, or the error that ends the watch.
    private func watchBatch(_ line: JSONObject) throws(EtcdError) -> EtcdWatchBatch {
        try throwIfStreamError(line)
        let result = try line.object("result")
        if try result.bool("canceled") {
            let compacted = try result.count("compact_revision")
            if compacted > 0 { throw .compacted(revision: compacted) }
            let reason = try result.string("cancel_reason")
            if reason.contains("Unauthenticated") || reason.contains("user name is empty") || reason.contains("permission denied") {
                // The token may have expired: the next call authenticates again.
                state.withLock { $0.token = nil }
                throw .authFailed(reason)
            }
            throw .server(code: 0, message: "watch canceled: \(reason)")
        }
        var events: [EtcdEvent] = []
        for event in try result.objects("events") {
            let kind: EtcdEvent.Kind
            switch try event.string("type") {
            case "", "PUT": kind = .put
            case "DELETE": kind = .delete
            case let other: throw .badResponse("watch: event type \(other.prefix(20))")
            }
            events.append(EtcdEvent(kind: kind, kv: try Self.keyValue(event.object("kv"))))
        }
        return EtcdWatchBatch(revision: try result.headerRevision(), events: events)
    }

    // MARK: - Calls

    private func range(_ request: [String: JSONValue]) async throws(EtcdError) -> EtcdRange {
        let response = try await call("/v3/kv/range", request)
        return EtcdRange(kvs: try response.objects("kvs").map(Self.keyValue), revision: try response.headerRevision())
    }

    private func deleteRange(_ request: [String: JSONValue]) async throws(EtcdError) -> (deleted: Int64, revision: Int64) {
        let response = try await call("/v3/kv/deleterange", request)
        return (try response.count("deleted"), try response.headerRevision())
    }

    /// One unary call: the response object, after authenticating if needed (once more if etcd
    /// says the token expired).
    private func call(_ path: String, _ body: [String: JSONValue]) async throws(EtcdError) -> JSONObject {
        var retried = false
        while true {
            let (response, _) = try await send(path, body, token: try await authToken(), client: unary)
            let bytes = try await Self.collect(response, path)
            if response.status == .ok { return try JSONObject(parsing: bytes, what: path) }
            let error = failure(status: response.status, bytes, path)
            guard case .authFailed = error, !retried, credentials != nil, response.status == .unauthorized else { throw error }
            retried = true
        }
    }

    /// The error a non-200 response reports (gRPC code and message in the gateway's JSON).
    private func failure(status: HTTPResponseStatus, _ bytes: [UInt8], _ path: String) -> EtcdError {
        let object = try? JSONObject(parsing: bytes, what: path)
        let code = (try? object?.int64("code")) ?? 0
        let message = (try? object?.string("message")) ?? String(decoding: bytes.prefix(200), as: UTF8.self)
        switch (code, message) {
        case (16, _):  // Unauthenticated: no token, or one that expired
            state.withLock { $0.token = nil }
            return .authFailed(message)
        case (_, let m) where m.contains("authentication failed") || m.contains("user name is empty") || m.contains("permission denied"):
            return .authFailed(message)
        case (5, let m) where m.contains("lease not found"):
            return .leaseNotFound(0)  // the caller, which knows the lease, names it
        case (0, _):
            return .badResponse("\(path): HTTP \(status.code): \(message)")
        default:
            return .server(code: Int(code), message: message)
        }
    }

    /// Sends `body` to `path` (with `token` when not nil) at the preferred endpoint, then at each
    /// other one while they cannot be reached; returns the response head and the endpoint that gave it.
    private func send(_ path: String, _ body: [String: JSONValue], token: String?, client: HTTPClient) async throws(EtcdError) -> (HTTPClientResponse, String) {
        let payload: Data
        do {
            payload = try JSONEncoder().encode(JSONValue.object(body))
        } catch {
            throw .badResponse("\(path): the request did not encode: \(error)")
        }
        let first = state.withLock { $0.preferred }
        var reasons: [String] = []
        for offset in 0..<endpoints.count {
            let index = (first + offset) % endpoints.count
            var request = HTTPClientRequest(url: endpoints[index] + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let token { request.headers.add(name: "Authorization", value: token) }
            request.body = .bytes(ByteBuffer(bytes: payload))
            do {
                let response = try await client.execute(request, timeout: TimeAmount(requestTimeout))
                // etcd without a leader answers 503 (gRPC Unavailable): another member may have one.
                if response.status == .serviceUnavailable && offset + 1 < endpoints.count {
                    reasons.append("\(endpoints[index]): HTTP 503")
                    continue
                }
                state.withLock { $0.preferred = index }
                return (response, endpoints[index])
            } catch {
                if Task.isCancelled { throw .unreachable(endpoint: endpoints[index], reason: "cancelled") }
                reasons.append("\(endpoints[index]): \(error)")
            }
        }
        throw .unreachable(endpoint: endpoints.joined(separator: ", "), reason: reasons.joined(separator: "; "))
    }

    /// The token to send: nil without credentials; else the current one, or a new one.
    private func authToken() async throws(EtcdError) -> String? {
        guard let credentials else { return nil }
        if let token = state.withLock({ $0.token }) { return token }
        let (response, _) = try await send(
            "/v3/auth/authenticate", ["name": .string(credentials.user), "password": .string(credentials.password)],
            token: nil, client: unary)
        let bytes = try await Self.collect(response, "authenticate")
        guard response.status == .ok else {
            let object = try? JSONObject(parsing: bytes, what: "authenticate")
            throw .authFailed((try? object?.string("message")) ?? "HTTP \(response.status.code)")
        }
        let token = try JSONObject(parsing: bytes, what: "authenticate").string("token")
        guard !token.isEmpty, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badResponse("authenticate: no usable token")
        }
        state.withLock { $0.token = token }
        return token
    }

    // MARK: - Decoding

    private static func collect(_ response: HTTPClientResponse, _ what: String) async throws(EtcdError) -> [UInt8] {
        do {
            return Array(buffer: try await response.body.collect(upTo: maxResponseBytes))
        } catch {
            throw .badResponse("\(what): the response body: \(error)")
        }
    }

    /// A streaming call's error, which the gateway sends as `{"error": {...}}` with status 200.
    private func throwIfStreamError(_ object: JSONObject) throws(EtcdError) {
        guard object.has("error") else { return }
        let error = try object.object("error")
        let message = (try? error.string("message")) ?? "unknown error"
        let code = (try? error.int64("grpc_code")) ?? (try? error.int64("code")) ?? 0
        if code == 16 {  // Unauthenticated: the next call authenticates again
            state.withLock { $0.token = nil }
            throw .authFailed(message)
        }
        throw .server(code: Int(code), message: message)
    }

    static func keyValue(_ object: JSONObject) throws(EtcdError) -> EtcdKeyValue {
        EtcdKeyValue(key: String(decoding: try object.bytes("key"), as: UTF8.self), value: try object.bytes("value"),
                     createRevision: try object.count("create_revision"), modRevision: try object.count("mod_revision"),
                     version: try object.count("version"), lease: try object.int64("lease"))
    }

    private static func putRequest(key: String, value: [UInt8], lease: Int64) -> [String: JSONValue] {
        var request: [String: JSONValue] = ["key": .bytes(Array(key.utf8)), "value": .bytes(value)]
        if lease != 0 { request["lease"] = .int64(lease) }
        return request
    }

    /// The end of the range of keys starting with `prefix`: the prefix with its last byte below
    /// 0xFF incremented and what follows dropped; `\0` (every key) when there is no such byte.
    static func rangeEnd(_ prefix: String) -> [UInt8] {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return [0]
    }
}
