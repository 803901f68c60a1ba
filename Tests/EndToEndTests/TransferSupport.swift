import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Helpers shared by the zone transfer tests (TransferPeerTests, IXFRTests, SecondaryTests,
// CatalogZoneTests, CatalogConsumerTests, ServiceZoneTransferTests, ZoneTransferTests): the
// polling helper, knotd started from a configuration text, and Knot, NSD and BIND as
// secondaries of a Meridian primary. Every daemon listens on loopback only.

extension E2E {
    /// Polls `condition` until it holds or `seconds` pass, and once more at the deadline; returns
    /// whether it held. (RoutingSupport's `waitFor` does the polling and also gives the time taken.)
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        try waitFor(seconds, condition) != nil
    }

    /// Whether the server on 127.0.0.1@`port` answers `origin SOA` with NOERROR and AA (kdig, UDP).
    static func servesAuthoritatively(_ port: UInt16, _ origin: String) throws -> Bool {
        let r = try run(try tool("kdig"), ["@127.0.0.1", "-p", "\(port)", "+time=1", "+retry=0", "+noall", "+header", origin, "SOA"],
                        timeout: 5)
        let response = DigResponse.parseKdig(r.stdout)
        return response.status == "NOERROR" && response.flags.contains("aa")
    }
}

/// knotd run from a configuration text in `dir` (its rundir, storage and control socket), its
/// stdout and stderr in knot.log there; restartable over the same files.
class KnotDaemon {
    let dir: URL
    let port: UInt16
    let conf: URL
    let log: URL
    private(set) var process: Process?
    /// The zone whose SOA `start()` waits to be served authoritatively; nil: do not wait.
    let readyZone: String?

    /// The configuration's common head: `server` (listening on 127.0.0.1@`port`, `dir` as the
    /// rundir), `control` (dir/knot.sock, for knotc), logging at info to stderr and `database`.
    /// `server` adds lines to the server section (indented by four spaces).
    static func head(dir: URL, port: UInt16, server: String = "") -> String {
        """
        server:
            listen: 127.0.0.1@\(port)
            rundir: \(dir.path)
        \(server)control:
            listen: \(dir.path)/knot.sock
        log:
          - target: stderr
            any: info
        database:
            storage: \(dir.path)

        """
    }

    /// Writes `config` (which must listen on `port`) to dir/knot.conf and starts knotd; with
    /// `readyZone`, returns once Knot serves it.
    init(dir: URL, port: UInt16, config: String, readyZone: String? = nil) throws {
        self.dir = dir
        self.port = port
        self.readyZone = readyZone
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        conf = dir.appendingPathComponent("knot.conf")
        log = dir.appendingPathComponent("knot.log")
        try config.write(to: conf, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        try start()
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try E2E.tool("knotd"))
        p.arguments = ["-c", conf.path]
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        if let readyZone {
            let loaded = try E2E.eventually(30) { try E2E.servesAuthoritatively(self.port, readyZone) }
            if !loaded { throw E2EError.setup("knotd did not load \(readyZone) on port \(port):\n\(logText)") }
        }
    }

    /// Writes a new configuration (knotc reload reads it).
    func configure(_ config: String) throws {
        try config.write(to: conf, atomically: true, encoding: .utf8)
    }

    /// knotc on the control socket; throws when it fails.
    func knotc(_ arguments: [String]) throws {
        let r = try E2E.run(try E2E.tool("knotc"), ["-s", dir.path + "/knot.sock"] + arguments, timeout: 30)
        if r.status != 0 { throw E2EError.setup("knotc \(arguments.joined(separator: " ")): \(r.stdout)\(r.stderr)") }
    }

    func serves(_ origin: String) throws -> Bool { try E2E.servesAuthoritatively(port, origin) }

    func stop() {
        if let p = process, p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
        process = nil
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    deinit { stop() }
}

/// The standard secondaries a Meridian primary is tested with (issue 10, item 5).
enum PeerKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case knot, nsd, bind
    var description: String { rawValue }
    /// The daemon's executable name (E2E.tool names the Debian package when it is missing).
    var daemon: String {
        switch self {
        case .knot: return "knotd"
        case .nsd: return "nsd"
        case .bind: return "named"
        }
    }
}

/// One zone a secondary follows from Meridian.
struct SecondaryZone {
    var origin: String
    /// The TSIG key (a name of `PeerSecondary`'s keys) that signs its transfers and that NOTIFYs
    /// for it must be signed with; nil: unsigned.
    var key: String? = nil
    /// The source address of the secondary's transfers (and refresh queries) for this zone; nil:
    /// the kernel's choice (127.0.0.1).
    var source: String? = nil
    /// A catalog zone (RFC 9432) to interpret: the member zones it lists are followed too, from
    /// the same primary (with the same key), each added and removed as the catalog changes.
    /// Knot and BIND only.
    var catalog = false
}

/// A real Knot, NSD or BIND running as a secondary of a Meridian on loopback, its configuration,
/// state and log in a temporary directory: one helper per peer, so that the transfer tests (AXFR
/// today, IXFR, service names, catalogs later) share them.
final class PeerSecondary {
    // NSD asks for IXFR, as it does by default: it does not fall back to AXFR after a REFUSED
    // IXFR, so this also checks that Meridian never refuses an IXFR it may answer AXFR-style.

    let kind: PeerKind
    let port: UInt16
    let dir: URL
    let process: Process
    /// The daemon's stdout and stderr (and for NSD its logfile beside it).
    let log: URL

    /// Starts `kind` on `port` (E2E.freePort(); given, so that Meridian's `notify:` can name it
    /// before the secondary exists) as a secondary of the Meridian on 127.0.0.1@`primaryPort` for
    /// `zones`, with the TSIG `keys` (name → base64 hmac-sha256 secret). NOTIFY is accepted from
    /// 127.0.0.1 (signed with the zone's key when it has one), and the secondary gives AXFR of its
    /// copy to 127.0.0.1 (unsigned), for the tests to compare. Returns once the daemon runs; the
    /// zones load in the background (`waitServing`).
    init(_ kind: PeerKind, port: UInt16, primaryPort: UInt16, zones: [SecondaryZone], keys: [String: String] = [:]) throws {
        if kind == .nsd && zones.contains(where: \.catalog) { throw E2EError.setup("PeerSecondary configures no catalog consumer for NSD") }
        self.kind = kind
        self.port = port
        let daemon = try E2E.tool(kind.daemon)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-\(kind)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        log = dir.appendingPathComponent("\(kind).out")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let conf: String
        let arguments: [String]
        switch kind {
        case .knot:
            conf = Self.knotConf(dir: dir, port: port, primaryPort: primaryPort, zones: zones, keys: keys)
            arguments = ["-c", dir.appendingPathComponent("knot.conf").path]
        case .nsd:
            conf = Self.nsdConf(dir: dir, port: port, primaryPort: primaryPort, zones: zones, keys: keys)
            arguments = ["-d", "-c", dir.appendingPathComponent("nsd.conf").path]
        case .bind:
            conf = Self.bindConf(dir: dir, port: port, primaryPort: primaryPort, zones: zones, keys: keys)
            // -g: foreground, logging to stderr only (no named.run, nothing under /var); -d 3 for
            // the transfer's kind ("requesting IXFR for serial …", "got incremental response").
            arguments = ["-g", "-d", "3", "-c", dir.appendingPathComponent("named.conf").path]
        }
        let confName = ["knot": "knot.conf", "nsd": "nsd.conf", "bind": "named.conf"][kind.rawValue]!
        try conf.write(to: dir.appendingPathComponent(confName), atomically: true, encoding: .utf8)
        process = Process()
        // Through python3's exec with an empty signal mask: the test process blocks SIGTERM and
        // more, children inherit that mask, and NSD (which does not reset it) would never stop.
        process.executableURL = URL(fileURLWithPath: try E2E.python())
        process.arguments = ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
                             daemon] + arguments
        process.currentDirectoryURL = dir
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The peers' configuration texts, as docs/OPERATIONS.md shows them.
    static func knotConf(dir: URL, port: UInt16, primaryPort: UInt16, zones: [SecondaryZone], keys: [String: String]) -> String {
        var c = KnotDaemon.head(dir: dir, port: port, server: "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n")
        if !keys.isEmpty {
            c += "key:\n"
            for (name, secret) in keys.sorted(by: { $0.key < $1.key }) {
                c += "  - id: \(name)\n    algorithm: hmac-sha256\n    secret: \(secret)\n"
            }
        }
        c += "remote:\n"
        for (i, z) in zones.enumerated() {
            c += "  - id: meridian\(i)\n    address: 127.0.0.1@\(primaryPort)\n"
            if let key = z.key { c += "    key: \(key)\n" }
            if let source = z.source { c += "    via: \(source)\n" }
        }
        c += "acl:\n  - id: transfer-out\n    address: 127.0.0.1\n    action: transfer\n"
        for (i, z) in zones.enumerated() {
            c += "  - id: notify\(i)\n    address: 127.0.0.1\n    action: notify\n"
            if let key = z.key { c += "    key: \(key)\n" }
        }
        c += """
            template:
              - id: default
                storage: \(dir.path)
                zonefile-sync: -1
                zonefile-load: none
                journal-content: none

            """
        // Knot takes a catalog's members from a template: one per catalog, with its primary.
        for (i, z) in zones.enumerated() where z.catalog {
            c += "  - id: member\(i)\n    storage: \(dir.path)\n    master: meridian\(i)\n    acl: [notify\(i), transfer-out]\n"
            c += "    zonefile-sync: -1\n    zonefile-load: none\n    journal-content: none\n"
        }
        c += "zone:\n"
        for (i, z) in zones.enumerated() {
            c += "  - domain: \(z.origin)\n    master: meridian\(i)\n    acl: [notify\(i), transfer-out]\n"
            if z.catalog { c += "    catalog-role: interpret\n    catalog-template: member\(i)\n" }
        }
        return c
    }

    static func nsdConf(dir: URL, port: UInt16, primaryPort: UInt16, zones: [SecondaryZone], keys: [String: String]) -> String {
        var c = nsdHead(dir: dir, port: port)
        for (name, secret) in keys.sorted(by: { $0.key < $1.key }) {
            c += "key:\n    name: \(name)\n    algorithm: hmac-sha256\n    secret: \"\(secret)\"\n"
        }
        for z in zones {
            let key = z.key ?? "NOKEY"
            c += "zone:\n    name: \(z.origin)\n    zonefile: \(z.origin)zone\n"
            c += "    request-xfr: 127.0.0.1@\(primaryPort) \(key)\n    allow-notify: 127.0.0.1 \(key)\n"
            c += "    provide-xfr: 127.0.0.1 NOKEY\n"
            if let source = z.source { c += "    outgoing-interface: \(source)\n" }
        }
        return c
    }

    /// NSD's `server:` and `remote-control:` sections: one process on 127.0.0.1@`port`, every
    /// file in `dir`, no privileges dropped, no rate limit.
    static func nsdHead(dir: URL, port: UInt16) -> String {
        """
            server:
                ip-address: 127.0.0.1@\(port)
                port: \(port)
                server-count: 1
                username: ""
                chroot: ""
                zonesdir: \(dir.path)
                database: ""
                zonelistfile: \(dir.path)/zone.list
                pidfile: \(dir.path)/nsd.pid
                xfrdfile: \(dir.path)/xfrd.state
                xfrdir: \(dir.path)
                logfile: \(dir.path)/nsd.log
                verbosity: 2
                rrl-ratelimit: 0
                minimal-responses: yes
            remote-control:
                control-enable: no

            """
    }

    static func bindConf(dir: URL, port: UInt16, primaryPort: UInt16, zones: [SecondaryZone], keys: [String: String]) -> String {
        var c = """
            options {
                directory "\(dir.path)";
                pid-file "\(dir.path)/named.pid";
                session-keyfile "\(dir.path)/session.key";
                managed-keys-directory "\(dir.path)";
                listen-on port \(port) { 127.0.0.1; };
                listen-on-v6 { none; };
                recursion no;
                dnssec-validation no;
                minimal-responses no-auth;
                notify no;
                allow-query { any; };
            \(Self.bindCatalogOptions(dir: dir, primaryPort: primaryPort, zones: zones))};
            controls { };

            """
        for (name, secret) in keys.sorted(by: { $0.key < $1.key }) {
            c += "key \"\(name)\" { algorithm hmac-sha256; secret \"\(secret)\"; };\n"
        }
        for z in zones {
            let key = z.key.map { " key \($0)" } ?? ""
            c += "zone \"\(z.origin)\" {\n    type secondary;\n    file \"\(z.origin)db\";\n"
            c += "    primaries { 127.0.0.1 port \(primaryPort)\(key); };\n"
            c += "    allow-notify { \(z.key.map { "key \($0)" } ?? "127.0.0.1"); };\n"
            c += "    allow-transfer { 127.0.0.1; };\n"
            // Without use-alt-transfer-source no, BIND 9.18 retries a refused transfer from any
            // address (alt-transfer-source *), and 127.0.0.1 is allowed.
            if let source = z.source { c += "    transfer-source \(source);\n    use-alt-transfer-source no;\n" }
            c += "};\n"
        }
        return c
    }

    /// BIND's options for the catalogs among `zones` (each also declared as a secondary zone):
    /// catalog-zones with the members' primary, their files in `dir`, and a catalog update at
    /// most every second (the default is 5 s); the members are added like `rndc addzone`'s, which
    /// allow-new-zones permits.
    static func bindCatalogOptions(dir: URL, primaryPort: UInt16, zones: [SecondaryZone]) -> String {
        let catalogs = zones.filter(\.catalog)
        guard !catalogs.isEmpty else { return "" }
        var c = "    allow-new-zones yes;\n    catalog-zones {\n"
        for z in catalogs {
            let key = z.key.map { " key \($0)" } ?? ""
            c += "        zone \"\(z.origin)\" default-primaries { 127.0.0.1 port \(primaryPort)\(key); }"
            c += " zone-directory \"\(dir.path)\" min-update-interval 1;\n"
        }
        return c + "    };\n"
    }

    var logText: String {
        var text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        if kind == .nsd { text += (try? String(contentsOf: dir.appendingPathComponent("nsd.log"), encoding: .utf8)) ?? "" }
        return text
    }

    /// The secondary's answer to `origin SOA` over UDP: its rcode, whether AA is set, and the serial.
    func soa(_ origin: String) throws -> (status: String, aa: Bool, serial: UInt32?) {
        let r = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(port)", "+time=1", "+retry=0", "+noall", "+header", "+answer",
                                                  origin, "SOA"], timeout: 5)
        let parsed = DigResponse.parseKdig(r.stdout)
        let serial = parsed.answer.first { $0.contains(" SOA ") }.flatMap { line -> UInt32? in
            let f = line.split(separator: " ")
            guard let i = f.firstIndex(of: "SOA"), f.count > i + 3 else { return nil }
            return UInt32(f[i + 3])
        }
        return (parsed.status, parsed.flags.contains("aa"), serial)
    }

    /// Whether the secondary answers `origin SOA` with NOERROR and AA.
    func serves(_ origin: String) throws -> Bool { try E2E.servesAuthoritatively(port, origin) }

    /// Polls until the secondary answers `origin SOA` authoritatively with `serial` (any serial
    /// when nil), or the deadline passes. Returns whether it did.
    func waitServing(_ origin: String, serial: UInt32? = nil, until deadline: Date) throws -> Bool {
        while Date() < deadline {
            guard process.isRunning else { throw E2EError.setup("\(kind) exited with status \(process.terminationStatus):\n\(logText)") }
            let s = try soa(origin)
            if s.status == "NOERROR" && s.aa && s.serial != nil && (serial == nil || s.serial == serial) { return true }
            usleep(20_000)
        }
        return false
    }

    /// Polls until one line of the log contains every one of `parts`, or the deadline passes.
    func waitLogLine(_ parts: [String], until deadline: Date) -> Bool {
        while Date() < deadline {
            if logText.split(separator: "\n").contains(where: { line in parts.allSatisfy { line.contains($0) } }) { return true }
            usleep(50_000)
        }
        return false
    }

    /// SIGTERM, then SIGKILL after 10 s, to the daemon and the processes it forked (NSD's
    /// server and main processes), each by its ID.
    func stop() {
        let pid = process.processIdentifier
        if process.isRunning {
            let family = [pid] + Self.descendants(of: pid)
            for p in family { kill(p, SIGTERM) }
            let deadline = Date().addingTimeInterval(10)
            while family.contains(where: { kill($0, 0) == 0 && !Self.isZombie($0) }) && Date() < deadline { usleep(20_000) }
            for p in family where kill(p, 0) == 0 { kill(p, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }

    /// The IDs of every process below `pid` (from /proc/*/stat's parent field).
    static func descendants(of pid: Int32) -> [Int32] {
        var parent: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let p = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 1, let pp = Int32(fields[1]) { parent[p] = pp }
        }
        var out: [Int32] = [], frontier = [pid]
        while let next = frontier.popLast() {
            let children = parent.filter { $0.value == next }.map(\.key)
            out += children
            frontier += children
        }
        return out
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }
}

