import Foundation
import Testing

/// Every RR type ldns knows, with edge-case names and strings in its RDATA, served by Knot, NSD
/// and the meridian binary and compared answer by answer (Tests/Differential/edge_rdata.py).
@Suite("End to end: edge-case RDATA against Knot and NSD", .serialized)
struct EdgeRDataTests {
    @Test("edge-case RDATA of every ldns type, large RRsets and referrals against Knot and NSD (Tests/Differential/edge_rdata.py)",
          .timeLimit(.minutes(10)))
    func edgeRData() throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        _ = try E2E.tool("kzonecheck")
        let py = try E2E.python()
        let script = E2E.repo.appendingPathComponent("Tests/Differential/edge_rdata.py").path
        let r = try E2E.run(py, [script, "--meridian", try E2E.meridianBinary()], timeout: 540)
        print(r.stdout)
        print(r.stderr)
        #expect(r.status == 0, "edge_rdata.py exited \(r.status); see its output above")
        #expect(r.stdout.contains("no unexplained difference"), "edge_rdata.py did not finish its comparison")
    }
}
