public import DNSWire
public import IPNet

/// Who may NOTIFY a secondary zone (RFC 1996 §3.10 asks a secondary to check the source): one of
/// its primaries' addresses, and, when the zone has a `primary-key`, a request signed (and
/// verified) with it.
public struct NotifyAccess: Sendable, Equatable {
    public var primaries: [IPAddress]
    public var key: DNSName?

    public init(primaries: [IPAddress], key: DNSName?) {
        self.primaries = primaries
        self.key = key
    }

    /// Whether a NOTIFY from `client`, signed with the verified key `key` (nil: unsigned), is accepted.
    public func permits(_ client: IPAddress, key signer: DNSName?) -> Bool {
        guard primaries.contains(client) else { return false }
        if let key { return signer == key }
        return true
    }
}

/// Where the query engine leaves the NOTIFYs it answered for the server to act on (and log): a buffered
/// `AsyncStream` whose `post` never waits (the continuation takes a short internal lock and keeps
/// the newest `capacity` events). A NOTIFY is not an ordinary query: only a zone's primaries send
/// it, a few times per zone change, and the answer does not wait for the refresh it triggers.
public final class NotifyInbox: Sendable {
    /// Events kept while the server is busy: a refresh reads the primary's current serial anyway,
    /// so older NOTIFYs for the same zone add nothing, and 64 covers many zones changing at once
    /// (a flood of refused NOTIFYs only ever holds 64 events).
    public static let capacity = 64

    /// One NOTIFY for a zone we serve.
    public enum Event: Sendable, Equatable {
        /// From one of the zone's primaries (signed as it must be): refresh the zone.
        case accepted(zone: DNSName)
        /// Refused (not a secondary zone, not from a primary, not signed with its key): logged.
        case refused(zone: DNSName, client: IPAddress)
    }

    /// The NOTIFYs answered, in order.
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    public init() {
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(Self.capacity))
    }

    /// Hands `event` on to the server without waiting.
    public func post(_ event: Event) { continuation.yield(event) }

    /// Ends the stream (at shutdown).
    public func finish() { continuation.finish() }
}
