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
        /// The sampled query log; nil keeps it off.
        public var queryLog: QueryLogSettings?

        public init(listen: [ListenAddress], workers: Int, tcpIdleTimeout: Duration, tcpMaxConnections: Int,
                    queryLog: QueryLogSettings? = nil) {
            self.listen = listen
            self.workers = workers
            self.tcpIdleTimeout = tcpIdleTimeout
            self.tcpMaxConnections = tcpMaxConnections
            self.queryLog = queryLog
        }

        /// The network settings of a configuration file; `workers` defaults to the number of cores.
        public init(_ config: ServerConfiguration) {
            self.init(
                listen: config.listen, workers: config.workers ?? System.coreCount,
                tcpIdleTimeout: config.tcp.idleTimeout, tcpMaxConnections: config.tcp.maxConnections,
                queryLog: config.queryLog)
        }
    }

    private let engine: EngineReference
    private let counters: QueryCounters
    private let logger: Logger
    private let stopping: ManagedAtomic<Bool>
    private let udpSockets: [Int32]
    private let threads: [pthread_t]
    private let tcpGroup: MultiThreadedEventLoopGroup
    private let tcpChannels: [any Channel]

    private init(
        engine: EngineReference, counters: QueryCounters, logger: Logger, stopping: ManagedAtomic<Bool>, udpSockets: [Int32],
        threads: [pthread_t], tcpGroup: MultiThreadedEventLoopGroup, tcpChannels: [any Channel]
    ) {
        self.engine = engine
        self.counters = counters
        self.logger = logger
        self.stopping = stopping
        self.udpSockets = udpSockets
        self.threads = threads
        self.tcpGroup = tcpGroup
        self.tcpChannels = tcpChannels
    }

    /// Binds every address over UDP and TCP and starts answering. Nothing is left open on failure.
    public static func start(_ configuration: Configuration, engine: QueryEngine, logger: Logger) throws(DNSServerError) -> DNSServer {
        let workers = max(1, configuration.workers)
        // One counter shard per answering thread: the UDP workers, then the TCP event loops.
        let udpThreads = configuration.listen.count * workers
        let reference = EngineReference(engine, shards: udpThreads + workers)
        let counters = QueryCounters(shards: udpThreads + workers)
        let queryLog = try configuration.queryLog.map { settings throws(DNSServerError) in try QueryLog(settings) }
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
                engine: reference, counters: counters, queryLog: queryLog, firstShard: udpThreads, group: group,
                idleTimeout: configuration.tcpIdleTimeout, connections: TCPConnections(limit: configuration.tcpMaxConnections))
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
        for (shard, socket) in udpSockets.enumerated() {
            let worker = UDPWorker(socket: socket, stopping: stopping, engine: reference, counters: counters, shard: shard, queryLog: queryLog)
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
            engine: reference, counters: counters, logger: logger, stopping: stopping, udpSockets: udpSockets,
            threads: threads, tcpGroup: group, tcpChannels: tcpChannels)
    }

    /// Answers every later query with `engine`; queries already being answered finish with the old one.
    public func replaceEngine(_ engine: QueryEngine) {
        self.engine.replace(with: engine)
    }

    /// The query path's counters so far, summed over every thread (for metrics and the status page).
    public func statistics() -> QueryStatistics {
        var statistics = QueryStatistics()
        counters.totals(into: &statistics)
        statistics.answers = answerTotals()
        return statistics
    }

    /// Routed answers per service and data center so far (the status page's shares).
    public func answerTotals() -> [QueryStatistics.AnswerKey: UInt64] { engine.answers() }

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
        nsid = config.nsid
    }
}

/// Accepts TCP connections for every listen address on one event loop group.
private struct TCPServer {
    /// Pending-connection queue of each TCP listener (see where it is applied).
    static let backlog: Int32 = 4096
    let engine: EngineReference
    let counters: QueryCounters
    let group: MultiThreadedEventLoopGroup
    let idleTimeout: Duration
    let connections: TCPConnections
    /// One response buffer, counter shard and query-log writer per event loop (see `ResponseScratch`).
    let scratch: [ObjectIdentifier: ResponseScratch]

    init(engine: EngineReference, counters: QueryCounters, queryLog: QueryLog?, firstShard: Int,
         group: MultiThreadedEventLoopGroup, idleTimeout: Duration, connections: TCPConnections) {
        self.engine = engine
        self.counters = counters
        self.group = group
        self.idleTimeout = idleTimeout
        self.connections = connections
        var scratch: [ObjectIdentifier: ResponseScratch] = [:]
        for (i, loop) in group.makeIterator().enumerated() {
            scratch[ObjectIdentifier(loop)] = ResponseScratch(shard: firstShard + i, log: queryLog?.writer())
        }
        self.scratch = scratch
    }

    func bootstrap() -> ServerBootstrap {
        let (engine, counters, connections, scratch) = (engine, counters, connections, scratch)
        let idle = TimeAmount(idleTimeout)
        return ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        TCPIdleHandler(connection: connections.admit(channel), timeout: idle),
                        ByteToMessageHandler(DNSTCPFrameDecoder()),
                        DNSTCPQueryHandler(engine: engine, scratch: scratch[ObjectIdentifier(channel.eventLoop)]!, counters: counters))
                }
            }
    }
}
