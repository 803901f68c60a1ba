#if canImport(Glibc)
import Glibc
#endif
import DNSAuth
import DNSWire
import DNSZone
import Logging
import Metrics
import ServerConfig
import ZoneTransfer

/// Sends one NOTIFY (RFC 1996) to one secondary over UDP, off the query path, and waits for its
/// answer: a datagram with the same ID, QR and opcode NOTIFY from that secondary. Without one it
/// sends again after `firstWait`, then twice as long each time, `attempts` sends in all (RFC 1996
/// §3.6 asks for retransmission with a growing interval and a bounded count; 1 + 2 + 4 + 8 + 16 s
/// gives a slow secondary 31 s, after which its own refresh timer takes over). Each send, answer and
/// give-up is logged and counted in `meridian_notify_total{outcome}` (sent, acked, refused, failed).
struct NotifySender: Sendable {
    /// Seconds before the first resend; each later wait doubles.
    static let firstWait: Double = 1
    /// Sends in all, the first included.
    static let attempts = 5
    /// How often the socket is polled for the answer while waiting (a non-blocking receive).
    static let pollInterval: Duration = .milliseconds(20)

    let zone: Zone
    let secondary: ListenAddress
    let keyring: TSIGKeyring
    let key: Int?
    let logger: Logger

    func run() async {
        let origin = zone.origin.description
        let serial = zone.serial.map { "\($0)" } ?? "-"
        let meta: Logger.Metadata = ["zone": "\(origin)", "secondary": "\(secondary)", "serial": "\(serial)"]
        let fd: Int32
        do {
            fd = try TransferSocket.open(secondary, SOCK_DGRAM)
        } catch {
            logger.error("notify: cannot reach the secondary", metadata: meta.merging(["reason": "\(error)"]) { $1 })
            count("failed")
            return
        }
        defer { close(fd) }
        let id = UInt16.random(in: 0...UInt16.max)
        var wait = Self.firstWait
        var buffer = [UInt8](repeating: 0, count: 65535)
        for attempt in 1...Self.attempts {
            if Task.isCancelled { return }
            let now = UInt64(time(nil))
            let message = NotifyMessage.make(zone: zone, id: id, keyring: keyring, key: key, now: now)
            let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            logger.info("notify: sent", metadata: meta.merging(["attempt": "\(attempt)", "signed": "\(key != nil)",
                                                                 "result": "\(sent < 0 ? "errno \(errno)" : "ok")"]) { $1 })
            count("sent")
            let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
            while ContinuousClock.now < deadline {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n > 0, let rcode = buffer.withUnsafeBytes({ NotifyMessage.answer(UnsafeRawBufferPointer(rebasing: $0[0..<n]), id: id) }) {
                    if rcode == 0 {
                        logger.notice("notify: acknowledged", metadata: meta.merging(["attempt": "\(attempt)"]) { $1 })
                        count("acked")
                    } else {
                        logger.warning("notify: refused by the secondary", metadata: meta.merging(["rcode": "\(rcode)"]) { $1 })
                        count("refused")
                    }
                    return
                }
                if n <= 0 {
                    do { try await Task.sleep(for: Self.pollInterval) } catch { return }
                }
            }
            wait *= 2
        }
        logger.warning("notify: no answer, giving up", metadata: meta.merging(["attempts": "\(Self.attempts)"]) { $1 })
        count("failed")
    }

    private func count(_ outcome: String) {
        Counter(label: "meridian_notify_total", dimensions: [("outcome", outcome)]).increment()
    }
}
