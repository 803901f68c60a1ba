import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// The words every checker uses for why a probe failed, so one failure reads the same whichever
/// check saw it: a closed port is "connection refused" to `tcp` and `http` alike, and a deadline
/// that passed is "timed out after 2s" wherever it is noticed.
enum CheckFailure {
    /// A probe's deadline passed.
    static func timedOut(_ timeout: Duration) -> String { "timed out after \(timeout)" }

    /// `error`, from NIO, AsyncHTTPClient or the socket layer, in those words.
    static func describe(_ error: any Error, timeout: Duration) -> String {
        switch error {
        case let e as NIOConnectionError:
            if let first = e.connectionErrors.first { return describe(first.error, timeout: timeout) }
            if let dns = e.dnsAAAAError ?? e.dnsAError { return "cannot resolve \(e.host): \(dns)" }
            return "cannot connect to \(e.host)"
        case let e as IOError:
            return String(cString: strerror(e.errnoCode)).lowercased()
        case ChannelError.connectTimeout:
            return "connect " + timedOut(timeout)
        case let e as HTTPClientError where e == .connectTimeout:
            return "connect " + timedOut(timeout)
        case let e as HTTPClientError where e == .deadlineExceeded || e == .readTimeout || e == .getConnectionFromPoolTimeout:
            return timedOut(timeout)
        default:
            return String(describing: error)
        }
    }
}
