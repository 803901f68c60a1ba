import Atomics
import CDNSIO
public import Logging
import NIOCore
import NIOPosix
public import QueryEngine
public import ServerConfig
#if canImport(Glibc)
import Glibc
#endif

/// A running DNS server: UDP worker threads over recvmmsg/sendmmsg and SwiftNIO for TCP, on
/// every listen address, all answering with one swappable `QueryEngine`.
///
/// ```swift
/// let server = try DNSServer.start(DNSServer.Configuration(config), engine: engine, logger: logger)
/// // … until SIGTERM …
/// server.shutdown()
/// ```
public final class DNSServer: Sendable {
    /// What to listen on and how.
    public struct Configuration: Sendable {
        public var listen: [ListenAddress]
        /// UDP worker threads per listen address, each with its own SO_REUSEPORT socket.
        public var workers: Int
        /// A TCP connection that receives nothing for this long is closed.
        public var tcpIdleTimeout: Duration
        /// Open TCP connections; beyond it the longest-idle connection is closed.
        public var tcpMaxConnections: Int

        public init(listen: [ListenAddress], workers: Int, tcpIdleTimeout: Duration, tcpMaxConnections: Int) {
            self.listen = listen
            self.workers = workers
            self.tcpIdleTimeout = tcpIdleTimeout
            self.tcpMaxConnections = tcpMaxConnections
        }

        /// The network settings of a configuration file; `workers` defaults to the number of cores.
        public init(_ config: ServerConfiguration) {
            self.init(
                listen: config.listen, workers: config.workers ?? System.coreCount,
                tcpIdleTimeout: config.tcp.idleTimeout, tcpMaxConnections: config.tcp.maxConnections)
        }
    }

    private let engine: EngineReference
    private let logger: Logger
    private let stopping: ManagedAtomic<Bool>
    private let udpSockets: [Int32]
    private let threads: [pthread_t]
    private let tcpGroup: MultiThreadedEventLoopGroup
    private let tcpChannels: [any Channel]

    private init(
        engine: EngineReference, logger: Logger, stopping: ManagedAtomic<Bool>, udpSockets: [Int32],
        threads: [pthread_t], tcpGroup: MultiThreadedEventLoopGroup, tcpChannels: [any Channel]
    ) {
        self.engine = engine
        self.logger = logger
        self.stopping = stopping
        self.udpSockets = udpSockets
        self.threads = threads
        self.tcpGroup = tcpGroup
        self.tcpChannels = tcpChannels
    }

    /// Binds every address over UDP and TCP and starts answering. Nothing is left open on failure.
    public static func start(_ configuration: Configuration, engine: QueryEngine, logger: Logger) throws(DNSServerError) -> DNSServer {
        let reference = EngineReference(engine)
        let workers = max(1, configuration.workers)
        let stopping = ManagedAtomic(false)
        var udpSockets: [Int32] = []
        let group = MultiThreadedEventLoopGroup(numberOfThreads: workers)
        var tcpChannels: [any Channel] = []
        func cleanUp() {
            for fd in udpSockets { close(fd) }
            for channel in tcpChannels { channel.close(promise: nil) }
            try? group.syncShutdownGracefully()
        }

        do throws(DNSServerError) {
            for address in configuration.listen {
                for _ in 0..<workers {
                    udpSockets.append(try boundSocket(address, stream: false))
                }
            }
            let tcp = TCPServer(
                engine: reference, group: group, idleTimeout: configuration.tcpIdleTimeout,
                connections: TCPConnections(limit: configuration.tcpMaxConnections))
            for address in configuration.listen {
                let fd = try boundSocket(address, stream: true)
                do {
                    tcpChannels.append(try tcp.bootstrap().withBoundSocket(fd).wait())
                    // NIO listens on a socket it is handed with a backlog of 128, which overflows when
                    // clients connect faster than one event loop accepts: the kernel then drops the SYN
                    // and the client waits a full second to retry. Listening again only raises the
                    // queue (gdnsd uses 4096 too; the kernel caps it at net.core.somaxconn).
                    listen(fd, TCPServer.backlog)
                } catch {
                    close(fd)
                    throw DNSServerError(address: address, reason: "TCP: \(error)")
                }
            }
        } catch {
            cleanUp()
            throw error
        }

        var threads: [pthread_t] = []
        for socket in udpSockets {
            let worker = UDPWorker(socket: socket, stopping: stopping, engine: reference)
            guard let thread = startThread({
                if let failure = worker.run() { logger.critical("UDP worker stopped: \(failure)") }
            }) else {
                // Stop the workers already running, then release everything.
                stopping.store(true, ordering: .relaxed)
                for fd in udpSockets { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
                for t in threads { pthread_join(t, nil) }
                cleanUp()
                throw DNSServerError(address: nil, reason: "cannot start a UDP worker thread")
            }
            threads.append(thread)
        }
        return DNSServer(
            engine: reference, logger: logger, stopping: stopping, udpSockets: udpSockets,
            threads: threads, tcpGroup: group, tcpChannels: tcpChannels)
    }

    /// Answers every later query with `engine`; queries already being answered finish with the old one.
    public func replaceEngine(_ engine: QueryEngine) {
        self.engine.replace(with: engine)
    }

    /// Stops reading, lets the UDP workers finish their batch, closes every socket and TCP
    /// connection, and returns when all of it is done. Later calls do nothing.
    public func shutdown() {
        guard stopping.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        for fd in udpSockets { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        for channel in tcpChannels { try? channel.close().wait() }
        for thread in threads { pthread_join(thread, nil) }
        for fd in udpSockets { close(fd) }
        do {
            try tcpGroup.syncShutdownGracefully()
        } catch {
            logger.warning("TCP shutdown: \(error)")
        }
    }

    private static func boundSocket(_ address: ListenAddress, stream: Bool) throws(DNSServerError) -> Int32 {
        let fd = cdnsio_bound_socket(address.host, address.port, stream ? 1 : 0)
        guard fd >= 0 else {
            throw DNSServerError(address: address, reason: "\(stream ? "TCP" : "UDP"): \(String(cString: strerror(-fd)))")
        }
        return fd
    }
}

/// A listen address that could not be served, or another reason the server could not start.
public struct DNSServerError: Error, Sendable, CustomStringConvertible {
    public var address: ListenAddress?
    public var reason: String
    public var description: String { address.map { "\($0): \(reason)" } ?? reason }
}

extension QueryEngine.Options {
    /// The response settings of a configuration file.
    public init(_ config: ServerConfiguration) {
        self.init()
        identity = config.identity
        version = config.version
    }
}

/// Accepts TCP connections for every listen address on one event loop group.
private struct TCPServer {
    /// Pending-connection queue of each TCP listener (see where it is applied).
    static let backlog: Int32 = 4096
    let engine: EngineReference
    let group: MultiThreadedEventLoopGroup
    let idleTimeout: Duration
    let connections: TCPConnections
    /// One response buffer per event loop (see `ResponseScratch`).
    let scratch: [ObjectIdentifier: ResponseScratch]

    init(engine: EngineReference, group: MultiThreadedEventLoopGroup, idleTimeout: Duration, connections: TCPConnections) {
        self.engine = engine
        self.group = group
        self.idleTimeout = idleTimeout
        self.connections = connections
        var scratch: [ObjectIdentifier: ResponseScratch] = [:]
        for loop in group.makeIterator() { scratch[ObjectIdentifier(loop)] = ResponseScratch() }
        self.scratch = scratch
    }

    func bootstrap() -> ServerBootstrap {
        let (engine, connections, scratch) = (engine, connections, scratch)
        let idle = TimeAmount(idleTimeout)
        return ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        TCPIdleHandler(connection: connections.admit(channel), timeout: idle),
                        ByteToMessageHandler(DNSTCPFrameDecoder()),
                        DNSTCPQueryHandler(engine: engine, scratch: scratch[ObjectIdentifier(channel.eventLoop)]!))
                }
            }
    }
}
