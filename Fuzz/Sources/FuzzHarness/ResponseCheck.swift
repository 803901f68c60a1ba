import DNSWire
public import IPNet
public import QueryEngine
public import Routing

/// An invariant a fuzz target found broken: what was expected and what happened. The fuzz entry
/// points stop on it (so libFuzzer keeps the input); the regression tests report it.
public struct FuzzFailure: Error, CustomStringConvertible {
    public let target: String
    public let reason: String
    public init(_ target: String, _ reason: String) {
        self.target = target
        self.reason = reason
    }
    public var description: String { "\(target): \(reason)" }
}

/// The limits and wire invariants every response must meet, whatever the query.
public enum ResponseCheck {
    /// Answers `query` with `engine` into `buffer` (at least `QueryEngine.responseBufferSize`
    /// bytes) and checks the result:
    /// - nothing is sent exactly when the query is shorter than a header or is a response
    ///   (RFC 1035 §4.1.1; the one case `QueryParser` drops);
    /// - the response fits the transport: 512 bytes over UDP without EDNS, the requestor's payload
    ///   clamped to [512, the server's maximum] with it (RFC 6891 §6.2.5), 65535 over TCP;
    /// - it decodes as a DNS message (`Message`), with QR set, the query's ID and opcode;
    /// - when it carries a question, that is the query's question (RFC 1035 §4.1.2).
    /// Returns the response length.
    @discardableResult
    public static func respond(
        _ engine: QueryEngine, to query: UnsafeRawBufferPointer, from client: IPAddress, over transport: Transport,
        into buffer: UnsafeMutableRawBufferPointer, state: inout RoutingState, target: String
    ) throws(FuzzFailure) -> Int {
        let n = engine.respond(to: query, from: client, over: transport, into: buffer, state: &state)
        var q = ParsedQuery()
        // Said only when something fails: formatting it for every query would dominate a fuzz run.
        func context() -> String { "transport \(transport), client \(client)" }
        if case .drop = QueryParser.parse(query, into: &q) {
            guard n == 0 else {
                throw FuzzFailure(target, "a query to drop (\(query.count) bytes, QR \(query.count > 2 ? query[2] >> 7 : 0)) got \(n) bytes (\(context()))")
            }
            return 0
        }
        guard n >= Header.size && n <= buffer.count else { throw FuzzFailure(target, "a query with a header got \(n) bytes (\(context()))") }
        let limit: Int
        switch transport {
        case .tcp: limit = 65535
        case .udp: limit = q.edns.map { min(max(512, Int($0.udpPayloadSize)), engine.options.maxUDPPayload) } ?? 512
        }
        try verify(response: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), to: query, limit: limit, target: target, context: context())
        return n
    }

    /// The checks of `respond` on a response already made to a query that is not dropped.
    public static func verify(
        response: UnsafeRawBufferPointer, to query: UnsafeRawBufferPointer, limit: Int, target: String, context: @autoclosure () -> String = ""
    ) throws(FuzzFailure) {
        let n = response.count
        func fail(_ reason: String) -> FuzzFailure {
            FuzzFailure(target, "\(reason) (\(context()); response length \(n), first bytes \(Array(response.prefix(64))))")
        }
        var q = ParsedQuery()
        _ = QueryParser.parse(query, into: &q)
        guard n >= Header.size, query.count >= Header.size else { throw fail("response shorter than a header") }
        guard n <= limit else { throw fail("response of \(n) bytes over a limit of \(limit)") }
        guard response[0] == query[0] && response[1] == query[1] else { throw fail("ID not echoed") }
        let message: Message
        do { message = try Message(decoding: Array(response)) } catch { throw fail("response does not decode: \(error)") }
        guard message.flags & Header.qr != 0 else { throw fail("QR not set") }
        guard Header.opcode(message.flags) == q.opcode else { throw fail("opcode \(Header.opcode(message.flags)) for a query of opcode \(q.opcode)") }
        if let question = message.question.first {
            guard q.hasQuestion, message.question.count == 1 else { throw fail("question in a response to a query without a readable one") }
            guard question.type == q.qtype, question.rrClass == q.qclass,
                  question.name.wire.count == q.qnameLength,
                  question.name.wire.elementsEqual(query[Header.size..<(Header.size + q.qnameLength)])
            else { throw fail("question \(question.name) \(question.type) is not the query's") }
        }
    }

    /// `verify` for arrays.
    public static func verify(response: [UInt8], to query: [UInt8], limit: Int, target: String) throws(FuzzFailure) {
        let result = response.withUnsafeBytes { r in
            query.withUnsafeBytes { q in Result { () throws(FuzzFailure) in try verify(response: r, to: q, limit: limit, target: target) } }
        }
        try result.get()
    }

    /// The response of `engine` to `query` from 127.0.0.1 over UDP (or TCP), checked by `respond`.
    public static func answer(_ engine: QueryEngine, _ query: [UInt8], tcp: Bool = false, target: String) throws(FuzzFailure) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var state = RoutingState(seed: 0)
        let n = try respond(engine, toWire: query, from: FuzzFixture.clients[0], over: tcp ? .tcp : .udp, into: buffer, state: &state, target: target)
        return Array(buffer[0..<n])
    }

    /// `respond` for a query held in an array.
    @discardableResult
    public static func respond(
        _ engine: QueryEngine, toWire query: [UInt8], from client: IPAddress, over transport: Transport,
        into buffer: UnsafeMutableRawBufferPointer, state: inout RoutingState, target: String
    ) throws(FuzzFailure) -> Int {
        let result = query.withUnsafeBytes { q in
            Result { () throws(FuzzFailure) in try respond(engine, to: q, from: client, over: transport, into: buffer, state: &state, target: target) }
        }
        return try result.get()
    }
}
