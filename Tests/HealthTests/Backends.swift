import DNSWire
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A TCP backend on 127.0.0.1 for the tests: accepts and holds connections, answers HTTP/1.1
/// with a fixed status and body, or accepts and never answers.
final class TCPBackend: Sendable {
    enum Mode: Sendable {
        case accept
        case http(status: Int, body: String)
        case silent
    }

    let channel: any Channel
    let port: Int

    init(_ mode: Mode, port: Int = 0) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if case .http(let status, let body) = mode {
                        try child.pipeline.syncOperations.addHandler(HTTPResponder(status: status, body: body))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        self.port = channel.localAddress!.port!
    }

    /// Stops listening (the port then refuses connections).
    func stop() async throws { try await channel.close() }

    /// Reads a request head, answers, closes.
    final class HTTPResponder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let status: Int
        let body: String
        var received = ""

        init(status: Int, body: String) {
            self.status = status
            self.body = body
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            guard received.contains("\r\n\r\n") else { return }
            let response = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// A UDP DNS responder on 127.0.0.1: answers every query with `rcode` and, for A queries when the
/// rcode is NOERROR, one A record 127.0.0.1; or stays silent.
final class DNSBackend: Sendable {
    let channel: any Channel
    let port: Int

    init(rcode: RCode = .noError, silent: Bool = false) async throws {
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if !silent { try channel.pipeline.syncOperations.addHandler(Responder(rcode: rcode)) }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    func stop() async throws { try await channel.close() }

    final class Responder: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let rcode: RCode
        init(rcode: RCode) { self.rcode = rcode }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = Array(envelope.data.readableBytesView)
            guard let query = try? Message(decoding: bytes), let question = query.question.first else { return }
            let answers = rcode == .noError && question.type == .a ? 1 : 0
            var out: [UInt8] = [bytes[0], bytes[1], 0x84, UInt8(rcode.rawValue), 0, 1, 0, UInt8(answers), 0, 0, 0, 0]
            out += question.name.wire + [0, UInt8(question.type.rawValue), 0, 1]
            if answers == 1 { out += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1] }
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: out))),
                                  promise: nil)
        }
    }
}

/// A loopback TCP port that nothing listens on (bound once, then closed).
func closedPort() async throws -> Int {
    let backend = try await TCPBackend(.accept)
    try await backend.stop()
    return backend.port
}

/// A fresh temporary directory.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("health-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes an executable shell script.
func script(_ body: String, in directory: URL, name: String = "check.sh") throws -> String {
    let path = directory.appendingPathComponent(name).path
    try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
    return path
}

/// Polls `condition` every 10 ms until it holds or `limit` passes; returns whether it held.
func eventually(within limit: Duration, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// An HTTPS server with a self-signed certificate for 127.0.0.1, run by Python's `ssl` module
/// (a TLS server in Swift would need NIOSSL, which the test target does not depend on).
final class PythonHTTPSBackend: Sendable {
    let process: Process
    let port: Int

    init(directory: URL) throws {
        let cert = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        let server = """
        import http.server, ssl, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"tls ok"
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a): pass
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
        s.socket = c.wrap_socket(s.socket, server_side=True, do_handshake_on_connect=False)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", server, cert, key]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line: [UInt8] = []
        while let byte = try out.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") { line.append(byte) }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else { process.terminate(); throw CocoaError(.fileReadCorruptFile) }
        self.port = port
    }

    /// Kills the server (not waited for: Foundation reaps it).
    func stop() { kill(process.processIdentifier, SIGKILL) }
}
