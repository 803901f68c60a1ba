public import DNSAuth
public import DNSSEC
public import DNSWire
public import DNSZone
import HealthModel
public import IPNet
public import Routing
public import ZoneTransfer

/// The transport a query arrived on; it decides the response size limit and truncation.
public enum Transport: Sendable {
    case udp
    case tcp
}

/// The service names of a routing table, indexed for the query path: a hash table of their
/// lower-case wire names and, per zone of the zone set, whether any service lies in it (so queries
/// in zones without services never probe it). Built once per (zones, routing) pair; health is not
/// part of it.
public final class ServiceSet: Sendable {
    public let routing: RoutingTable
    let names: NameTable
    let zonesWithServices: [Bool]

    public init(routing: RoutingTable, zones: ZoneSet) {
        self.routing = routing
        let keys = routing.services.map { $0.name.lowercased().wire }
        self.names = NameTable(keys: keys)
        self.zonesWithServices = zones.zones.map { zone in
            routing.services.contains { $0.name.isSubdomain(of: zone.origin) }
        }
    }
}

/// Answers one query: bytes in, bytes out, over an immutable zone snapshot. No I/O, no locks, no
/// heap allocation: names are handled as wire bytes in stack buffers and RRsets are copied from
/// their pre-encoded form.
public final class QueryEngine: Sendable {
    /// Settings that shape every response.
    public struct Options: Sendable {
        /// Largest UDP payload we send and advertise in OPT (RFC 6891 §6.2.5; 1232 per DNS Flag Day 2020).
        public var maxUDPPayload: Int = 1232
        /// TXT answer for CHAOS `id.server.` / `hostname.bind.` (RFC 4892); nil refuses such queries.
        public var identity: String? = nil
        /// TXT answer for CHAOS `version.server.` / `version.bind.`; nil refuses such queries.
        public var version: String? = nil
        /// NSID option payload (RFC 5001) for queries that ask for it; nil leaves it out.
        public var nsid: [UInt8]? = nil
        /// Keys accepted on signed queries (RFC 8945); a query signed with any other key gets BADKEY.
        public var tsigKeys = TSIGKeyring()
        /// The server cookie secrets (RFC 7873, RFC 9018); nil ignores COOKIE options (but still
        /// rejects malformed ones).
        public var cookies: ServerCookies? = nil
        /// Answer UDP queries that carry a COOKIE option only once they bring a valid server cookie
        /// (BADCOOKIE with a fresh one otherwise, RFC 7873 §5.2.3); clients without cookies are answered.
        public var requireCookies = false
        /// Who may transfer each zone (AXFR over TCP, RFC 5936), by origin; a zone not listed is
        /// never transferred (REFUSED).
        public var transfers: [DNSName: TransferAccess] = [:]
        /// What transfers carry for each zone's service names (`ServiceRecords.render`), by origin,
        /// at the zone's current serial; read only when a transfer starts.
        public var serviceRecords: [DNSName: [TransferRecord]] = [:]
        /// The IXFR journal of each transferred zone, by origin, ending at the serial the engine's
        /// zone has; a zone without one is answered AXFR-style (RFC 1995 §4).
        public var journals: [DNSName: ZoneJournal] = [:]
        /// Who may NOTIFY each secondary zone, by origin; a zone not listed answers NOTIFY REFUSED.
        public var notifyAccess: [DNSName: NotifyAccess] = [:]
        /// Where accepted NOTIFYs are handed to the server; nil: answered, not acted on.
        public var notifyInbox: NotifyInbox? = nil
        /// The signatures of each zone signed online, by origin, made from the zone the engine
        /// serves (or one it replaced the serial of): DO=1 queries get signed answers from them.
        public var signatures: [DNSName: ZoneSignatures] = [:]
        public init() {}
    }

    /// The smallest response buffer `respond` may be given: the TCP message limit, then the
    /// compression table the writer keeps behind the message.
    public static let responseBufferSize = ResponseWriter.bufferSize

    /// Longest CNAME/DNAME chain followed inside a zone before answering with what we have.
    static let maxChain = 16

    public let zones: ZoneSet
    /// Names answered by routing, and the health their answers follow.
    public let services: ServiceSet?
    public let health: RoutingHealth?
    public let options: Options
    private let chaos: ChaosAnswers
    /// What the OPT record of every response holds beyond the query's echoes.
    let opt: ResponseOPT
    /// Per zone of `zones`, its signatures when it is signed online.
    let zoneSignatures: [ZoneSignatures?]

    public init(zones: ZoneSet, services: ServiceSet? = nil, health: RoutingHealth? = nil, options: Options = Options()) {
        self.zones = zones
        self.services = services
        self.health = health ?? services.map { $0.routing.health(.allUp(count: $0.routing.addresses.count)) }
        self.options = options
        self.chaos = ChaosAnswers(identity: options.identity, version: options.version)
        self.opt = ResponseOPT(payload: options.maxUDPPayload, nsid: options.nsid ?? [])
        // Signatures index the zone's nodes and RRsets: ones made from another compile are not used.
        self.zoneSignatures = zones.zones.map { zone in options.signatures[zone.origin].flatMap { $0.fits(zone) ? $0 : nil } }
    }

    deinit { opt.nsid.deallocate() }

    /// Writes the response to `query` from the resolver at `client` into `response` (at least
    /// `responseBufferSize` bytes) and returns its length, or 0 when the query must be dropped
    /// without an answer. `state` is the caller's (per-thread) routing state.
    public func respond(
        to query: UnsafeRawBufferPointer,
        from client: IPAddress,
        over transport: Transport,
        into response: UnsafeMutableRawBufferPointer,
        state: inout RoutingState
    ) -> Int {
        var outcome = QueryOutcome()
        var signatures = SignatureCache()
        return respond(to: query, from: client, over: transport, into: response, state: &state, signatures: &signatures, outcome: &outcome)
    }

    /// `respond`, also telling what was answered in `outcome` (for metrics and the query log).
    @inline(__always)
    public func respond(
        to query: UnsafeRawBufferPointer,
        from client: IPAddress,
        over transport: Transport,
        into response: UnsafeMutableRawBufferPointer,
        state: inout RoutingState,
        outcome: inout QueryOutcome
    ) -> Int {
        var signatures = SignatureCache()
        return respond(to: query, from: client, over: transport, into: response, state: &state, signatures: &signatures, outcome: &outcome)
    }

    /// `respond` for a server's query thread: `signatures` is the thread's cache of signatures
    /// made while answering (DO=1 queries in zones signed online).
    @inline(__always)
    public func respond(
        to query: UnsafeRawBufferPointer,
        from client: IPAddress,
        over transport: Transport,
        into response: UnsafeMutableRawBufferPointer,
        state: inout RoutingState,
        signatures: inout SignatureCache,
        outcome: inout QueryOutcome
    ) -> Int {
        outcome = QueryOutcome()
        var q = ParsedQuery()
        var length = respond(to: query, parsed: &q, from: client, over: transport, into: response, state: &state,
                             signatures: &signatures, outcome: &outcome)
        if let tsig = q.tsig, length >= Header.size {
            length = signResponse(response, length: length, query: query, tsig, outcome: &outcome)
        }
        guard length >= Header.size else { return length }
        outcome.qtype = q.qtype.rawValue
        outcome.hasClientSubnet = q.edns?.clientSubnet != nil
        let flags = UInt16(response[2]) << 8 | UInt16(response[3])
        outcome.truncated = flags & Header.tc != 0
        outcome.authoritative = flags & Header.aa != 0
        outcome.questionEnd = q.questionEnd
        if outcome.rcode == QueryOutcome.dropped { outcome.rcode = flags & 0xF }
        return length
    }

    private func respond(
        to query: UnsafeRawBufferPointer,
        parsed q: inout ParsedQuery,
        from client: IPAddress,
        over transport: Transport,
        into response: UnsafeMutableRawBufferPointer,
        state: inout RoutingState,
        signatures: inout SignatureCache,
        outcome: inout QueryOutcome
    ) -> Int {
        switch QueryParser.parse(query, into: &q) {
        case .drop: return 0
        case .formatError:
            q.tsig = nil  // a malformed message is not signed back
            return errorResponse(q, query, .formErr, into: response)
        case .query: break
        }
        var extras = OPTExtras()
        // A parsed COOKIE option lies inside the query, so the query has bytes to point into.
        if let cookie = q.edns?.cookie, let cookies = options.cookies, let base = query.baseAddress {
            let now = UInt32(truncatingIfNeeded: time(nil))
            let clientCookie = base + cookie.clientOffset
            var fresh = OPTExtras.Cookie(client: clientCookie.loadUnaligned(as: UInt64.self))
            let valid = client.withWireBytes { ip in
                withUnsafeMutableBytes(of: &fresh.server) { out in
                    if let server = out.baseAddress { cookies.make(clientCookie: clientCookie, client: ip, now: now, into: server) }
                }
                return cookie.serverLength > 0 && cookies.isValid(
                    server: base + cookie.serverOffset, length: cookie.serverLength, clientCookie: clientCookie, client: ip, now: now)
            }
            extras.cookie = fresh
            outcome.validCookie = valid
            if options.requireCookies, transport == .udp, !valid {
                outcome.rcode = RCode.badCookie.rawValue
                return errorResponse(q, query, .badCookie, extras: extras, into: response)
            }
        }
        if let tsig = q.tsig {
            switch options.tsigKeys.verify(query, tsig, now: UInt64(time(nil))) {
            case .verified(let key): outcome.tsigKey = Int32(key)
            case .malformed:
                q.tsig = nil
                return errorResponse(q, query, .formErr, extras: extras, into: response)
            case .rejected(let error, let key):
                outcome.tsigError = error.rawValue
                outcome.tsigKey = key.map(Int32.init) ?? -1
                return errorResponse(q, query, .notAuth, extras: extras, into: response)
            }
        }
        switch q.opcode {
        case .query: break
        case .notify: return answerNotify(q, query, from: client, key: outcome.tsigKey, extras: extras, into: response)
        // RFC 2136 §3: a server that does not implement UPDATE answers NOTIMP (as NSD does).
        default: return errorResponse(q, query, .notImp, extras: extras, into: response)
        }
        if let edns = q.edns, edns.version > 0 {
            outcome.rcode = RCode.badVers.rawValue
            return errorResponse(q, query, .badVers, extras: extras, into: response)  // RFC 6891 §6.1.3
        }
        switch q.qtype {
        // "AXFR sessions over UDP transport are not defined" (RFC 5936 §4.2): NOTIMP, as Knot and NSD.
        case .axfr where transport == .udp: return errorResponse(q, query, .notImp, extras: extras, into: response)
        // RFC 1995 §2: IXFR over UDP, for the clients the zone's transfer access admits.
        case .ixfr where transport == .udp:
            return udpTransfer(q, query, from: client, key: outcome.tsigKey, extras: extras, into: response)
        case .axfr, .ixfr: return errorResponse(q, query, .refused, extras: extras, into: response)
        default: break  // other meta types (OPT, TSIG, MAILB…) find no RRset: NODATA, as Knot and NSD
        }
        if q.qclass == .chaos {
            return chaos.respond(q, query, transportLimit(q, transport), opt, extras, into: response)
        }
        // RFC 6895 §3.2: QCLASS ANY is answered from the one class we serve, never as authoritative
        // (the answer cannot be known to cover every class), as NSD does.
        guard q.qclass == .in || q.qclass == .any else {
            return errorResponse(q, query, .refused, extras: extras, into: response)
        }

        return withUnsafeTemporaryAllocation(byteCount: 2 * 256 + Answer.maxProofs * 4, alignment: 8) { memory in
            // The lower-case QNAME, for lookups; the second 256 bytes hold names built by DNAME;
            // then the proofs a zone signed elsewhere owes (`Answer.proofs`).
            let scratch = UnsafeMutableRawBufferPointer(rebasing: memory[0..<512])
            let proofs = UnsafeMutableRawBufferPointer(rebasing: memory[512...]).bindMemory(to: Int32.self)
            let name = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<256])
            lowercase(UnsafeRawBufferPointer(rebasing: query[Header.size..<(Header.size + q.qnameLength)]), into: name)
            let qname = UnsafeRawBufferPointer(rebasing: name[0..<q.qnameLength])
            var zoneIndex = zones.zoneIndex(for: qname)
            guard zoneIndex >= 0 else {
                var refused = extras
                refused.extendedError = OPTExtras.notAuthoritative
                return errorResponse(q, query, .refused, extras: refused, into: response)
            }
            // RFC 4035 §3.1.4.1: DS at a zone apex comes from the parent zone when we serve it too.
            if q.qtype == .ds && zones.zones[zoneIndex].apex.count == q.qnameLength {
                let parent = zones.zoneIndex(for: qname, shorterThan: q.qnameLength)
                if parent >= 0 { zoneIndex = parent }
            }
            // A secondary zone not yet transferred, or expired (RFC 1034 §4.3.5), is not answered from.
            if zones.unavailable[zoneIndex] { return errorResponse(q, query, .servFail, extras: extras, into: response) }
            var answer = Answer(
                zone: zones.zones[zoneIndex], query: q, packet: query, response: response,
                limit: transportLimit(q, transport), opt: opt, extras: extras, scratch: scratch, proofs: proofs)
            if let services, services.zonesWithServices[zoneIndex], let health {
                answer.routing = RoutingContext(services: services, health: health, resolver: client)
            }
            let length: Int
            if q.edns?.dnssecOK == true, let signed = zoneSignatures[zoneIndex] {
                answer.signing = signed
                answer.dnssec = true
                let hits = signatures.hits, misses = signatures.misses
                length = withUnsafeMutablePointer(to: &signatures) { cache in
                    answer.cache = cache
                    return answer.build(name: name, state: &state)
                }
                outcome.signatureHits = UInt16(truncatingIfNeeded: signatures.hits &- hits)
                outcome.signatureMisses = UInt16(truncatingIfNeeded: signatures.misses &- misses)
            } else {
                if q.edns?.dnssecOK == true, let presigned = answer.zone.presigned {
                    answer.presigned = presigned
                    answer.dnssec = true
                }
                length = answer.build(name: name, state: &state)
            }
            outcome.scope = answer.scope
            outcome.service = answer.service
            outcome.sites = answer.sites
            return length
        }
    }

    /// The size a response may have: 512 without EDNS, else the requestor's size clamped between
    /// 512 and our maximum (RFC 6891 §6.2.5); 65535 over TCP. Room for the TSIG of a signed query's
    /// response is kept out of it.
    @inline(__always)
    func transportLimit(_ q: ParsedQuery, _ transport: Transport) -> Int {
        let signature = q.tsig.map(TSIGKeyring.responseRecordSize) ?? 0
        if transport == .tcp { return ResponseWriter.maxMessageSize - signature }
        guard let edns = q.edns else { return 512 - signature }
        return min(max(512, Int(edns.udpPayloadSize)), options.maxUDPPayload) - signature
    }

    /// A response with no records: the question (when it was read) and OPT (when the query had one).
    func errorResponse(
        _ q: ParsedQuery, _ query: UnsafeRawBufferPointer, _ rcode: RCode, extras: OPTExtras = OPTExtras(),
        into response: UnsafeMutableRawBufferPointer
    ) -> Int {
        var w = ResponseWriter(into: response, limit: ResponseWriter.maxMessageSize)
        writeHeader(&w, q, query, rcode: rcode, authoritative: false)
        if q.edns != nil { _ = writeOPT(&w, q, query, rcode: rcode, opt: opt, extras: extras, scope: 0) }
        w.patchU16(q.edns != nil ? 1 : 0, at: 10)
        return w.position
    }

    /// Appends the TSIG record to the response to a signed query (RFC 8945 §5.3): signed with the
    /// query's key when it verified (or for BADTIME), unsigned for BADKEY and BADSIG.
    private func signResponse(
        _ response: UnsafeMutableRawBufferPointer, length: Int, query: UnsafeRawBufferPointer, _ tsig: TSIGRecord,
        outcome: inout QueryOutcome
    ) -> Int {
        let error = TSIGError(rawValue: outcome.tsigError) ?? .noError
        let key: Int? = outcome.tsigKey >= 0 && (error == .noError || error == .badTime) ? Int(outcome.tsigKey) : nil
        return options.tsigKeys.sign(response, length: length, query: query, tsig, key: key, error: error, now: UInt64(time(nil)))
    }
}

/// What the OPT record of one response carries beyond the server's fixed part: the COOKIE reply
/// (RFC 7873 §4: the client cookie echoed and a fresh server cookie) and an Extended DNS Error
/// (RFC 8914).
struct OPTExtras {
    struct Cookie {
        /// The client cookie as received, and the 16-byte RFC 9018 server cookie.
        var client: UInt64
        var server: (UInt64, UInt64) = (0, 0)
    }
    var cookie: Cookie? = nil
    var extendedError: UInt16? = nil

    /// INFO-CODE 20, "Not Authoritative" (RFC 8914 §4.21): the name is in no zone we serve.
    static let notAuthoritative: UInt16 = 20
    /// The EDE option code (RFC 8914 §2).
    static let extendedErrorCode: UInt16 = 15

    /// Bytes these options take in the OPT RDATA.
    @inline(__always)
    var length: Int { (cookie == nil ? 0 : 4 + 8 + ServerCookies.length) + (extendedError == nil ? 0 : 6) }
}

/// Copies `source` into `target` with ASCII letters folded to lower case, eight bytes at a time:
/// a byte is upper case when adding 0x3F sets its top bit (≥ 0x41) and adding 0x25 does not (< 0x5B).
/// Label length bytes are at most 63, so they are never changed.
@inline(__always)
func lowercase(_ source: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer) {
    let ones: UInt64 = 0x0101_0101_0101_0101
    var i = 0
    while i + 8 <= source.count {
        let x = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        let low7 = x & (0x7F &* ones)
        let upper = ((low7 &+ 0x3F &* ones) ^ (low7 &+ 0x25 &* ones)) & ~x & (0x80 &* ones)
        target.storeBytes(of: x | (upper >> 2), toByteOffset: i, as: UInt64.self)
        i += 8
    }
    while i < source.count {
        target[i] = DNSName.lower(source[i])
        i += 1
    }
}

/// The server's part of every OPT record: the UDP payload size it advertises and its NSID (empty
/// when none is configured), copied once into memory the query path reads without reference counting.
struct ResponseOPT: Sendable {
    let payload: Int
    nonisolated(unsafe) let nsid: UnsafeRawBufferPointer

    init(payload: Int, nsid: [UInt8]) {
        self.payload = payload
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: nsid.count, alignment: 1)
        nsid.withUnsafeBytes { bytes.copyMemory(from: $0) }
        self.nsid = UnsafeRawBufferPointer(bytes)
    }

    /// Length of the NSID option in a response to `q`: present only when asked for (RFC 5001 §2.1).
    @inline(__always)
    func nsidOptionLength(_ q: ParsedQuery) -> Int {
        q.edns?.nsidRequested == true && nsid.count > 0 ? 4 + nsid.count : 0
    }
}

/// The OPT record of a response (RFC 6891 §6.1.2): our payload size, the extended RCODE bits, the DO
/// bit echoed (RFC 3225 §3), version 0, the query's ECS option echoed with `scope` (RFC 7871
/// §7.2.1: family, source prefix and address as received) and our NSID when asked for (RFC 5001).
/// False when it does not fit.
@inline(__always)
func writeOPT(
    _ w: inout ResponseWriter, _ q: ParsedQuery, _ packet: UnsafeRawBufferPointer, rcode: RCode, opt: ResponseOPT,
    extras: OPTExtras, scope: UInt8
) -> Bool {
    let subnet = q.edns?.clientSubnet
    let nsidLength = opt.nsidOptionLength(q)
    let optionLength = (subnet.map { 8 + $0.addressLength } ?? 0) + nsidLength + extras.length
    guard w.fits(11 + optionLength) else { return false }
    _ = w.writeU8(0)
    _ = w.writeU16(RRType.opt.rawValue)
    _ = w.writeU16(UInt16(opt.payload))
    _ = w.writeU32(UInt32(rcode.rawValue >> 4) << 24 | ((q.edns?.dnssecOK ?? false) ? 0x8000 : 0))
    _ = w.writeU16(UInt16(optionLength))
    if let subnet {
        _ = w.writeU16(ClientSubnet.optionCode)
        _ = w.writeU16(UInt16(4 + subnet.addressLength))
        _ = w.writeU16(subnet.family)
        _ = w.writeU8(subnet.sourcePrefixLength)
        _ = w.writeU8(scope)
        _ = w.writeBytes(UnsafeRawBufferPointer(rebasing: packet[subnet.addressOffset..<(subnet.addressOffset + subnet.addressLength)]))
    }
    if var cookie = extras.cookie {
        _ = w.writeU16(CookieOption.optionCode)
        _ = w.writeU16(UInt16(8 + ServerCookies.length))
        _ = withUnsafeBytes(of: &cookie.client) { w.writeBytes($0) }
        _ = withUnsafeBytes(of: &cookie.server) { w.writeBytes($0) }
    }
    if let code = extras.extendedError {
        _ = w.writeU16(OPTExtras.extendedErrorCode)
        _ = w.writeU16(2)
        _ = w.writeU16(code)
    }
    if nsidLength > 0 {
        _ = w.writeU16(EDNS.nsidOptionCode)
        _ = w.writeU16(UInt16(opt.nsid.count))
        _ = w.writeBytes(opt.nsid)
    }
    return true
}

/// Room the OPT record of a response to `q` needs (reserved before any record is written).
@inline(__always)
func optSize(_ q: ParsedQuery, _ opt: ResponseOPT, _ extras: OPTExtras) -> Int {
    guard let edns = q.edns else { return 0 }
    return 11 + (edns.clientSubnet.map { 8 + $0.addressLength } ?? 0) + opt.nsidOptionLength(q) + extras.length
}


#if canImport(Glibc)
import Glibc
#endif
