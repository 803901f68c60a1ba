import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Shared by the routing end-to-end tests (RoutingGeoTests, RoutingHealthTests, RoutingPolicyTests,
/// RoutingCheckTests): a meridian serving Tests/Fixtures/routing/example.com.zone with a routing
/// section from a fixture, queried with dig and kdig on loopback only.
enum RoutingFixtures {
    static let dir = E2E.repo.appendingPathComponent("Tests/Fixtures/routing")
    static let zone = dir.appendingPathComponent("example.com.zone")
    static let soa = "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024060101 7200 3600 1209600 300"

    /// The fixture `name` with every `@KEY@` replaced.
    static func config(_ name: String, _ values: [String: String]) throws -> String {
        var text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
        for (k, v) in values { text = text.replacingOccurrences(of: "@\(k)@", with: v) }
        if let r = text.range(of: #"@[A-Z0-9]+@"#, options: .regularExpression) {
            throw E2EError.setup("\(name): placeholder \(text[r]) not replaced")
        }
        return text
    }

    /// GeoLite2-City, fetched before `swift test` by scripts/fetch-geolite2 (E2E.geolite2): the test
    /// fails, saying to fetch it, when it is absent; it is never skipped.
    static func geolite2() throws -> String { try E2E.geolite2() }

    /// Debian's python3 with the maxminddb module (python3-maxminddb, scripts/install-deps).
    static func pythonWithMaxMind() throws -> String { try E2E.python(["maxminddb"]) }
}

/// A meridian process with a routing config, restartable in the same directory (the health state
/// file survives a restart).
final class RoutedMeridian {
    let dir: URL
    let port: UInt16
    var process: Process?
    /// The network namespace it runs in (`ip netns exec`), queried from inside it; nil: this one.
    let namespace: String?
    var log: URL { dir.appendingPathComponent("meridian.log") }
    var configURL: URL { dir.appendingPathComponent("meridian.yaml") }

    init(dir: URL? = nil, namespace: String? = nil) throws {
        port = try E2E.freePort()
        self.namespace = namespace
        self.dir = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("meridian-routing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: RoutingFixtures.zone, to: self.dir.appendingPathComponent("example.com.zone"))
    }

    /// Writes the config (listen, zone with `zoneOptions` lines, then `routing`) and starts
    /// meridian; returns once it answers.
    func start(routing: String, zoneOptions: String = "") throws {
        var yaml = "listen: [\"127.0.0.1:\(port)\", \"[::1]:\(port)\"]\nworkers: 1\n"
        yaml += "zones:\n  - origin: example.com.\n    file: example.com.zone\n" + zoneOptions
        yaml += routing
        try yaml.write(to: configURL, atomically: true, encoding: .utf8)
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let p = Process()
        let (exe, args) = try inNamespace(try E2E.meridianBinary(), ["serve", "--config", configURL.path])
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        // Loading GeoLite2 takes a debug build about 10 s of CPU, far longer on a busy machine.
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            guard p.isRunning else {
                throw E2EError.setup("meridian exited with status \(p.terminationStatus):\n\(logText)")
            }
            if let r = try? query("example.com.", "SOA", timeout: 1), r.status == "NOERROR", !r.answer.isEmpty { return }
            usleep(50_000)
        }
        throw E2EError.setup("meridian did not answer on port \(port) within 180 s:\n\(logText)")
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// `exe args`, run in this server's namespace when it has one (`ip netns exec` execs the
    /// program, so the process is the program itself).
    func inNamespace(_ exe: String, _ args: [String]) throws -> (String, [String]) {
        guard let namespace else { return (exe, args) }
        return (try E2E.tool("ip"), ["netns", "exec", namespace, exe] + args)
    }

    /// Where the log ends now: `waitForLog(after:)` reads only what is written later.
    var logMark: Int { logText.utf8.count }

    /// Waits until, after `mark`, the log has for each entry of `lines` a line containing every one
    /// of its strings (in any order: logfmt sorts the keys), e.g. `["health state changed",
    /// "datacenter=h2", "to=down"]`; returns the seconds waited, nil after `limit` seconds. The
    /// server writes each line with one write, so a line read is whole.
    func waitForLog(after mark: Int, within limit: Double, _ lines: [[String]]) -> Double? {
        let start = Date()
        while true {
            let text = String(decoding: Data(logText.utf8).dropFirst(mark), as: UTF8.self)
            let found = text.split(separator: "\n")
            if lines.allSatisfy({ want in found.contains { line in want.allSatisfy { line.contains($0) } } }) {
                return Date().timeIntervalSince(start)
            }
            if Date().timeIntervalSince(start) >= limit { return nil }
            usleep(20_000)
        }
    }

    /// SIGTERM (a graceful shutdown, which saves the health state), then wait.
    func stop() {
        if let p = process, p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
        process = nil
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { remove() }

    /// One dig query. `ecs` is dig's +subnet value; `source` the local address to send from.
    func query(_ name: String, _ type: String = "A", ecs: String? = nil, tcp: Bool = false, source: String? = nil,
               server: String = "127.0.0.1", timeout: Int = 2) throws -> RoutedResponse {
        let dig = try E2E.tool("dig")
        var args = ["@\(server)", "-p", "\(port)", "+time=\(timeout)", "+tries=1", "+noall", "+comments", "+answer", "+authority"]
        if tcp { args.append("+tcp") }
        if let ecs { args.append("+subnet=\(ecs)") }
        if let source { args += ["-b", source] }
        let (exe, all) = try inNamespace(dig, args + [name, type])
        let r = try E2E.run(exe, all, timeout: TimeInterval(timeout + 8))
        return RoutedResponse(DigResponse.parseDig(r.stdout))
    }

    /// A response as text, for failure messages.
    func show(_ name: String, _ type: String = "A") -> String {
        (try? query(name, type)).map(\.description) ?? "(query failed)"
    }

    /// `count` queries for `name` in one dig process (`dig -f`); the answer data of each, in order.
    func batch(_ name: String, _ type: String = "A", count: Int) throws -> [String] {
        let dig = try E2E.tool("dig")
        let file = dir.appendingPathComponent("batch-\(UUID().uuidString)")
        try String(repeating: "\(name) \(type)\n", count: count).write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try E2E.run(dig, ["@127.0.0.1", "-p", "\(port)", "+time=2", "+tries=2", "+short", "-f", file.path],
                            timeout: 300)
        let lines = r.stdout.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // dig's own diagnostics (";; ...") are not answers; they are left out and counted, and callers
        // expect none. CI once saw ";; Warning: query response not set": dig had received its own query.
        // dig sets SO_REUSEPORT on its sockets, so as root it may be given the server's port as its
        // ephemeral source port (the server's sockets have SO_REUSEPORT too); its query to
        // 127.0.0.1:port then matches its own connected socket best and comes back to it. Test
        // servers now listen below the ephemeral range (E2E.freePort), where dig never binds.
        diagnosticLines += lines.filter { $0.hasPrefix(";;") }
        return lines.filter { !$0.hasPrefix(";;") }
    }

    /// dig diagnostics seen by `batch` so far, and how many.
    var diagnosticLines: [String] = []
    var diagnostics: Int { diagnosticLines.count }
}

/// A dig response with the answer records split and the ECS option parsed.
struct RoutedResponse: CustomStringConvertible {
    var dig: DigResponse
    /// (TTL, address) of each A/AAAA answer, in order.
    var records: [(ttl: Int, data: String)] = []
    /// `ADDRESS/SOURCE/SCOPE` as dig prints the CLIENT-SUBNET option; nil when the response has none.
    var ecs: (address: String, source: Int, scope: Int)?

    init(_ d: DigResponse) {
        dig = d
        for line in d.answer {
            let f = line.split(separator: " ")
            if f.count >= 5, f[3] == "A" || f[3] == "AAAA", let ttl = Int(f[1]) { records.append((ttl, String(f[4]))) }
        }
        for line in d.raw.split(separator: "\n") where line.contains("CLIENT-SUBNET:") {
            let value = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
            let parts = value.split(separator: "/")
            if parts.count == 3, let s = Int(parts[1]), let sc = Int(parts[2]) { ecs = (String(parts[0]), s, sc) }
        }
    }

    var status: String { dig.status }
    var answer: [String] { dig.answer }
    var addresses: Set<String> { Set(records.map(\.data)) }
    var ttls: Set<Int> { Set(records.map(\.ttl)) }
    var description: String { dig.raw }
}

/// A health-check backend (Tests/Fixtures/routing/backend.py) on 127.0.0.1.
final class Backend {
    let kind: String
    let port: UInt16
    private var process: Process?

    init(_ kind: String, port: UInt16) {
        self.kind = kind
        self.port = port
    }

    /// Starts it and returns once it accepts connections.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [RoutingFixtures.dir.appendingPathComponent("backend.py").path, kind, "\(port)"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Backend.connects(port) { return }
            guard p.isRunning else { throw E2EError.setup("backend \(kind) :\(port) exited \(p.terminationStatus)") }
            usleep(10_000)
        }
        throw E2EError.setup("backend \(kind) on 127.0.0.1:\(port) not listening after 10 s")
    }

    /// SIGKILL: the port refuses connections at once.
    func kill() {
        if let p = process, p.isRunning {
            Glibc.kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        process = nil
    }

    deinit { kill() }

    static func connects(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = port.bigEndian
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// Polls `condition` every 30 ms until it holds or `limit` seconds pass; returns the seconds
/// elapsed since `from`, or nil on timeout.
func waitFor(_ limit: Double, from: Date = Date(), _ condition: () throws -> Bool) rethrows -> Double? {
    while Date().timeIntervalSince(from) < limit {
        if try condition() { return Date().timeIntervalSince(from) }
        usleep(30_000)
    }
    return try condition() ? Date().timeIntervalSince(from) : nil
}

/// Writes `text` to `url` through a rename, so a reader sees the old or the new file, never half.
func writeAtomically(_ text: String, to url: URL) throws {
    try text.write(to: url, atomically: true, encoding: .utf8)
}
