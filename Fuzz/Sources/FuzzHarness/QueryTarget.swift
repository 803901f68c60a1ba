import DNSWire
import IPNet
import QueryEngine
import Routing

/// Target (a), the query path: any bytes as a query to the fixed engines of `FuzzFixture`.
///
/// Input: one selector byte, then the query as sent on the wire. Selector bit 0 picks the
/// transport (0 UDP, 1 TCP), bits 1–3 the client (`FuzzFixture.clients`), bits 4–5 the engine
/// (`FuzzFixture.engines`, modulo their count), bits 6–7 the routing state's seed.
public enum QueryTarget {
    public static let name = "query"

    /// The response buffer, allocated once: a fuzz process answers one input at a time.
    nonisolated(unsafe) static let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)

    public static func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let selector = input.first else { return }
        let engines = FuzzFixture.engines
        let engine = engines[Int(selector >> 4 & 3) % engines.count]
        let client = FuzzFixture.clients[Int(selector >> 1 & 7)]
        var state = RoutingState(seed: UInt64(selector >> 6))
        let query = UnsafeRawBufferPointer(rebasing: input[1...])
        try ResponseCheck.respond(engine, to: query, from: client, over: selector & 1 == 0 ? .udp : .tcp,
                                  into: buffer, state: &state, target: name)
    }
}
