import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Service names in outgoing AXFR (issue 10): kdig reads exactly the documented records for each
/// `transfer` mode; a data center marked down by the `file` check raises the zone's serial within
/// `transfer-serial-interval` and leaves the transfer; a Knot secondary, sent NOTIFY, drops it
/// from its answers and takes it back when it returns.
@Suite(.serialized) struct ServiceZoneTransferTests {
    static let serial: UInt32 = 2024060101

    /// Meridian serving Tests/Fixtures/routing/example.com.zone with three service names over data
    /// centers a (an IPv4 and an IPv6 address) and b (an IPv4), one per transfer mode, health from
    /// an operator file, transfers open to loopback and the serial interval at 1 s; NOTIFY to
    /// `notify` when given.
    static func start(notify: UInt16? = nil) throws -> (RoutedMeridian, URL) {
        let server = try RoutedMeridian()
        let stateFile = server.dir.appendingPathComponent("operator-state")
        try server.start(routing: routing(stateFile: stateFile, notify: notify))
        return (server, stateFile)
    }

    /// The configuration after the zone's `file` line (see `start`).
    static func routing(stateFile: URL, notify: UInt16? = nil) -> String {
        """
                transfer: { allow: [127.0.0.1/32] }
            \(notify.map { "    notify: [\"127.0.0.1:\($0)\"]\n" } ?? "")transfer-serial-interval: 1s
            datacenters:
              a: { addresses: [192.0.2.1, "2001:db8::1"] }
              b: { addresses: [192.0.2.2] }
            checks:
              operator: { type: file, path: "\(stateFile.path)", interval: 100ms, timeout: 50ms, jitter: 0 }
            services:
              healthy.example.com.: { datacenters: [a, b], check: operator, ttl: 45 }
              all.example.com.: { datacenters: [a, b], check: operator, ttl: 46, transfer: all-addresses }
              omitted.example.com.: { datacenters: [a, b], check: operator, transfer: omit }

            """
    }

    /// The AXFR as kdig prints it: the records, one whitespace-normalized line each.
    static func axfr(_ port: UInt16) throws -> [String] {
        let r = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", "example.com.", "AXFR"], timeout: 30)
        return r.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") && !$0.isEmpty }
            .map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
    }

    /// An IXFR from `serial` as kdig prints it (whitespace-normalized lines) and the serials of its
    /// SOA records in order.
    static func ixfr(_ port: UInt16, from serial: UInt32) throws -> (lines: [String], soaSerials: [UInt32]) {
        let r = try E2E.run(try E2E.tool("kdig"), ["@127.0.0.1", "-p", "\(port)", "+noall", "+answer", "example.com.", "IXFR=\(serial)"], timeout: 10)
        let fields: [[Substring]] = r.stdout.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace) }
        let serials: [UInt32] = fields.filter { $0.count > 6 && $0[3] == "SOA" }.compactMap { UInt32($0[6]) }
        return (fields.map { $0.joined(separator: " ") }, serials)
    }

    /// The service names' records of an AXFR, as a set.
    static func serviceLines(_ lines: [String]) -> Set<String> {
        Set(lines.filter { $0.hasPrefix("healthy.") || $0.hasPrefix("all.") || $0.hasPrefix("omitted.") })
    }

    /// The SOA serial answered over UDP (what a secondary's refresh reads), nil without an answer.
    static func soaSerial(_ port: UInt16) throws -> UInt32? {
        let r = try E2E.run(try E2E.tool("dig"), ["@127.0.0.1", "-p", "\(port)", "+time=1", "+tries=1", "+short", "example.com.", "SOA"], timeout: 5)
        let fields = r.stdout.split(whereSeparator: \.isWhitespace)
        return fields.count >= 3 ? UInt32(fields[2]) : nil
    }

    static let allUp: Set<String> = [
        "healthy.example.com. 45 IN A 192.0.2.1", "healthy.example.com. 45 IN A 192.0.2.2", "healthy.example.com. 45 IN AAAA 2001:db8::1",
        "all.example.com. 46 IN A 192.0.2.1", "all.example.com. 46 IN A 192.0.2.2", "all.example.com. 46 IN AAAA 2001:db8::1",
    ]
    static let bDown: Set<String> = [
        "healthy.example.com. 45 IN A 192.0.2.1", "healthy.example.com. 45 IN AAAA 2001:db8::1",
        "all.example.com. 46 IN A 192.0.2.1", "all.example.com. 46 IN A 192.0.2.2", "all.example.com. 46 IN AAAA 2001:db8::1",
    ]

    @Test("AXFR carries each service name as its transfer mode says; health raises the serial and changes the records",
          .timeLimit(.minutes(3)))
    func modesAndHealthDrivenSerial() throws {
        let (server, stateFile) = try Self.start()
        defer { server.remove() }
        let first = try Self.axfr(server.port)
        #expect(first.first?.contains("SOA") == true && first.last == first.first, "\(first)")
        #expect(first.first?.contains(" \(Self.serial) ") == true, "\(first)")
        #expect(Self.serviceLines(first) == Self.allUp, "\(first)")
        #expect(!first.contains { $0.hasPrefix("omitted.") })
        // The zone's own records are all there too.
        #expect(first.contains("static.example.com. 3600 IN A 192.0.2.99"), "\(first)")
        // Queries still route: the omitted name answers.
        #expect(try server.query("omitted.example.com.").answer.count == 2)

        // b goes down: within the interval (1 s, plus the 100 ms check), the serial rises by one.
        let down = Date()
        try "b down\n".write(to: stateFile, atomically: true, encoding: .utf8)
        let raised = try waitFor(10, from: down) { try Self.soaSerial(server.port) == Self.serial + 1 }
        #expect(raised != nil, "serial \(String(describing: try? Self.soaSerial(server.port))):\n\(server.logText)")
        let second = try Self.axfr(server.port)
        #expect(second.first?.contains(" \(Self.serial + 1) ") == true, "\(second)")
        #expect(Self.serviceLines(second) == Self.bDown, "\(second)")
        print("serial raised \(String(format: "%.2f", raised ?? -1)) s after b went down")

        // b comes back: one more rise, and its address returns.
        try "b up\n".write(to: stateFile, atomically: true, encoding: .utf8)
        #expect(try waitFor(10) { try Self.soaSerial(server.port) == Self.serial + 2 } != nil, "\(server.logText)")
        #expect(Self.serviceLines(try Self.axfr(server.port)) == Self.allUp)
        // The NXDOMAIN's SOA carries the new serial as well.
        let negative = try server.query("nothing.example.com.")
        #expect(negative.status == "NXDOMAIN" && negative.dig.authority.contains { $0.contains("\(Self.serial + 2)") }, "\(negative)")
        #expect(server.logText.contains("zone serial raised"), "\(server.logText)")

        // A reload never goes back to the file's serial: unchanged file and health keep the
        // serial served, and so does the file read again with the same content (new stamp); an
        // edit serves one more than the raised serial, and IXFR from before the raises carries both
        // the health change and the edit.
        let pid = try #require(server.process?.processIdentifier)
        func reloads() -> Int { server.logText.components(separatedBy: "reload: done").count - 1 }
        kill(pid, SIGHUP)
        #expect(waitFor(60) { reloads() >= 1 } != nil, "\(server.logText)")
        #expect(try Self.soaSerial(server.port) == Self.serial + 2)
        let zoneFile = server.dir.appendingPathComponent("example.com.zone")
        let text = try String(contentsOf: zoneFile, encoding: .utf8)
        try FileManager.default.removeItem(at: zoneFile)
        try (text + "; read again\n").write(to: zoneFile, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        #expect(waitFor(60) { reloads() >= 2 } != nil, "\(server.logText)")
        #expect(try Self.soaSerial(server.port) == Self.serial + 2, "\(server.logText)")
        try FileManager.default.removeItem(at: zoneFile)
        try (text + "edited.example.com. 300 IN TXT \"edit\"\n").write(to: zoneFile, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        #expect(waitFor(60) { reloads() >= 3 } != nil, "\(server.logText)")
        #expect(try Self.soaSerial(server.port) == Self.serial + 3, "\(server.logText)")
        #expect(Self.serviceLines(try Self.axfr(server.port)) == Self.allUp)
        let ixfr = try Self.ixfr(server.port, from: Self.serial)
        let steps: [UInt32] = [3, 0, 1, 1, 2, 2, 3, 3]
        #expect(ixfr.soaSerials == steps.map { Self.serial + $0 }, "\(ixfr.lines)")
        #expect(ixfr.lines.contains("edited.example.com. 300 IN TXT \"edit\""), "\(ixfr.lines)")
        #expect(ixfr.lines.contains("healthy.example.com. 45 IN A 192.0.2.2"), "\(ixfr.lines)")

        // A restart reads the journal written at each raise: the serial served stays the raised
        // one (not the file's), and IXFR from a health version is still incremental.
        server.stop()
        try server.start(routing: Self.routing(stateFile: stateFile))
        #expect(try Self.soaSerial(server.port) == Self.serial + 3, "\(server.logText)")
        let after = try Self.ixfr(server.port, from: Self.serial + 1)
        let afterSteps: [UInt32] = [3, 1, 2, 2, 3, 3]
        #expect(after.soaSerials == afterSteps.map { Self.serial + $0 }, "\(after.lines)\n\(server.logText)")
        #expect(!server.logText.contains("starts again"), "\(server.logText)")
    }

    @Test("a Knot secondary drops a data center that goes down after the NOTIFY and takes it back", .timeLimit(.minutes(3)))
    func knotFollowsHealth() throws {
        let kdig = try E2E.tool("kdig")
        let knotPort = try E2E.freePort()
        let (server, stateFile) = try Self.start(notify: knotPort)
        defer { server.remove() }
        let knotDir = server.dir.appendingPathComponent("knot")
        try FileManager.default.createDirectory(at: knotDir, withIntermediateDirectories: true)
        let knot = try KnotDaemon(dir: knotDir, port: knotPort, config: KnotDaemon.head(dir: knotDir, port: knotPort) + """
            remote:
              - id: meridian
                address: 127.0.0.1@\(server.port)
            acl:
              - id: notify-from-meridian
                address: 127.0.0.1
                action: notify
            template:
              - id: default
                storage: \(knotDir.path)
                zonefile-sync: -1
                zonefile-load: none
                journal-content: none
            zone:
              - domain: example.com.
                master: meridian
                acl: notify-from-meridian

            """)
        defer { knot.stop() }
        let logText = { knot.logText }

        /// Knot's A answer for the healthy name, as addresses.
        func knotAnswer() throws -> Set<String> {
            let r = try E2E.run(kdig, ["@127.0.0.1", "-p", "\(knotPort)", "+time=1", "+retry=0", "+short", "healthy.example.com.", "A"], timeout: 5)
            return Set(r.stdout.split(separator: "\n").map(String.init))
        }
        #expect(try waitFor(30) { try knotAnswer() == ["192.0.2.1", "192.0.2.2"] } != nil, "Knot did not load the zone:\n\(logText())")

        let down = Date()
        try "b down\n".write(to: stateFile, atomically: true, encoding: .utf8)
        let gone = try waitFor(20, from: down) { try knotAnswer() == ["192.0.2.1"] }
        #expect(gone != nil, "Knot still answers \(String(describing: try? knotAnswer())):\n\(logText())\n\(server.logText)")
        let up = Date()
        try "b up\n".write(to: stateFile, atomically: true, encoding: .utf8)
        let back = try waitFor(20, from: up) { try knotAnswer() == ["192.0.2.1", "192.0.2.2"] }
        #expect(back != nil, "Knot answers \(String(describing: try? knotAnswer())):\n\(logText())\n\(server.logText)")
        // Knot learned of both changes by NOTIFY from Meridian.
        for serial in [Self.serial + 1, Self.serial + 2] {
            #expect(logText().split(separator: "\n").contains { $0.contains("notify, incoming") && $0.contains("serial \(serial)") }, "\(logText())")
        }
        print("knot secondary without the down data center after \(String(format: "%.2f", gone ?? -1)) s, with it again after \(String(format: "%.2f", back ?? -1)) s")
    }
}
