import DNSWire
import DNSZone

/// The owner (lowercased wire form), type and, for RRSIG, covered type that make one RRset.
private struct RRsetKey: Hashable {
    let owner: [UInt8]
    let type: UInt16
    let covered: UInt16

    init(_ record: ZoneRecord, owner: [UInt8]) {
        self.owner = owner
        type = record.type.rawValue
        // RRSIGs covering different types are different RRsets, each with its covered RRset's TTL
        // (RFC 4035 §2.2).
        covered = record.type == .rrsig && record.rdata.count >= 2 ? UInt16(record.rdata[0]) << 8 | UInt16(record.rdata[1]) : 0
    }

    func hash(into hasher: inout Hasher) {
        owner.withUnsafeBytes { hasher.combine(bytes: $0) }
        hasher.combine(type)
        hasher.combine(covered)
    }
}

/// One record's identity for duplicate detection: its RRset and its RDATA bytes.
private struct RecordKey: Hashable {
    let rrset: RRsetKey
    let rdata: [UInt8]

    func hash(into hasher: inout Hasher) {
        hasher.combine(rrset)
        rdata.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension ZoneFile {
    /// Drops repeated records (same owner, type and RDATA) and gives every RRset one TTL.
    ///
    /// As Knot DNS does (and logs "TTL mismatch"), an RRset whose records were written with
    /// different TTLs takes the TTL of its last record; this is not an error.
    static func normalized(_ records: [ZoneRecord]) -> [ZoneRecord] {
        var seen = Set<RecordKey>(minimumCapacity: records.count)
        var ttls = [RRsetKey: UInt32](minimumCapacity: records.count)
        var kept: [ZoneRecord] = []
        var keys: [RRsetKey] = []
        kept.reserveCapacity(records.count)
        keys.reserveCapacity(records.count)
        var mismatch = false
        for record in records {
            let key = RRsetKey(record, owner: record.owner.lowercased().wire)
            if let old = ttls.updateValue(record.ttl, forKey: key), old != record.ttl { mismatch = true }
            guard seen.insert(RecordKey(rrset: key, rdata: record.rdata)).inserted else { continue }
            kept.append(record)
            keys.append(key)
        }
        if mismatch {
            for i in kept.indices { kept[i].ttl = ttls[keys[i]]! }
        }
        return kept
    }

    /// Every problem with `records` as the contents of the zone `origin`, in record order.
    ///
    /// Checks: one SOA, at the apex; NS at the apex; no CNAME beside other data (RRSIG and NSEC
    /// excepted, RFC 2181 §10.1, RFC 4035 §2.5) and at most one CNAME or DNAME per owner; no data
    /// at or below a delegation except the NS, DS, NSEC and RRSIG at the cut and address glue
    /// (A or AAAA at the name of an NS target); nothing below a DNAME (RFC 6672 §2.3); nothing
    /// outside the zone.
    public static func validate(origin: DNSName, records: [ZoneRecord]) -> [ZoneFileError] {
        var errors: [ZoneFileError] = []
        let apex = origin.lowercased().wire
        var apexSOA: Int?
        var apexNS = false

        /// Indices of what one owner holds, to check the CNAME and DNAME rules.
        struct OwnerData {
            var cname: Int?
            var other: Int?
            var dname: Int?
        }
        var owners: [[UInt8]: OwnerData] = [:]
        var cuts = Set<ArraySlice<UInt8>>()
        var dnames = Set<ArraySlice<UInt8>>()
        var nsTargets = Set<[UInt8]>()
        var inZone: [(index: Int, owner: [UInt8])] = []
        inZone.reserveCapacity(records.count)

        for (index, record) in records.enumerated() {
            func report(_ code: ZoneFileError.Code, _ reason: String) {
                errors.append(ZoneFileError(code, at: record.location, reason))
            }
            guard record.owner.isSubdomain(of: origin) else {
                report(.outOfZone, "\(record.owner) is outside the zone \(origin)")
                continue
            }
            let owner = record.owner.lowercased().wire
            let atApex = owner == apex
            inZone.append((index, owner))
            switch record.type {
            case .soa:
                if !atApex {
                    report(.soaNotAtApex, "SOA at \(record.owner), not at the apex \(origin)")
                } else if let first = apexSOA {
                    report(.multipleSOA, "second SOA at the apex (the first is at \(records[first].location))")
                } else {
                    apexSOA = index
                }
            case .ns:
                if atApex { apexNS = true } else { cuts.insert(owner[...]) }
                nsTargets.insert(lowercased(record.rdata))
            case .dname:
                dnames.insert(owner[...])
            default:
                break
            }

            func check(_ data: inout OwnerData) {
                switch record.type {
                case .cname:
                    if let first = data.cname {
                        report(.multipleCNAME, "second CNAME at \(record.owner) (the first is at \(records[first].location))")
                    } else if let other = data.other {
                        report(.cnameWithOtherData, "CNAME at \(record.owner) beside \(records[other].type) at \(records[other].location)")
                    }
                    data.cname = data.cname ?? index
                case .rrsig, .nsec:
                    break
                default:
                    if data.other == nil, let cname = data.cname {
                        report(.cnameWithOtherData, "\(record.type) at \(record.owner) beside the CNAME at \(records[cname].location)")
                    }
                    if record.type == .dname {
                        if let first = data.dname {
                            report(.multipleDNAME, "second DNAME at \(record.owner) (the first is at \(records[first].location))")
                        }
                        data.dname = data.dname ?? index
                    }
                    data.other = data.other ?? index
                }
            }
            check(&owners[owner, default: OwnerData()])
        }

        if !cuts.isEmpty || !dnames.isEmpty {
            for (index, owner) in inZone {
                if let problem = occlusion(of: records[index], owner: owner, apexLength: apex.count, cuts: cuts, dnames: dnames, nsTargets: nsTargets) {
                    errors.append(problem)
                }
            }
        }

        let first = records.first?.location
        if apexSOA == nil {
            errors.append(ZoneFileError(.missingSOA, at: first, "no SOA record at the apex \(origin)"))
        }
        if !apexNS {
            errors.append(ZoneFileError(.missingApexNS, at: apexSOA.map { records[$0].location } ?? first, "no NS records at the apex \(origin)"))
        }
        return errors
    }

    /// The error for a record hidden by a DNAME above it or by a delegation at or above it, if any.
    private static func occlusion(
        of record: ZoneRecord, owner: [UInt8], apexLength: Int,
        cuts: Set<ArraySlice<UInt8>>, dnames: Set<ArraySlice<UInt8>>, nsTargets: Set<[UInt8]>
    ) -> ZoneFileError? {
        var cut: ArraySlice<UInt8>?
        var offset = 0
        // Walk from the owner up to the apex; cuts are never at the apex, DNAMEs may be.
        while owner.count - offset >= apexLength {
            let name = owner[offset...]
            if offset > 0, dnames.contains(name) {
                return ZoneFileError(.dataBelowDNAME, at: record.location, "\(record.owner) is below the DNAME at \(display(name)), so it is occluded")
            }
            // The topmost cut decides: a delegation below another one is itself occluded.
            if owner.count - offset > apexLength, cuts.contains(name) { cut = name }
            offset += Int(owner[offset]) + 1
        }
        guard let cut else { return nil }
        let atCut = cut.count == owner.count
        let glue = (record.type == .a || record.type == .aaaa) && nsTargets.contains(owner)
        let parentSide = atCut && [RRType.ns, .ds, .nsec, .rrsig].contains(record.type)
        guard !glue && !parentSide else { return nil }
        return ZoneFileError(.dataBelowDelegation, at: record.location, "\(record.type) at \(record.owner) is \(atCut ? "at" : "below") the delegation \(display(cut)) and is not glue")
    }

    private static func display(_ wire: ArraySlice<UInt8>) -> String {
        (try? DNSName(wire: Array(wire)))?.description ?? "?"
    }

    /// The wire name with ASCII letters folded to lower case.
    private static func lowercased(_ wire: [UInt8]) -> [UInt8] {
        wire.map(DNSName.lower)
    }
}
