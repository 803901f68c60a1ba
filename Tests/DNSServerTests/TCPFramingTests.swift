import Foundation
// The TCP framing of DNSServer, through its real pipeline on EmbeddedChannels.
@testable import DNSServer
import DNSZone
import Logging
import NIOCore
import NIOEmbedded
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

/// Every message `framing` returns after each piece of `wire` arrives, split at `cuts`.
private func messages(_ wire: ByteBuffer, cutAt cuts: [Int]) -> [[UInt8]] {
    var framing = DNSTCPFraming()
    var out: [[UInt8]] = []
    var start = 0
    for end in cuts + [wire.readableBytes] where end > start {
        framing.receive(wire.getSlice(at: start, length: end - start)!)
        framing.takeMessages { out.append(Array($0)); return true }
        start = end
    }
    return out
}

/// Each input whole, one byte at a time, and cut at every single position gives the same
/// messages in order.
@Test func framingSplitsDripFedAndPipelinedMessages() {
    let query = Array(repeating: UInt8(0xAB), count: 29)
    let long = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
    for expected in [[query], [query, long, [0x01]], [[]], [long, [], query]] {
        let wire = framed(expected)
        #expect(messages(wire, cutAt: []) == expected)
        #expect(messages(wire, cutAt: Array(1..<wire.readableBytes)) == expected)
        for cut in 1..<wire.readableBytes {
            #expect(messages(wire, cutAt: [cut]) == expected, "cut at \(cut)")
        }
    }
}

@Test func framingWaitsForTheWholeMessageOneByteAtATime() {
    var framing = DNSTCPFraming()
    let message = Array("a dns message".utf8)
    let wire = framed([message, message])
    var arrivals: [Int] = []
    for i in 0..<wire.readableBytes {
        framing.receive(wire.getSlice(at: i, length: 1)!)
        framing.takeMessages { decoded in
            #expect(Array(decoded) == message)
            arrivals.append(i)
            return true
        }
    }
    #expect(arrivals == [1 + message.count, wire.readableBytes - 1])
}

@Test func framingNeverReturnsAMessageCutOffByTheEndOfTheStream() {
    var wire = framed([[1, 2, 3]])
    wire.writeBytes([0x00, 0x10, 0x01])  // a length of 16, then only one byte
    #expect(messages(wire, cutAt: [4]) == [[1, 2, 3]])
}

/// Messages left when the caller stops taking (as during a zone transfer) wait, and a message
/// completed by a later read joins them, all in order.
@Test func framingKeepsWhatIsNotTakenForLater() {
    let first = Array(repeating: UInt8(1), count: 40), second = Array(repeating: UInt8(2), count: 70)
    let third: [UInt8] = [3, 3, 3]
    let wire = framed([first, second, third])
    var framing = DNSTCPFraming()
    framing.receive(wire.getSlice(at: 0, length: 100)!)
    var taken: [[UInt8]] = []
    framing.takeMessages { taken.append(Array($0)); return false }
    #expect(taken == [first])
    framing.receive(wire.getSlice(at: 100, length: wire.readableBytes - 100)!)
    framing.takeMessages { taken.append(Array($0)); return true }
    #expect(taken == [first, second, third])
    framing.takeMessages { _ in Issue.record("nothing is left"); return true }
}

/// A connection over the real server pipeline, with an EmbeddedChannel's virtual clock.
private func connection(_ connections: TCPConnections, idle: TimeAmount = .seconds(10)) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    let engine = EngineReference(QueryEngine(zones: ZoneSet(zones: [])), shards: 1)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
    try channel.pipeline.syncOperations.addHandler(
        DNSTCPQueryHandler(engine: engine, scratch: ResponseScratch(shard: 0, log: nil), counters: QueryCounters(shards: 1),
                           connection: connections.admit(channel), idleTimeout: idle, logger: Logger(label: "test")))
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

/// Every framed response the channel wrote, each write cut into its frames (a write holds the
/// answers to one read's messages), checking that each write holds whole frames only.
private func responses(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
    try writes(channel).flatMap { $0 }
}

/// The frames of each write the channel made, in order.
private func writes(_ channel: EmbeddedChannel) throws -> [[[UInt8]]] {
    var result: [[[UInt8]]] = []
    while var write = try channel.readOutbound(as: ByteBuffer.self) {
        var frames: [[UInt8]] = []
        while let length = write.readInteger(as: UInt16.self) {
            #expect(write.readableBytes >= Int(length))
            guard let frame = write.readBytes(length: Int(length)) else { break }
            frames.append(frame)
        }
        #expect(write.readableBytes == 0)
        result.append(frames)
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

/// The answers to the messages of one read go out in one write; the next read's in the next.
@Test func theAnswersToOneReadAreWrittenTogether() throws {
    let channel = try connection(TCPConnections(limit: 10))
    var wire = framed([query(id: 1), query(id: 2), query(id: 3)])
    wire.writeBytes(framed([query(id: 4)]).readableBytesView.prefix(5))
    try channel.writeInbound(wire)
    try channel.writeInbound(ByteBuffer(bytes: framed([query(id: 4)]).readableBytesView.dropFirst(5)))
    let frames = try writes(channel)
    #expect(frames.map { $0.map { UInt16($0[0]) << 8 | UInt16($0[1]) } } == [[1, 2, 3], [4]])
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
