import Foundation
import Testing

/// DNSSEC through real validators (Tests/Resolver/dnssec_unbound.py): a zone signed online by
/// meridian, with routed names, validated by delv and by a validating Unbound in front of it;
/// tampered signatures, expired ones and a wrong trust anchor fail; dnsviz finds no error.
@Suite("DNSSEC: signed answers through delv, Unbound and dnsviz", .serialized)
struct DNSSECValidationTests {
    @Test("every name, denial and routed answer validates; tampering fails (Tests/Resolver/dnssec_unbound.py), one group at a time",
          .timeLimit(.minutes(5)), arguments: Suites.groups(Suites.dnssecUnbound))
    func validators(group: String) throws {
        _ = try E2E.tool("unbound")
        _ = try E2E.tool("delv")
        if group == "dnsviz" { _ = try E2E.tool("dnsviz") }
        let db = try RoutingFixtures.geolite2()
        let run = try E2E.runSuite(Suites.dnssecUnbound, group: group, arguments: ["--db", db], modules: ["dns"], timeout: 280)
        #expect(run.status == 0, "\(run)")
    }

    @Test("zones signed elsewhere by ldns-signzone (NSEC, NSEC3, NSEC3 opt-out) served as they are validate through delv and Unbound; expired ones fail and are warned about (Tests/Resolver/presigned_unbound.py)",
          .timeLimit(.minutes(5)), arguments: Suites.groups(Suites.presignedUnbound))
    func presigned(group: String) throws {
        _ = try E2E.tool("unbound")
        _ = try E2E.tool("delv")
        _ = try E2E.tool("ldns-signzone")
        let run = try E2E.runSuite(Suites.presignedUnbound, group: group, arguments: [], modules: ["dns"], timeout: 280)
        #expect(run.status == 0, "\(run)")
    }
}
