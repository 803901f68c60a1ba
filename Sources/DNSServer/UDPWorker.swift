import Atomics
import CDNSIO
import QueryEngine
#if canImport(Glibc)
import Glibc
#endif

/// Datagrams taken per recvmmsg/sendmmsg call. 32 amortizes the two system calls over enough
/// packets that they cost a few nanoseconds per query (the echo measurement used 32),
/// while one batch of responses (32 × the 1232-byte EDNS maximum, about 39 KB) still fits in L2
/// and a slow batch delays the last datagram in it by only tens of microseconds.
let udpBatchSize: UInt32 = 32

/// Receive buffer per datagram: the largest UDP payload, so no query is ever cut short.
let udpReceiveBufferSize = 65535

/// One UDP worker thread: its own SO_REUSEPORT socket on every listen address, looping
/// recvmmsg → `QueryEngine.respond` → sendmmsg over buffers allocated once. The per-packet path
/// takes no lock, allocates nothing and calls the engine statically.
struct UDPWorker: Sendable {
    let sockets: [Int32]
    /// Read end of the server's wake-up pipe: readable once shutdown begins.
    let wakeDescriptor: Int32
    let stopping: ManagedAtomic<Bool>
    let engine: EngineReference

    /// Runs until shutdown; returns an error text when the loop fails for another reason.
    func run() -> String? {
        guard let batch = cdnsio_batch_create(udpBatchSize, udpReceiveBufferSize, QueryEngine.responseBufferSize) else {
            return "cannot allocate UDP buffers"
        }
        defer { cdnsio_batch_destroy(batch) }
        var fds = sockets.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        fds.append(pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0))
        while true {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                return "poll: \(String(cString: strerror(errno)))"
            }
            if fds[fds.count - 1].revents != 0 { return nil }
            for i in 0..<sockets.count where fds[i].revents != 0 {
                if let failure = drain(sockets[i], batch) { return failure }
            }
        }
    }

    /// Answers batches from `fd` until it has nothing more waiting or shutdown begins.
    private func drain(_ fd: Int32, _ batch: OpaquePointer) -> String? {
        var received: Int32
        repeat {
            received = cdnsio_recv(batch, fd)
            if received < 0 {
                // These mean the socket itself is unusable; anything else (an ICMP error reported
                // late, ENOMEM, EINTR) passes, and the worker polls again.
                if [EBADF, ENOTSOCK, EINVAL, EFAULT].contains(-received) {
                    return "recvmmsg: \(String(cString: strerror(-received)))"
                }
                return nil
            }
            let engine = self.engine.load().engine
            for i in 0..<UInt32(received) {
                var words: (UInt64, UInt64) = (0, 0)
                let family = withUnsafeMutableBytes(of: &words) {
                    cdnsio_rx_peer(batch, i, $0.baseAddress!.assumingMemoryBound(to: UInt64.self))
                }
                let query = UnsafeRawBufferPointer(start: cdnsio_rx_data(batch, i), count: cdnsio_rx_length(batch, i))
                let response = UnsafeMutableRawBufferPointer(start: cdnsio_tx_buffer(batch, i), count: QueryEngine.responseBufferSize)
                let length = engine.respond(to: query, from: ClientAddress(family: family, words: words), over: .udp, into: response)
                if length > 0 { cdnsio_tx_queue(batch, i, length) }
            }
            cdnsio_send(batch, fd)
        } while received == Int32(udpBatchSize) && !stopping.load(ordering: .relaxed)
        return nil
    }
}

/// Starts `body` on a new POSIX thread; join it with `pthread_join`.
func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Context { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Context(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        let context = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
        context.body()
        return nil
    }, context)
    if rc != 0 {
        Unmanaged<Context>.fromOpaque(context).release()
        return nil
    }
    return thread
}
