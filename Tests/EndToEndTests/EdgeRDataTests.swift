import Foundation
import Testing

/// Every RR type ldns knows, with edge-case names and strings in its RDATA, served by Knot, NSD
/// and the meridian binary and compared answer by answer (Tests/Differential/edge_rdata.py).
@Suite("End to end: edge-case RDATA against Knot and NSD", .serialized)
struct EdgeRDataTests {
    @Test("edge-case RDATA of every ldns type, large RRsets and referrals against Knot and NSD (Tests/Differential/edge_rdata.py), one group at a time",
          .timeLimit(.minutes(10)), arguments: Suites.groups(Suites.edgeRData))
    func edgeRData(group: String) throws {
        _ = try E2E.tool("knotd")
        _ = try E2E.tool("nsd")
        _ = try E2E.tool("kzonecheck")
        let run = try E2E.runSuite(Suites.edgeRData, group: group, timeout: 540)
        #expect(run.status == 0, "\(run)")
    }
}
