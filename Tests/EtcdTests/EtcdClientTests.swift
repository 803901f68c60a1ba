import Etcd
import Foundation
import Testing

func text(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A client of `server`, shut down after `body`.
func withClient<T>(_ endpoints: [String], tls: EtcdTLS? = nil, credentials: EtcdCredentials? = nil,
                   _ body: (EtcdClient) async throws -> T) async throws -> T {
    let client = try EtcdClient(endpoints: endpoints, tls: tls, credentials: credentials)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Polls `condition` every 200 ms for up to `seconds`; true once it holds.
func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return try await condition()
}

/// The error `body` throws, as an EtcdError (nil when it throws none).
func etcdError(_ body: () async throws -> Void) async -> EtcdError? {
    do {
        try await body()
        return nil
    } catch let error as EtcdError {
        return error
    } catch {
        Issue.record("not an EtcdError: \(error)")
        return nil
    }
}

@Suite(.serialized) struct EtcdClientTests {
    @Test func putGetAndDelete() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try await withClient([server.endpoint]) { etcd in
            let r1 = try await etcd.put(key: "/t/b", value: text("two"))
            let r2 = try await etcd.put(key: "/t/a", value: text("one"))
            try await etcd.put(key: "/t0", value: text("outside"))
            try await etcd.put(key: "/t/empty", value: [])
            #expect(r2 > r1)
            let range = try await etcd.get(prefix: "/t/")
            #expect(range.kvs.map(\.key) == ["/t/a", "/t/b", "/t/empty"])
            #expect(range.kvs.map(\.value) == [text("one"), text("two"), []])
            #expect(range.kvs[0].modRevision == r2 && range.kvs[1].modRevision == r1)
            #expect(range.kvs[0].version == 1 && range.kvs[0].lease == 0)
            #expect(range.revision >= r2)
            let single = try await etcd.get(key: "/t/a")
            #expect(single.kv?.value == text("one"))
            #expect(try await etcd.get(key: "/t/none").kv == nil)
            #expect(try await etcd.delete(key: "/t/a").deleted == 1)
            #expect(try await etcd.delete(key: "/t/a").deleted == 0)
            #expect(try await etcd.delete(prefix: "/t/").deleted == 2)
            #expect(try await etcd.get(prefix: "/t/").kvs.isEmpty)
            #expect(try await etcd.get(key: "/t0").kv?.value == text("outside"))
            // etcdctl sees what the client wrote.
            try await etcd.put(key: "/t/seen", value: text("by etcdctl"))
            #expect(try server.mustEtcdctl(["get", "/t/seen", "--print-value-only"]) == "by etcdctl\n")
        }
    }

    @Test func compareAndSwapConflicts() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try await withClient([server.endpoint]) { etcd in
            let created = try await etcd.compareAndSwap(key: "/cfg", expectedModRevision: 0, value: text("v1"))
            // Creating again fails: the key exists now, at the revision that created it.
            let again = await etcdError { try await etcd.compareAndSwap(key: "/cfg", expectedModRevision: 0, value: text("v1b")) }
            guard case .casFailed(let current) = again else { Issue.record("expected casFailed, got \(String(describing: again))"); return }
            #expect(current?.modRevision == created && current?.value == text("v1"))
            let swapped = try await etcd.compareAndSwap(key: "/cfg", expectedModRevision: created, value: text("v2"))
            #expect(swapped > created)
            // Someone else's write in between makes a swap against the old revision fail.
            let other = try await etcd.put(key: "/cfg", value: text("theirs"))
            let stale = await etcdError { try await etcd.compareAndSwap(key: "/cfg", expectedModRevision: swapped, value: text("mine")) }
            #expect(stale == .casFailed(current: EtcdKeyValue(key: "/cfg", value: text("theirs"), createRevision: created, modRevision: other, version: 3)))
            #expect(try await etcd.get(key: "/cfg").kv?.value == text("theirs"))
            // A swap against a deleted key's revision fails with no current key.
            try await etcd.delete(key: "/cfg")
            #expect(await etcdError { try await etcd.compareAndSwap(key: "/cfg", expectedModRevision: other, value: text("x")) } == .casFailed(current: nil))
        }
    }

    @Test func aLeaseThatIsNotKeptAliveTakesItsKeys() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try await withClient([server.endpoint]) { etcd in
            let lease = try await etcd.grantLease(ttl: 2)
            #expect(lease.ttl >= 2)
            try await etcd.put(key: "/m/a", value: text("alive"), lease: lease.id)
            #expect(try await etcd.get(key: "/m/a").kv?.lease == lease.id)
            let gone = try await eventually(15) { try await etcd.get(key: "/m/a").kv == nil }
            #expect(gone)
            #expect(await etcdError { try await etcd.keepAlive(lease: lease.id) } == .leaseNotFound(lease.id))
            #expect(await etcdError { try await etcd.put(key: "/m/a", value: text("late"), lease: lease.id) } == .leaseNotFound(lease.id))
        }
    }

    @Test func keepAliveKeepsTheKeysAndRevokeDropsThem() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try await withClient([server.endpoint]) { etcd in
            let lease = try await etcd.grantLease(ttl: 2)
            try await etcd.put(key: "/m/b", value: text("alive"), lease: lease.id)
            // Three TTLs with a keepalive every half second: the key stays.
            for _ in 0..<12 {
                #expect(try await etcd.keepAlive(lease: lease.id) >= 1)
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(try await etcd.get(key: "/m/b").kv?.value == text("alive"))
            try await etcd.revoke(lease: lease.id)
            #expect(try await etcd.get(key: "/m/b").kv == nil)
            #expect(await etcdError { try await etcd.revoke(lease: lease.id) } == .leaseNotFound(lease.id))
        }
    }

    @Test func watchSeesPutsAndDeletes() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try await withClient([server.endpoint]) { etcd in
            let start = try await etcd.get(prefix: "/w/").revision
            let watch = etcd.watch(prefix: "/w/", fromRevision: start + 1)
            let put = try await etcd.put(key: "/w/x", value: text("1"))
            try await etcd.put(key: "/other", value: text("not watched"))
            let deleted = try await etcd.delete(key: "/w/x").revision
            var batches: [EtcdWatchBatch] = []
            for try await batch in watch {
                batches.append(batch)
                if batches.flatMap(\.events).count >= 2 { break }
            }
            let events = batches.flatMap(\.events)
            #expect(events == [
                EtcdEvent(kind: .put, kv: EtcdKeyValue(key: "/w/x", value: text("1"), createRevision: put, modRevision: put, version: 1)),
                EtcdEvent(kind: .delete, kv: EtcdKeyValue(key: "/w/x", value: [], modRevision: deleted)),
            ])
            // First etcd's confirmation of the watch, with no events.
            #expect(batches.first?.events == [])
            #expect(batches.first.map { $0.revision >= start } == true)
            #expect(batches.last.map { $0.revision >= deleted } == true)
        }
    }

    @Test func aWatchFromACompactedRevisionFails() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try await withClient([server.endpoint]) { etcd in
            for i in 0..<5 { try await etcd.put(key: "/c/k", value: text("\(i)")) }
            let last = try await etcd.put(key: "/c/k", value: text("last"))
            try server.mustEtcdctl(["compact", String(last)])
            let error = await etcdError { for try await _ in etcd.watch(prefix: "/c/", fromRevision: 2) {} }
            #expect(error == .compacted(revision: last))
            // From the compaction's revision on, the watch works.
            let watch = etcd.watch(prefix: "/c/", fromRevision: last)
            for try await batch in watch where !batch.events.isEmpty {
                #expect(batch.events.map(\.kv.value) == [text("last")])
                break
            }
        }
    }

    @Test func aDeadEndpointIsPassedOver() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        let dead = "http://127.0.0.1:\(try Tools.freePort())"
        try await withClient([dead, server.endpoint]) { etcd in
            try await etcd.put(key: "/e/a", value: text("through the second"))
            #expect(try await etcd.get(key: "/e/a").kv?.value == text("through the second"))
            let watch = etcd.watch(prefix: "/e/", fromRevision: 1)
            for try await batch in watch where !batch.events.isEmpty {
                #expect(batch.events.first?.kv.key == "/e/a")
                break
            }
        }
        let error = try await withClient([dead]) { etcd in await etcdError { _ = try await etcd.get(prefix: "/") } }
        guard case .unreachable(let endpoint, _) = error else { Issue.record("expected unreachable, got \(String(describing: error))"); return }
        #expect(endpoint == dead)
        // A watch on a dead endpoint ends with the same error.
        let watchError = try await withClient([dead]) { etcd in await etcdError { for try await _ in etcd.watch(prefix: "/") {} } }
        #expect(watchError?.code == "etcd.unreachable")
    }

    @Test func authenticationWithAUser() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try server.mustEtcdctl(["user", "add", "root", "--interactive=false"], input: "s3cret\n")
        try server.mustEtcdctl(["user", "grant-role", "root", "root"])
        try server.mustEtcdctl(["auth", "enable"])
        let good = EtcdCredentials(user: "root", password: "s3cret")
        try await withClient([server.endpoint], credentials: good) { etcd in
            let start = try await etcd.put(key: "/a/k", value: text("authenticated"))
            #expect(try await etcd.get(key: "/a/k").kv?.value == text("authenticated"))
            let lease = try await etcd.grantLease(ttl: 5)
            #expect(try await etcd.keepAlive(lease: lease.id) > 0)
            for try await batch in etcd.watch(prefix: "/a/", fromRevision: start) where !batch.events.isEmpty {
                #expect(batch.events.first?.kv.value == text("authenticated"))
                break
            }
        }
        let wrong = try await withClient([server.endpoint], credentials: EtcdCredentials(user: "root", password: "nope")) { etcd in
            await etcdError { _ = try await etcd.get(key: "/a/k") }
        }
        #expect(wrong?.code == "etcd.auth-failed")
        let anonymous = try await withClient([server.endpoint]) { etcd in await etcdError { _ = try await etcd.get(key: "/a/k") } }
        #expect(anonymous?.code == "etcd.auth-failed")
        let anonymousWatch = try await withClient([server.endpoint]) { etcd in
            await etcdError { for try await _ in etcd.watch(prefix: "/a/") {} }
        }
        #expect(anonymousWatch?.code == "etcd.auth-failed")
    }
}

extension EtcdClientTests {
    @Test func anExpiredTokenIsRenewed() async throws {
        // Tokens that expire after a second (etcd's default is five minutes).
        let server = try EtcdServer(arguments: ["--auth-token-ttl", "1"])
        defer { server.stop() }
        try server.mustEtcdctl(["user", "add", "root", "--interactive=false"], input: "s3cret\n")
        try server.mustEtcdctl(["user", "grant-role", "root", "root"])
        try server.mustEtcdctl(["auth", "enable"])
        try await withClient([server.endpoint], credentials: EtcdCredentials(user: "root", password: "s3cret")) { etcd in
            let lease = try await etcd.grantLease(ttl: 30)
            try await etcd.put(key: "/a/k", value: text("before"), lease: lease.id)
            // Past the token's TTL (etcd sweeps expired tokens every few seconds).
            try await Task.sleep(for: .seconds(4))
            #expect(try await etcd.keepAlive(lease: lease.id) > 0)
            try await Task.sleep(for: .seconds(4))
            #expect(try await etcd.get(key: "/a/k").kv?.value == text("before"))
            try await Task.sleep(for: .seconds(4))
            let start = try await etcd.put(key: "/a/k", value: text("after"))
            for try await batch in etcd.watch(prefix: "/a/", fromRevision: start) where !batch.events.isEmpty {
                #expect(batch.events.first?.kv.value == text("after"))
                break
            }
        }
    }
}

extension EtcdClientTests {
    @Test func httpsWithTheClustersCA() async throws {
        let server = try EtcdServer(tls: true)
        defer { server.stop() }
        let caFile = try #require(server.caFile)
        try await withClient([server.endpoint], tls: EtcdTLS(caFile: caFile)) { etcd in
            let revision = try await etcd.put(key: "/s/k", value: text("over TLS"))
            #expect(try await etcd.get(key: "/s/k").kv?.value == text("over TLS"))
            for try await batch in etcd.watch(prefix: "/s/", fromRevision: revision) where !batch.events.isEmpty {
                #expect(batch.events.first?.kv.value == text("over TLS"))
                break
            }
        }
        // Without the cluster's CA, the system's roots do not trust its certificate.
        let untrusted = try await withClient([server.endpoint]) { etcd in await etcdError { _ = try await etcd.get(key: "/s/k") } }
        #expect(untrusted?.code == "etcd.unreachable", "\(String(describing: untrusted))")
    }
}

extension EtcdClientTests {
    @Test func aWatchEndsUnreachableWhenEtcdGoes() async throws {
        let server = try EtcdServer()
        defer { server.stop() }
        try await withClient([server.endpoint]) { etcd in
            let revision = try await etcd.put(key: "/g/k", value: text("1"))
            var seen: Int64 = 0
            let error = await etcdError {
                for try await batch in etcd.watch(prefix: "/g/", fromRevision: revision) where !batch.events.isEmpty {
                    seen = batch.revision
                    server.stop()
                }
            }
            #expect(seen >= revision)
            #expect(error?.code == "etcd.unreachable", "\(String(describing: error))")
        }
    }
}

@Suite struct EtcdResponseTests {
    @Test func endpointsMustBeURLs() {
        for bad in ["127.0.0.1:2379", "ftp://127.0.0.1:2379", "http://", "http://h:1/v3?x=1", "http://h:1/path"] {
            #expect(throws: EtcdError.invalidEndpoint(bad)) { try EtcdClient(endpoints: [bad]) }
        }
        #expect(throws: EtcdError.invalidEndpoint("")) { try EtcdClient(endpoints: []) }
        #expect(throws: EtcdError.self) { try EtcdClient(endpoints: ["https://127.0.0.1:1"], tls: EtcdTLS(caFile: "/nonexistent/ca.pem")) }
    }

    @Test func credentialsDoNotPrintThePassword() {
        let credentials = EtcdCredentials(user: "root", password: "s3cret")
        for text in ["\(credentials)", String(reflecting: credentials), "\([credentials])"] {
            #expect(text.contains("root") && !text.contains("s3cret"), "\(text)")
        }
    }

    @Test func int64FieldsAsNumbersOrStrings() async throws {
        let gateway = try FakeGateway(body: #"{"header":{"revision":42},"kvs":[{"key":"L2s=","value":"dg==","mod_revision":"7","create_revision":3}]}"#)
        defer { gateway.stop() }
        let range = try await withClient([gateway.endpoint]) { etcd in try await etcd.get(prefix: "/") }
        #expect(range == EtcdRange(kvs: [EtcdKeyValue(key: "/k", value: text("v"), createRevision: 3, modRevision: 7)], revision: 42))
    }

    @Test func malformedResponsesAreBadResponses() async throws {
        let bodies = [
            "not json", "[1,2]", #"{"kvs":"x"}"#, #"{"header":{"revision":"abc"}}"#, #"{"header":{"revision":-5}}"#,
            #"{"kvs":[{"key":"!!!"}]}"#, #"{"kvs":[{"key":"YQ==","mod_revision":1.5}]}"#, #"{"kvs":[7]}"#,
            #"{"header":"x"}"#, String(repeating: "[", count: 50_000),
        ]
        for body in bodies {
            let gateway = try FakeGateway(body: body)
            defer { gateway.stop() }
            let error = try await withClient([gateway.endpoint]) { etcd in await etcdError { _ = try await etcd.get(prefix: "/") } }
            #expect(error?.code == "etcd.bad-response", "\(body.prefix(60)): \(String(describing: error))")
        }
    }

    @Test func malformedWatchLinesEndTheWatch() async throws {
        let cases = [
            "{\"result\":{\"created\":true}}\nnot json\n",
            "{\"result\":{\"events\":[{\"type\":\"EXPLODE\",\"kv\":{\"key\":\"YQ==\"}}]}}\n",
            "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"value\":\"%%%\"}}]}}\n",
        ]
        for body in cases {
            let gateway = try FakeGateway(body: body)
            defer { gateway.stop() }
            let error = try await withClient([gateway.endpoint]) { etcd in await etcdError { for try await _ in etcd.watch(prefix: "/") {} } }
            #expect(error?.code == "etcd.bad-response", "\(body): \(String(describing: error))")
        }
    }

    @Test func gatewayErrorsKeepTheirCode() async throws {
        let gateway = try FakeGateway(status: 400, body: #"{"error":"etcdserver: too many operations in txn request","message":"etcdserver: too many operations in txn request","code":3}"#)
        defer { gateway.stop() }
        let error = try await withClient([gateway.endpoint]) { etcd in await etcdError { _ = try await etcd.get(prefix: "/") } }
        #expect(error == .server(code: 3, message: "etcdserver: too many operations in txn request"))
    }
}
