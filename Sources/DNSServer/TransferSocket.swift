#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import ServerConfig

/// Blocking DNS exchanges with a primary, every wait bounded by `poll` with a deadline, and the
/// connected sockets they (and `NotifySender`) use. Used only on the thread a secondary refresh
/// runs on (`SecondaryRefresh`) or a NOTIFY task, never on the query path.
struct TransferSocket {
    /// A UDP answer later than this counts as lost: a loopback or LAN primary answers in
    /// milliseconds, and a refresh that fails is retried (RETRY), so waiting longer gains nothing.
    static let udpTimeout: Double = 2
    /// Time to set up a TCP connection.
    static let connectTimeout: Double = 5
    /// The longest silence between two reads of a TCP answer: a primary that sends nothing for
    /// this long is taken to be gone (Knot's and BIND's own transfer I/O timeouts are of this order).
    static let readTimeout: Double = 15

    enum Failure: Error, CustomStringConvertible {
        case io(String)
        var description: String { switch self { case .io(let s): s } }
    }

    /// One UDP query and the first datagram answering it from `primary` (the socket is connected).
    static func udpExchange(_ primary: ListenAddress, _ message: [UInt8]) throws(Failure) -> [UInt8] {
        let fd = try open(primary, SOCK_DGRAM)
        defer { close(fd) }
        let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else { throw .io("UDP send: errno \(errno)") }
        try wait(fd, Int16(POLLIN), timeout: udpTimeout, what: "UDP answer")
        var buffer = [UInt8](repeating: 0, count: 65535)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw .io(errno == ECONNREFUSED ? "UDP: connection refused (nothing listens there)" : "UDP receive: errno \(errno)") }
        return Array(buffer[0..<n])
    }

    /// Sends `message` over a new TCP connection to `primary` and hands each answer message to
    /// `receive` until it returns true (the answer is complete).
    static func tcpExchange(_ primary: ListenAddress, _ message: [UInt8],
                            receive: ([UInt8]) throws(SecondaryRefresh.Problem) -> Bool) throws(SecondaryRefresh.Problem) {
        let fd: Int32
        do { fd = try open(primary, SOCK_STREAM) } catch { throw .io(error.description) }
        defer { close(fd) }
        do {
            let framed = [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
            try writeAll(fd, framed)
            while true {
                let length = try readExactly(fd, 2)
                let size = Int(length[0]) << 8 | Int(length[1])
                guard size >= 12 else { throw Failure.io("a TCP message of \(size) bytes") }
                if try receive(try readExactly(fd, size)) { return }
            }
        } catch let error as Failure {
            throw .io(error.description)
        } catch let problem as SecondaryRefresh.Problem {
            throw problem
        } catch {
            throw .io("\(error)")
        }
    }

    /// A non-blocking socket connected to `peer` (TCP: within `connectTimeout`; UDP: the kernel
    /// then delivers only `peer`'s datagrams to it). The caller closes it.
    static func open(_ peer: ListenAddress, _ type: __socket_type) throws(Failure) -> Int32 {
        guard let address = try? SocketAddress(ipAddress: peer.host, port: Int(peer.port)) else {
            throw .io("\(peer) is not an address")
        }
        let fd = socket(peer.isIPv6 ? AF_INET6 : AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { throw .io("socket: errno \(errno)") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let result = address.withSockAddr { sa, len in connect(fd, sa, socklen_t(len)) }
        if result != 0 {
            guard errno == EINPROGRESS else {
                let e = errno
                close(fd)
                throw .io("connect: errno \(e)")
            }
            do {
                try wait(fd, Int16(POLLOUT), timeout: connectTimeout, what: "TCP connection")
            } catch {
                close(fd)
                throw error
            }
            var soError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size)
            guard soError == 0 else {
                close(fd)
                throw .io(soError == ECONNREFUSED ? "connection refused" : "connect: errno \(soError)")
            }
        }
        return fd
    }

    /// Waits until `fd` is ready for `events`, at most `timeout` seconds.
    private static func wait(_ fd: Int32, _ events: Int16, timeout: Double, what: String) throws(Failure) {
        let deadline = Date().timeIntervalSince1970 + timeout
        while true {
            let left = deadline - Date().timeIntervalSince1970
            guard left > 0 else { throw .io("no \(what) within \(Int(timeout)) s") }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, Int32(min(left, 1) * 1000) + 1)
            if n > 0 { return }
            if n < 0 && errno != EINTR { throw .io("poll: errno \(errno)") }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { p -> Int in
                // Never nil here: the loop runs only while bytes remain.
                guard let base = p.baseAddress else { return 0 }
                return send(fd, base + offset, p.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { offset += n; continue }
            guard n < 0, errno == EAGAIN || errno == EINTR else { throw .io("TCP send: errno \(errno)") }
            try wait(fd, Int16(POLLOUT), timeout: readTimeout, what: "room to send")
        }
    }

    private static func readExactly(_ fd: Int32, _ count: Int) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = buffer.withUnsafeMutableBytes { p -> Int in
                // Never nil here: the loop runs only while bytes are missing.
                guard let base = p.baseAddress else { return 0 }
                return recv(fd, base + offset, count - offset, 0)
            }
            if n > 0 { offset += n; continue }
            if n == 0 { throw .io("the primary closed the connection after \(offset) of \(count) bytes") }
            guard errno == EAGAIN || errno == EINTR else { throw .io("TCP receive: errno \(errno)") }
            try wait(fd, Int16(POLLIN), timeout: readTimeout, what: "data from the primary")
        }
        return buffer
    }
}
