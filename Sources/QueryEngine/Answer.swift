import DNSSEC
import DNSWire
import DNSZone
import IPNet
import Routing

/// What a query in a zone with service names needs to answer them.
struct RoutingContext {
    let services: ServiceSet
    let health: RoutingHealth
    /// The resolver's address (the packet's source).
    let resolver: IPAddress
}

/// One authoritative answer under construction: RFC 1034 §4.3.2 over a compiled zone, with CNAME
/// and DNAME chains followed inside the zone, RFC 2308 negative answers, RFC 4592 wildcards,
/// referrals with glue, RFC 8482 ANY and truncation that never splits an RRset.
struct Answer {
    let zone: Zone
    let query: ParsedQuery
    let packet: UnsafeRawBufferPointer
    let limit: Int
    let opt: ResponseOPT
    let extras: OPTExtras
    let scratch: UnsafeMutableRawBufferPointer
    var w: ResponseWriter
    var rcode = RCode.noError
    var authoritative = true
    var truncated = false
    /// Set when the zone holds service names.
    var routing: RoutingContext? = nil
    /// ECS SCOPE PREFIX-LENGTH of the response: 0 unless a routed answer depended on the client.
    var scope: UInt8 = 0
    /// The routed service answered, or -1; and the data centers (site indexes below 64) in its answer.
    var service: Int32 = -1
    var sites: UInt64 = 0
    var answerCount: UInt16 = 0
    var authorityCount: UInt16 = 0
    var additionalCount: UInt16 = 0
    /// The answer carries DNSSEC records: the query has DO=1 and `signing` or `presigned` is set.
    /// Tested before either is read, so a DO=0 answer never loads them (each `if let` of an
    /// `unowned(unsafe)` optional is a `swift_retain` call, even of nil).
    var dnssec = false
    /// The zone's signatures, when the query has DO=1 and the zone is signed online. Not owned:
    /// the engine holds them for as long as `respond` runs, so an answer costs no reference count.
    unowned(unsafe) var signing: ZoneSignatures? = nil
    /// The query thread's cache of signatures made while answering.
    var cache: UnsafeMutablePointer<SignatureCache>? = nil
    /// The zone's own signatures and proofs, when the query has DO=1 and the zone was signed
    /// elsewhere (it holds RRSIGs). Not owned: the zone holds it.
    unowned(unsafe) var presigned: PresignedIndex? = nil
    /// The NSEC and NSEC3 proofs the authority section is owed (see `owe`), the first
    /// `proofsWritten` of `proofCount` written: `maxProofs` slots of the query's scratch memory,
    /// read only below `proofCount`, so an answer that owes none (every DO=0 one) never touches them.
    let proofs: UnsafeMutableBufferPointer<Int32>
    var proofCount = 0
    var proofsWritten = 0
    /// RRSIG records the last `write` put after its RRset (0 or 1 signed online; a zone signed
    /// elsewhere may have one per key).
    var signaturesWritten: UInt16 = 0
    /// The lower-case wire name being answered (the QNAME, or the CNAME or DNAME target followed
    /// to), whose owner in the response is the `owner` the answer steps are given: what a
    /// signature made per query is keyed by, without reading the name back out of the response.
    var currentName = UnsafeRawBufferPointer(start: nil, count: 0)

    init(zone: Zone, query: ParsedQuery, packet: UnsafeRawBufferPointer, response: UnsafeMutableRawBufferPointer,
         limit: Int, opt: ResponseOPT, extras: OPTExtras, scratch: UnsafeMutableRawBufferPointer,
         proofs: UnsafeMutableBufferPointer<Int32>) {
        self.proofs = proofs
        self.zone = zone
        self.query = query
        self.packet = packet
        self.limit = limit
        self.opt = opt
        self.extras = extras
        self.scratch = scratch
        self.w = ResponseWriter(into: response, limit: limit)
    }

    /// Answers for the lower-case QNAME in `name` and returns the response length.
    mutating func build(name: UnsafeMutableRawBufferPointer, state: inout RoutingState) -> Int {
        writeHeader(&w, query, packet, rcode: .noError, authoritative: true)
        w.limit = limit - optSize(query, opt, extras)  // room for OPT is kept from the start
        w.rememberName(at: Header.size, length: query.qnameLength)
        var length = query.qnameLength
        var owner = Header.size
        var visited = InlineArray<16, Int32>(repeating: -1)
        var steps = 0
        chain: while true {
            let current = UnsafeRawBufferPointer(rebasing: name[0..<length])
            currentName = current
            if let routing {
                let service = routing.services.names.find(current.baseAddress!, length)
                if service >= 0 {
                    answerService(Int(service), routing, owner: owner, state: &state)
                    break chain
                }
            }
            let target: Int
            switch zone.resolve(current, forDS: query.qtype == .ds) {
            case .node(let n):
                for k in 0..<steps where visited[k] == n { break chain }  // a CNAME loop
                visited[steps] = n
                target = answer(at: n, owner: owner)
            case .wildcard(let n):
                for k in 0..<steps where visited[k] == n { break chain }
                visited[steps] = n
                target = answer(at: n, owner: owner, synthesized: true)
            case .nxdomain:
                // RFC 9824 §3.2: signed, a name that does not exist is answered as one that
                // exists without the type, its NSEC marked NXNAME.
                rcode = dnssec && signing != nil ? .noError : .nxDomain  // a zone signed elsewhere has its NSEC chain
                negative(.nxname, owner: owner)
                break chain
            case .delegation(let cut):
                referral(cut)
                break chain
            case .dname(let d):
                // A DNAME met again (its target lies below it) is applied once, as NSD does.
                for k in 0..<steps where visited[k] == d { break chain }
                visited[steps] = d
                target = substitute(d, current: current, owner: owner)
            }
            // Follow the new name only while it stays in this zone (as Knot does), the chain is short
            // and there is room for the proofs its end may owe.
            guard target >= 0, steps + 1 < QueryEngine.maxChain, query.qtype != .cname,
                  proofCount + 4 <= Self.maxProofs else { break chain }
            length = copyLowercasedName(at: target, into: name)
            guard length > 0, isInZone(UnsafeRawBufferPointer(rebasing: name[0..<length])) else { break chain }
            owner = target
            steps += 1
        }
        if proofsWritten < proofCount { _ = writeProofs() }
        return finish()
    }

    /// Answers from an existing (or, `synthesized`, wildcard) node. Returns the packet offset of a
    /// CNAME target to follow, or -1.
    mutating func answer(at n: Int32, owner: Int, synthesized: Bool = false) -> Int {
        let node = zone.nodes[Int(n)]
        var set: Int32 = -1
        if query.qtype == .any {
            if node.rrsetCount > 0 { set = node.rrsetStart }  // RFC 8482 §4.1: one RRset
        } else {
            set = zone.rrset(at: n, query.qtype)
        }
        if set >= 0 {
            guard write(set, owner: owner, node: n, synthesized: synthesized) >= 0 else { truncated = true; return -1 }
            answerCount += UInt16(zone.rrsets[Int(set)].count) + signaturesWritten
            if dnssec, let presigned {
                if synthesized { owePresignedWildcardAnswer(n, presigned) }
                guard writeProofs() else { return -1 }
            }
            addAdditional(for: set, requiredBelow: nil)
            return -1
        }
        if dnssec, let signing, !synthesized, query.qtype == .nsec || query.qtype == .rrsig, answerSignedMeta(n, node, signing, owner: owner) {
            return -1
        }
        if node.flags & Zone.Node.hasCNAME != 0 {
            let c = zone.rrset(at: n, .cname)
            let target = write(c, owner: owner, node: n, synthesized: synthesized)
            guard target >= 0 else { truncated = true; return -1 }
            answerCount += 1 + signaturesWritten
            if synthesized, dnssec, let presigned { owePresignedWildcardAnswer(n, presigned) }
            return target
        }
        negative(synthesized ? .wildcard(n) : .node(n), owner: owner)
        return -1
    }

    /// Signed, a name has the NSEC and RRSIG RRsets its NSEC lists (RFC 4035 §3.1): a query for
    /// NSEC is answered with the name's NSEC and its RRSIG, one for RRSIG with every signature at
    /// the name, the NSEC's included. False when the name has none to give (the answer goes on as
    /// NODATA); true when written, or when they did not fit (TC).
    mutating func answerSignedMeta(_ n: Int32, _ node: Zone.Node, _ signing: ZoneSignatures, owner: Int) -> Bool {
        let mark = w.mark
        if query.qtype == .nsec {
            guard signing.hasDenial(of: n) else { return false }
            if signing.denial(of: n, { writeRecords($0, type: .nsec, count: 2, owner: owner, node: n) >= 0 }) {
                answerCount += 2
            } else {
                w.rollBack(to: mark)
                truncated = true
            }
            return true
        }
        var count: UInt16 = 0
        for k in Int(node.rrsetStart)..<Int(node.rrsetStart + node.rrsetCount) where signing.isSigned(Int32(k)) {
            guard signing.signatures(of: Int32(k), { writeRecords($0, type: .rrsig, count: $1, owner: owner, node: n) >= 0 }) else {
                w.rollBack(to: mark)
                truncated = true
                return true
            }
            count += 1
        }
        // The NSEC's own signature too: the NSEC lists RRSIG, so an empty non-terminal has one.
        if signing.hasDenial(of: n) {
            guard signing.denialSignature(of: n, { writeRecords($0, type: .rrsig, count: 1, owner: owner, node: n) >= 0 }) else {
                w.rollBack(to: mark)
                truncated = true
                return true
            }
            count += 1
        }
        answerCount += count
        return count > 0
    }

    /// RFC 6672 §3.3: the DNAME RRset, then a CNAME from the current name to its substitution.
    /// Returns the packet offset of the new name to follow, or -1.
    mutating func substitute(_ d: Int32, current: UnsafeRawBufferPointer, owner: Int) -> Int {
        let set = zone.rrset(at: d, .dname)
        guard write(set, owner: -1, node: d) >= 0 else { truncated = true; return -1 }
        answerCount += 1 + signaturesWritten
        let rr = zone.bytes(of: set)
        let ttl = rr.u32(at: 4)
        let target = UnsafeRawBufferPointer(rebasing: rr[10..<(10 + Int(rr.u16(at: 8)))])
        let prefix = current.count - zone.name(of: d).count
        guard prefix + target.count <= DNSName.maxWireLength else {
            rcode = .yxDomain  // the substituted name would be too long
            return -1
        }
        let built = UnsafeMutableRawBufferPointer(rebasing: scratch[256..<(256 + prefix + target.count)])
        built.baseAddress!.copyMemory(from: current.baseAddress!, byteCount: prefix)
        (built.baseAddress! + prefix).copyMemory(from: target.baseAddress!, byteCount: target.count)
        let mark = w.mark
        guard w.writePointer(to: owner), w.writeU16(RRType.cname.rawValue), w.writeU16(RRClass.in.rawValue),
              w.writeU32(ttl), w.writeU16(0)
        else { w.rollBack(to: mark); truncated = true; return -1 }
        let rdlength = w.position
        let offset = w.writeName(UnsafeRawBufferPointer(built))
        guard offset >= 0 else { w.rollBack(to: mark); truncated = true; return -1 }
        w.patchU16(UInt16(w.position - rdlength), at: rdlength - 2)
        answerCount += 1
        return offset
    }

    /// A service name: A or AAAA records chosen by its routing policy for this client (ANY gets the
    /// A answer, RFC 8482); any other type, or no address of the family, is NODATA.
    mutating func answerService(_ index: Int, _ routing: RoutingContext, owner: Int, state: inout RoutingState) {
        let qtype = query.qtype
        guard qtype == .a || qtype == .aaaa || qtype == .any else { negative(.service(index), owner: owner); return }
        let ipv6 = qtype == .aaaa
        let routed = routing.services.routing.answer(
            service: index, ipv6: ipv6, client: client(resolver: routing.resolver), health: routing.health, state: &state)
        scope = routed.selection.scope
        service = Int32(index)
        guard routed.selection.count > 0 else { negative(.service(index), owner: owner); return }
        let mark = w.mark
        let before = answerCount
        let addresses = routing.services.routing.answerIPs
        let answerSites = routing.services.routing.answerSites
        for k in 0..<routed.selection.count {
            let id = Int(routed.selection.ids[k])
            let ip = addresses[id]
            sites |= answerSites[id]
            guard w.writePointer(to: owner), w.writeU16(ipv6 ? RRType.aaaa.rawValue : RRType.a.rawValue),
                  w.writeU16(RRClass.in.rawValue), w.writeU32(routed.ttl), w.writeU16(ipv6 ? 16 : 4),
                  ipv6 ? (w.writeU32(UInt32(truncatingIfNeeded: ip.high >> 32)) && w.writeU32(UInt32(truncatingIfNeeded: ip.high))
                      && w.writeU32(UInt32(truncatingIfNeeded: ip.low >> 32)) && w.writeU32(UInt32(truncatingIfNeeded: ip.low)))
                      : w.writeU32(ip.ipv4Value)
            else {
                w.rollBack(to: mark)
                truncated = true
                answerCount = before
                return
            }
            answerCount += 1
        }
        if dnssec && signing != nil {
            let ownerName = currentName
            let signed = writeDynamicSignature(owner: owner, type: ipv6 ? .aaaa : .a, ttl: routed.ttl) { key in
                key.owner(ownerName)
                for k in 0..<routed.selection.count {
                    let ip = addresses[Int(routed.selection.ids[k])]
                    key.rdata(capacity: 16) { out in
                        let words = ipv6 ? 2 : 1
                        for word in 0..<words {
                            let value = word == 0 ? ip.high : ip.low
                            for b in 0..<(ipv6 ? 8 : 4) { out[word * 8 + b] = UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * b)) }
                        }
                        return ipv6 ? 16 : 4
                    }
                }
            }
            guard signed else {
                w.rollBack(to: mark)
                truncated = true
                answerCount = before
                return
            }
            answerCount += 1
        }
    }

    /// The types a service name has, as its NSEC says (without `qtype`, which it is answering
    /// NODATA for): A when it has IPv4 candidates, AAAA when it has IPv6 ones.
    func serviceTypes(_ index: Int, _ routing: RoutingContext, without qtype: RRType) -> [UInt16] {
        let table = routing.services.routing
        var v4 = false, v6 = false
        for id in table.services[index].candidates {
            if table.answerIPs[Int(id)].isIPv6 { v6 = true } else { v4 = true }
        }
        var types: [UInt16] = []
        if v4 && qtype != .a { types.append(RRType.a.rawValue) }
        if v6 && qtype != .aaaa { types.append(RRType.aaaa.rawValue) }
        return types
    }

    /// Who the answer is for: `ClientInfo(resolver:subnet:sourcePrefixLength:)` over the query's
    /// ECS option, the rule `meridian explain` applies too.
    func client(resolver: IPAddress) -> ClientInfo {
        guard let subnet = query.edns?.clientSubnet else { return ClientInfo(resolver: resolver, subnet: nil, sourcePrefixLength: 0) }
        return ClientInfo(resolver: resolver, subnet: IPAddress(high: subnet.high, low: subnet.low, isIPv6: subnet.family == 2),
                          sourcePrefixLength: Int(subnet.sourcePrefixLength))
    }

    /// What proves a negative answer in a signed zone (RFC 9824 compact denial). No case holds
    /// an array, so an unsigned answer builds nothing.
    enum Denial {
        /// The NSEC compiled at this node (NODATA at a name of the zone; no DS at a delegation).
        case node(Int32)
        /// An NSEC made for the name at the answer's owner: a name that does not exist (NXNAME),
        /// a name this wildcard node covers (its types), a service name (its address types).
        case nxname
        case wildcard(Int32)
        case service(Int)
    }

    /// NXDOMAIN or NODATA: the zone's SOA in authority with the negative TTL (RFC 2308 §3); signed,
    /// with its RRSIG and `denial`'s NSEC at the name at `owner`, with its RRSIG.
    mutating func negative(_ denial: Denial, owner: Int) {
        let soa = UnsafeRawBufferPointer(start: zone.negativeSOA.baseAddress, count: zone.negativeSOALength)
        guard soa.count > 0 else { return }
        let apexOffset = Header.size + query.qnameLength - zone.apex.count
        let mark = w.mark
        guard writeRecords(soa, type: .soa, count: 1, owner: apexOffset, node: 0) >= 0 else {
            truncated = true
            return
        }
        guard dnssec, let signing else {
            authorityCount += 1
            if dnssec, let presigned, writeNegativeSOASignatures(presigned, apexOffset: apexOffset, ttl: soa.u32(at: 4)) {
                owePresignedDenial(denial, presigned)
                _ = writeProofs()
            }
            return
        }
        let ttl = signing.negativeTTL
        let apex = zone.apex
        let soaSigned = writeDynamicSignature(owner: apexOffset, type: .soa, ttl: soa.u32(at: 4)) { key in
            apex.withUnsafeBytes { key.owner($0) }
            key.rdata(UnsafeRawBufferPointer(rebasing: soa[10..<(10 + Int(soa.u16(at: 8)))]))
        }
        guard soaSigned else {
            w.rollBack(to: mark)
            truncated = true
            return
        }
        var proved = false
        switch denial {
        case .node(let n):
            proved = signing.denial(of: n) { writeRecords($0, type: .nsec, count: 2, owner: owner, node: n) >= 0 }
        case .nxname, .wildcard, .service:
            var types: [UInt16]? = nil
            switch denial {
            case .wildcard(let n):
                let node = zone.nodes[Int(n)]
                types = (Int(node.rrsetStart)..<Int(node.rrsetStart + node.rrsetCount)).map { zone.rrsets[$0].type.rawValue }
            case .service(let index):
                if let routing { types = serviceTypes(index, routing, without: query.qtype) }
            default: break  // NXNAME: the constant bitmap
            }
            proved = writeSynthesizedNSEC(owner: owner, ttl: ttl, types: types)
        }
        guard proved else {
            w.rollBack(to: mark)
            truncated = true
            return
        }
        authorityCount += 4
    }

    /// The NSEC made for the name at `owner` (RFC 9824: next name `\000.` + the name, the bitmap of
    /// `types` with RRSIG and NSEC, NXNAME's when nil) and its RRSIG; false, written nothing,
    /// when they do not fit or the name is too long for a successor.
    mutating func writeSynthesizedNSEC(owner: Int, ttl: UInt32, types: [UInt16]?) -> Bool {
        let mark = w.mark
        let base = UnsafeRawPointer(w.base)
        let name = currentName
        let length = name.count
        do {
            guard length > 0, length + 2 <= DNSName.maxWireLength else { return false }
            let bitmap = types.map { CompactDenial.typeBitmap($0 + [RRType.rrsig.rawValue, RRType.nsec.rawValue]) } ?? CompactDenial.nxnameBitmap
            guard w.writePointer(to: owner), w.writeU16(RRType.nsec.rawValue), w.writeU16(RRClass.in.rawValue), w.writeU32(ttl),
                  w.writeU16(UInt16(2 + length + bitmap.count)), w.writeU16(0x0100),
                  w.writeBytes(name), bitmap.withUnsafeBytes({ w.writeBytes($0) })
            else { w.rollBack(to: mark); return false }
            let rdata = UnsafeRawBufferPointer(start: base + (w.position - 2 - length - bitmap.count), count: 2 + length + bitmap.count)
            let signed = writeDynamicSignature(owner: owner, type: .nsec, ttl: ttl) { key in
                key.owner(name)
                key.rdata(rdata)
            }
            if !signed { w.rollBack(to: mark) }
            return signed
        }
    }

    /// An RRSIG record made (or found in the thread's cache) for an RRset that exists only in
    /// answers, its owner a pointer to `owner`; `build` gives the cache the RRset (its owner, then
    /// each RDATA), reading nothing of `self`.
    mutating func writeDynamicSignature(owner: Int, type: RRType, ttl: UInt32, build: (inout SignatureCache.Key) -> Void) -> Bool {
        guard let signing, let cache else { return false }
        let mark = w.mark
        let written = cache.pointee.withSignature(type: type, ttl: ttl, signatures: signing, build: build) { rdata in
            w.writePointer(to: owner) && w.writeU16(RRType.rrsig.rawValue) && w.writeU16(RRClass.in.rawValue) && w.writeU32(ttl)
                && w.writeU16(UInt16(rdata.count)) && w.writeBytes(rdata)
        }
        if !written { w.rollBack(to: mark) }
        return written
    }

    /// A referral (RFC 1034 §4.3.2 step 3b): not authoritative, the delegation's NS in authority and
    /// glue in additional. Missing in-domain glue sets TC (RFC 9471 §3). Signed (DO=1, a zone signed
    /// online), the DS RRset with its RRSIG follows the NS, or, without DS, the delegation's NSEC
    /// with its RRSIG proving there is none (RFC 4035 §3.1.4); unsigned zones add neither, as Knot
    /// and NSD do.
    mutating func referral(_ cut: Int32) {
        if answerCount == 0 { authoritative = false }
        let ns = zone.rrset(at: cut, .ns)
        let nsStart = w.position
        guard write(ns, owner: -1, node: cut) >= 0 else { truncated = true; return }
        authorityCount += UInt16(zone.rrsets[Int(ns)].count)
        if dnssec, let signing {
            let ds = zone.rrset(at: cut, .ds)
            if ds >= 0 {
                guard write(ds, owner: nsStart, node: cut) >= 0 else { truncated = true; return }
                authorityCount += UInt16(zone.rrsets[Int(ds)].count) + signaturesWritten
            } else {
                guard signing.denial(of: cut, { writeRecords($0, type: .nsec, count: 2, owner: nsStart, node: cut) >= 0 }) else {
                    truncated = true
                    return
                }
                authorityCount += 2
            }
        } else if dnssec, let presigned {
            let ds = zone.rrset(at: cut, .ds)
            if ds >= 0 {
                guard write(ds, owner: nsStart, node: cut) >= 0 else { truncated = true; return }
                authorityCount += UInt16(zone.rrsets[Int(ds)].count) + signaturesWritten
            } else {
                owePresignedNoDS(cut, presigned)
            }
            guard writeProofs() else { return }
        }
        addAdditional(for: ns, requiredBelow: cut)
    }

    /// A and AAAA of the in-zone names an NS, MX or SRV RRset points to. Addresses that do not fit are
    /// left out without TC, except glue below `requiredBelow` (in-domain glue of a referral).
    mutating func addAdditional(for set: Int32, requiredBelow cut: Int32?) {
        let info = zone.rrsets[Int(set)]
        guard info.additionalCount > 0 else { return }
        for k in Int(info.additionalStart)..<Int(info.additionalStart + info.additionalCount) {
            let target = zone.additional[k]
            guard addAddresses(of: target, .a, requiredBelow: cut),
                  addAddresses(of: target, .aaaa, requiredBelow: cut)
            else { return }
        }
    }

    /// Adds one address RRset of `target` to the additional section; false when it did not fit.
    mutating func addAddresses(of target: Int32, _ type: RRType, requiredBelow cut: Int32?) -> Bool {
        let s = zone.rrset(at: target, type)
        guard s >= 0 else { return true }
        guard write(s, owner: -1, node: target) >= 0 else {
            if let cut, isBelow(target, cut) { truncated = true }
            return false
        }
        additionalCount += UInt16(zone.rrsets[Int(s)].count) + signaturesWritten
        return true
    }

    func isBelow(_ node: Int32, _ ancestor: Int32) -> Bool {
        let n = zone.name(of: node), a = zone.name(of: ancestor)
        guard n.count > a.count else { return false }
        return memcmp(n.baseAddress! + (n.count - a.count), a.baseAddress!, a.count) == 0
    }

    func isInZone(_ name: UnsafeRawBufferPointer) -> Bool {
        let apex = zone.apex
        guard name.count >= apex.count else { return false }
        var i = 0
        while name.count - i > apex.count { i += Int(name[i]) + 1 }
        guard name.count - i == apex.count else { return false }
        return apex.withUnsafeBytes { memcmp(name.baseAddress! + i, $0.baseAddress!, apex.count) == 0 }
    }

    /// Copies the (possibly compressed) name at `offset` in the response, lower-cased, into `name`.
    func copyLowercasedName(at offset: Int, into name: UnsafeMutableRawBufferPointer) -> Int {
        let base = UnsafeRawPointer(w.base)
        var o = offset
        var n = 0
        while true {
            let len = Int(base.load(fromByteOffset: o, as: UInt8.self))
            if len & 0xC0 == 0xC0 {
                o = (len & 0x3F) << 8 | Int(base.load(fromByteOffset: o + 1, as: UInt8.self))
                continue
            }
            guard n + len + 1 <= DNSName.maxWireLength else { return 0 }
            name[n] = UInt8(len)
            if len == 0 { return n + 1 }
            for k in 1...len { name[n + k] = DNSName.lower(base.load(fromByteOffset: o + k, as: UInt8.self)) }
            n += len + 1
            o += len + 1
        }
    }

    /// Writes an RRset of the zone; see `writeRecords`. Signed (`signing`), its RRSIG follows it,
    /// or neither is written; `signaturesWritten` says how many RRSIG records were added.
    @inline(__always)
    mutating func write(_ set: Int32, owner: Int, node: Int32, synthesized: Bool = false) -> Int {
        let info = zone.rrsets[Int(set)]
        if dnssec {
            if let signing { return writeSigned(set, info, owner: owner, node: node, signing, synthesized: synthesized) }
            if let presigned { return writePresigned(set, info, owner: owner, node: node, presigned) }
        }
        return writeRecords(zone.bytes(of: set), type: info.type, count: Int(info.count), owner: owner, node: node)
    }

    /// An RRset and its RRSIG: the one compiled with the zone, or for the SOA (whose serial health
    /// moves) and for wildcard answers (signed at the name asked, RFC 9824 §3.3), one made now.
    /// RRsets the zone does not sign (a delegation's NS, glue) are written alone.
    mutating func writeSigned(_ set: Int32, _ info: Zone.RRSet, owner: Int, node: Int32, _ signing: ZoneSignatures, synthesized: Bool) -> Int {
        signaturesWritten = 0
        let mark = w.mark
        let start = w.position
        let data = zone.bytes(of: set)
        let result = writeRecords(data, type: info.type, count: Int(info.count), owner: owner, node: node)
        guard result >= 0 else { return -1 }
        let signatureOwner = owner >= 0 ? owner : start
        if info.type == .soa || synthesized {
            let ownerName = synthesized ? currentName : zone.name(of: node)
            let count = Int(info.count)
            let signed = writeDynamicSignature(owner: signatureOwner, type: info.type, ttl: info.ttl) { key in
                key.owner(ownerName)
                var i = 0
                for _ in 0..<count where i + 10 <= data.count {
                    let length = Int(data.u16(at: i + 8))
                    key.rdata(UnsafeRawBufferPointer(rebasing: data[(i + 10)..<(i + 10 + length)]))
                    i += 10 + length
                }
            }
            guard signed else { w.rollBack(to: mark); return -1 }
            signaturesWritten = 1
        } else if signing.isSigned(set) {
            guard signing.signatures(of: set, { writeRecords($0, type: .rrsig, count: $1, owner: signatureOwner, node: node) >= 0 }) else {
                w.rollBack(to: mark)
                return -1
            }
            signaturesWritten = 1
        }
        return result
    }

    /// Writes `count` pre-encoded records (TYPE CLASS TTL RDLENGTH RDATA each). The owner is a pointer
    /// to `owner`, or when that is -1 the node's name, compressed. RDATA names of RFC 1035 types are
    /// compressed. Returns the offset of the last record's first RDATA name (0 when it has none), or
    /// -1 after rolling back when the records do not all fit.
    mutating func writeRecords(_ data: UnsafeRawBufferPointer, type: RRType, count: Int, owner: Int, node: Int32) -> Int {
        let mark = w.mark
        var ownerOffset = owner
        var nameOffset = 0
        var i = 0
        for _ in 0..<count {
            if ownerOffset >= 0 {
                guard w.writePointer(to: ownerOffset) else { w.rollBack(to: mark); return -1 }
            } else {
                ownerOffset = w.writeName(zone.name(of: node))
                guard ownerOffset >= 0 else { w.rollBack(to: mark); return -1 }
            }
            let rdlength = Int(data.u16(at: i + 8))
            if !type.hasCompressibleNames {
                guard w.writeBytes(UnsafeRawBufferPointer(rebasing: data[i..<(i + 10 + rdlength)])) else {
                    w.rollBack(to: mark)
                    return -1
                }
            } else {
                guard w.writeBytes(UnsafeRawBufferPointer(rebasing: data[i..<(i + 8)])), w.writeU16(0) else {
                    w.rollBack(to: mark)
                    return -1
                }
                let start = w.position
                nameOffset = writeCompressedRData(UnsafeRawBufferPointer(rebasing: data[(i + 10)..<(i + 10 + rdlength)]), type)
                guard nameOffset >= 0 else { w.rollBack(to: mark); return -1 }
                w.patchU16(UInt16(w.position - start), at: start - 2)
            }
            i += 10 + rdlength
        }
        return nameOffset
    }

    /// RDATA of the RFC 1035 types with names (RFC 3597 §4): names compressed, other fields copied.
    /// Returns the offset of the first name, or -1 when it does not fit.
    mutating func writeCompressedRData(_ rdata: UnsafeRawBufferPointer, _ type: RRType) -> Int {
        var i = 0
        if type == .mx {
            guard w.writeBytes(UnsafeRawBufferPointer(rebasing: rdata[0..<2])) else { return -1 }
            i = 2
        }
        let names = (type == .soa || type == .minfo) ? 2 : 1
        var first = -1
        for k in 0..<names {
            var end = i
            while rdata[end] != 0 { end += Int(rdata[end]) + 1 }
            end += 1
            let offset = w.writeName(UnsafeRawBufferPointer(rebasing: rdata[i..<end]))
            guard offset >= 0 else { return -1 }
            if k == 0 { first = offset }
            i = end
        }
        guard w.writeBytes(UnsafeRawBufferPointer(rebasing: rdata[i...])) else { return -1 }
        return first
    }

    /// Fills in the header flags and counts and appends OPT when the query had one.
    mutating func finish() -> Int {
        var flags = Header.qr | (query.flags & (Header.opcodeMask | Header.rd)) | (rcode.rawValue & Header.rcodeMask)
        if authoritative && query.qclass != .any { flags |= Header.aa }
        if truncated { flags |= Header.tc }
        w.patchU16(flags, at: 2)
        w.patchU16(answerCount, at: 6)
        w.patchU16(authorityCount, at: 8)
        if query.edns != nil {
            w.limit = limit
            if writeOPT(&w, query, packet, rcode: rcode, opt: opt, extras: extras, scope: scope) { additionalCount += 1 }
        }
        w.patchU16(additionalCount, at: 10)
        return w.position
    }
}

/// Header and question: ID, opcode and RD copied; QDCOUNT 1 when the question was read (the
/// question is copied byte for byte, so QNAME case is echoed exactly). CD is cleared: "A
/// security-aware name server SHOULD clear the CD bit when composing an authoritative response"
/// (RFC 4035 §3.1.6), as Knot and NSD do.
func writeHeader(_ w: inout ResponseWriter, _ q: ParsedQuery, _ query: UnsafeRawBufferPointer, rcode: RCode, authoritative: Bool) {
    let copied = q.flags & (Header.opcodeMask | Header.rd)
    _ = w.writeU16(q.id)
    _ = w.writeU16(Header.qr | copied | (authoritative ? Header.aa : 0) | (rcode.rawValue & Header.rcodeMask))
    _ = w.writeU16(q.hasQuestion ? 1 : 0)
    _ = w.writeU32(0)
    _ = w.writeU16(0)
    if q.hasQuestion {
        _ = w.writeBytes(UnsafeRawBufferPointer(rebasing: query[Header.size..<q.questionEnd]))
    }
}

#if canImport(Glibc)
import Glibc
#endif
