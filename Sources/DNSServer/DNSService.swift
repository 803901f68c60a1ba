public import Logging
public import ServiceLifecycle

/// The DNS listeners as a service of the service group: they are already answering when the
/// group starts; graceful shutdown closes them.
public struct DNSService: Service {
    let server: DNSServer
    let logger: Logger

    public init(server: DNSServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        logger.notice("stopping")
        server.shutdown()
    }
}
