// The TCP framing lives in DNSServer; its tests share this target (the one test target the
// networking work adds).
@testable import DNSServer
import DNSZone
import NIOCore
import NIOEmbedded
import NIOTestUtils
import QueryEngine
import Testing

private func framed(_ messages: [[UInt8]]) -> ByteBuffer {
    var buffer = ByteBuffer()
    for m in messages {
        buffer.writeInteger(UInt16(m.count))
        buffer.writeBytes(m)
    }
    return buffer
}

/// The verifier feeds each input whole, one byte at a time, and in other splits, and checks the
/// same messages come out in order every time.
@Test func decoderSplitsDripFedAndPipelinedMessages() throws {
    let query = Array(repeating: UInt8(0xAB), count: 29)
    let long = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
    try ByteToMessageDecoderVerifier.verifyDecoder(
        inputOutputPairs: [
            (framed([query]), [ByteBuffer(bytes: query)]),
            (framed([query, long, [0x01]]), [ByteBuffer(bytes: query), ByteBuffer(bytes: long), ByteBuffer(bytes: [0x01])]),
            (framed([[]]), [ByteBuffer()]),
        ],
        decoderFactory: { DNSTCPFrameDecoder() })
}

@Test func decoderWaitsForTheWholeMessageOneByteAtATime() throws {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(DNSTCPFrameDecoder()))
    let message = Array("a dns message".utf8)
    let wire = framed([message, message])
    var arrivals: [Int] = []
    for i in 0..<wire.readableBytes {
        try channel.writeInbound(wire.getSlice(at: i, length: 1)!)
        while let decoded = try channel.readInbound(as: ByteBuffer.self) {
            #expect(decoded == ByteBuffer(bytes: message))
            arrivals.append(i)
        }
    }
    #expect(arrivals == [1 + message.count, wire.readableBytes - 1])
    #expect(try channel.finish().isClean)
}

@Test func decoderDropsAMessageCutOffByTheEndOfTheStream() throws {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(DNSTCPFrameDecoder()))
    var wire = framed([[1, 2, 3]])
    wire.writeBytes([0x00, 0x10, 0x01])  // a length of 16, then only one byte
    try channel.writeInbound(wire)
    #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1, 2, 3]))
    #expect(try channel.finish().isClean)
}

/// A connection over the real server pipeline, with an EmbeddedChannel's virtual clock.
private func connection(_ connections: TCPConnections, idle: TimeAmount = .seconds(10)) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    let engine = EngineReference(QueryEngine(zones: ZoneSet(zones: [])))
    try channel.pipeline.syncOperations.addHandlers(
        IdleStateHandler(readTimeout: idle),
        ByteToMessageHandler(DNSTCPFrameDecoder()),
        DNSTCPQueryHandler(engine: engine, scratch: ResponseScratch(), connection: connections.admit(channel)))
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
    return channel
}

@Test func aClientThatSendsOnlyALengthIsDroppedAfterTheIdleTimeout() throws {
    let channel = try connection(TCPConnections(limit: 10))
    try channel.writeInbound(ByteBuffer(bytes: [0x00, 0x1D]))
    channel.embeddedEventLoop.advanceTime(by: .seconds(9))
    #expect(channel.isActive)
    channel.embeddedEventLoop.advanceTime(by: .seconds(2))
    #expect(!channel.isActive)
}

@Test func aDripFeedingClientIsNotIdle() throws {
    let channel = try connection(TCPConnections(limit: 10))
    let wire = framed([Array(repeating: 7, count: 20)])
    for i in 0..<wire.readableBytes - 1 {
        try channel.writeInbound(wire.getSlice(at: i, length: 1)!)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(channel.isActive)
    }
}

@Test func theConnectionLimitClosesTheLongestIdleConnection() throws {
    let connections = TCPConnections(limit: 2)
    let first = try connection(connections)
    let second = try connection(connections)
    // The first connection was active more recently than the second.
    try first.writeInbound(ByteBuffer(bytes: [0x00]))
    let third = try connection(connections)
    #expect(first.isActive)
    #expect(!second.isActive)
    #expect(third.isActive)
}
