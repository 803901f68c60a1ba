public import HealthModel
import DNSWire
import IPNet
import Foundation
public import Logging
import NIOCore
import NIOPosix

/// `dns`: sends one UDP query for `name`/`qtype` (default A) to the target (`host:port`, port from
/// the target, else parameter `port`, else 53) and passes when the response has rcode `rcode`
/// (default NOERROR) and, if `answer` is set, an answer record whose presentation
/// (`owner TYPE rdata`) contains it.
public struct DNSChecker: HealthChecker {
    let name: DNSName
    let type: RRType
    let rcode: RCode
    let answer: String?
    let port: Int?

    public static let parameters = [
        CheckParameter("port", .port), CheckParameter("name", .domainName, required: true),
        CheckParameter("qtype", .queryType), CheckParameter("rcode", .responseCode), CheckParameter("answer", .text),
    ]

    public init(definition: CheckDefinition, logger: Logger) {
        let p = definition.parameters
        // Valid by their declarations; the fallbacks only cover a definition that skipped them.
        name = p["name"].flatMap { try? DNSName($0, origin: .root) } ?? .root
        type = p["qtype"].flatMap { RRType(mnemonic: $0) } ?? .a
        rcode = p["rcode"].flatMap { RCode(mnemonic: $0) ?? UInt16($0).map { RCode($0) } } ?? .noError
        answer = p["answer"]
        port = definition.port
    }

    public func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome {
        let (host, targetPort) = target.hostPort
        let id = UInt16.random(in: .min ... .max)
        do {
            let server = try SocketAddress.makeAddressResolvingHost(host, port: targetPort ?? port ?? 53)
            let response = try await Self.exchange(Message.query(id: id, name: name, type: type), with: server, id: id, timeout: timeout)
            let message = try Message(decoding: response)
            guard message.rcode == rcode else { return .fail("\(message.rcode), expected \(rcode)") }
            guard let answer else { return .pass("\(message.rcode)") }
            let texts = message.answer.map(Self.presentation)
            guard let match = texts.first(where: { $0.contains(answer) }) else {
                return .fail("\(message.rcode), no answer contains '\(answer)' (\(texts.count) records)")
            }
            return .pass("\(message.rcode), \(match)")
        } catch {
            return .fail(CheckFailure.describe(error, timeout: timeout))
        }
    }

    /// Sends `query` to `server` from an ephemeral port and returns the first response from it with `id`.
    static func exchange(_ query: [UInt8], with server: SocketAddress, id: UInt16, timeout: Duration) async throws -> [UInt8] {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: [UInt8].self)
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(server: server, id: id, promise: promise))
                }
            }
            .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(DNSTimeout()) }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query)), promise: nil)
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    /// Completes the promise with the first datagram from the server that carries the query's ID.
    final class ResponseHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let server: SocketAddress
        let id: UInt16
        let promise: EventLoopPromise<[UInt8]>

        init(server: SocketAddress, id: UInt16, promise: EventLoopPromise<[UInt8]>) {
            self.server = server
            self.id = id
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard envelope.remoteAddress == server, envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self) == id else { return }
            promise.succeed(Array(envelope.data.readableBytesView))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
        }
    }

    struct DNSTimeout: Error, CustomStringConvertible {
        var description: String { "no response" }
    }

    /// `owner TYPE rdata`, with the RDATA of common types in presentation form and the rest as
    /// RFC 3597 `\# length hex`.
    static func presentation(_ record: Message.Record) -> String {
        let d = record.rdata
        let rdata: String
        switch record.type {
        case .a where d.count == 4:
            rdata = d.map(String.init).joined(separator: ".")
        case .aaaa where d.count == 16:
            rdata = IPAddress(bytes: d)?.description ?? "?"
        case .ns, .cname, .ptr, .dname:
            rdata = (try? DNSName(wire: d))?.description ?? "?"
        case .mx where d.count > 2:
            rdata = "\(UInt16(d[0]) << 8 | UInt16(d[1])) \((try? DNSName(wire: Array(d[2...])))?.description ?? "?")"
        case .txt:
            var parts: [String] = []
            var i = 0
            while i < d.count {
                let end = min(d.count, i + 1 + Int(d[i]))
                parts.append("\"\(String(decoding: d[(i + 1)..<end], as: UTF8.self))\"")
                i = end
            }
            rdata = parts.joined(separator: " ")
        default:
            rdata = "\\# \(d.count) " + d.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }
        return "\(record.owner) \(record.type) \(rdata)"
    }
}
