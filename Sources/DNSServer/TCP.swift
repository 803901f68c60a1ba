import DNSSEC
import Atomics
import Foundation
import Logging
import Metrics
public import NIOCore
import QueryEngine
import IPNet
import Routing
import Synchronization
import ZoneTransfer

/// Splits a TCP byte stream into DNS messages, each preceded by its 2-byte big-endian length
/// (RFC 1035 §4.2.2, RFC 7766 §8). Bytes may arrive one at a time; several messages may arrive
/// in one read. `takeMessages` hands each complete message, without its length prefix, to its
/// caller straight from the bytes received; a message cut off by the end of the stream is never
/// handed out.
public struct DNSTCPFraming: Sendable {
    /// The start of a message cut off by the end of a read, copied out of that read's buffer (at
    /// most 2 + 65,535 bytes) and completed from the next.
    private var carry = ByteBuffer()
    /// The latest read from its first byte not yet taken, worked on in place; bytes read after it
    /// are appended only while the caller has stopped taking (a zone transfer is being sent).
    private var unread = ByteBuffer()

    public init() {}

    /// Adds bytes read from the connection after those already received.
    public mutating func receive(_ bytes: ByteBuffer) {
        var bytes = bytes
        if unread.readableBytes > 0 {
            unread.discardReadBytes()
            unread.writeBuffer(&bytes)
            return
        }
        if carry.readableBytes > 0 {
            // Complete the carried message with just the bytes it lacks: its length first.
            if carry.readableBytes < 2, var head = bytes.readSlice(length: min(2 - carry.readableBytes, bytes.readableBytes)) {
                carry.writeBuffer(&head)
            }
            if let length = carry.getInteger(at: carry.readerIndex, as: UInt16.self),
               var rest = bytes.readSlice(length: min(2 + Int(length) - carry.readableBytes, bytes.readableBytes)) {
                carry.writeBuffer(&rest)
            }
        }
        unread = bytes
    }

    /// Calls `body` with each complete message received, in order, until it returns false (that
    /// message counts as taken) or none is left. The bytes are valid only during the call.
    public mutating func takeMessages(_ body: (UnsafeRawBufferPointer) -> Bool) {
        if let length = carry.getInteger(at: carry.readerIndex, as: UInt16.self), carry.readableBytes == 2 + Int(length) {
            let goOn = carry.withUnsafeReadableBytes { body(UnsafeRawBufferPointer(rebasing: $0[2...])) }
            carry.clear()
            if !goOn { return }
        }
        guard carry.readableBytes == 0 else { return }
        var stopped = false
        let taken = unread.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset + 2 <= bytes.count {
                let end = offset + 2 + (Int(bytes[offset]) << 8 | Int(bytes[offset + 1]))
                guard end <= bytes.count else { break }
                let message = UnsafeRawBufferPointer(rebasing: bytes[(offset + 2)..<end])
                offset = end
                if !body(message) {
                    stopped = true
                    break
                }
            }
            return offset
        }
        unread.moveReaderIndex(forwardBy: taken)
        guard !stopped else { return }
        // Whatever is left is the start of one message: keep a copy and let go of the read's
        // buffer, so that NIO can read into it again.
        if unread.readableBytes > 0 { carry.writeBuffer(&unread) }
        unread = ByteBuffer()
    }
}

/// A response buffer for one event loop, shared by every connection on it: handlers run on
/// their loop's thread one at a time, so a message is answered into it and copied out at once.
///
/// Its `var`s and those of `DNSTCPQueryHandler` are `@exclusivity(unchecked)`: they are touched
/// only on their event loop's thread, by one handler call at a time, and no access to one of
/// them overlaps another (the one re-entry there is, a transfer ending inside the message loop
/// that started it, is guarded by `taking`), so the run-time exclusivity checks Swift makes on
/// class properties could never fire and only cost: under pipelined TCP load, perf showed
/// swift_beginAccess and its thread-local access set at a tenth of the server's user time.
final class ResponseScratch: @unchecked Sendable {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)
    /// The event loop's shard of the query counters and answer tallies.
    let shard: Int
    /// The event loop's query-log writer, when the log is on.
    @exclusivity(unchecked) var log: QueryLogWriter?
    /// The event loop's signatures made while answering (DO=1 in zones signed online).
    @exclusivity(unchecked) var signatures = SignatureCache()
    /// Seeds of the connections' routing states: one random seed per loop, not a system call per
    /// connection.
    @exclusivity(unchecked) var seeds = RoutingState(seed: UInt64.random(in: 0...UInt64.max))
    init(shard: Int, log: QueryLogWriter?) {
        self.shard = shard
        self.log = log
    }
    deinit { buffer.deallocate() }
}

/// Open TCP connections and when each last received a byte, so that at the connection limit the
/// longest-idle one is closed to make room instead of refusing the newcomer (RFC 7766 §6.2.3).
final class TCPConnections: Sendable {
    final class Entry: Sendable {
        let channel: any Channel
        /// Uptime nanoseconds, on the channel's event loop clock, of the last byte received.
        let lastActivity: ManagedAtomic<UInt64>
        init(_ channel: any Channel) {
            self.channel = channel
            lastActivity = ManagedAtomic(channel.eventLoop.now.uptimeNanoseconds)
        }
    }

    let limit: Int
    private let open = Mutex<[ObjectIdentifier: Entry]>([:])

    init(limit: Int) { self.limit = limit }

    /// Registers `channel`; when that exceeds the limit, closes the longest-idle other connection.
    func admit(_ channel: any Channel) -> Entry {
        let entry = Entry(channel)
        let victim: Entry? = open.withLock { open in
            open[ObjectIdentifier(channel)] = entry
            guard open.count > limit else { return nil }
            var oldest: Entry?
            for candidate in open.values where candidate !== entry {
                if oldest == nil || candidate.lastActivity.load(ordering: .relaxed) < oldest!.lastActivity.load(ordering: .relaxed) {
                    oldest = candidate
                }
            }
            if let oldest { open[ObjectIdentifier(oldest.channel)] = nil }
            return oldest
        }
        victim?.channel.close(promise: nil)
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.open.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
        return entry
    }
}

/// Cuts the connection's bytes into messages (`DNSTCPFraming`) and answers each in order. The
/// answers to one read's messages are gathered in one buffer and written and flushed together
/// when the read is done (pipelined queries, RFC 7766 §6.2.1.1, cost one write, not one per
/// answer); reading pauses while the client is not reading. An engine result of 0 (nothing to
/// send) or the client's end of input closes the connection once earlier answers are written.
/// Every read counts as activity: once nothing has been received for `idleTimeout` the
/// connection is closed, so a client that sends a length prefix and stops is dropped, while one
/// that drips a byte at a time is not.
final class DNSTCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// First capacity of the buffer gathering one read's answers: a typical answer is 50-200
    /// bytes, so a pipelined burst of a few tens of them fits without the buffer growing, and
    /// one query's answer does not take more than a page.
    static let answersCapacity = 4096

    private let engine: EngineReference
    private let scratch: ResponseScratch
    private let counters: QueryCounters
    // Exclusivity unchecked: see `ResponseScratch`.
    @exclusivity(unchecked) private var client = IPAddress.unspecified
    /// Routing state of this connection (weighted choices, round-robin rotation).
    @exclusivity(unchecked) private var state: RoutingState
    @exclusivity(unchecked) private var framing = DNSTCPFraming()
    /// Framed answers not yet written (empty between reads).
    @exclusivity(unchecked) private var answers = ByteBuffer()
    @exclusivity(unchecked) private var closing = false
    /// The zone transfer being sent; messages that arrive meanwhile wait in `framing` and the
    /// end of the client's input waits in `closeWhenDone` (RFC 5936 §4.1: answered in order).
    @exclusivity(unchecked) private var transfer: OutgoingTransfer?
    /// True while `framing` hands out messages, so that it is never asked to from inside.
    @exclusivity(unchecked) private var taking = false
    @exclusivity(unchecked) private var closeWhenDone = false
    /// Messages and bytes of the transfer being sent, and when it started, for its log line.
    @exclusivity(unchecked) private var transferMessages = 0
    @exclusivity(unchecked) private var transferBytes = 0
    @exclusivity(unchecked) private var transferStart = ContinuousClock.now
    /// The connection's idle clock, pushed on by every read and every transfer message sent.
    private let connection: TCPConnections.Entry
    private let idleTimeout: TimeAmount
    /// The next look at the idle clock.
    @exclusivity(unchecked) private var idleCheck: Scheduled<Void>?
    /// Where outgoing transfers are logged (one line when each starts and one when it ends).
    private let logger: Logger

    init(engine: EngineReference, scratch: ResponseScratch, counters: QueryCounters, connection: TCPConnections.Entry,
         idleTimeout: TimeAmount, logger: Logger) {
        self.engine = engine
        self.scratch = scratch
        self.counters = counters
        self.connection = connection
        self.idleTimeout = idleTimeout
        self.logger = logger
        state = RoutingState(seed: scratch.seeds.next())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context: context, in: idleTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        client = IPAddress(context.channel.remoteAddress)
        if idleCheck == nil { scheduleIdleCheck(context: context, in: idleTimeout) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext, in delay: TimeAmount) {
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            let idle = TimeAmount.nanoseconds(Int64(context.eventLoop.now.uptimeNanoseconds - connection.lastActivity.load(ordering: .relaxed)))
            if idle >= idleTimeout {
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(context: context, in: idleTimeout - idle)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.lastActivity.store(context.eventLoop.now.uptimeNanoseconds, ordering: .relaxed)
        guard !closing else { return }
        framing.receive(unwrapInboundIn(data))
        answerReceived(context: context)
    }

    /// Answers the complete messages received, in order, until one starts a zone transfer (the
    /// rest wait in `framing` for its end) or closes the connection.
    private func answerReceived(context: ChannelHandlerContext) {
        guard transfer == nil, !closing else { return }
        // One load of the engine per read, not per message: a load is two compare-and-swaps on
        // the reference every thread shares.
        let box = engine.load()
        taking = true
        framing.takeMessages { message in
            answer(message, with: box, context: context)
            return transfer == nil && !closing
        }
        taking = false
    }

    /// Answers one message: a zone transfer the engine admits is streamed, anything else answered
    /// by the query path into `answers`.
    private func answer(_ query: UnsafeRawBufferPointer, with box: EngineReference.Box, context: ChannelHandlerContext) {
        if let stream = box.engine.transfer(query, from: client) {
            writeAnswers(context: context)
            transfer = stream
            (transferMessages, transferBytes, transferStart) = (0, 0, .now)
            logger.info("transfer out: started", metadata: transferMetadata(stream))
            Counter(label: "meridian_transfers_out_total", dimensions: [("kind", stream.kind.hasPrefix("IXFR, incremental") ? "IXFR, incremental" : stream.kind)]).increment()
            sendTransfer(context: context)
            return
        }
        var outcome = QueryOutcome()
        let length = box.engine.respond(to: query, from: client, over: .tcp, into: scratch.buffer, state: &state,
                                        signatures: &scratch.signatures, outcome: &outcome)
        scratch.log?.consider(query, outcome, client: client, transport: .tcp, engine: box.engine)
        scratch.log?.flush()
        counters.record(outcome, over: .tcp, shard: scratch.shard, answers: box.tally)
        guard length > 0 else { return closeAfterWrites(context: context) }
        if answers.capacity == 0 { answers = context.channel.allocator.buffer(capacity: Self.answersCapacity) }
        answers.writeInteger(UInt16(length))
        answers.writeBytes(UnsafeRawBufferPointer(rebasing: scratch.buffer[..<length]))
    }

    /// Writes and flushes the answers gathered so far, if any.
    private func writeAnswers(context: ChannelHandlerContext) {
        guard answers.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(answers), promise: nil)
        answers = ByteBuffer()
    }

    /// Sends the transfer's next message and, once it is written, the one after; at the end goes
    /// on with the messages that arrived meanwhile. One message is in flight at a time, so a
    /// transfer holds one message in memory however large the zone.
    private func sendTransfer(context: ChannelHandlerContext) {
        guard !closing, var stream = transfer else { return }
        let length = stream.next(into: scratch.buffer)
        transfer = stream
        guard length > 0 else {
            let took = ContinuousClock.now - transferStart
            var meta = transferMetadata(stream)
            meta["messages"] = "\(transferMessages)"
            meta["bytes"] = "\(transferBytes)"
            meta["seconds"] = "\(String(format: "%.3f", Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18))"
            logger.info("transfer out: done", metadata: meta)
            transfer = nil
            // A transfer whose writes all completed at once ends inside the loop that started
            // it, which goes on taking messages itself.
            if !taking { answerReceived(context: context) }
            writeAnswers(context: context)
            if transfer == nil && closeWhenDone { closeAfterWrites(context: context) }
            return
        }
        transferMessages += 1
        transferBytes += length
        var out = context.channel.allocator.buffer(capacity: 2 + length)
        out.writeInteger(UInt16(length))
        out.writeBytes(UnsafeRawBufferPointer(rebasing: scratch.buffer[..<length]))
        context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success:
                connection.lastActivity.store(context.eventLoop.now.uptimeNanoseconds, ordering: .relaxed)
                sendTransfer(context: context)
            case .failure(let error):
                if let stream = transfer {
                    var meta = transferMetadata(stream)
                    meta["messages"] = "\(transferMessages)"
                    meta["error"] = "\(error)"
                    logger.warning("transfer out: cut short", metadata: meta)
                }
                transfer = nil
                context.close(promise: nil)
            }
        }
    }

    private func transferMetadata(_ stream: OutgoingTransfer) -> Logger.Metadata {
        ["zone": "\(stream.zone.map { "\($0)" } ?? "?")", "kind": "\(stream.kind)", "serial": "\(stream.serial.map { "\($0)" } ?? "-")",
         "client": "\(client)"]
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        writeAnswers(context: context)
    }

    /// Stops reading while responses pile up unsent (a client that queries but does not read),
    /// so memory stays bounded; such a client then goes idle and is closed.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        try? context.channel.syncOptions?.setOption(.autoRead, value: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            if transfer != nil { closeWhenDone = true } else { closeAfterWrites(context: context) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Closes the connection once the answers already made are written: they go out in one last
    /// write, empty when there are none, whose promise NIO completes only after every earlier
    /// write's (a write has no promise otherwise, which saves making a future per read).
    private func closeAfterWrites(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(answers)).whenComplete { _ in channel.close(promise: nil) }
        answers = ByteBuffer()
    }
}
