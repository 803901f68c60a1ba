public import DNSWire

/// One zone compiled for answering (Knot's `adjust` done once at load): every owner and empty
/// non-terminal is a node in a hash table, every RRset is pre-encoded wire data, and each node knows
/// the delegation or DNAME that occludes it, its wildcard child and its additional-section targets.
/// A query does no parsing of zone data.
public final class Zone: @unchecked Sendable {
    /// One owner name (or empty non-terminal) of the zone.
    public struct Node: Sendable {
        /// The parent node; -1 at the apex.
        public var parent: Int32
        /// The `*` child of this node (RFC 4592 source of synthesis); -1 when none.
        public var wildcard: Int32
        /// The topmost delegation point at or above this node, or DNAME owner strictly above it; -1 when none.
        public var occluder: Int32
        public var rrsetStart: Int32
        public var rrsetCount: Int32
        public var flags: UInt8

        public static let isDelegation: UInt8 = 1
        public static let hasDNAME: UInt8 = 2
        public static let hasCNAME: UInt8 = 4
        public static let occludedByDNAME: UInt8 = 8
        public static let hasAddresses: UInt8 = 16
    }

    /// One RRset (a node's RRsets are ordered by type code), pre-encoded as the bytes after the owner of each RR: TYPE CLASS TTL RDLENGTH RDATA.
    public struct RRSet: Sendable {
        public var type: RRType
        public var count: Int32
        public var ttl: UInt32
        public var dataOffset: Int32
        public var dataLength: Int32
        /// Nodes holding addresses of names in this RRset's RDATA (NS, MX, SRV targets), in `additional`.
        public var additionalStart: Int32
        public var additionalCount: Int32
    }

    public let origin: DNSName
    /// The lower-case wire form of the origin.
    public let apex: [UInt8]
    /// Number of RRs compiled.
    public let recordCount: Int
    /// The SOA serial, or nil when the zone has no SOA.
    public let serial: UInt32?

    private let table: NameTable
    /// The zone whose nodes, RRsets and additional targets this one shares (a `replacingSerial`
    /// copy), kept alive by this reference and freed by it; nil when they are this zone's own.
    private let sharing: Zone?
    // The snapshot's storage, written by `init` only and freed by `deinit`. Other modules read it
    // through the read-only views below, which are inlined to the same single load of the field.
    @usableFromInline let nodeStorage: UnsafeMutableBufferPointer<Node>
    @usableFromInline let rrsetStorage: UnsafeMutableBufferPointer<RRSet>
    @usableFromInline let additionalStorage: UnsafeMutableBufferPointer<Int32>
    @usableFromInline let dataStorage: UnsafeMutableRawBufferPointer
    @usableFromInline let negativeSOAStorage: UnsafeMutableRawBufferPointer

    /// The nodes; a node's index is its name's index in the name table.
    @inlinable public var nodes: UnsafeBufferPointer<Node> { UnsafeBufferPointer(nodeStorage) }
    /// The RRsets, each node's contiguous from `Node.rrsetStart`.
    @inlinable public var rrsets: UnsafeBufferPointer<RRSet> { UnsafeBufferPointer(rrsetStorage) }
    /// Additional-section target nodes, each RRset's contiguous from `RRSet.additionalStart`.
    @inlinable public var additional: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(additionalStorage) }
    /// The pre-encoded RRsets, each at `RRSet.dataOffset`.
    @inlinable public var data: UnsafeRawBufferPointer { UnsafeRawBufferPointer(dataStorage) }
    /// The SOA RRset with its TTL lowered to the negative-caching TTL (RFC 2308 §3), pre-encoded:
    /// the first `negativeSOALength` bytes.
    @inlinable public var negativeSOA: UnsafeRawBufferPointer { UnsafeRawBufferPointer(negativeSOAStorage) }
    /// Records that are loaded but never served: data at or below a delegation that is neither the
    /// parent side of the cut (NS, DS, NSEC, RRSIG) nor glue (an address at an NS target), which is
    /// not the zone's authoritative data (Knot and NSD load such zones and never answer with it
    /// either), and data below a DNAME. In record order, after the `notes` the zone was compiled with.
    public let warnings: [ZoneWarning]
    /// The NSEC3 RRs and the RRSIGs that cover them, kept out of the name table but part of the
    /// zone (a transfer carries them): `hashedRecordCount` records, each its owner's uncompressed
    /// wire name, then TYPE CLASS TTL RDLENGTH RDATA, in record order.
    public let hashedRecords: [UInt8]
    public let hashedRecordCount: Int
    /// The RRSIGs and NSEC or NSEC3 chain of a zone signed elsewhere, indexed for DO=1 answers;
    /// nil when the zone file has no RRSIG record.
    public let presigned: PresignedIndex?

    /// Compiles validated records (see ZoneFile for validation) into a zone snapshot. Records with
    /// the same owner, type and RDATA are kept once; an RRset takes the TTL of its first record.
    ///
    /// NSEC3 RRs and the RRSIGs that cover them are counted but kept out of the name table: they are
    /// not ordinary data at their hashed owner names, which answer as if the NSEC3 did not exist
    /// (RFC 5155 §7.2.8), as in Knot's separate NSEC3 tree. `notes` are warnings about the
    /// records found by the caller (signatures near expiry), reported first with the zone's own.
    public init(origin: DNSName, records: [ZoneRecord], notes: [ZoneWarning] = []) {
        self.origin = origin
        let apex = origin.lowercased()
        self.apex = apex.wire

        // Owners and empty non-terminals. Names are keyed by their lower-case wire bytes, hashed in
        // bulk (a DNSName hashes byte by byte, which dominates a million-record load).
        var index: [NameKey: Int32] = [:]
        var ownerNames: [[UInt8]] = []
        // Each owner's wire length (1...255 bytes, DNSName's bound).
        var ownerLengths: [UInt8] = []
        var ownerOf = [Int32](repeating: -1, count: records.count)
        index.reserveCapacity(records.count + 1)
        func intern(_ wire: [UInt8]) -> (Int32, isNew: Bool) {
            let key = NameKey(wire)
            if let i = index[key] { return (i, false) }
            let i = Int32(ownerNames.count)
            index[key] = i
            ownerNames.append(wire)
            ownerLengths.append(UInt8(wire.count))
            return (i, true)
        }
        _ = intern(apex.wire)
        var nsec3Count = 0
        var hashed: [UInt8] = []
        // RDATA the answers would read names from must hold names: ZoneFile rejects any other, and
        // records built elsewhere that break the rule are left out here, with a warning, so that no
        // answer ever reads past a record (RFC 3597 §5).
        var malformed = notes
        // Records are read in place (`records[r].field`): copying a ZoneRecord retains its arrays.
        var previousWire: [UInt8] = []
        var previousOwner: Int32 = -1
        for r in records.indices where records[r].owner.isSubdomain(of: apex) {
            let type = records[r].type
            if let problem = RDataShape.problem(type, records[r].rdata) {
                malformed.append(ZoneWarning(at: records[r].location, "\(type) at \(records[r].owner) is left out: \(problem)"))
                continue
            }
            if type == .nsec3 || (type == .rrsig && records[r].rdata.starts(with: [0, UInt8(RRType.nsec3.rawValue)])) {
                nsec3Count += 1
                hashed += records[r].owner.wire
                Zone.append(type.rawValue, to: &hashed)
                Zone.append(RRClass.in.rawValue, to: &hashed)
                Zone.append32(records[r].ttl, to: &hashed)
                Zone.append(UInt16(records[r].rdata.count), to: &hashed)
                hashed += records[r].rdata
                continue
            }
            let wire = records[r].owner.lowercased().wire
            // A zone file lists an owner's records together: the owner of the record before is
            // found without hashing (for equal storage, == compares no bytes).
            if previousOwner >= 0 && wire == previousWire {
                ownerOf[r] = previousOwner
                continue
            }
            let (owner, isNew) = intern(wire)
            ownerOf[r] = owner
            previousWire = wire
            previousOwner = owner
            guard isNew else { continue }
            // Its ancestors up to the apex, each copied out only when it is new.
            var suffix = ownerNames[Int(owner)][...]
            while suffix.count > apex.wire.count {
                suffix = suffix.dropFirst(Int(suffix[suffix.startIndex]) + 1)
                if index[NameKey(suffix)] != nil { break }
                _ = intern(Array(suffix))
            }
        }
        // The intern table (reserved for every record: tens of MB for a large zone) is done with;
        // freed now, it is not held through the rest of the compile, where the load peaks.
        index = [:]
        // Parents before children: ordered by wire length (a parent is always shorter), names of
        // one length in the order they were interned. A counting sort over the 256 lengths a wire
        // name can have, from the lengths noted while interning (comparing the names' own counts
        // touched 600,000 arrays per pass: 0.15-0.25 s of a million-record load).
        var lengthStart = [Int](repeating: 0, count: 257)
        for length in ownerLengths { lengthStart[Int(length) + 1] += 1 }
        for l in 0..<256 { lengthStart[l + 1] += lengthStart[l] }
        var order = [Int](repeating: 0, count: ownerNames.count)
        for (o, length) in ownerLengths.enumerated() {
            order[lengthStart[Int(length)]] = o
            lengthStart[Int(length)] += 1
        }
        let names = order.map { ownerNames[$0] }
        var position = [Int32](repeating: 0, count: ownerNames.count)
        for (p, o) in order.enumerated() { position[o] = Int32(p) }
        let nameTable = NameTable(keys: names)
        table = nameTable

        // Records grouped by node (a counting sort), each group in file order.
        var groupStart = [Int](repeating: 0, count: names.count + 1)
        for o in ownerOf where o >= 0 { groupStart[Int(position[Int(o)]) + 1] += 1 }
        for i in 0..<names.count { groupStart[i + 1] += groupStart[i] }
        var grouped = [Int32](repeating: 0, count: groupStart[names.count])
        var fill = groupStart
        for (r, o) in ownerOf.enumerated() where o >= 0 {
            let node = Int(position[Int(o)])
            grouped[fill[node]] = Int32(r)
            fill[node] += 1
        }

        // RRsets of each node, ordered by type code as Knot does (an RFC 8482 ANY answer is the
        // first RRset); identical RDATA kept once. Records are referred to by index, never
        // copied: the RDATA of RRset s is that of records[setRecords[setRecordEnd[s - 1]..<setRecordEnd[s]]].
        var nodeList: [Node] = []
        var setList: [RRSet] = []
        var bytes: [UInt8] = []
        var setRecords: [Int32] = []
        var setRecordEnd: [Int32] = []
        setRecords.reserveCapacity(grouped.count)
        // The RR data at most (repeated RDATA is dropped), reserved at once: grown by doubling, a
        // million records' 25 MB would have been up to twice that, and copied on every growth.
        bytes.reserveCapacity(grouped.reduce(0) { $0 + 10 + records[Int($1)].rdata.count })
        var total = 0
        var serial: UInt32? = nil
        var soaRecord: (ttl: UInt32, rdata: [UInt8])? = nil
        nodeList.reserveCapacity(names.count)
        let types = records.map(\.type.rawValue)
        // One node's records in type order, reused from node to node.
        var recs: [Int32] = []
        for (n, name) in names.enumerated() {
            recs.removeAll(keepingCapacity: true)
            recs.append(contentsOf: grouped[groupStart[n]..<groupStart[n + 1]])
            if recs.count > 1 {
                recs.sort { types[Int($0)] != types[Int($1)] ? types[Int($0)] < types[Int($1)] : $0 < $1 }
            }
            var flags: UInt8 = 0
            let start = setList.count
            var i = 0
            while i < recs.count {
                let t = records[Int(recs[i])].type
                let ttl = records[Int(recs[i])].ttl
                let first = setRecords.count
                while i < recs.count && types[Int(recs[i])] == t.rawValue {
                    let r = recs[i]
                    if !setRecords[first...].contains(where: { records[Int($0)].rdata == records[Int(r)].rdata }) {
                        setRecords.append(r)
                    }
                    i += 1
                }
                let offset = bytes.count
                for r in setRecords[first...] {
                    let rd = records[Int(r)].rdata
                    Zone.append(t.rawValue, to: &bytes)
                    Zone.append(RRClass.in.rawValue, to: &bytes)
                    Zone.append32(ttl, to: &bytes)
                    Zone.append(UInt16(rd.count), to: &bytes)
                    bytes.append(contentsOf: rd)
                }
                let count = setRecords.count - first
                total += count
                setList.append(RRSet(
                    type: t, count: Int32(count), ttl: ttl, dataOffset: Int32(offset),
                    dataLength: Int32(bytes.count - offset), additionalStart: 0, additionalCount: 0))
                setRecordEnd.append(Int32(setRecords.count))
                switch t {
                case .ns where n != 0: flags |= Node.isDelegation
                case .dname: flags |= Node.hasDNAME
                case .cname: flags |= Node.hasCNAME
                case .a, .aaaa: flags |= Node.hasAddresses
                case .soa where n == 0:
                    let rd = records[Int(setRecords[first])].rdata
                    if let fields = SOAFields(rdata: rd) {
                        soaRecord = (ttl, rd)
                        serial = fields.serial
                    }
                default: break
                }
            }
            let parent: Int32 = n == 0 ? -1 : name.withUnsafeBytes { w in
                nameTable.find(w.baseAddress! + Int(w[0]) + 1, w.count - Int(w[0]) - 1)
            }
            nodeList.append(Node(
                parent: parent, wildcard: -1, occluder: -1, rrsetStart: Int32(start),
                rrsetCount: Int32(setList.count - start), flags: flags))
        }
        recordCount = total + nsec3Count
        hashedRecords = hashed
        hashedRecordCount = nsec3Count
        self.serial = serial

        // Wildcard children and occluders; parents come first, so one pass suffices.
        for i in 0..<nodeList.count {
            let p = Int(nodeList[i].parent)
            guard p >= 0 else { continue }
            if names[i].count >= 2 && names[i][0] == 1 && names[i][1] == UInt8(ascii: "*") { nodeList[p].wildcard = Int32(i) }
            if nodeList[p].occluder >= 0 {
                nodeList[i].occluder = nodeList[p].occluder
                nodeList[i].flags |= nodeList[p].flags & Node.occludedByDNAME
            } else if nodeList[p].flags & Node.hasDNAME != 0 {
                nodeList[i].occluder = Int32(p)
                nodeList[i].flags |= Node.occludedByDNAME
            } else if nodeList[i].flags & Node.isDelegation != 0 {
                nodeList[i].occluder = Int32(i)
            }
        }

        // Records that are never served. Address records at a name an NS record points to stay
        // usable as glue.
        var nsTargets = Set<NameKey>()
        func setRData(_ s: Int) -> some Sequence<[UInt8]> {
            setRecords[(s == 0 ? 0 : Int(setRecordEnd[s - 1]))..<Int(setRecordEnd[s])].lazy.map { records[Int($0)].rdata }
        }
        for s in 0..<setList.count where setList[s].type == .ns {
            for rd in setRData(s) { nsTargets.insert(NameKey(rd)) }
        }
        var warnings = malformed
        for (r, o) in ownerOf.enumerated() where o >= 0 {
            let n = Int(position[Int(o)])
            let occluder = Int(nodeList[n].occluder)
            guard occluder >= 0 else { continue }
            let record = records[r]
            let cut = (try? DNSName(wire: names[occluder]))?.description ?? "?"
            if nodeList[n].flags & Node.occludedByDNAME != 0 {
                warnings.append(ZoneWarning(at: record.location, "\(record.type) at \(record.owner) is below the DNAME at \(cut) and is not served"))
                continue
            }
            let atCut = occluder == n
            let parentSide = atCut && [RRType.ns, .ds, .nsec, .rrsig].contains(record.type)
            let glue = (record.type == .a || record.type == .aaaa) && nsTargets.contains(NameKey(names[n]))
            guard !parentSide && !glue else { continue }
            warnings.append(ZoneWarning(
                at: record.location,
                "\(record.type) at \(record.owner) is \(atCut ? "at" : "below") the delegation \(cut) and is not glue: it is not served"))
        }
        self.warnings = warnings

        // Additional-section targets: nodes of this zone holding addresses for NS, MX, SRV and SVCB
        // names. Addresses at or below a delegation are not authoritative data: only NS RRsets use
        // them, as glue (so an MX whose target lies below a cut gets no additional record, as in NSD).
        var additionalList: [Int32] = []
        for s in 0..<setList.count {
            let position: Int
            switch setList[s].type {
            case .ns: position = 0
            case .mx: position = 2
            case .srv: position = 6
            case .svcb, .https: position = 2  // RFC 9460 §4.1: TargetName after SvcPriority
            default: continue
            }
            setList[s].additionalStart = Int32(additionalList.count)
            for rd in setRData(s) where rd.count > position {
                guard let end = Zone.nameEnd(rd, from: position),
                      let target = try? DNSName(wire: Array(rd[position..<end]))
                else { continue }
                // An SVCB TargetName of "." means the owner itself (RFC 9460 §2.5), whose addresses the
                // client asks for anyway; like Knot, add nothing for it.
                guard target != .root else { continue }
                let key = target.lowercased().wire
                let n = table.find(key, key.count)
                guard n >= 0, setList[s].type == .ns || nodeList[Int(n)].occluder < 0 else { continue }
                if nodeList[Int(n)].flags & Node.hasAddresses != 0 && !additionalList[Int(setList[s].additionalStart)...].contains(n) {
                    additionalList.append(n)
                }
            }
            setList[s].additionalCount = Int32(additionalList.count) - setList[s].additionalStart
        }

        presigned = PresignedIndex(names: names, nodes: nodeList, rrsets: setList, data: bytes, hashed: hashed)
        sharing = nil
        // Each array is freed as soon as it is copied out, so no two copies of the large ones are
        // resident together (a million-record zone's peak was 35 MB higher).
        nodeStorage = .allocate(capacity: max(nodeList.count, 1))
        _ = nodeStorage.initialize(from: nodeList)
        nodeList = []
        rrsetStorage = .allocate(capacity: max(setList.count, 1))
        _ = rrsetStorage.initialize(from: setList)
        setList = []
        additionalStorage = .allocate(capacity: max(additionalList.count, 1))
        _ = additionalStorage.initialize(from: additionalList)
        let dataBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        bytes.withUnsafeBytes { dataBuffer.copyMemory(from: $0) }
        bytes = []
        dataStorage = dataBuffer

        var negative: [UInt8] = []
        if let soa = soaRecord {
            let minimum = soa.rdata.withUnsafeBytes { $0.u32(at: soa.rdata.count - 4) }
            Zone.append(RRType.soa.rawValue, to: &negative)
            Zone.append(RRClass.in.rawValue, to: &negative)
            Zone.append32(min(soa.ttl, minimum), to: &negative)
            Zone.append(UInt16(soa.rdata.count), to: &negative)
            negative.append(contentsOf: soa.rdata)
        }
        let negativeBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(negative.count, 1), alignment: 8)
        negative.withUnsafeBytes { negativeBuffer.copyMemory(from: $0) }
        negativeSOAStorage = negativeBuffer
        negativeSOALength = negative.count
    }

    /// Length of the bytes in `negativeSOA` (0 when the zone has no SOA).
    public let negativeSOALength: Int

    deinit {
        if sharing == nil {
            nodeStorage.deallocate()
            rrsetStorage.deallocate()
            additionalStorage.deallocate()
        }
        dataStorage.deallocate()
        negativeSOAStorage.deallocate()
    }

    /// A copy of this zone serving `serial` in its SOA: in the apex SOA RRset (queries and
    /// transfers) and in the negative-answer SOA. The copy shares the name table, the nodes and the
    /// RRsets, and copies only the pre-encoded data, where the SOA lives (a 1,000,000-record zone:
    /// measured in docs/ARCHITECTURE.md, "Service names in transfers"). A zone without SOA is
    /// returned as it is.
    public func replacingSerial(_ serial: UInt32) -> Zone {
        let soa = rrset(at: 0, .soa)
        guard soa >= 0, rrsets[Int(soa)].count == 1, rrsets[Int(soa)].dataLength >= 10 + 22, negativeSOALength >= 10 + 22
        else { return self }
        return Zone(copying: self, serial: serial, soaEnd: Int(rrsets[Int(soa)].dataOffset + rrsets[Int(soa)].dataLength))
    }

    /// `base` with the 4 serial bytes before the last 16 of the SOA RDATA ending at `soaEnd` in its
    /// data (and of the negative SOA) set to `serial` (RFC 1035 §3.3.13: SERIAL, then 4 × 32 bits).
    private init(copying base: Zone, serial: UInt32, soaEnd: Int) {
        origin = base.origin
        apex = base.apex
        recordCount = base.recordCount
        self.serial = serial
        table = base.table
        sharing = base.sharing ?? base
        nodeStorage = base.nodeStorage
        rrsetStorage = base.rrsetStorage
        additionalStorage = base.additionalStorage
        warnings = base.warnings
        hashedRecords = base.hashedRecords
        hashedRecordCount = base.hashedRecordCount
        presigned = base.presigned
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: base.dataStorage.count, alignment: 8)
        data.copyMemory(from: UnsafeRawBufferPointer(base.dataStorage))
        Zone.store(serial, in: data, at: soaEnd - 20)
        dataStorage = data
        let negative = UnsafeMutableRawBufferPointer.allocate(byteCount: base.negativeSOAStorage.count, alignment: 8)
        negative.copyMemory(from: UnsafeRawBufferPointer(base.negativeSOAStorage))
        Zone.store(serial, in: negative, at: base.negativeSOALength - 20)
        negativeSOAStorage = negative
        negativeSOALength = base.negativeSOALength
    }

    private static func store(_ v: UInt32, in b: UnsafeMutableRawBufferPointer, at offset: Int) {
        for i in 0..<4 { b[offset + i] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * i)) }
    }

    /// The end of the uncompressed name starting at `start` in `rdata`, or nil when it runs past it.
    private static func nameEnd(_ rdata: [UInt8], from start: Int) -> Int? {
        var i = start
        while i < rdata.count {
            if rdata[i] == 0 { return i + 1 }
            i += Int(rdata[i]) + 1
        }
        return nil
    }

    private static func append(_ v: UInt16, to b: inout [UInt8]) {
        b.append(UInt8(v >> 8)); b.append(UInt8(v & 0xFF))
    }
    private static func append32(_ v: UInt32, to b: inout [UInt8]) {
        append(UInt16(v >> 16), to: &b); append(UInt16(v & 0xFFFF), to: &b)
    }

    /// The node whose name is the `count` lower-case wire bytes at `name`, or -1.
    @inline(__always)
    public func node(_ name: UnsafeRawPointer, _ count: Int) -> Int32 { table.find(name, count) }

    /// The lower-case wire name of a node.
    public func name(of node: Int32) -> UnsafeRawBufferPointer { table.key(node) }

    /// The RRset of `type` at `node`, or -1.
    @inlinable @inline(__always)
    public func rrset(at node: Int32, _ type: RRType) -> Int32 {
        let n = nodes[Int(node)]
        var s = Int(n.rrsetStart)
        let end = s + Int(n.rrsetCount)
        while s < end {
            if rrsets[s].type == type { return Int32(s) }
            s += 1
        }
        return -1
    }

    /// The pre-encoded bytes of an RRset.
    @inlinable @inline(__always)
    public func bytes(of rrset: Int32) -> UnsafeRawBufferPointer {
        let s = rrsets[Int(rrset)]
        return UnsafeRawBufferPointer(start: data.baseAddress! + Int(s.dataOffset), count: Int(s.dataLength))
    }

    /// Where a name leads in this zone (RFC 1034 §4.3.2 step 3, RFC 4592, RFC 6672).
    public enum Resolution: Sendable, Equatable {
        /// The name exists and is authoritative data (or an empty non-terminal).
        case node(Int32)
        /// The name does not exist but the wildcard node synthesizes it; `closestEncloser` is its parent.
        case wildcard(Int32)
        /// The name does not exist; no wildcard applies.
        case nxdomain
        /// The name is at or below this delegation point: answer with a referral.
        case delegation(Int32)
        /// The name is below this DNAME owner: substitute.
        case dname(Int32)
    }

    /// Resolves a lower-case wire name inside this zone. `name` must lie in the zone. `forDS` answers
    /// a name that is itself a delegation point from the parent side (RFC 4035 §3.1.4.1).
    @inline(__always)
    public func resolve(_ name: UnsafeRawBufferPointer, forDS: Bool) -> Resolution {
        let base = name.baseAddress!
        let exact = table.find(base, name.count)
        if exact >= 0 {
            let n = nodes[Int(exact)]
            if n.occluder < 0 || (n.occluder == exact && forDS) { return .node(exact) }
            return n.flags & Node.occludedByDNAME != 0 ? .dname(n.occluder) : .delegation(n.occluder)
        }
        // Closest encloser: strip labels until a node exists (the apex always does).
        var i = Int(name[0]) + 1
        while i < name.count {
            let ce = table.find(base + i, name.count - i)
            if ce >= 0 {
                let n = nodes[Int(ce)]
                if n.occluder >= 0 {
                    return n.flags & Node.occludedByDNAME != 0 ? .dname(n.occluder) : .delegation(n.occluder)
                }
                if n.flags & Node.hasDNAME != 0 { return .dname(ce) }
                return n.wildcard >= 0 ? .wildcard(n.wildcard) : .nxdomain
            }
            i += Int(name[i]) + 1
        }
        return .nxdomain
    }
}
