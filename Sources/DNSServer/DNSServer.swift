import DNSAuth
import ZoneTransfer
import Atomics
import CDNSIO
import IPNet
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
        /// Kernel buffer sizes of every UDP socket.
        public var udpBuffers: UDPBufferSettings
        /// Response rate limiting over UDP; nil: off.
        public var rateLimit: RateLimitSettings?

        public init(listen: [ListenAddress], workers: Int, tcpIdleTimeout: Duration, tcpMaxConnections: Int,
                    queryLog: QueryLogSettings? = nil, udpBuffers: UDPBufferSettings = UDPBufferSettings(),
                    rateLimit: RateLimitSettings? = nil) {
            self.rateLimit = rateLimit
            self.listen = listen
            self.workers = workers
            self.tcpIdleTimeout = tcpIdleTimeout
            self.tcpMaxConnections = tcpMaxConnections
            self.queryLog = queryLog
            self.udpBuffers = udpBuffers
        }

        /// The network settings of a configuration file; `workers` defaults to the number of cores.
        public init(_ config: ServerConfiguration) {
            self.init(
                listen: config.listen, workers: config.workers ?? System.coreCount,
                tcpIdleTimeout: config.tcp.idleTimeout, tcpMaxConnections: config.tcp.maxConnections,
                queryLog: config.queryLog, udpBuffers: config.udpBuffers, rateLimit: config.rateLimit)
        }
    }

    private let engine: EngineReference
    private let counters: QueryCounters
    private let rateLimiter: ResponseRateLimiter?
    private let logger: Logger
    private let stopping: ManagedAtomic<Bool>
    private let udpSockets: [Int32]
    private let threads: [pthread_t]
    private let tcpGroup: MultiThreadedEventLoopGroup
    private let tcpChannels: [any Channel]

    private init(
        engine: EngineReference, counters: QueryCounters, rateLimiter: ResponseRateLimiter?, logger: Logger,
        stopping: ManagedAtomic<Bool>, udpSockets: [Int32],
        threads: [pthread_t], tcpGroup: MultiThreadedEventLoopGroup, tcpChannels: [any Channel]
    ) {
        self.engine = engine
        self.counters = counters
        self.rateLimiter = rateLimiter
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
        let rateLimiter = configuration.rateLimit.map { ResponseRateLimiter($0, shards: udpThreads) }
        let stopping = ManagedAtomic(false)
        var udpSockets: [Int32] = []
        let group = MultiThreadedEventLoopGroup(numberOfThreads: workers)
        var tcpChannels: [any Channel] = []
        func cleanUp() {
            for fd in udpSockets { close(fd) }
            for channel in tcpChannels { channel.close(promise: nil) }
            try? group.syncShutdownGracefully()
        }

        var packetInfo: [Bool] = []
        do throws(DNSServerError) {
            // Our workers share each address through SO_REUSEPORT, which would just as gladly share
            // it with another process of the same user (a second meridian with the same listen)
            // and split the queries between the two. So every address is first bound once without
            // it, over UDP and TCP: that fails while anyone else holds it. All are checked before
            // any is bound, since a wildcard address and a specific one on the same port would
            // otherwise collide with our own sockets.
            for address in configuration.listen {
                try checkAvailable(address, stream: false)
                try checkAvailable(address, stream: true)
            }
            for address in configuration.listen {
                for worker in 0..<workers {
                    let fd = try boundSocket(address, stream: false)
                    udpSockets.append(fd)
                    let enabled = cdnsio_enable_packet_info(fd)
                    guard enabled >= 0 else {
                        throw DNSServerError(.socketOption, address: address, reason: "UDP: packet information: \(String(cString: strerror(-enabled)))")
                    }
                    packetInfo.append(enabled == 1)
                    let buffers = try setBuffers(fd, configuration.udpBuffers, address)
                    if worker == 0 { logBuffers(buffers, configuration.udpBuffers, address, logger: logger) }
                }
            }
            let tcp = TCPServer(
                engine: reference, counters: counters, queryLog: queryLog, firstShard: udpThreads, group: group,
                idleTimeout: configuration.tcpIdleTimeout, connections: TCPConnections(limit: configuration.tcpMaxConnections),
                logger: logger)
            // Every event loop has its own listener on each address (SO_REUSEPORT: the kernel
            // spreads connections over them) and keeps the connections it accepts, so that a
            // connection is never handed to another loop's thread (a task submitted across
            // threads and an eventfd wake-up per connection).
            for address in configuration.listen {
                for loop in group.makeIterator() {
                    let fd = try boundSocket(address, stream: true)
                    do {
                        tcpChannels.append(try tcp.bootstrap(on: loop).withBoundSocket(fd).wait())
                        // NIO listens on a socket it is handed with a backlog of 128, which overflows when
                        // clients connect faster than one event loop accepts: the kernel then drops the SYN
                        // and the client waits a full second to retry. Listening again only raises the
                        // queue (gdnsd uses 4096 too; the kernel caps it at net.core.somaxconn).
                        listen(fd, TCPServer.backlog)
                    } catch {
                        close(fd)
                        throw DNSServerError(.tcp, address: address, reason: "TCP: \(error)")
                    }
                }
            }
        } catch {
            cleanUp()
            throw error
        }

        var threads: [pthread_t] = []
        for (shard, socket) in udpSockets.enumerated() {
            let worker = UDPWorker(socket: socket, packetInfo: packetInfo[shard], stopping: stopping, engine: reference,
                                   counters: counters, shard: shard, queryLog: queryLog, rateLimiter: rateLimiter,
                                   logger: logger)
            guard let thread = startThread({
                if let failure = worker.run() { logger.critical("UDP worker stopped: \(failure)") }
            }) else {
                // Stop the workers already running, then release everything.
                stopping.store(true, ordering: .relaxed)
                for fd in udpSockets { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
                for t in threads { pthread_join(t, nil) }
                cleanUp()
                throw DNSServerError(.thread, address: nil, reason: "cannot start a UDP worker thread")
            }
            threads.append(thread)
        }
        return DNSServer(
            engine: reference, counters: counters, rateLimiter: rateLimiter, logger: logger, stopping: stopping, udpSockets: udpSockets,
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
        statistics.rateLimited = rateLimiter?.totals() ?? []
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
        let fd = cdnsio_bound_socket(address.host, address.port, stream ? 1 : 0, 1)
        guard fd >= 0 else { throw DNSServerError(address: address, stream: stream, errno: -fd) }
        return fd
    }

    /// Fails, naming the address, when another socket (of any process, ours included) is bound to
    /// `address` over TCP (`stream`) or UDP: it is bound once without SO_REUSEPORT, then closed.
    /// The admin listener is checked this way before the server starts, so that a port in use is
    /// reported before anything answers.
    public static func checkAvailable(_ address: ListenAddress, stream: Bool, role: String = "") throws(DNSServerError) {
        let fd = cdnsio_bound_socket(address.host, address.port, stream ? 1 : 0, 0)
        guard fd >= 0 else { throw DNSServerError(address: address, stream: stream, errno: -fd, role: role) }
        close(fd)
    }

    /// The receive and send buffer sizes the kernel granted `fd`, and whether they were forced past its limits.
    private struct GrantedBuffers { var receive: Int32; var send: Int32; var forced: Bool }

    private static func setBuffers(_ fd: Int32, _ sizes: UDPBufferSettings, _ address: ListenAddress) throws(DNSServerError) -> GrantedBuffers {
        var forcedReceive: Int32 = 0, forcedSend: Int32 = 0
        let receive = cdnsio_set_buffer(fd, 0, Int32(sizes.receive), &forcedReceive)
        let send = cdnsio_set_buffer(fd, 1, Int32(sizes.send), &forcedSend)
        for (what, result) in [("receive", receive), ("send", send)] where result < 0 {
            throw DNSServerError(.socketOption, address: address, reason: "UDP: \(what) buffer: \(String(cString: strerror(-result)))")
        }
        return GrantedBuffers(receive: receive, send: send, forced: forcedReceive == 1 && forcedSend == 1)
    }

    /// Logs the buffer sizes of an address's UDP sockets: a warning when the kernel granted less
    /// than configured (without CAP_NET_ADMIN, net.core.rmem_max and wmem_max cap them).
    private static func logBuffers(_ granted: GrantedBuffers, _ sizes: UDPBufferSettings, _ address: ListenAddress, logger: Logger) {
        let metadata: Logger.Metadata = [
            "address": "\(address)", "receive-buffer": "\(granted.receive)", "send-buffer": "\(granted.send)",
            "requested": "\(sizes.receive)/\(sizes.send)", "forced": "\(granted.forced)",
        ]
        if Int(granted.receive) < sizes.receive || Int(granted.send) < sizes.send {
            logger.warning(
                "UDP socket buffers smaller than configured: the kernel caps them at net.core.rmem_max and wmem_max without CAP_NET_ADMIN; raise those sysctls or expect drops in bursts",
                metadata: metadata)
        } else {
            logger.info("UDP socket buffers", metadata: metadata)
        }
    }
}

/// A listen address that could not be served, or another reason the server could not start.
public struct DNSServerError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A listen address cannot be bound (the errno says why; EADDRINUSE: someone serves it).
        case bind(errno: Int32)
        /// A socket option the server needs cannot be set.
        case socketOption
        /// The TCP listener cannot start.
        case tcp
        /// A UDP worker thread cannot start.
        case thread
        /// The query log cannot be opened.
        case queryLog
    }

    public var code: Code
    public var address: ListenAddress?
    public var reason: String
    public var description: String { address.map { "\($0): \(reason)" } ?? reason }

    public init(_ code: Code, address: ListenAddress?, reason: String) {
        self.code = code
        self.address = address
        self.reason = reason
    }

    /// A failed bind of `address`; `role` names a listener other than DNS (such as "admin API").
    init(address: ListenAddress, stream: Bool, errno: Int32, role: String = "") {
        var reason = "\(role.isEmpty ? "" : role + ", ")\(stream ? "TCP" : "UDP"): \(String(cString: strerror(errno)))"
        if errno == EADDRINUSE { reason += " (another process is serving it: is a second meridian running with this configuration?)" }
        self.init(.bind(errno: errno), address: address, reason: reason)
    }
}

extension QueryEngine.Options {
    /// The response settings of a configuration file.
    public init(_ config: ServerConfiguration) {
        self.init()
        identity = config.identity
        version = config.version
        nsid = config.nsid
        tsigKeys = TSIGKeyring(config.tsigKeys.compactMap { key in
            TSIGAlgorithm(rawValue: key.algorithm).map { TSIGKey(name: key.name, algorithm: $0, secret: key.secret) }
        })
        // The secrets were checked to be 16 bytes long when the configuration was read.
        cookies = ServerCookies(secret: config.cookies.secret ?? QueryEngine.Options.processCookieSecret,
                                previous: config.cookies.previousSecret)
        requireCookies = config.cookies.require
        for zone in config.zones {
            if let transfer = zone.transfer { transfers[zone.origin] = TransferAccess(allow: transfer.allow, keys: transfer.keys) }
            if zone.isSecondary {
                notifyAccess[zone.origin] = NotifyAccess(primaries: zone.primaries.compactMap { IPAddress($0.host) }, key: zone.primaryKey)
            }
        }
    }

    /// The cookie secret of an instance whose configuration names none: random, made once per
    /// process so that a reload keeps the cookies clients hold.
    static let processCookieSecret: [UInt8] = (0..<CookieSettings.secretLength).map { _ in UInt8.random(in: 0...255) }
}

/// Accepts TCP connections for every listen address, on every loop of one event loop group.
private struct TCPServer {
    /// Pending-connection queue of each TCP listener (see where it is applied).
    static let backlog: Int32 = 4096
    let engine: EngineReference
    let counters: QueryCounters
    let idleTimeout: Duration
    let connections: TCPConnections
    /// One response buffer, counter shard and query-log writer per event loop (see `ResponseScratch`).
    let scratch: [ObjectIdentifier: ResponseScratch]
    /// Where outgoing zone transfers are logged.
    let logger: Logger

    init(engine: EngineReference, counters: QueryCounters, queryLog: QueryLog?, firstShard: Int,
         group: MultiThreadedEventLoopGroup, idleTimeout: Duration, connections: TCPConnections, logger: Logger) {
        self.logger = logger
        self.engine = engine
        self.counters = counters
        self.idleTimeout = idleTimeout
        self.connections = connections
        var scratch: [ObjectIdentifier: ResponseScratch] = [:]
        for (i, loop) in group.makeIterator().enumerated() {
            scratch[ObjectIdentifier(loop)] = ResponseScratch(shard: firstShard + i, log: queryLog?.writer())
        }
        self.scratch = scratch
    }

    /// A listener on `loop` whose connections stay on `loop`.
    func bootstrap(on loop: any EventLoop) -> ServerBootstrap {
        let (engine, counters, connections, logger) = (engine, counters, connections, logger)
        let idle = TimeAmount(idleTimeout)
        // Every loop of the group has its buffer; a listener on another loop closes what it accepts.
        let scratch = scratch[ObjectIdentifier(loop)]
        return ServerBootstrap(group: loop, childGroup: loop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let buffer = scratch else { throw ChannelError.ioOnClosedChannel }
                    // Set here rather than as child channel options, which NIO applies through a
                    // chain of futures per connection.
                    let options = channel.syncOptions
                    try options?.setOption(.socketOption(.tcp_nodelay), value: 1)
                    try options?.setOption(.allowRemoteHalfClosure, value: true)
                    let connection = connections.admit(channel)
                    try channel.pipeline.syncOperations.addHandler(
                        DNSTCPQueryHandler(engine: engine, scratch: buffer, counters: counters,
                                           connection: connection, idleTimeout: idle, logger: logger))
                }
            }
    }
}
