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
/// in one read. Emits each message without its length prefix.
public struct DNSTCPFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) -> DecodingState {
        while case .continue = decode(context: context, buffer: &buffer) {}
        // A message cut off by the end of the stream is dropped with the connection.
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}

/// A response buffer for one event loop, shared by every connection on it: handlers run on
/// their loop's thread one at a time, so a message is answered into it and copied out at once.
final class ResponseScratch: @unchecked Sendable {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)
    /// The event loop's shard of the query counters and answer tallies.
    let shard: Int
    /// The event loop's query-log writer, when the log is on.
    var log: QueryLogWriter?
    /// The event loop's signatures made while answering (DO=1 in zones signed online).
    var signatures = SignatureCache()
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

/// First in a connection's pipeline: records every read as activity and closes the connection
/// once nothing has been received for `timeout` — so a client that sends a length prefix and
/// stops is dropped, while one that drips a byte at a time is not.
final class TCPIdleHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: TCPConnections.Entry
    private let timeout: TimeAmount
    private var check: Scheduled<Void>?

    init(connection: TCPConnections.Entry, timeout: TimeAmount) {
        self.connection = connection
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(context: context, in: timeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if check == nil { schedule(context: context, in: timeout) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.lastActivity.store(context.eventLoop.now.uptimeNanoseconds, ordering: .relaxed)
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
    }

    private func schedule(context: ChannelHandlerContext, in delay: TimeAmount) {
        check = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            let idle = TimeAmount.nanoseconds(Int64(context.eventLoop.now.uptimeNanoseconds - connection.lastActivity.load(ordering: .relaxed)))
            if idle >= timeout {
                context.close(promise: nil)
            } else {
                schedule(context: context, in: timeout - idle)
            }
        }
    }
}

/// Answers each framed message in order, writing responses as they are made and flushing once
/// per read burst, and pauses reading while the client is not reading. An engine result of 0 (nothing to send) or the client's end of input closes
/// the connection once earlier responses are written.
final class DNSTCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let engine: EngineReference
    private let scratch: ResponseScratch
    private let counters: QueryCounters
    private var client = IPAddress.unspecified
    /// Routing state of this connection (weighted choices, round-robin rotation).
    private var state = RoutingState(seed: UInt64.random(in: 0...UInt64.max))
    private var lastWrite: EventLoopFuture<Void>?
    private var closing = false
    /// The zone transfer being sent; messages that arrive meanwhile wait in `pending` and the
    /// end of the client's input waits in `closeWhenDone` (RFC 5936 §4.1: answered in order).
    private var transfer: OutgoingTransfer?
    private var pending: [ByteBuffer] = []
    private var closeWhenDone = false
    /// Messages and bytes of the transfer being sent, and when it started, for its log line.
    private var transferMessages = 0
    private var transferBytes = 0
    private var transferStart = ContinuousClock.now
    /// The connection's idle clock, pushed on by every transfer message sent.
    private let connection: TCPConnections.Entry?
    /// Where outgoing transfers are logged (one line when each starts and one when it ends).
    private let logger: Logger

    init(engine: EngineReference, scratch: ResponseScratch, counters: QueryCounters, connection: TCPConnections.Entry? = nil,
         logger: Logger) {
        self.engine = engine
        self.scratch = scratch
        self.counters = counters
        self.connection = connection
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        client = IPAddress(context.channel.remoteAddress)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let message = unwrapInboundIn(data)
        if transfer != nil {
            pending.append(message)
            return
        }
        answer(message, context: context)
    }

    /// Answers one message: a zone transfer the engine admits is streamed, anything else answered
    /// by the query path.
    private func answer(_ message: ByteBuffer, context: ChannelHandlerContext) {
        let box = engine.load()
        if let stream = message.withUnsafeReadableBytes({ box.engine.transfer($0, from: client) }) {
            transfer = stream
            (transferMessages, transferBytes, transferStart) = (0, 0, .now)
            logger.info("transfer out: started", metadata: transferMetadata(stream))
            Counter(label: "meridian_transfers_out_total", dimensions: [("kind", stream.kind.hasPrefix("IXFR, incremental") ? "IXFR, incremental" : stream.kind)]).increment()
            sendTransfer(context: context)
            return
        }
        var outcome = QueryOutcome()
        let length = message.withUnsafeReadableBytes { query in
            let length = box.engine.respond(to: query, from: client, over: .tcp, into: scratch.buffer, state: &state,
                                            signatures: &scratch.signatures, outcome: &outcome)
            if scratch.log != nil {
                scratch.log!.consider(query, outcome, client: client, transport: .tcp, engine: box.engine)
                scratch.log!.flush()
            }
            return length
        }
        counters.record(outcome, over: .tcp, shard: scratch.shard, answers: box.tally)
        guard length > 0 else { return closeAfterWrites(context: context) }
        var out = context.channel.allocator.buffer(capacity: 2 + length)
        out.writeInteger(UInt16(length))
        out.writeBytes(UnsafeRawBufferPointer(rebasing: scratch.buffer[..<length]))
        lastWrite = context.write(wrapOutboundOut(out))
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
            while transfer == nil, !closing, !pending.isEmpty {
                answer(pending.removeFirst(), context: context)
            }
            context.flush()
            if transfer == nil && closeWhenDone { closeAfterWrites(context: context) }
            return
        }
        transferMessages += 1
        transferBytes += length
        var out = context.channel.allocator.buffer(capacity: 2 + length)
        out.writeInteger(UInt16(length))
        out.writeBytes(UnsafeRawBufferPointer(rebasing: scratch.buffer[..<length]))
        let write = context.writeAndFlush(wrapOutboundOut(out))
        lastWrite = write
        write.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success:
                connection?.lastActivity.store(context.eventLoop.now.uptimeNanoseconds, ordering: .relaxed)
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
        context.flush()
    }

    /// Stops reading while responses pile up unsent (a client that queries but does not read),
    /// so memory stays bounded; such a client then goes idle and is closed.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        try? context.channel.syncOptions?.setOption(.autoRead, value: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            if transfer != nil || !pending.isEmpty { closeWhenDone = true } else { closeAfterWrites(context: context) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func closeAfterWrites(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        context.flush()
        let channel = context.channel
        if let lastWrite {
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}
