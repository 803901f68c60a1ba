import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Operating a running meridian, end to end on loopback: GET /metrics parsed by the Prometheus
/// client library's own parser and checked against the queries the test sent, NSID, the JSON query
/// log, JSON logs, `meridian reload` and `watch-zones`.
@Suite("Operations end to end", .serialized)
struct OperationsTests {
    /// /metrics as the Prometheus client library parses it: "name{label=value,…}" → value.
    static func scrape(_ url: String) throws -> [String: Double] {
        let script = """
            import sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            text = urllib.request.urlopen(sys.argv[1], timeout=30).read().decode()
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    print(f"{s.name}{{{labels}}} {s.value!r}")
            """
        let r = try E2E.run(try E2E.python(["prometheus_client"]), ["-c", script, url], timeout: 60)
        guard r.status == 0 else {
            throw E2EError.setup("/metrics did not parse as Prometheus text (python3-prometheus-client): \(r.stderr)")
        }
        var samples: [String: Double] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test("/metrics parses as Prometheus text and its counters match the queries sent; NSID; query log; JSON logs")
    func metricsMatchQueries() throws {
        let dig = try E2E.tool("dig")
        let server = try RoutedMeridian()
        defer { server.remove() }
        let adminPort = try E2E.freePort()
        try server.start(routing: """
            admin: { listen: "127.0.0.1:\(adminPort)", token: s3cret }
            nsid: ns1-test
            log-format: json
            query-log: { path: queries.log, sample: 1 }
            geoip:
              networks:
                81.2.69.0/24: { location: [51.51, -0.13], country: GB }
            datacenters:
              iad: { location: [38.95, -77.45], addresses: [192.0.2.10] }
              dub: { location: [53.35, -6.26], addresses: [198.51.100.10] }
            services:
              rr.example.com.: { policy: round-robin, datacenters: [iad, dub], ttl: 40 }
              geo.example.com.: { policy: geo-nearest, datacenters: [iad, dub], ttl: 40 }

            """)
        let metricsURL = "http://127.0.0.1:\(adminPort)/metrics"
        var before: [String: Double] = [:]
        _ = waitFor(30) { (try? Self.scrape(metricsURL)).map { before = $0; return true } ?? false }
        #expect(!before.isEmpty, "GET /metrics answered")

        // What the test sends: 30 round-robin A over UDP, 10 SOA over TCP, 5 geo A with ECS from
        // London, 4 out-of-zone (REFUSED).
        let batch = server.dir.appendingPathComponent("batch")
        try String(repeating: "rr.example.com. A\n", count: 30).write(to: batch, atomically: true, encoding: .utf8)
        let udp = try E2E.run(dig, ["@127.0.0.1", "-p", "\(server.port)", "+time=2", "+tries=1", "+short", "-f", batch.path], timeout: 120)
        #expect(udp.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") }.count == 60, "30 answers of 2 addresses: \(udp.stdout)")
        try String(repeating: "example.com. SOA\n", count: 10).write(to: batch, atomically: true, encoding: .utf8)
        let tcp = try E2E.run(dig, ["@127.0.0.1", "-p", "\(server.port)", "+tcp", "+time=2", "+tries=1", "+short", "-f", batch.path], timeout: 120)
        #expect(tcp.stdout.split(separator: "\n").filter { $0.contains("hostmaster") }.count == 10, "\(tcp.stdout)")
        for _ in 0..<5 {
            #expect(try server.query("geo.example.com.", ecs: "81.2.69.0/24").records.map(\.data) == ["198.51.100.10"])
        }
        for _ in 0..<4 { #expect(try server.query("example.org.").status == "REFUSED") }

        let after = try Self.scrape(metricsURL)
        func delta(_ key: String) -> Double { (after[key] ?? 0) - (before[key] ?? 0) }
        #expect(delta("meridian_queries_total{qtype=A,rcode=NOERROR,transport=udp}") == 35)
        #expect(delta("meridian_queries_total{qtype=SOA,rcode=NOERROR,transport=tcp}") == 10)
        #expect(delta("meridian_queries_total{qtype=A,rcode=REFUSED,transport=udp}") == 4)
        let sent = after.filter { $0.key.hasPrefix("meridian_queries_total{") }.keys.reduce(0.0) { $0 + delta($1) }
        #expect(sent == 49, "every query counted once: \(after.filter { $0.key.hasPrefix("meridian_queries_total") })")
        #expect(delta("meridian_answers_total{datacenter=iad,service=rr.example.com.}") == 30)
        #expect(delta("meridian_answers_total{datacenter=dub,service=rr.example.com.}") == 30)
        #expect(delta("meridian_answers_total{datacenter=dub,service=geo.example.com.}") == 5)
        #expect(delta("meridian_answers_total{datacenter=iad,service=geo.example.com.}") == 0)
        #expect(delta("meridian_client_subnet_queries_total{ecs=present}") == 5)
        #expect(delta("meridian_client_subnet_queries_total{ecs=absent}") == 44)
        #expect(delta("meridian_ecs_scope_prefix_length_count{}") == 5)
        #expect(delta("meridian_ecs_scope_prefix_length_bucket{le=24}") == 5, "London /24 answered with scope 24 at most")
        #expect(after["meridian_zone_serial{zone=example.com.}"] == 2024060101)
        #expect(after["meridian_address_up{address=192.0.2.10,datacenter=iad}"] == 1)
        #expect(after["meridian_datacenter_up{datacenter=dub}"] == 1)
        #expect(after["meridian_truncated_total{transport=udp}"] == 0)

        // A reload builds a new routing table with a new answer tally: the old counts carry over by
        // name, once, both while the old tally may still be written and after it is folded.
        let reload = try E2E.run(try E2E.meridianBinary(), ["reload", "--config", server.configURL.path], timeout: 60)
        #expect(reload.status == 0, "\(reload.stderr)")
        try String(repeating: "rr.example.com. A\n", count: 10).write(to: batch, atomically: true, encoding: .utf8)
        _ = try E2E.run(dig, ["@127.0.0.1", "-p", "\(server.port)", "+time=2", "+tries=1", "+short", "-f", batch.path], timeout: 120)
        let rrIAD = "meridian_answers_total{datacenter=iad,service=rr.example.com.}"
        let soon = try Self.scrape(metricsURL)
        #expect((soon[rrIAD] ?? 0) - (before[rrIAD] ?? 0) == 40, "answers across the reload, before folding")
        usleep(2_500_000)
        let folded = try Self.scrape(metricsURL)
        #expect((folded[rrIAD] ?? 0) - (before[rrIAD] ?? 0) == 40, "answers across the reload, after folding")
        #expect(folded["meridian_reloads_total{outcome=ok}"] == 1)
        for (key, value) in after where key.hasSuffix("_total") || key.contains("_total{") {
            #expect((folded[key] ?? 0) >= value, "counters never go down: \(key)")
        }

        // NSID only when asked for (RFC 5001).
        let nsid = try E2E.run(dig, ["@127.0.0.1", "-p", "\(server.port)", "+nsid", "example.com.", "SOA"], timeout: 10)
        #expect(nsid.stdout.contains("NSID: 6e 73 31 2d 74 65 73 74 (\"ns1-test\")"), "\(nsid.stdout)")
        let plain = try E2E.run(dig, ["@127.0.0.1", "-p", "\(server.port)", "example.com.", "SOA"], timeout: 10)
        #expect(plain.stdout.contains("OPT PSEUDOSECTION") && !plain.stdout.contains("NSID"), "\(plain.stdout)")

        // The query log: one JSON object per query (sample 1), with the routing decision.
        let logged = try String(contentsOf: server.dir.appendingPathComponent("queries.log"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        let geo = logged.filter { $0["qname"] as? String == "geo.example.com." }
        #expect(geo.count == 5)
        #expect(geo.first?["ecs"] as? String == "81.2.69.0/24")
        #expect(geo.first?["datacenters"] as? [String] == ["dub"])
        #expect(geo.first?["rcode"] as? String == "NOERROR" && geo.first?["qtype"] as? String == "A")
        #expect(logged.filter { $0["qname"] as? String == "example.org." }.allSatisfy { $0["rcode"] as? String == "REFUSED" })
        #expect(logged.filter { $0["transport"] as? String == "tcp" }.count >= 10)

        // log-format: json — every line meridian wrote is a JSON object with ts, level and msg.
        let lines = server.logText.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(object?["ts"] != nil && object?["level"] != nil && object?["msg"] != nil, "not a JSON log line: \(line)")
        }
    }

    @Test("a zone file with $INCLUDE is read again on every reload: an edit of the included file serves")
    func includedFilesAreReadAgain() throws {
        let server = try RoutedMeridian()
        defer { server.remove() }
        let included = server.dir.appendingPathComponent("extra.zone")
        try "extra 300 IN A 192.0.2.71\n".write(to: included, atomically: true, encoding: .utf8)
        let zone = server.dir.appendingPathComponent("example.com.zone")
        let handle = try FileHandle(forWritingTo: zone)
        handle.seekToEndOfFile()
        handle.write(Data("$INCLUDE \(included.path)\n".utf8))
        try handle.close()
        try server.start(routing: "admin: { listen: \"127.0.0.1:\(try E2E.freePort())\", token: s3cret }\n")
        #expect(try server.query("extra.example.com.").records.map(\.data) == ["192.0.2.71"])
        try writeAtomically("extra 300 IN A 192.0.2.72\n", to: included)
        let reload = try E2E.run(try E2E.meridianBinary(), ["reload", "--config", server.configURL.path], timeout: 60)
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(try server.query("extra.example.com.").records.map(\.data) == ["192.0.2.72"],
                "the including file is unchanged, but the file it includes changed")
    }

    @Test("query-log sample 0.1: about a tenth of the queries are logged, to standard output with \"-\"")
    func queryLogSampling() throws {
        let dig = try E2E.tool("dig")
        let server = try RoutedMeridian()
        defer { server.remove() }
        try server.start(routing: "query-log: { path: \"-\", sample: 0.1 }\n")
        let batch = server.dir.appendingPathComponent("batch")
        try String(repeating: "www.example.com. TXT\n", count: 2000).write(to: batch, atomically: true, encoding: .utf8)
        _ = try E2E.run(dig, ["@127.0.0.1", "-p", "\(server.port)", "+time=2", "+tries=1", "+short", "-f", batch.path], timeout: 300)
        usleep(200_000)
        // The log file holds standard output and standard error: query lines are the JSON objects with a qname.
        let logged = server.logText.split(separator: "\n").filter { $0.hasPrefix("{\"ts\":") && $0.contains("\"qname\":\"www.example.com.\"") }
        // Binomial(2000, 0.1): mean 200, standard deviation 13.4; 120…280 is six deviations wide.
        #expect(logged.count >= 120 && logged.count <= 280, "\(logged.count) of 2000 queries logged at sample 0.1")
        #expect(logged.allSatisfy { $0.contains("\"qtype\":\"TXT\"") })
    }

    @Test("meridian reload: the new data serves, or every problem as file:line and the old data; watch-zones reloads a saved zone file")
    func reloadCommandAndWatch() throws {
        let server = try RoutedMeridian()
        defer { server.remove() }
        let adminPort = try E2E.freePort()
        try server.start(routing: """
            admin: { listen: "127.0.0.1:\(adminPort)", token: s3cret }
            watch-zones: 1s

            """)
        let zone = server.dir.appendingPathComponent("example.com.zone")
        let original = try String(contentsOf: zone, encoding: .utf8)
        // dig's answer line: owner TTL class SOA mname rname serial …
        func serial() throws -> String {
            let fields = try server.query("example.com.", "SOA").answer.first?.split(separator: " ") ?? []
            return fields.count > 6 ? String(fields[6]) : ""
        }
        #expect(try serial() == "2024060101")

        // watch-zones: saving the file is all it takes.
        try writeAtomically(original.replacingOccurrences(of: "2024060101", with: "2024060102"), to: zone)
        var changed = try waitFor(20) { try serial() == "2024060102" }
        #expect(changed != nil, "the saved zone file serves within a few polls")

        // meridian reload after an edit (the watcher may get there first: either way it serves).
        try writeAtomically(original.replacingOccurrences(of: "2024060101", with: "2024060103"), to: zone)
        let reload = try E2E.run(try E2E.meridianBinary(), ["reload", "--config", server.configURL.path], timeout: 60)
        #expect(reload.status == 0, "\(reload.stdout)\(reload.stderr)")
        #expect(reload.stdout.contains("reloaded"))
        changed = try waitFor(5) { try serial() == "2024060103" }
        #expect(changed != nil)

        // A broken file: exit 1, file:line, and the old data keeps serving (the watcher too leaves it).
        try writeAtomically(original.replacingOccurrences(of: "2024060101", with: "2024060104") + "broken !!\n", to: zone)
        let rejected = try E2E.run(try E2E.meridianBinary(), ["reload", "--config", server.configURL.path], timeout: 60)
        #expect(rejected.status == 1)
        #expect(rejected.stderr.contains("example.com.zone:"), "\(rejected.stderr)")
        #expect(rejected.stderr.contains("old data is still serving"), "\(rejected.stderr)")
        usleep(2_500_000)
        #expect(try serial() == "2024060103")

        // log-format defaults to logfmt: key=value pairs, values with spaces quoted.
        let logLines = server.logText.split(separator: "\n")
        #expect(logLines.contains { $0.hasPrefix("ts=") && $0.contains(" level=notice msg=\"reload: done\"") }, "\(server.logText)")
        #expect(logLines.contains { $0.contains("level=error msg=\"reload failed, old data still serving: ") && $0.contains("example.com.zone:") })

        let metrics = try OperationsTests.scrape("http://127.0.0.1:\(adminPort)/metrics")
        #expect((metrics["meridian_reloads_total{outcome=ok}"] ?? 0) >= 2)
        #expect((metrics["meridian_reloads_total{outcome=failed}"] ?? 0) >= 1)
        #expect(metrics["meridian_zone_serial{zone=example.com.}"] == 2024060103)

        // Without an admin listener the command says what to do instead.
        let bare = server.dir.appendingPathComponent("bare.yaml")
        try "listen: [\"127.0.0.1:1\"]\nzones:\n  - origin: example.com.\n    file: example.com.zone\n".write(to: bare, atomically: true, encoding: .utf8)
        let noAdmin = try E2E.run(try E2E.meridianBinary(), ["reload", "--config", bare.path], timeout: 30)
        #expect(noAdmin.status == 1 && noAdmin.stderr.contains("SIGHUP"), "\(noAdmin.stderr)")
    }

    @Test("getting started: serving installs only what building and serving need; the README says where the binary is")
    func gettingStarted() throws {
        let script = E2E.repo.appendingPathComponent("scripts/install-deps").path
        let serve = try E2E.run(script, ["--list"], timeout: 30)
        #expect(serve.status == 0, "\(serve.stderr)")
        let servePackages = Set(serve.stdout.split(separator: "\n").map(String.init))
        #expect(servePackages.isSuperset(of: ["pkg-config", "libldns-dev", "libmaxminddb-dev", "bind9-dnsutils"]), "\(servePackages)")
        #expect(servePackages.isDisjoint(with: ["chromium", "knot", "nsd", "unbound", "gdnsd", "dnsperf"]), "\(servePackages)")
        let test = try E2E.run(script, ["--test", "--list"], timeout: 30)
        let testPackages = Set(test.stdout.split(separator: "\n").map(String.init))
        #expect(testPackages.isSuperset(of: servePackages.union(["chromium", "knot", "nsd", "python3-dnspython"])), "\(testPackages)")
        #expect(try E2E.run(script, ["--bogus"], timeout: 30).status == 2)

        let readme = try String(contentsOf: E2E.repo.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "## Two commands"))
        let section = String(readme[start.upperBound...]).components(separatedBy: "\n## ").first ?? ""
        #expect(section.contains("`.build/debug/meridian`"), "where the first command leaves the binary:\n\(section)")
        #expect(section.contains("swift build -c release") && section.contains("install -m 755 .build/release/meridian /usr/local/bin/"),
                "a make-free way onto the PATH:\n\(section)")
        #expect(section.contains("scripts/install-deps --test"), "\(section)")
    }
}
