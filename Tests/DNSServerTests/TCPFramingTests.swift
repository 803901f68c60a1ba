import Foundation
// The TCP framing of DNSServer, through its real pipeline on EmbeddedChannels.
@testable import DNSServer
import DNSZone
import Logging
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
    let engine = EngineReference(QueryEngine(zones: ZoneSet(zones: [])), shards: 1)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
    try channel.pipeline.syncOperations.addHandlers(
        TCPIdleHandler(connection: connections.admit(channel), timeout: idle),
        ByteToMessageHandler(DNSTCPFrameDecoder()),
        DNSTCPQueryHandler(engine: engine, scratch: ResponseScratch(shard: 0, log: nil), counters: QueryCounters(shards: 1),
                           logger: Logger(label: "test")))
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
    // One byte (half a length prefix) a second later makes the first connection the more recent.
    first.embeddedEventLoop.advanceTime(by: .seconds(1))
    try first.writeInbound(ByteBuffer(bytes: [0x00]))
    let third = try connection(connections)
    #expect(first.isActive)
    #expect(!second.isActive)
    #expect(third.isActive)
}

/// A query for `a.example.` type A with message ID `id`.
private func query(id: UInt16) -> [UInt8] {
    [UInt8(id >> 8), UInt8(id & 0xFF), 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        + [1, UInt8(ascii: "a"), 7] + Array("example".utf8) + [0, 0, 1, 0, 1]
}

/// Reads every framed response the channel wrote, checking each frame's length prefix.
private func responses(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
    var result: [[UInt8]] = []
    while var frame = try channel.readOutbound(as: ByteBuffer.self) {
        let length = frame.readInteger(as: UInt16.self)
        #expect(length.map(Int.init) == frame.readableBytes)
        result.append(frame.readBytes(length: frame.readableBytes)!)
    }
    return result
}

/// With no zones the real engine refuses every query, which is enough to see order and framing.
@Test func pipelinedQueriesAreAnsweredInOrder() throws {
    let channel = try connection(TCPConnections(limit: 10))
    try channel.writeInbound(framed([query(id: 1), query(id: 2), query(id: 3)]))
    let answers = try responses(channel)
    #expect(answers.map { UInt16($0[0]) << 8 | UInt16($0[1]) } == [1, 2, 3])
    #expect(answers.allSatisfy { $0[2] & 0x80 != 0 && $0[3] & 0x0F == 5 })  // QR=1, REFUSED
    #expect(channel.isActive)
}

@Test func aMessageTheEngineWillNotAnswerClosesTheConnectionAfterEarlierAnswers() throws {
    let channel = try connection(TCPConnections(limit: 10))
    try channel.writeInbound(framed([query(id: 7), [], query(id: 8)]))
    #expect(try responses(channel).map { UInt16($0[0]) << 8 | UInt16($0[1]) } == [7])
    #expect(!channel.isActive)
}

@Test(arguments: [("$INCLUDE other.zone\n", true), ("www A 192.0.2.1\n$include x\n", true), ("$InClUdE x", true),
                  ("$ORIGIN example.com.\n$TTL 300\n", false), ("txt TXT \"$5 $INCLUD\"", false), ("$", false), ("", false)])
func zoneFileStampsNoticeInclude(text: String, expected: Bool) {
    #expect(FileStamp.mentionsInclude(Data(text.utf8)) == expected)
}
