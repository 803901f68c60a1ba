/// What the engine did with one query, for metrics and the query log: filled in by
/// `QueryEngine.respond(…outcome:)` at the cost of a few stores.
public struct QueryOutcome: Sendable {
    /// `rcode` of a query that got no response (RFC-mandated silence).
    public static let dropped: UInt16 = 0xFFFF

    /// The question's type; 0 when the question could not be read.
    public var qtype: UInt16 = 0
    /// The response code sent, extended codes included (BADVERS is 16); `dropped` when none.
    public var rcode: UInt16 = QueryOutcome.dropped
    /// True when the response has the TC bit set.
    public var truncated = false
    /// True when the query carried an EDNS Client Subnet option (RFC 7871).
    public var hasClientSubnet = false
    /// The ECS scope prefix length answered with (0 when the answer does not depend on the client).
    public var scope: UInt8 = 0
    /// The routed service answered (its index in the routing table), or -1.
    public var service: Int32 = -1
    /// The data centers with an address in a routed answer, as bits `1 << site index` (the first 64).
    public var sites: UInt64 = 0
    /// True when the query brought a server cookie this server made for it (RFC 7873): such a
    /// client has proved its address, so rate limiting leaves it alone.
    public var validCookie = false
    /// The TSIG key of a signed query that verified (or got BADTIME), or -1; and the TSIG error answered.
    public var tsigKey: Int32 = -1
    public var tsigError: UInt16 = 0
    /// True when the response has AA set (false for referrals and errors).
    public var authoritative = false
    /// Signatures of an online-signed zone's answer found in the thread's `SignatureCache` (hits)
    /// and made for it (misses): the cache's hit rate, as metrics report it.
    public var signatureHits: UInt16 = 0
    public var signatureMisses: UInt16 = 0
    /// Where the response's question ends: a response cut there (with TC) is the shortest valid one.
    public var questionEnd = 0

    public init() {}
}
