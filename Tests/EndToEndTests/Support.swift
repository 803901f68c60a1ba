import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Paths and helpers shared by the end-to-end tests: they start the real `meridian`
/// binary on a free loopback port and query it with dig and kdig. Every packet goes
/// to 127.0.0.1 or ::1.
enum E2E {
    /// The repository root, found from this source file's path.
    static let repo: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The meridian binary: $MERIDIAN_BINARY, else next to the running test bundle
    /// (`.build/debug/meridian` beside `.build/debug/MeridianPackageTests.xctest`).
    static func meridianBinary() throws -> String {
        if let env = ProcessInfo.processInfo.environment["MERIDIAN_BINARY"], !env.isEmpty {
            return env
        }
        var candidates: [URL] = []
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {  // the bundle may be a directory (…xctest/…) or a plain executable
            candidates.append(dir.appendingPathComponent("meridian"))
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(repo.appendingPathComponent(".build/debug/meridian"))
        for c in candidates where FileManager.default.isExecutableFile(atPath: c.path) {
            return c.path
        }
        throw E2EError.missing("the meridian binary (looked in \(candidates.map(\.path))): run `swift build`")
    }

    /// The Debian package (scripts/install-deps) that installs each external tool the tests run.
    static let debianPackage: [String: String] = [
        "dig": "bind9-dnsutils", "kdig": "knot-dnsutils", "knotd": "knot", "kzonecheck": "knot-dnssecutils",
        "nsd": "nsd", "nsd-checkzone": "nsd", "unbound": "unbound", "gdnsd": "gdnsd", "dnsperf": "dnsperf",
        "chromium": "chromium", "curl": "curl", "ip": "iproute2", "setpriv": "util-linux", "python3": "python3",
        "mmdblookup": "mmdb-bin", "openssl": "openssl", "ldns-read-zone": "ldnsutils",
        "named": "bind9", "named-checkconf": "bind9", "ldns-compare-zones": "ldnsutils",
        "etcd": "etcd-server", "etcdctl": "etcd-client",
        "dnssec-keygen": "bind9-utils", "dnssec-signzone": "bind9-utils", "dnssec-dsfromkey": "bind9-utils",
        "ldns-keygen": "ldnsutils", "ldns-verify-zone": "ldnsutils", "delv": "bind9-dnsutils", "dnsviz": "dnsviz",
    ]

    /// The Debian package of each Python module the suites import with Debian's python3.
    static let pythonPackage: [String: String] = [
        "dns": "python3-dnspython", "maxminddb": "python3-maxminddb", "yaml": "python3-yaml",
        "prometheus_client": "python3-prometheus-client",
    ]

    /// The message of a test that cannot run because something is not installed.
    static func install(_ what: String, package: String) -> String {
        "\(what) not found: install the Debian package \(package) (apt-get install \(package), or scripts/install-deps)"
    }

    /// A required external tool, by name; the test fails (never skips) when it is missing, naming
    /// the Debian package to install. Every test locates its tools here.
    static func tool(_ name: String) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] + path {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw E2EError.missing(install(name, package: debianPackage[name] ?? name))
    }

    /// Debian's python3 (the pyenv python3 on PATH lacks its modules), checked to import `modules`
    /// (top-level names; dnspython always); fails naming the Debian package of a missing one.
    static func python(_ modules: [String] = []) throws -> String {
        _ = try tool("python3")
        let py = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: py) else { throw E2EError.missing(install(py, package: "python3")) }
        for module in ["dns"] + modules {
            let r = try run(py, ["-c", "import \(module)"], timeout: 30)
            if r.status != 0 {
                let package = pythonPackage[module] ?? "python3-\(module)"
                throw E2EError.missing(install("the Python module \(module) for \(py)", package: package) + ": \(r.stderr.prefix(200))")
            }
        }
        return py
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a program to completion (killing it after `timeout` seconds).
    static func run(_ exe: String, _ args: [String], timeout: TimeInterval) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        // Read both pipes concurrently so that neither fills up and blocks the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        killer.cancel()
        return Output(status: p.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A port free on 127.0.0.1 and ::1 for both UDP and TCP, never handed out before in this
    /// process, and outside the kernel's ephemeral range, which dig, kdig and Python clients take
    /// their source ports from. A dig whose source port is the server's port receives its own
    /// query (";; Warning: query response not set"): it can be given that port while the server
    /// is down (starting, restarting) and even while it runs, since dig sets SO_REUSEPORT and the
    /// tests run as the same user as the server. A port handed out twice could also start two
    /// test servers on it.
    static func freePort() throws -> UInt16 {
        let (low, high) = ephemeralRange()
        // Below the ephemeral range when there is room there (Linux's default starts at 32768),
        // else above it.
        let candidates: ClosedRange<Int> = low > 12_000 ? 10_000...(low - 1) : high < 63_000 ? (high + 1)...65_535 : 1024...max(1024, low - 1)
        for _ in 0..<200 {
            let port = UInt16(Int.random(in: candidates))
            guard issuedPorts.withLock({ $0.insert(port).inserted }) else { continue }
            if bindable(port) { return port }
        }
        throw E2EError.setup("no free loopback port in \(candidates)")
    }

    private static let issuedPorts = Mutex<Set<UInt16>>([])

    /// net.ipv4.ip_local_port_range (both ends included); Linux's default when unreadable.
    private static func ephemeralRange() -> (Int, Int) {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard numbers.count == 2, numbers[0] <= numbers[1], numbers[0] >= 1024, numbers[1] <= 65_535 else { return (32_768, 60_999) }
        return (numbers[0], numbers[1])
    }

    private static func bindable(_ port: UInt16) -> Bool {
        for type in [Int32(SOCK_STREAM.rawValue), Int32(SOCK_DGRAM.rawValue)] {
            let fd4 = socket(AF_INET, type, 0)
            var a4 = sockaddr_in()
            a4.sin_family = sa_family_t(AF_INET)
            a4.sin_addr.s_addr = inet_addr("127.0.0.1")
            a4.sin_port = port.bigEndian
            let ok4 = withUnsafePointer(to: &a4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd4, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd4)
            let fd6 = socket(AF_INET6, type, 0)
            var a6 = sockaddr_in6()
            a6.sin6_family = sa_family_t(AF_INET6)
            a6.sin6_addr = in6addr_loopback
            a6.sin6_port = port.bigEndian
            let ok6 = withUnsafePointer(to: &a6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd6, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
                }
            }
            close(fd6)
            if !ok4 || !ok6 { return false }
        }
        return true
    }
}

enum E2EError: Error, CustomStringConvertible {
    case missing(String)
    case setup(String)
    var description: String {
        switch self {
        case .missing(let s): return "missing: \(s)"
        case .setup(let s): return "setup failed: \(s)"
        }
    }
}

/// A running meridian serving copies of zone files from a temporary directory.
final class MeridianProcess {
    let port: UInt16
    let dir: URL
    let process: Process
    let log: URL

    /// zones: (origin, zone file path). extra: additional top-level YAML lines. zoneKeys: more
    /// keys of a zone's entry by origin, as YAML lines indented by four spaces.
    /// readyTimeout: seconds to wait for the first zone's SOA (a big zone takes longer to load).
    init(zones: [(String, URL)], extra: String = "", zoneKeys: [String: String] = [:], readyTimeout: TimeInterval = 30) throws {
        let binary = try E2E.meridianBinary()
        port = try E2E.freePort()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("zones"), withIntermediateDirectories: true)
        var yaml = "listen: [\"127.0.0.1:\(port)\", \"[::1]:\(port)\"]\nworkers: 1\n"
        yaml += extra
        yaml += "zones:\n"
        for (origin, file) in zones {
            let dst = dir.appendingPathComponent("zones/\(file.lastPathComponent)")
            try FileManager.default.copyItem(at: file, to: dst)
            yaml += "  - origin: \(origin)\n    file: zones/\(file.lastPathComponent)\n"
            if let keys = zoneKeys[origin] { yaml += keys }
        }
        let config = dir.appendingPathComponent("meridian.yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        log = dir.appendingPathComponent("meridian.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config.path]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try waitReady(origin: zones[0].0, timeout: readyTimeout)
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    private func waitReady(origin: String, timeout: TimeInterval) throws {
        let dig = try E2E.tool("dig")
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw E2EError.setup("meridian exited with status \(process.terminationStatus):\n\(logText)")
            }
            let r = try E2E.run(dig, ["@127.0.0.1", "-p", "\(port)", "+time=1", "+tries=1", "+short", origin, "SOA"],
                                timeout: 5)
            if r.status == 0 && !r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return }
            usleep(100_000)
        }
        throw E2EError.setup("meridian did not answer SOA \(origin) on port \(port) within \(Int(timeout)) s:\n\(logText)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }
}

/// One parsed dig or kdig response.
struct DigResponse: CustomStringConvertible {
    var status = ""
    var flags: Set<String> = []
    var answer: [String] = []
    var authority: [String] = []
    var additional: [String] = []
    var raw = ""

    var description: String { raw }

    /// Records normalised to single spaces, as a set (RRset order is not significant).
    static func norm(_ line: String) -> String {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// Parses `dig +noall +comments +answer +authority +additional` output.
    static func parseDig(_ text: String) -> DigResponse {
        var r = DigResponse(raw: text)
        var section: WritableKeyPath<DigResponse, [String]>? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.contains("->>HEADER<<-"), let s = line.range(of: "status: ") {
                r.status = String(line[s.upperBound...].prefix { $0.isLetter })
            } else if line.hasPrefix(";; flags:") {
                let f = line.dropFirst(";; flags:".count).prefix { $0 != ";" }
                r.flags = Set(f.split(separator: " ").map(String.init))
            } else if line.hasPrefix(";; ANSWER SECTION:") {
                section = \.answer
            } else if line.hasPrefix(";; AUTHORITY SECTION:") {
                section = \.authority
            } else if line.hasPrefix(";; ADDITIONAL SECTION:") {
                section = \.additional
            } else if line.isEmpty || line.hasPrefix(";") {
                if line.isEmpty { section = nil }
            } else if let s = section {
                r[keyPath: s].append(norm(line))
            }
        }
        return r
    }

    /// Parses `kdig +noall +header +answer` output (kdig prints no section titles).
    static func parseKdig(_ text: String) -> DigResponse {
        var r = DigResponse(raw: text)
        for line in text.split(separator: "\n").map(String.init) {
            if line.contains("->>HEADER<<-"), let s = line.range(of: "status: ") {
                r.status = String(line[s.upperBound...].prefix { $0.isLetter })
            } else if line.hasPrefix(";; Flags:") {
                let f = line.dropFirst(";; Flags:".count).prefix { $0 != ";" }
                r.flags = Set(f.split(separator: " ").map(String.init))
            } else if !line.hasPrefix(";") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
                r.answer.append(norm(line))
            }
        }
        return r
    }
}

extension E2E {
    /// The result of one run of a Python suite (Tests/Differential/suite.py's command line).
    struct SuiteRun: CustomStringConvertible {
        var script: String
        var group: String?
        var output: Output

        var status: Int32 { output.status }
        /// The lines of the cases that failed (`FAIL GROUP/CASE: …`), each with the indented lines
        /// below it, and the summary line.
        var failures: String {
            var out: [String] = []
            var inFailure = false
            for line in output.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("FAIL ") {
                    inFailure = true
                    out.append(String(line))
                } else if inFailure && line.hasPrefix("    ") {
                    out.append(String(line))
                } else {
                    inFailure = false
                }
            }
            if let summary = output.stdout.split(separator: "\n").last(where: { $0.contains(" cases, ") && $0.contains(" failed") }) {
                out.append(String(summary))
            }
            return out.joined(separator: "\n")
        }
        /// What an expectation says when the run failed: the exit status, the failing cases, and
        /// stderr's end (a traceback, a missing tool).
        var description: String {
            let selector = group.map { " --group \($0)" } ?? ""
            var text = "\(script)\(selector) exited \(status)"
            let f = failures
            if !f.isEmpty { text += "\n" + f }
            let err = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            if !err.isEmpty { text += "\nstderr:\n" + err.suffix(2000) }
            return text
        }
    }

    /// Runs one of the Python suites under Tests/ with Debian's python3 against the meridian
    /// binary, the cases of `group` only when given (`--group`), prints its output and returns it.
    /// `arguments` come after the suite's own; `environment` is added to the test's.
    static func runSuite(_ script: String, group: String? = nil, arguments: [String] = [], modules: [String] = [],
                         environment: [String: String] = [:], timeout: TimeInterval) throws -> SuiteRun {
        let py = try python(modules)
        var args = [repo.appendingPathComponent(script).path]
        if arguments.firstIndex(of: "--meridian") == nil { args += ["--meridian", try meridianBinary()] }
        if let group { args += ["--group", group] }
        args += arguments
        let output: Output
        if environment.isEmpty {
            output = try run(py, args, timeout: timeout)
        } else {
            output = try run("/usr/bin/env", environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [py] + args,
                             timeout: timeout)
        }
        print(output.stdout)
        print(output.stderr)
        return SuiteRun(script: script, group: group, output: output)
    }

    /// The groups a suite's `--list` names, in order of first appearance.
    static func suiteGroups(_ script: String) throws -> [String] {
        let r = try run(try python(), [repo.appendingPathComponent(script).path, "--list"], timeout: 60)
        guard r.status == 0 else { throw E2EError.setup("\(script) --list exited \(r.status): \(r.stderr)") }
        var groups: [String] = []
        for line in r.stdout.split(separator: "\n") {
            let group = String(line.prefix { $0 != "/" })
            if !groups.contains(group) { groups.append(group) }
        }
        return groups
    }

    /// GeoLite2-City, fetched once before `swift test` by scripts/fetch-geolite2 (scripts/test does):
    /// $MERIDIAN_GEOLITE2 when set, else Tests/.cache/geolite2/GeoLite2-City.mmdb. Absent, the test
    /// fails saying to fetch it; nothing is downloaded from inside `swift test`.
    static func geolite2() throws -> String {
        let path = ProcessInfo.processInfo.environment["MERIDIAN_GEOLITE2"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repo.appendingPathComponent("Tests/.cache/geolite2/GeoLite2-City.mmdb").path
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 0 else {
            throw E2EError.missing("GeoLite2-City at \(path): run scripts/fetch-geolite2 (scripts/test runs it before swift test)")
        }
        return path
    }
}

/// The Python suites the Swift runners run group by group, with the groups each one's `--list`
/// names (SuiteGroupTests checks that they still agree).
enum Suites {
    static let differential = "Tests/Differential/differential.py"
    static let malformed = "Tests/Differential/malformed.py"
    static let conformance = "Tests/Differential/conformance.py"
    static let security = "Tests/Differential/security.py"
    static let ratelimit = "Tests/Differential/ratelimit.py"
    static let reload = "Tests/Differential/reload.py"
    static let edgeRData = "Tests/Differential/edge_rdata.py"
    static let ecsUnbound = "Tests/Resolver/ecs_unbound.py"
    static let dnssecUnbound = "Tests/Resolver/dnssec_unbound.py"
    static let presignedUnbound = "Tests/Resolver/presigned_unbound.py"
    static let burst = "Tests/Network/burst.py"

    static let groups: [String: [String]] = [
        differential: ["names", "rare", "classes", "large"],
        malformed: ["header", "question", "edns", "opcode", "odd", "tcp", "framing", "load"],
        conformance: ["header", "opcode", "qtype", "class", "edns", "sections", "names"],
        security: ["header", "tsig", "cookie"],
        ratelimit: ["limit", "exempt"],
        reload: ["sighup"],
        edgeRData: ["zone", "serve", "answers", "absolute", "sizes"],
        ecsUnbound: ["database", "direct", "unbound"],
        dnssecUnbound: ["delv", "unbound", "routed", "tamper", "protocol", "rollover", "dnsviz"],
        presignedUnbound: ["nsec", "nsec3", "optout", "checks"],
        burst: ["burst"],
    ]

    static func groups(_ script: String) -> [String] { groups[script] ?? [] }
}
