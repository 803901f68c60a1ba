public import HealthModel
import AsyncHTTPClient
public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `http` and `https`: GET `path` (default `/`) and pass when the status is `expect` (default 200)
/// and, if `body` is set, the body contains it. TLS certificates are verified unless `insecure: true`.
/// The target is `host:port` (port from the target, else parameter `port`, else 80/443) or a full
/// URL. Redirects are not followed (a 301 is a 301) and every check opens a new connection.
public struct HTTPChecker: HealthChecker {
    public static let parameters = [
        CheckParameter("port", .port), CheckParameter("path", .urlPath), CheckParameter("expect", .httpStatus),
        CheckParameter("body", .text), CheckParameter("insecure", .boolean), CheckParameter("host", .text),
    ]

    let scheme: String
    let path: String
    let port: Int?
    let expect: Int
    let body: String?
    let insecure: Bool

    /// How much of a response body is searched for `body`: health endpoints answer in a few bytes;
    /// a larger page is read only this far.
    static let maxBodyBytes = 64 * 1024

    public init(definition: CheckDefinition, logger: Logger) {
        let p = definition.parameters
        scheme = definition.type == "https" ? "https" : "http"
        path = p["path"] ?? "/"
        port = definition.port
        expect = p["expect"].flatMap { Int($0) } ?? 200
        body = p["body"]
        insecure = p["insecure"] == "true"
    }

    /// The URL checked for `target`.
    func url(for target: CheckTarget) -> String {
        if let t = target.target, t.contains("://") { return t }
        let (host, targetPort) = target.hostPort
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return (targetPort ?? port).map { "\(scheme)://\(hostPart):\($0)\(path)" } ?? "\(scheme)://\(hostPart)\(path)"
    }

    public func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome {
        var headers = HTTPClientRequest(url: url(for: target))
        headers.headers.add(name: "User-Agent", value: "meridian-health")
        headers.headers.add(name: "Connection", value: "close")
        let client = insecure ? Self.insecureClient : Self.verifyingClient
        let (expect, body, request) = (expect, body, headers)
        // The client's deadline covers connecting and the response head; a body that stalls after
        // it is cut off by the monitor's own deadline (`HealthMonitor.guarded`), which cancels this task.
        do {
            let response = try await client.execute(request, timeout: TimeAmount(timeout))
            guard Int(response.status.code) == expect else {
                return .fail("HTTP \(response.status.code), expected \(expect)")
            }
            guard let body else { return .pass("HTTP \(response.status.code)") }
            var bytes: [UInt8] = []
            for try await chunk in response.body {
                bytes += chunk.readableBytesView.prefix(Self.maxBodyBytes - bytes.count)
                if bytes.count >= Self.maxBodyBytes { break }
            }
            return String(decoding: bytes, as: UTF8.self).contains(body)
                ? .pass("HTTP \(response.status.code), body matches")
                : .fail("HTTP \(response.status.code), body lacks '\(body)'")
        } catch {
            return .fail(CheckFailure.describe(error, timeout: timeout))
        }
    }

    /// The clients for every HTTP check of the process: they live as long as it does (never shut down).
    static let verifyingClient = HTTPClient(
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
        configuration: HTTPClient.Configuration(certificateVerification: .fullVerification, redirectConfiguration: .disallow))
    static let insecureClient = HTTPClient(
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
        configuration: HTTPClient.Configuration(certificateVerification: .none, redirectConfiguration: .disallow))
}
