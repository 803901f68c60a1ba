import DNSSEC
import Atomics
import Logging
import CDNSIO
import QueryEngine
import IPNet
import Routing
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

/// One UDP worker thread on one SO_REUSEPORT socket: blocks in recvmmsg until datagrams arrive,
/// answers each with `QueryEngine.respond` into buffers allocated once, and sends them with one
/// sendmmsg. Two system calls per batch and no poll: the per-packet path takes no lock, allocates
/// nothing and calls the engine statically; it counts each query in its own counter shard. A
/// sampled query log, when configured, is written after the batch is sent. Shutdown sets
/// `stopping` and shuts the socket down, which wakes recvmmsg (its 250 ms receive timeout is the fallback).
/// On a socket bound to a wildcard address (`packetInfo`), each response leaves from the address its
/// query was sent to; on a specific address the kernel does that itself and no control message is read.
struct UDPWorker: Sendable {
    let socket: Int32
    let packetInfo: Bool
    let stopping: ManagedAtomic<Bool>
    let engine: EngineReference
    let counters: QueryCounters
    /// This thread's shard of `counters` and of every answer tally.
    let shard: Int
    let queryLog: QueryLog?
    /// Response rate limiting, when configured.
    let rateLimiter: ResponseRateLimiter?
    let logger: Logger

    /// Runs until shutdown; returns an error text when the loop fails for another reason.
    func run() -> String? {
        guard let batch = cdnsio_batch_create(udpBatchSize, udpReceiveBufferSize, QueryEngine.responseBufferSize, packetInfo ? 1 : 0) else {
            return "cannot allocate UDP buffers"
        }
        defer { cdnsio_batch_destroy(batch) }
        var state = RoutingState(seed: UInt64.random(in: 0...UInt64.max))
        var signatures = SignatureCache()
        var outcome = QueryOutcome()
        var log = queryLog?.writer()
        // Prefixes that started being rate limited in this batch, logged once it is sent.
        var limited: [(prefix: String, kind: String)] = []
        limited.reserveCapacity(Int(udpBatchSize))
        while !stopping.load(ordering: .relaxed) {
            let received = cdnsio_recv(batch, socket)
            if received <= 0 {
                // These mean the socket itself is unusable; anything else (a timeout, an ICMP error
                // reported late, ENOMEM, EINTR) passes, and the worker waits again.
                if received < 0 && [EBADF, ENOTSOCK, EINVAL, EFAULT].contains(-received) {
                    return "recvmmsg: \(String(cString: strerror(-received)))"
                }
                continue
            }
            let box = self.engine.load()
            let engine = box.engine
            let now = rateLimiter == nil ? 0 : UInt32(truncatingIfNeeded: time(nil))
            for i in 0..<UInt32(received) {
                var words: (UInt64, UInt64) = (0, 0)
                let family = withUnsafeMutableBytes(of: &words) {
                    cdnsio_rx_peer(batch, i, $0.baseAddress!.assumingMemoryBound(to: UInt64.self))
                }
                let query = UnsafeRawBufferPointer(start: cdnsio_rx_data(batch, i), count: cdnsio_rx_length(batch, i))
                let response = UnsafeMutableRawBufferPointer(start: cdnsio_tx_buffer(batch, i), count: QueryEngine.responseBufferSize)
                let client = IPAddress(family: family, words: words)
                var length = engine.respond(to: query, from: client, over: .udp, into: response, state: &state,
                                            signatures: &signatures, outcome: &outcome)
                if let rateLimiter, length > 0 {
                    let verdict = rateLimiter.judge(outcome, client: client, now: now, shard: shard)
                    if verdict.startsLimiting {
                        limited.append((rateLimiter.prefix(of: client), ResponseRateLimiter.kind(outcome).name))
                    }
                    switch verdict.action {
                    case .send: break
                    case .drop:
                        length = 0
                        outcome.rcode = QueryOutcome.dropped
                    case .slip:
                        length = ResponseRateLimiter.slipped(response, questionEnd: outcome.questionEnd)
                        outcome.truncated = true
                    }
                }
                if length > 0 { cdnsio_tx_queue(batch, i, length) }
                counters.record(outcome, over: .udp, shard: shard, answers: box.tally)
                log?.consider(query, outcome, client: client, transport: .udp, engine: engine)
            }
            cdnsio_send(batch, socket)
            log?.flush()
            for (prefix, kind) in limited {
                logger.notice("rate-limit: limiting \(kind) responses to \(prefix)")
            }
            limited.removeAll(keepingCapacity: true)
        }
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
