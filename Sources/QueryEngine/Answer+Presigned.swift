import DNSSEC
import DNSWire
import DNSZone

/// DO=1 answers from a zone signed elsewhere: its RRSIGs with every RRset, and the NSEC (RFC 4035
/// §3.1.3) or NSEC3 (RFC 5155 §7.2) records that prove what does not exist. The proofs are owed
/// to the authority section while the answer section is still being written (a wildcard CNAME
/// is proved before its target is answered), so they are collected in `proofs` and written
/// before the additional section, each once.
extension Answer {
    /// Most proofs an answer collects: three for an NXDOMAIN at the end of a chain, one for each
    /// wildcard expansion on the way (the chain is followed only while room is left, see `build`).
    static let maxProofs = 8

    /// An RRset of the zone and the zone's RRSIGs covering it; see `writeRecords`.
    mutating func writePresigned(_ set: Int32, _ info: Zone.RRSet, owner: Int, node: Int32, _ presigned: PresignedIndex) -> Int {
        signaturesWritten = 0
        let mark = w.mark
        let start = w.position
        let result = writeRecords(zone.bytes(of: set), type: info.type, count: Int(info.count), owner: owner, node: node)
        guard result >= 0 else { return -1 }
        let count = presigned.signatureCount(of: set)
        guard count > 0 else { return result }
        let signatureOwner = owner >= 0 ? owner : start
        guard presigned.signatures(of: set, { writeRecords($0, type: .rrsig, count: $1, owner: signatureOwner, node: node) >= 0 }) else {
            w.rollBack(to: mark)
            return -1
        }
        signaturesWritten = UInt16(count)
        return result
    }

    /// Owes the authority section an NSEC (at `node`, `proof >= 0`) or an NSEC3 (chain entry
    /// `-2 - proof`); -1 is nothing. A proof already owed or written is not added again.
    mutating func owe(_ proof: Int32) {
        guard proof != -1, proofCount < Self.maxProofs else { return }
        for k in 0..<proofCount where proofs[k] == proof { return }
        proofs[proofCount] = proof
        proofCount += 1
    }

    /// Writes the proofs owed; false (TC set) when one does not fit.
    mutating func writeProofs() -> Bool {
        guard let presigned else { return true }
        while proofsWritten < proofCount {
            let proof = proofs[proofsWritten]
            if proof >= 0 {
                let set = zone.rrset(at: proof, .nsec)
                if set >= 0 {
                    guard write(set, owner: -1, node: proof) >= 0 else { truncated = true; return false }
                    authorityCount += UInt16(zone.rrsets[Int(set)].count) + signaturesWritten
                }
            } else {
                guard writeChainEntry(presigned, -2 - proof) else { truncated = true; return false }
            }
            proofsWritten += 1
        }
        return true
    }

    /// An NSEC3 of the chain and its RRSIGs, its owner name compressed.
    mutating func writeChainEntry(_ presigned: PresignedIndex, _ e: Int32) -> Bool {
        let mark = w.mark
        let written = presigned.entry(e) { owner, records, signatureCount -> Bool in
            let at = w.writeName(owner)
            guard at >= 0, records.count >= 10 else { return false }
            var i = 10 + Int(records.u16(at: 8))
            guard i <= records.count, w.writeBytes(UnsafeRawBufferPointer(rebasing: records[0..<i])) else { return false }
            for _ in 0..<signatureCount {
                guard i + 10 <= records.count else { return false }
                let end = i + 10 + Int(records.u16(at: i + 8))
                guard end <= records.count, w.writePointer(to: at), w.writeBytes(UnsafeRawBufferPointer(rebasing: records[i..<end])) else { return false }
                i = end
            }
            authorityCount += 1 + UInt16(signatureCount)
            return true
        }
        if !written { w.rollBack(to: mark) }
        return written
    }

    /// The SOA's RRSIGs after the negative answer's SOA, their owner the apex at `apexOffset`, with
    /// the negative SOA's TTL (the TTL of the RRset they cover in this answer, as NSD serves them).
    mutating func writeNegativeSOASignatures(_ presigned: PresignedIndex, apexOffset: Int, ttl: UInt32) -> Bool {
        let soa = zone.rrset(at: 0, .soa)
        guard soa >= 0 else { return true }
        let mark = w.mark
        let count = presigned.signatureCount(of: soa)
        let written = presigned.signatures(of: soa) { records, count in
            var i = 0
            for _ in 0..<count {
                guard i + 10 <= records.count else { return false }
                let end = i + 10 + Int(records.u16(at: i + 8))
                guard end <= records.count, w.writePointer(to: apexOffset), w.writeBytes(UnsafeRawBufferPointer(rebasing: records[i..<(i + 4)])),
                      w.writeU32(ttl), w.writeBytes(UnsafeRawBufferPointer(rebasing: records[(i + 8)..<end]))
                else { return false }
                i = end
            }
            return true
        }
        guard written else {
            w.rollBack(to: mark)
            truncated = true
            return false
        }
        authorityCount += UInt16(count)
        return true
    }

    /// Owes what proves `denial` for the name being answered (`currentName`).
    mutating func owePresignedDenial(_ denial: Denial, _ presigned: PresignedIndex) {
        let name = currentName
        switch presigned.denial {
        case .none:
            return
        case .nsec:
            switch denial {
            case .node(let n):
                // NODATA (RFC 4035 §3.1.3.1): the name's NSEC; an empty non-terminal has none, and
                // the NSEC that covers it proves it has no type (RFC 4035 §3.1.3.1 with §2.3).
                owe(zone.rrset(at: n, .nsec) >= 0 ? n : presigned.nsecNode(atOrBefore: zone.name(of: n)))
            case .nxname:
                // NXDOMAIN (§3.1.3.2): the NSEC covering the name and the one covering the
                // wildcard at its closest encloser.
                owe(presigned.nsecNode(atOrBefore: name))
                let ce = closestEncloser(name)
                withWildcard(at: UnsafeRawBufferPointer(rebasing: name[ce...])) { owe(presigned.nsecNode(atOrBefore: $0)) }
            case .wildcard(let w):
                // Wildcard NODATA (§3.1.3.4): the NSEC covering the name, the wildcard's NSEC.
                owe(presigned.nsecNode(atOrBefore: name))
                owe(zone.rrset(at: w, .nsec) >= 0 ? w : -1)
            case .service:
                return
            }
        case .nsec3(_, let iterations, let salt):
            switch denial {
            case .node(let n):
                // NODATA (RFC 5155 §7.2.3): the NSEC3 matching the name; without one (the DS of an
                // opt-out delegation, §7.2.4), the closest provable encloser proof.
                let owner = zone.name(of: n)
                let match = hashed(owner, salt, iterations) { presigned.nsec3Matching($0) }
                if match >= 0 { owe(-2 - match) } else { _ = oweClosestEncloserProof(owner, presigned, salt, iterations) }
            case .nxname:
                // NXDOMAIN (§7.2.2): the closest encloser proof and the NSEC3 covering the
                // wildcard at the closest encloser.
                let ce = oweClosestEncloserProof(name, presigned, salt, iterations)
                guard ce >= 0 else { return }
                withWildcard(at: UnsafeRawBufferPointer(rebasing: name[ce...])) { wildcard in
                    owe(-2 - hashed(wildcard, salt, iterations) { presigned.nsec3Covering($0) })
                }
            case .wildcard(let w):
                // Wildcard NODATA (§7.2.5): the closest encloser proof, the NSEC3 matching the wildcard.
                _ = oweClosestEncloserProof(name, presigned, salt, iterations)
                let match = hashed(zone.name(of: w), salt, iterations) { presigned.nsec3Matching($0) }
                if match >= 0 { owe(-2 - match) }
            case .service:
                return
            }
        }
    }

    /// Owes what proves that a wildcard answer was right to expand: no closer name exists
    /// (RFC 4035 §3.1.3.3: the NSEC covering the name; RFC 5155 §7.2.6: the NSEC3 covering the
    /// next closer name of the wildcard's closest encloser).
    mutating func owePresignedWildcardAnswer(_ wildcard: Int32, _ presigned: PresignedIndex) {
        let name = currentName
        switch presigned.denial {
        case .none:
            return
        case .nsec:
            owe(presigned.nsecNode(atOrBefore: name))
        case .nsec3(_, let iterations, let salt):
            let encloser = zone.name(of: zone.nodes[Int(wildcard)].parent)
            var encloserOffset = 0
            while name.count - encloserOffset > encloser.count { encloserOffset += Int(name[encloserOffset]) + 1 }
            // The next closer name: the closest encloser and one more label of the name.
            var start = 0
            while start + Int(name[start]) + 1 < encloserOffset { start += Int(name[start]) + 1 }
            owe(-2 - hashed(UnsafeRawBufferPointer(rebasing: name[start...]), salt, iterations) { presigned.nsec3Covering($0) })
        }
    }

    /// Owes what proves a delegation has no DS: its NSEC (RFC 4035 §3.1.4), or its NSEC3, or for
    /// an opt-out delegation without one, the closest provable encloser proof (RFC 5155 §7.2.7).
    mutating func owePresignedNoDS(_ cut: Int32, _ presigned: PresignedIndex) {
        switch presigned.denial {
        case .none:
            return
        case .nsec:
            owe(zone.rrset(at: cut, .nsec) >= 0 ? cut : -1)
        case .nsec3(_, let iterations, let salt):
            let owner = zone.name(of: cut)
            let match = hashed(owner, salt, iterations) { presigned.nsec3Matching($0) }
            if match >= 0 { owe(-2 - match) } else { _ = oweClosestEncloserProof(owner, presigned, salt, iterations) }
        }
    }

    /// The closest provable encloser proof of `name` (RFC 5155 §7.2.1): the NSEC3 matching its
    /// nearest ancestor that has one and the NSEC3 covering the next closer name. Returns the
    /// offset of the encloser in `name`, or -1 when no ancestor has an NSEC3.
    mutating func oweClosestEncloserProof(_ name: UnsafeRawBufferPointer, _ presigned: PresignedIndex, _ salt: [UInt8],
                                          _ iterations: UInt16) -> Int {
        var child = 0
        while child < name.count, name[child] != 0 {
            let parent = child + Int(name[child]) + 1
            guard parent < name.count else { return -1 }
            let match = hashed(UnsafeRawBufferPointer(rebasing: name[parent...]), salt, iterations) { presigned.nsec3Matching($0) }
            if match >= 0 {
                owe(-2 - match)
                owe(-2 - hashed(UnsafeRawBufferPointer(rebasing: name[child...]), salt, iterations) { presigned.nsec3Covering($0) })
                return parent
            }
            child = parent
        }
        return -1
    }

    /// The offset in `name` of its closest encloser: the longest suffix that is a node of the zone.
    func closestEncloser(_ name: UnsafeRawBufferPointer) -> Int {
        guard let base = name.baseAddress else { return 0 }
        var i = 0
        while i < name.count, name[i] != 0 {
            if zone.node(base + i, name.count - i) >= 0 { return i }
            i += Int(name[i]) + 1
        }
        return max(0, name.count - zone.apex.count)
    }

    /// Calls `body` with `*.` and `encloser`, when that is a name (255 bytes or fewer).
    func withWildcard(at encloser: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard encloser.count + 2 <= DNSName.maxWireLength else { return }
        withUnsafeTemporaryAllocation(byteCount: DNSName.maxWireLength, alignment: 1) { buffer in
            buffer[0] = 1
            buffer[1] = UInt8(ascii: "*")
            UnsafeMutableRawBufferPointer(rebasing: buffer[2..<(2 + encloser.count)]).copyMemory(from: encloser)
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<(2 + encloser.count)]))
        }
    }

    /// `body` of the NSEC3 hash of the lower-case wire `name`.
    func hashed(_ name: UnsafeRawBufferPointer, _ salt: [UInt8], _ iterations: UInt16, _ body: (UnsafeRawBufferPointer) -> Int32) -> Int32 {
        withUnsafeTemporaryAllocation(byteCount: PresignedIndex.hashLength, alignment: 1) { hash in
            NSEC3Hash.hash(name, salt: salt, iterations: iterations, into: hash)
            return body(UnsafeRawBufferPointer(hash))
        }
    }
}
