import Foundation
import Testing

@Suite struct SecurityTests {
    @Test("header, EDNS, TSIG and cookie cases against Knot and NSD (Tests/Differential/security.py)",
          .timeLimit(.minutes(5)))
    func headerTSIGAndCookies() throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        let status = try E2E.runSuite("Tests/Differential/security.py", timeout: 240)
        #expect(status == 0, "security.py exited \(status); see its output above")
    }

    @Test("response rate limiting: slip, cookies and exemptions (Tests/Differential/ratelimit.py)", .timeLimit(.minutes(3)))
    func rateLimiting() throws {
        _ = try E2E.tool("dnsperf")
        let status = try E2E.runSuite("Tests/Differential/ratelimit.py", timeout: 150)
        #expect(status == 0, "ratelimit.py exited \(status); see its output above")
    }

    @Test("header, opcode, class, type and EDNS edge cases answered as Knot or NSD (Tests/Differential/conformance.py)",
          .timeLimit(.minutes(3)))
    func conformance() throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        let status = try E2E.runSuite("Tests/Differential/conformance.py", timeout: 150)
        #expect(status == 0, "conformance.py exited \(status); see its output above")
    }
}
