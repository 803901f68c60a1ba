#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
public import DNSWire
public import DNSZone

/// The owner, type and, for RRSIG, covered type that make one RRset.
private struct RRsetKey: Hashable {
    let owner: NameKey
    let type: UInt16
    let covered: UInt16

    init(_ record: ZoneRecord) {
        owner = NameKey(record.owner.wire[...])
        type = record.type.rawValue
        // RRSIGs covering different types are different RRsets, each with its covered RRset's TTL
        // (RFC 4035 §2.2).
        covered = record.type == .rrsig && record.rdata.count >= 2 ? UInt16(record.rdata[0]) << 8 | UInt16(record.rdata[1]) : 0
    }
}

extension ZoneFile {
    /// Drops repeated records (same owner, type and RDATA) and gives every RRset one TTL.
    ///
    /// As Knot DNS does, an RRset whose records were written with different TTLs takes the TTL
    /// of its last record (RRSIGs form one RRset per covered type).
    /// Returns `records` itself (no copy) when nothing needs changing, the usual case. A large
    /// zone is worked on by several threads at once, each taking the RRsets of the owners in its
    /// shard (`ownerShard`): an RRset never spans two shards, so each decides alone.
    /// `shards` overrides the number of threads (tests).
    static func normalized(_ records: [ZoneRecord], shards: Int? = nil) -> [ZoneRecord] {
        let shards = shards ?? (records.count >= minimumShardRecords ? loadingThreads : 1)
        // Per record: its group in its shard, -1 for a repeated record (dropped); the group's
        // previous record kept. Each record's slots are written only by its shard's thread.
        let recordGroup = UnsafeMutableBufferPointer<Int>.allocate(capacity: records.count)
        let previousInGroup = UnsafeMutableBufferPointer<Int>.allocate(capacity: records.count)
        recordGroup.initialize(repeating: -1)
        previousInGroup.initialize(repeating: -1)
        defer {
            recordGroup.deallocate()
            previousInGroup.deallocate()
        }
        final class Outcome: @unchecked Sendable {
            // Slot i is written by iteration i of concurrentPerform and read after it returns.
            var groupTTL: [[UInt32]]
            var repeated: [Int]
            var mismatch: [Bool]
            init(_ n: Int) { groupTTL = Array(repeating: [], count: n); repeated = Array(repeating: 0, count: n); mismatch = Array(repeating: false, count: n) }
        }
        let outcome = Outcome(shards)
        let groups = Shared(recordGroup: recordGroup, previousInGroup: previousInGroup)
        DispatchQueue.concurrentPerform(iterations: shards) { shard in
            let (ttls, repeated, mismatch) = normalize(records, shard: shard, of: shards, into: groups)
            outcome.groupTTL[shard] = ttls
            outcome.repeated[shard] = repeated
            outcome.mismatch[shard] = mismatch
        }
        let repeated = outcome.repeated.reduce(0, +)
        guard repeated > 0 || outcome.mismatch.contains(true) else { return records }
        var kept: [ZoneRecord] = []
        kept.reserveCapacity(records.count - repeated)
        for r in records.indices where recordGroup[r] >= 0 {
            kept.append(records[r])
            kept[kept.count - 1].ttl = outcome.groupTTL[ownerShard(records[r].owner, shards)][recordGroup[r]]
        }
        return kept
    }

    /// Threads a large zone is read and normalized on: one per core, at most 8 (a part of a file
    /// needs at least `EntryScanner.minimumPartBytes`, a sharded zone `minimumShardRecords`).
    static let loadingThreads = min(8, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Zones smaller than this are normalized on one thread: 200,000 records take about 0.1 s.
    static let minimumShardRecords = 200_000

    /// The per-record slots `normalize` fills, shared by the threads (each writes its own records').
    private struct Shared: @unchecked Sendable {
        let recordGroup: UnsafeMutableBufferPointer<Int>
        let previousInGroup: UnsafeMutableBufferPointer<Int>
    }

    /// Which of `count` shards the RRsets at `owner` belong to: the same for names equal but for
    /// case (the length and case-folded first and last letters of the first label).
    private static func ownerShard(_ owner: DNSName, _ count: Int) -> Int {
        guard count > 1 else { return 0 }
        let wire = owner.wire
        let first = wire.count > 1 ? DNSName.lower(wire[1]) : 0
        let last = wire.count > 1 ? DNSName.lower(wire[Int(wire[0])]) : 0
        return (Int(first) &* 31 &+ Int(last) &+ wire.count) % count
    }

    /// Finds the repeated records and each RRset's TTL among the records of `shard`; returns the
    /// TTL of each of its groups, how many records repeat and whether any RRset had two TTLs.
    private static func normalize(_ records: [ZoneRecord], shard: Int, of shards: Int, into slots: Shared) -> ([UInt32], Int, Bool) {
        /// RRsets this large keep a set of their RDATA for the duplicate check; smaller ones are scanned.
        let scanLimit = 16
        var groupOf = [RRsetKey: Int](minimumCapacity: records.count / shards)
        var groupTTL: [UInt32] = []
        var groupSize: [Int] = []
        var groupLast: [Int] = []  // the group's latest record kept
        var largeGroups: [Int: Set<[UInt8]>] = [:]
        var repeated = 0
        var mismatch = false
        // Records are read in place (`records[r].field`): copying a ZoneRecord retains its arrays.
        for r in records.indices where ownerShard(records[r].owner, shards) == shard {
            let key = RRsetKey(records[r])
            let group: Int
            if let g = groupOf[key] {
                group = g
                if groupTTL[g] != records[r].ttl {
                    groupTTL[g] = records[r].ttl
                    mismatch = true
                }
            } else {
                group = groupTTL.count
                groupOf[key] = group
                groupTTL.append(records[r].ttl)
                groupSize.append(0)
                groupLast.append(-1)
            }
            var duplicate = false
            if groupSize[group] < scanLimit {
                var i = groupLast[group]
                while i >= 0 && !duplicate {
                    duplicate = records[i].rdata == records[r].rdata
                    i = slots.previousInGroup[i]
                }
            } else {
                if largeGroups[group] == nil {
                    var set = Set<[UInt8]>()
                    var i = groupLast[group]
                    while i >= 0 {
                        set.insert(records[i].rdata)
                        i = slots.previousInGroup[i]
                    }
                    largeGroups[group] = set
                }
                duplicate = largeGroups[group]?.insert(records[r].rdata).inserted == false
            }
            if duplicate {
                repeated += 1
                continue
            }
            slots.previousInGroup[r] = groupLast[group]
            groupLast[group] = r
            groupSize[group] += 1
            slots.recordGroup[r] = group
        }
        return (groupTTL, repeated, mismatch)
    }

    /// Every problem with `records` as the contents of the zone `origin`, grouped by check and in
    /// record order within each check.
    ///
    /// Checks: RDATA that answers read names from holds names (RFC 3597 §5: RDATA in `\#` form still
    /// follows its type's rules, as Knot and NSD check); one SOA, at the apex; NS at the apex; no CNAME beside other data (RRSIG and NSEC
    /// excepted, RFC 2181 §10.1, RFC 4035 §2.5) and at most one CNAME or DNAME per owner; nothing
    /// below a DNAME ("Resource records MUST NOT exist at any subdomain of the owner of a DNAME
    /// RR", RFC 6672 §2.3; Knot and NSD refuse such zones too); nothing outside the zone.
    ///
    /// Data at or below a delegation that is neither the parent side of the cut nor glue is not an
    /// error: Knot and NSD load it and never serve it, and so does `Zone`, which lists it in its
    /// `warnings`.
    public static func validate(origin: DNSName, records: [ZoneRecord]) -> [ZoneFileError] {
        validate(origin: origin, records: records, unread: [])
    }

    /// `validate`, claiming no missing SOA or apex NS that an entry in `unread` may hold.
    static func validate(origin: DNSName, records: [ZoneRecord], unread: [UnreadEntry]) -> [ZoneFileError] {
        var errors: [ZoneFileError] = []
        let apexLength = origin.wire.count
        var apexSOA: Int?
        var apexNS = false
        var dnames = [NameKey: Int]()
        var cnameOwners = Set<NameKey>()
        var inZone: [Int] = []
        inZone.reserveCapacity(records.count)

        for (index, record) in records.enumerated() {
            func report(_ code: ZoneFileError.Code, _ reason: String) {
                errors.append(ZoneFileError(code, at: record.location, reason))
            }
            guard record.owner.isSubdomain(of: origin) else {
                report(.outOfZone, "\(record.owner) is outside the zone \(origin)")
                continue
            }
            inZone.append(index)
            if let problem = RDataShape.problem(record.type, record.rdata) {
                report(.badRData, "\(record.type) RDATA: \(problem)")
            }
            let owner = NameKey(record.owner.wire[...])
            let atApex = record.owner.wire.count == apexLength
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
                if atApex { apexNS = true }
            case .dname:
                if let first = dnames[owner] {
                    report(.multipleDNAME, "second DNAME at \(record.owner) (the first is at \(records[first].location))")
                } else {
                    dnames[owner] = index
                }
            case .cname:
                cnameOwners.insert(owner)
            default:
                break
            }
        }

        // A second pass over the (usually few) owners that have a CNAME.
        if !cnameOwners.isEmpty {
            var firstCNAME: [NameKey: Int] = [:]
            var firstOther: [NameKey: Int] = [:]
            for index in inZone {
                let record = records[index]
                let owner = NameKey(record.owner.wire[...])
                guard cnameOwners.contains(owner) else { continue }
                func report(_ code: ZoneFileError.Code, _ reason: String) {
                    errors.append(ZoneFileError(code, at: record.location, reason))
                }
                switch record.type {
                case .cname:
                    if let first = firstCNAME[owner] {
                        report(.multipleCNAME, "second CNAME at \(record.owner) (the first is at \(records[first].location))")
                    } else if let other = firstOther[owner] {
                        report(.cnameWithOtherData, "CNAME at \(record.owner) beside \(records[other].type) at \(records[other].location)")
                    }
                    if firstCNAME[owner] == nil { firstCNAME[owner] = index }
                case .rrsig, .nsec:
                    break
                default:
                    if firstOther[owner] == nil {
                        if let cname = firstCNAME[owner] {
                            report(.cnameWithOtherData, "\(record.type) at \(record.owner) beside the CNAME at \(records[cname].location)")
                        }
                        firstOther[owner] = index
                    }
                }
            }
        }

        if !dnames.isEmpty {
            for index in inZone {
                if let problem = belowDNAME(records[index], apexLength: apexLength, dnames: dnames) {
                    errors.append(problem)
                }
            }
        }

        let first = records.first?.location
        if apexSOA == nil && !unread.contains(where: { $0.mayHold(.soa, at: origin) }) {
            errors.append(ZoneFileError(.missingSOA, at: first, "no SOA record at the apex \(origin)"))
        }
        if !apexNS && !unread.contains(where: { $0.mayHold(.ns, at: origin) }) {
            errors.append(ZoneFileError(.missingApexNS, at: apexSOA.map { records[$0].location } ?? first, "no NS records at the apex \(origin)"))
        }
        return errors
    }

    /// The error for a record below a DNAME, if it is.
    private static func belowDNAME(_ record: ZoneRecord, apexLength: Int, dnames: [NameKey: Int]) -> ZoneFileError? {
        let owner = record.owner.wire
        var offset = Int(owner[0]) + 1
        // Walk from the owner's parent up to the apex, where a DNAME may be too.
        while owner.count - offset >= apexLength {
            let name = NameKey(owner[offset...])
            if dnames[name] != nil {
                return ZoneFileError(.dataBelowDNAME, at: record.location, "\(record.owner) is below the DNAME at \(display(name.wire)), so it is occluded")
            }
            offset += Int(owner[offset]) + 1
        }
        return nil
    }

    private static func display(_ wire: ArraySlice<UInt8>) -> String {
        (try? DNSName(wire: Array(wire)))?.description ?? "?"
    }

}
