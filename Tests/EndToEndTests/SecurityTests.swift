import Foundation
import Testing

@Suite(.serialized) struct SecurityTests {
    @Test("header, EDNS, TSIG and cookie cases against Knot and NSD (Tests/Differential/security.py), one group at a time",
          .timeLimit(.minutes(5)), arguments: Suites.groups(Suites.security))
    func headerTSIGAndCookies(group: String) throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        let run = try E2E.runSuite(Suites.security, group: group, timeout: 240)
        #expect(run.status == 0, "\(run)")
    }

    @Test("response rate limiting: slip, cookies and exemptions (Tests/Differential/ratelimit.py), one group at a time",
          .timeLimit(.minutes(3)), arguments: Suites.groups(Suites.ratelimit))
    func rateLimiting(group: String) throws {
        _ = try E2E.tool("dnsperf")
        let run = try E2E.runSuite(Suites.ratelimit, group: group, timeout: 150)
        #expect(run.status == 0, "\(run)")
    }

    @Test("header, opcode, class, type and EDNS edge cases answered as Knot or NSD (Tests/Differential/conformance.py), one group at a time",
          .timeLimit(.minutes(3)), arguments: Suites.groups(Suites.conformance))
    func conformance(group: String) throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        let run = try E2E.runSuite(Suites.conformance, group: group, timeout: 150)
        #expect(run.status == 0, "\(run)")
    }
}

/// The groups the runners above pass are the groups each suite's `--list` names: a group added to a
/// suite and not to `Suites.groups` would otherwise never run under `swift test`.
@Suite struct SuiteGroupTests {
    @Test("every Python suite's groups are the ones its Swift runner runs", arguments: Suites.groups.keys.sorted())
    func groupsMatch(script: String) throws {
        #expect(try E2E.suiteGroups(script).sorted() == Suites.groups(script).sorted(), "\(script) --list")
    }
}
