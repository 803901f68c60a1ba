public import HealthModel
import Foundation
public import Logging
import NIOCore
import NIOPosix

/// `tcp`: passes when a TCP connection to the target opens within the timeout. Parameter `port`
/// applies when the target has none.
public struct TCPChecker: HealthChecker {
    public static let parameters = [CheckParameter("port", .port)]

    let port: Int?

    public init(definition: CheckDefinition, logger: Logger) {
        port = definition.port
    }

    public func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome {
        let (host, targetPort) = target.hostPort
        guard let port = targetPort ?? port else { return .fail("no port: set one in the target or the check") }
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port).get()
            try? await channel.close()
            return .pass("connected to port \(port)")
        } catch {
            return .fail("port \(port): \(CheckFailure.describe(error, timeout: timeout))")
        }
    }
}

extension CheckDefinition {
    /// The `port` parameter (validated by its declaration), if set.
    var port: Int? { parameters["port"].flatMap { Int($0) } }
}

extension TimeAmount {
    /// The same span in NIO's unit.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

