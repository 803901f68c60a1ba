import Foundation
import Testing

/// ECS scope through a real resolver cache (Tests/Resolver/ecs_unbound.py): Unbound with its subnet
/// cache in front of meridian, everything on loopback. After a first query whose ECS address cannot
/// be located (private 10/8, CGNAT 100.64/10, loopback 127/8, or none from the stub), clients in
/// Tokyo, London, Beijing, Frankfurt, Virginia and Dublin must still get their own nearest data
/// center, and meridian's scope for those first queries must be the special-purpose block (as gdnsd
/// answers on the same database), never 0.
@Suite("Resolver cache: ECS scope through Unbound", .serialized)
struct ResolverECSTests {
    @Test("private, CGNAT, loopback and missing ECS never poison Unbound's subnet cache (Tests/Resolver/ecs_unbound.py), one group at a time",
          .timeLimit(.minutes(5)), arguments: Suites.groups(Suites.ecsUnbound))
    func unboundSubnetCache(group: String) throws {
        _ = try E2E.tool("unbound")
        _ = try E2E.tool("gdnsd")
        let db = try RoutingFixtures.geolite2()
        let run = try E2E.runSuite(Suites.ecsUnbound, group: group, arguments: ["--db", db], modules: ["maxminddb"], timeout: 280)
        #expect(run.status == 0, "\(run)")
    }
}
