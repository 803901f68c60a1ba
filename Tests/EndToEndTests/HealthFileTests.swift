import Foundation
import Testing

/// A missing operator file is reported once when it goes missing, not again by every reload (each
/// reload builds new checkers), and again once it has come back and gone missing anew.
@Suite("Health end to end: the missing health file is reported once", .serialized)
struct HealthFileTests {
    @Test func missingFileIsReportedOncePerDisappearance() throws {
        let server = try RoutedMeridian()
        defer { server.remove() }
        let stateFile = server.dir.appendingPathComponent("operator-state")
        try server.start(routing: """
            datacenters:
              f1: { addresses: [192.0.2.10] }
            checks:
              operator: { type: file, path: "\(stateFile.path)", interval: 100ms, timeout: 50ms, jitter: 0 }
            services:
              file.example.com.: { datacenters: [f1], check: operator, ttl: 60 }

            """)
        let pid = try #require(server.process?.processIdentifier)
        func count(_ text: String) -> Int { server.logText.components(separatedBy: text).count - 1 }
        #expect(waitFor(30) { count("health file missing") >= 1 } != nil, "\(server.logText)")
        for n in 1...2 {
            kill(pid, SIGHUP)
            #expect(waitFor(60) { count("reload: done") >= n } != nil, "reload \(n):\n\(server.logText)")
        }
        // Several check rounds of the reloaded checkers have run by now.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(count("health file missing") == 1, "\(server.logText)")

        try "f1 up\n".write(to: stateFile, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.5)
        try FileManager.default.removeItem(at: stateFile)
        #expect(waitFor(30) { count("health file missing") >= 2 } != nil, "\(server.logText)")
    }
}
