public import DNSWire

/// Applies IXFR differences (RFC 1995 §4) to the records of the zone we hold. Strict: each
/// difference must start at the serial the zone is at, and every record it deletes must be in the
/// zone (a primary whose journal does not match our copy is not trusted for a partial update; the
/// caller falls back to AXFR). Records are compared by owner and the names inside RDATA ignoring
/// case (`RDataShape.canonical`, RFC 4034 §6.2), type, class and RDATA; the TTL is not part of a
/// record's identity (RFC 2181 §5.2).
public enum IXFRApplier {
    /// The zone after `differences`, the new SOA first; `records` holds exactly one SOA.
    public static func apply(_ differences: [IXFRDifference], to records: [Message.Record]) throws(IncomingTransfer.Failure) -> [Message.Record] {
        guard let soaIndex = records.firstIndex(where: { $0.type == .soa }) else {
            throw IncomingTransfer.Failure(.badContent, "the zone we hold has no SOA")
        }
        var soa = records[soaIndex]
        // The record kept at each identity (its TTL may change), in a slot list so deletions are O(1).
        var slots: [Message.Record?] = []
        var index: [Key: Int] = [:]
        slots.reserveCapacity(records.count)
        for (k, r) in records.enumerated() where k != soaIndex {
            let key = Key(r)
            if let at = index[key] { slots[at] = r } else { index[key] = slots.count; slots.append(r) }
        }
        for d in differences {
            guard soa.soaSerial == d.fromSerial else {
                throw IncomingTransfer.Failure(.badContent, "a difference from serial \(d.fromSerial) to a zone at \(soa.soaSerial.map(String.init) ?? "-")")
            }
            for r in d.deleted {
                guard r.type != .soa else { throw IncomingTransfer.Failure(.badContent, "a difference deletes a second SOA") }
                guard let at = index.removeValue(forKey: Key(r)) else {
                    throw IncomingTransfer.Failure(.badContent, "serial \(d.fromSerial)→\(d.toSerial) deletes \(r.owner) \(r.type), which we do not hold")
                }
                slots[at] = nil
            }
            for r in d.added {
                guard r.type != .soa else { throw IncomingTransfer.Failure(.badContent, "a difference adds a second SOA") }
                let key = Key(r)
                if let at = index[key] { slots[at] = r } else { index[key] = slots.count; slots.append(r) }
            }
            soa = d.newSOA
        }
        return [soa] + slots.compactMap { $0 }
    }

    /// A record's identity: owner (case-folded), type, class and RDATA (its names case-folded).
    struct Key: Hashable {
        let owner: DNSName
        let type: RRType
        let rrClass: RRClass
        let rdata: [UInt8]
        init(_ r: Message.Record) {
            owner = r.owner
            type = r.type
            rrClass = r.rrClass
            rdata = RDataShape.canonical(r.type, r.rdata)
        }
    }
}
