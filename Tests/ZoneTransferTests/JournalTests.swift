import DNSWire
import DNSZone
import Testing
import ZoneTransfer

private func wire(_ s: String) -> [UInt8] { try! DNSName(s).wire }
private func soaData(_ serial: UInt32) -> [UInt8] {
    wire("ns.example.") + wire("host.example.") + [UInt8(serial >> 24), UInt8((serial >> 16) & 0xFF), UInt8((serial >> 8) & 0xFF), UInt8(serial & 0xFF)]
        + [0, 0, 0x1C, 0x20, 0, 0, 0x0E, 0x10, 0, 0x12, 0x75, 0, 0, 0, 1, 0x2C]
}
private func rec(_ owner: String, _ type: RRType, _ rdata: [UInt8], ttl: UInt32 = 300) -> ZoneRecord {
    ZoneRecord(owner: try! DNSName(owner), type: type, ttl: ttl, rdata: rdata, location: SourceLocation(file: "t", line: 1))
}
private func tr(_ owner: String, _ type: RRType, _ rdata: [UInt8], ttl: UInt32 = 300) -> TransferRecord {
    TransferRecord(owner: wire(owner), type: type, ttl: ttl, rdata: rdata)
}
private let nsec3 = [1, 0, 0, 1, 1, 0xAB, 20] + Array(repeating: UInt8(7), count: 20) + [0, 1, 0x40]

/// Version 1 of a zone, and version 2: www's address changed, gone.example. removed, new.example.
/// added, the MX TTL changed, a record added to an existing RRset, the NSEC3 record changed.
private func zoneV1(serial: UInt32 = 1) -> Zone {
    Zone(origin: try! DNSName("example."), records: [
        rec("example.", .soa, soaData(serial)), rec("example.", .ns, wire("ns.example.")),
        rec("example.", .mx, [0, 10] + wire("mail.example.")), rec("ns.example.", .a, [192, 0, 2, 1]),
        rec("www.example.", .a, [192, 0, 2, 2]), rec("gone.example.", .txt, [1, 0x67]),
        rec("multi.example.", .txt, [1, 0x61]),
        rec("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.", .nsec3, nsec3),
    ])
}
private func zoneV2(serial: UInt32 = 2) -> Zone {
    Zone(origin: try! DNSName("example."), records: [
        rec("example.", .soa, soaData(serial)), rec("example.", .ns, wire("ns.example.")),
        rec("example.", .mx, [0, 10] + wire("mail.example."), ttl: 600), rec("ns.example.", .a, [192, 0, 2, 1]),
        rec("www.example.", .a, [192, 0, 2, 3]), rec("new.example.", .txt, [1, 0x6E]),
        rec("multi.example.", .txt, [1, 0x61]), rec("multi.example.", .txt, [1, 0x62]),
        rec("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.", .nsec3, nsec3.dropLast() + [0x41]),
    ])
}
private func snapshot(_ z: Zone) -> TransferSnapshot { TransferSnapshot(zone: z, serviceRecords: []) }

/// Every record a zone transfers, the SOA included, as a set.
private func recordSet(_ z: Zone) throws -> Set<TransferRecord> {
    let messages = try run(.axfr(AXFRStream(snapshot: snapshot(z), query: query(serial: nil).0, parsed: query(serial: nil).1, now: { 0 })))
    return Set(messages.flatMap(\.answer).map { TransferRecord(owner: $0.owner.lowercased().wire, type: $0.type, ttl: $0.ttl, rdata: $0.rdata) })
}

/// An IXFR query for example. with the client's SOA (names compressed) in the authority section.
private func query(serial: UInt32?, id: UInt16 = 0x4242) -> ([UInt8], ParsedQuery) {
    var q = Message.query(id: id, name: try! DNSName("example."), type: serial == nil ? .axfr : .ixfr)
    if let serial {
        q[9] = 1
        let rdata: [UInt8] = [0xC0, 0x0C, 0xC0, 0x0C] + Array(soaData(serial).suffix(20))
        q += [0xC0, 0x0C, 0, 6, 0, 1, 0, 0, 0, 0, 0, UInt8(rdata.count)] + rdata
    }
    var parsed = ParsedQuery()
    let outcome = q.withUnsafeBytes { QueryParser.parse($0, into: &parsed) }
    #expect({ if case .query = outcome { return true } else { return false } }())
    return (q, parsed)
}

private func run(_ transfer: OutgoingTransfer, limit: Int = ResponseWriter.maxMessageSize) throws -> [Message] {
    var t = transfer
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ResponseWriter.bufferSize, alignment: 16)
    defer { buffer.deallocate() }
    var messages: [Message] = []
    while true {
        let n = t.next(into: buffer)
        if n == 0 { break }
        #expect(n <= limit)
        messages.append(try Message(decoding: Array(buffer[0..<n])))
        if messages.count > 1000 { Issue.record("endless transfer"); break }
    }
    #expect(t.isFinished)
    return messages
}

/// Applies an incremental answer (RFC 1995 §4) to `records`; nil when it is not one.
private func apply(_ answers: [Message.Record], to records: Set<TransferRecord>) -> Set<TransferRecord>? {
    let all = answers.map { TransferRecord(owner: $0.owner.lowercased().wire, type: $0.type, ttl: $0.ttl, rdata: $0.rdata) }
    guard all.count >= 2, all[0].type == .soa, all[1].type == .soa, all.last == all.first else { return nil }
    var result = records
    var i = 1
    while i < all.count - 1 {
        // old SOA, removed…, new SOA, added…
        result.remove(all[i])
        i += 1
        while all[i].type != .soa { result.remove(all[i]); i += 1 }
        result.insert(all[i])
        i += 1
        while i < all.count - 1 && all[i].type != .soa { result.insert(all[i]); i += 1 }
    }
    return result
}

@Suite struct JournalTests {
    @Test func diffHoldsExactlyWhatChanged() throws {
        let change = try #require(ZoneChange.diff(from: snapshot(zoneV1()), to: snapshot(zoneV2())))
        #expect(change.oldSerial == 1 && change.newSerial == 2)
        let hashOwner = "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example."
        #expect(Set(change.removed) == [
            tr("www.example.", .a, [192, 0, 2, 2]), tr("gone.example.", .txt, [1, 0x67]),
            tr("example.", .mx, [0, 10] + wire("mail.example.")), tr(hashOwner, .nsec3, nsec3),
        ])
        #expect(Set(change.added) == [
            tr("www.example.", .a, [192, 0, 2, 3]), tr("new.example.", .txt, [1, 0x6E]),
            tr("example.", .mx, [0, 10] + wire("mail.example."), ttl: 600), tr("multi.example.", .txt, [1, 0x62]),
            tr(hashOwner, .nsec3, nsec3.dropLast() + [0x41]),
        ])
        #expect(change.removed.count == 4 && change.added.count == 5)
        // Applying the change to version 1 gives version 2.
        var v1 = try recordSet(zoneV1())
        v1.remove(change.oldSOA)
        v1.subtract(change.removed)
        v1.insert(change.newSOA)
        v1.formUnion(change.added)
        #expect(v1 == (try recordSet(zoneV2())))
    }

    @Test func aNewSerialAloneIsAnEmptyChangeAndTheDigestIgnoresIt() throws {
        let change = try #require(ZoneChange.diff(from: snapshot(zoneV1(serial: 1)), to: snapshot(zoneV1(serial: 9))))
        #expect(change.removed.isEmpty && change.added.isEmpty && change.newSerial == 9)
        #expect(snapshot(zoneV1(serial: 1)).contentDigest == snapshot(zoneV1(serial: 9)).contentDigest)
        #expect(snapshot(zoneV1()).contentDigest != snapshot(zoneV2(serial: 1)).contentDigest)
        let noSOA = Zone(origin: try DNSName("example."), records: [rec("example.", .ns, wire("ns.example."))])
        #expect(ZoneChange.diff(from: snapshot(noSOA), to: snapshot(zoneV1())) == nil)
    }

    @Test func serviceRecordsAreDiffedToo() throws {
        let a = TransferSnapshot(zone: zoneV1(), serviceRecords: [tr("svc.example.", .a, [192, 0, 2, 10])])
        let b = TransferSnapshot(zone: zoneV1(serial: 2), serviceRecords: [tr("svc.example.", .a, [192, 0, 2, 11])])
        let change = try #require(ZoneChange.diff(from: a, to: b))
        #expect(change.removed == [tr("svc.example.", .a, [192, 0, 2, 10])] && change.added == [tr("svc.example.", .a, [192, 0, 2, 11])])
        #expect(a.contentDigest != b.contentDigest)
    }

    /// Three changes 1 → 2 → 3 → 4.
    private func chain(limit: Int = ZoneJournal.defaultSizeLimit) throws -> ZoneJournal {
        var journal = ZoneJournal(serial: 1, digest: snapshot(zoneV1()).contentDigest, sizeLimit: limit)
        let zones = [zoneV1(serial: 1), zoneV2(serial: 2), zoneV1(serial: 3), zoneV2(serial: 4)]
        for i in 1..<zones.count {
            journal.record(try #require(ZoneChange.diff(from: snapshot(zones[i - 1]), to: snapshot(zones[i]))),
                           digest: snapshot(zones[i]).contentDigest)
        }
        return journal
    }

    @Test func journalAnswersEverySerialItHolds() throws {
        let journal = try chain()
        #expect(journal.serial == 4 && journal.changes.count == 3)
        #expect(journal.changes(since: 1)?.map(\.newSerial) == [2, 3, 4])
        #expect(journal.changes(since: 3)?.map(\.newSerial) == [4])
        #expect(journal.changes(since: 4) == nil)
        #expect(journal.changes(since: 0) == nil)
        #expect(journal.size == journal.changes.reduce(0) { $0 + $1.size })
        // A change that does not lead on from serial 4 starts the journal over.
        var broken = journal
        broken.record(try #require(ZoneChange.diff(from: snapshot(zoneV1(serial: 7)), to: snapshot(zoneV2(serial: 8)))), digest: 1)
        #expect(broken.changes.map(\.oldSerial) == [7] && broken.serial == 8 && broken.changes(since: 1) == nil)
    }

    @Test func theOldestChangesGoFirstAtTheSizeLimit() throws {
        let full = try chain()
        let one = full.changes[0].size
        #expect(one > 0)
        // Room for two changes: the first is dropped, and the journal no longer reaches serial 1.
        let bounded = try chain(limit: full.size - one)
        #expect(bounded.changes.map(\.oldSerial) == [2, 3] && bounded.size <= bounded.sizeLimit)
        #expect(bounded.changes(since: 1) == nil && bounded.changes(since: 2)?.count == 2)
        // A single change larger than the limit leaves nothing to answer from.
        let tiny = try chain(limit: 10)
        #expect(tiny.changes.isEmpty && tiny.serial == 4 && tiny.size == 0)
    }

    @Test func encodingRoundTripsAndEveryDamageIsCaught() throws {
        let journal = try chain()
        let origin = try DNSName("example.")
        let bytes = JournalCoding.encode(journal, origin: origin)
        #expect(bytes.starts(with: JournalCoding.magic))
        #expect(try JournalCoding.decode(bytes, origin: origin) == journal)
        let empty = ZoneJournal(serial: 5, digest: 77)
        #expect(try JournalCoding.decode(JournalCoding.encode(empty, origin: origin), origin: origin) == empty)
        // Every truncation is an error, never a crash or a shorter journal.
        for length in 0..<bytes.count {
            #expect(throws: JournalError.self) { try JournalCoding.decode(Array(bytes[0..<length]), origin: origin) }
        }
        #expect(throws: JournalError(.truncated, "not a Meridian journal")) { try JournalCoding.decode(Array(bytes[0..<3]), origin: origin) }
        // Any flipped byte after the magic and version is caught by the checksum.
        for at in stride(from: 10, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[at] ^= 0x20
            #expect(decodeError(damaged, origin)?.code == .badChecksum, "byte \(at)")
        }
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        #expect(decodeError(magic, origin)?.code == .badMagic)
        #expect(decodeError(bytes, try DNSName("other."))?.code == .wrongZone)
        var version = bytes
        version[9] = 2
        #expect(decodeError(version, origin)?.code == .unsupportedVersion)
    }

    private func decodeError(_ bytes: [UInt8], _ origin: DNSName) -> JournalError? {
        do throws(JournalError) {
            _ = try JournalCoding.decode(bytes, origin: origin)
            return nil
        } catch {
            return error
        }
    }

    @Test func serialArithmeticFollowsRFC1982() {
        #expect(SerialNumber.isNewer(2, than: 1) && !SerialNumber.isNewer(1, than: 2) && !SerialNumber.isNewer(5, than: 5))
        #expect(SerialNumber.isNewer(0, than: UInt32.max) && SerialNumber.isNewer(10, than: 4_294_967_290))
        #expect(SerialNumber.isNewer(0x7FFF_FFFF, than: 0) && !SerialNumber.isNewer(0x8000_0000, than: 0) && !SerialNumber.isNewer(0, than: 0x8000_0000))
        #expect(SerialNumber.raised(from: 10, to: 2_000_000_000) == 2_000_000_000)
        #expect(SerialNumber.raised(from: 2_000_000_000, to: 10) == 2_000_000_001)
        #expect(SerialNumber.raised(from: UInt32.max, to: 3) == 3)
        #expect(SerialNumber.raised(from: 7, to: 7) == 8)
        #expect(SerialNumber.unixtime(1_764_547_200) == 1_764_547_200)
        // 2026-12-01 16:00 UTC, 1970-01-01, 2000-02-29 (a leap day).
        #expect(SerialNumber.dateserial(1_796_140_800) == 2_026_120_100)
        #expect(SerialNumber.dateserial(0) == 1_970_010_100)
        #expect(SerialNumber.dateserial(951_825_600) == 2_000_022_900)
        // Served 2026120105 today: the next is 2026120106, not 2026120100.
        #expect(SerialNumber.raised(from: 2_026_120_105, to: SerialNumber.dateserial(1_796_140_800)) == 2_026_120_106)
        #expect(SOAFields(rdata: soaData(123_456))?.serial == 123_456)
        #expect(SOAFields(rdata: [3, 0x61]) == nil && SOAFields(rdata: Array(soaData(1).dropLast())) == nil)
        #expect(SOAFields.serialOffset(soaData(1) + [0]) == nil)
    }

    @Test func ixfrAnswersFromTheJournalAndFallsBack() throws {
        let journal = try chain()
        let current = zoneV2(serial: 4)
        // Current, or newer (RFC 1995 §2): the SOA alone.
        for serial: UInt32 in [4, 5] {
            let (q, p) = query(serial: serial)
            #expect(OutgoingTransfer.clientSerial(q, p) == serial)
            let messages = try run(.forIXFR(snapshot: snapshot(current), journal: journal, query: q, parsed: p, signer: nil, now: { 0 }))
            #expect(messages.count == 1 && messages[0].answer.count == 1 && messages[0].answer[0].type == .soa)
            #expect(messages[0].id == 0x4242 && messages[0].question.first?.type == .ixfr)
        }
        // Covered: applying the answer to the client's version gives ours, in one message or many.
        for (serial, base) in [(UInt32(1), zoneV1(serial: 1)), (3, zoneV1(serial: 3))] {
            for limit in [ResponseWriter.maxMessageSize, 120] {
                let (q, p) = query(serial: serial)
                let messages = try run(.forIXFR(snapshot: snapshot(current), journal: journal, query: q, parsed: p, signer: nil, messageLimit: limit, now: { 0 }), limit: limit)
                if limit < 200 { #expect(messages.count > 3) }
                #expect(messages.dropFirst().allSatisfy { $0.question.isEmpty })
                let applied = try #require(apply(messages.flatMap(\.answer), to: try recordSet(base)))
                #expect(applied == (try recordSet(current)), "from \(serial), limit \(limit)")
            }
        }
        // Too old, unknown, no journal, or a journal of another version: the whole zone.
        for (serial, j) in [(UInt32(0), journal), (2, nil), (1, ZoneJournal(serial: 9, digest: 0))] as [(UInt32, ZoneJournal?)] {
            let (q, p) = query(serial: serial)
            let messages = try run(.forIXFR(snapshot: snapshot(current), journal: j, query: q, parsed: p, signer: nil, now: { 0 }))
            let answers = messages.flatMap(\.answer)
            #expect(answers.first?.type == .soa && answers.last?.type == .soa && answers.dropFirst().first?.type != .soa)
            #expect(Set(answers.map { TransferRecord(owner: $0.owner.lowercased().wire, type: $0.type, ttl: $0.ttl, rdata: $0.rdata) }) == (try recordSet(current)))
        }
    }

    @Test func theClientSerialIsReadCarefully() throws {
        let (q, p) = query(serial: 77)
        #expect(OutgoingTransfer.clientSerial(q, p) == 77)
        // No authority record, or one cut short.
        let (plain, pp) = query(serial: nil)
        #expect(OutgoingTransfer.clientSerial(plain, pp) == nil)
        for cut in (p.questionEnd + 1)..<q.count {
            #expect(OutgoingTransfer.clientSerial(Array(q[0..<cut]), p) == nil)
        }
        // An authority record that is not an SOA.
        var ns = q
        ns[p.questionEnd + 3] = 2
        #expect(OutgoingTransfer.clientSerial(ns, p) == nil)
    }
}
