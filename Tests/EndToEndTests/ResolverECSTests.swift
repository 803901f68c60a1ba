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
    @Test("private, CGNAT, loopback and missing ECS never poison Unbound's subnet cache (Tests/Resolver/ecs_unbound.py)",
          .timeLimit(.minutes(5)))
    func unboundSubnetCache() throws {
        _ = try E2E.tool("unbound")
        _ = try E2E.tool("gdnsd")
        let db = try RoutingFixtures.geolite2()
        let py = try RoutingFixtures.pythonWithMaxMind()
        _ = try E2E.python()
        let script = E2E.repo.appendingPathComponent("Tests/Resolver/ecs_unbound.py").path
        let r = try E2E.run(py, [script, "--meridian", try E2E.meridianBinary(), "--db", db], timeout: 280)
        print(r.stdout)
        print(r.stderr)
        #expect(r.status == 0, "ecs_unbound.py exited \(r.status); see its output above")
        #expect(r.stdout.contains("all checks passed"), "ecs_unbound.py did not finish its checks")
    }
}
