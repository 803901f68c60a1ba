import DNSAuth
import DNSWire
import DNSZone
import IPNet
import Testing
import ZoneTransfer

private func wire(_ s: String) -> [UInt8] { try! DNSName(s).wire }
private func rec(_ owner: String, _ type: RRType, _ rdata: [UInt8], ttl: UInt32 = 300) -> ZoneRecord {
    ZoneRecord(owner: try! DNSName(owner), type: type, ttl: ttl, rdata: rdata, location: SourceLocation(file: "t", line: 1))
}
private let soa = wire("ns.example.") + wire("host.example.") + [0, 0, 0, 7] + Array(repeating: 0, count: 12) + [0, 0, 0, 60]

/// A zone with the shapes a transfer must carry: apex, a delegation with glue, data occluded by
/// the delegation and by a DNAME, an empty non-terminal, a wildcard, an NSEC3 record, and `bulk`
/// TXT records to fill several messages.
private func makeRecords(bulk: Int) -> [ZoneRecord] {
    var records = [
        rec("example.", .soa, soa), rec("example.", .ns, wire("ns.example.")), rec("example.", .mx, [0, 10] + wire("mail.example.")),
        rec("ns.example.", .a, [192, 0, 2, 1]), rec("ns.example.", .aaaa, Array(repeating: 0x20, count: 16)),
        rec("sub.example.", .ns, wire("ns.sub.example.")), rec("ns.sub.example.", .a, [192, 0, 2, 2]),
        rec("sub.example.", .ds, [1, 2, 3, 4]), rec("hidden.sub.example.", .txt, [1, 0x68]),
        rec("d.example.", .dname, wire("other.")), rec("below.d.example.", .a, [192, 0, 2, 3]),
        rec("a.b.c.example.", .a, [192, 0, 2, 4]), rec("*.w.example.", .txt, [1, 0x77]),
        rec("www.example.", .cname, wire("ns.example.")),
        rec("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.", .nsec3, [1, 0, 0, 1, 1, 0xAB, 20] + Array(repeating: 7, count: 20) + [0, 1, 0x40]),
    ]
    for i in 0..<bulk {
        records.append(rec("host\(i).bulk.example.", .txt, [40] + Array(repeating: UInt8(ascii: "x"), count: 40)))
    }
    // One RRset larger than the smallest message limit the tests use.
    for i in 0..<60 { records.append(rec("big.example.", .txt, [50] + Array(repeating: UInt8(i), count: 50))) }
    return records
}

/// Runs a whole transfer and decodes every message.
private func transfer(_ zone: Zone, services: [TransferRecord] = [], limit: Int = ResponseWriter.maxMessageSize,
                      id: UInt16 = 0xBEEF) throws -> [Message] {
    let query = Message.query(id: id, name: try DNSName("example."), type: .axfr)
    var parsed = ParsedQuery()
    let outcome = query.withUnsafeBytes { QueryParser.parse($0, into: &parsed) }
    guard case .query = outcome else { Issue.record("query did not parse"); return [] }
    var stream = AXFRStream(snapshot: TransferSnapshot(zone: zone, serviceRecords: services), query: query, parsed: parsed,
                            messageLimit: limit, now: { 1_700_000_000 })
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ResponseWriter.bufferSize, alignment: 16)
    defer { buffer.deallocate() }
    var messages: [Message] = []
    while true {
        let length = stream.next(into: buffer)
        if length == 0 { break }
        #expect(length <= limit)
        messages.append(try Message(decoding: Array(buffer[0..<length])))
        #expect(messages.count < 10_000)
    }
    #expect(stream.isFinished)
    #expect(stream.messages == messages.count)
    return messages
}

private struct Key: Hashable { let owner: DNSName; let type: RRType; let ttl: UInt32; let rdata: [UInt8] }

@Suite struct AXFRStreamTests {
    @Test func soaFirstAndLastAndEveryRecordOnce() throws {
        let records = makeRecords(bulk: 10)
        let zone = Zone(origin: try DNSName("example."), records: records)
        let messages = try transfer(zone)
        #expect(messages.count == 1)
        let answers = messages.flatMap(\.answer)
        #expect(answers.first?.type == .soa && answers.last?.type == .soa)
        #expect(answers.first == answers.last)
        #expect(answers.filter { $0.type == .soa }.count == 2)
        let sent = Set(answers.dropLast().map { Key(owner: $0.owner.lowercased(), type: $0.type, ttl: $0.ttl, rdata: $0.rdata) })
        let expected = Set(records.map { Key(owner: $0.owner.lowercased(), type: $0.type, ttl: $0.ttl, rdata: $0.rdata) })
        #expect(sent == expected)
        #expect(answers.count == records.count + 1)
        let m = try #require(messages.first)
        #expect(m.id == 0xBEEF && m.flags & Header.qr != 0 && m.flags & Header.aa != 0 && m.rcode == .noError)
        #expect(m.question.count == 1)
    }

    @Test(arguments: [600, 2000, 16_000])
    func splitsIntoMessagesWithinTheLimit(limit: Int) throws {
        let records = makeRecords(bulk: 2000)
        let zone = Zone(origin: try DNSName("example."), records: records)
        let messages = try transfer(zone, limit: limit)
        #expect(messages.count > 1)
        #expect(messages[0].question.count == 1)
        #expect(messages.dropFirst().allSatisfy { $0.question.isEmpty && $0.id == 0xBEEF })
        #expect(messages.allSatisfy { !$0.answer.isEmpty })
        let answers = messages.flatMap(\.answer)
        #expect(answers.first?.type == .soa && answers.last?.type == .soa)
        #expect(answers.filter { $0.type == .soa }.count == 2)
        let sent = answers.dropLast().map { Key(owner: $0.owner.lowercased(), type: $0.type, ttl: $0.ttl, rdata: $0.rdata) }
        #expect(sent.count == records.count)
        #expect(Set(sent) == Set(records.map { Key(owner: $0.owner.lowercased(), type: $0.type, ttl: $0.ttl, rdata: $0.rdata) }))
        // An RRset that fits in a message is never split between two.
        if limit >= 16_000 {
            for m in messages {
                let big = m.answer.filter { $0.owner == (try! DNSName("big.example.")) }
                #expect(big.isEmpty || big.count == 60)
            }
        }
    }

    /// Service records come after the zone's own records and NSEC3 chain, before the closing SOA,
    /// each once, at any message size.
    @Test(arguments: [600, ResponseWriter.maxMessageSize])
    func serviceRecordsBeforeTheClosingSOA(limit: Int) throws {
        let records = makeRecords(bulk: 300)
        let zone = Zone(origin: try DNSName("example."), records: records)
        var services: [TransferRecord] = []
        for i in 0..<200 {
            services.append(TransferRecord(owner: wire("svc\(i).example."), type: .a, ttl: 30, rdata: [192, 0, 2, UInt8(i)]))
            services.append(TransferRecord(owner: wire("svc\(i).example."), type: .aaaa, ttl: 30, rdata: Array(repeating: 0x20, count: 15) + [UInt8(i)]))
        }
        let messages = try transfer(zone, services: services, limit: limit)
        let answers = messages.flatMap(\.answer)
        #expect(answers.first?.type == .soa && answers.last?.type == .soa)
        #expect(answers.count == records.count + services.count + 1)
        let tail = answers.dropLast().suffix(services.count)
        let expected = services.map { Key(owner: try! DNSName(wire: $0.owner), type: $0.type, ttl: $0.ttl, rdata: $0.rdata) }
        #expect(tail.map { Key(owner: $0.owner.lowercased(), type: $0.type, ttl: $0.ttl, rdata: $0.rdata) } == expected)
        // The NSEC3 record is the last of the zone's own.
        #expect(answers[answers.count - services.count - 2].type == .nsec3)
        if limit < 1000 { #expect(messages.count > 5) }
    }

    @Test func signedTransfersCarryATSIGInEveryMessage() throws {
        let zone = Zone(origin: try DNSName("example."), records: makeRecords(bulk: 3000))
        let keyring = TSIGKeyring([TSIGKey(name: try DNSName("xfr."), algorithm: .hmacSHA256, secret: Array(repeating: 7, count: 32))])
        // A signed AXFR query: the question, then a TSIG record with a 32-byte MAC.
        var query = Message.query(id: 77, name: try DNSName("example."), type: .axfr)
        query[11] = 1
        var rdata = wire("hmac-sha256.") + [0, 0, 0x65, 0x53, 0xF1, 0x00] + [1, 44] + [0, 32] + Array(repeating: 9, count: 32)
        rdata += [0, 77, 0, 0, 0, 0]
        query += wire("xfr.") + [0, 250, 0, 255, 0, 0, 0, 0, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        var parsed = ParsedQuery()
        let outcome = query.withUnsafeBytes { QueryParser.parse($0, into: &parsed) }
        guard case .query = outcome, let tsig = parsed.tsig else { Issue.record("signed query did not parse"); return }
        var stream = AXFRStream(snapshot: TransferSnapshot(zone: zone), query: query, parsed: parsed, signer: AXFRStream.Signer(keyring: keyring, key: 0, tsig: tsig),
                                now: { 1_700_000_000 })
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ResponseWriter.bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var macs: [[UInt8]] = []
        while true {
            let length = stream.next(into: buffer)
            if length == 0 { break }
            let m = try Message(decoding: Array(buffer[0..<length]))
            let record = try #require(m.additional.last)
            #expect(record.type == RRType(250))
            macs.append(Array(record.rdata[(13 + 10)..<(13 + 10 + 32)]))
        }
        #expect(macs.count > 1)
        #expect(Set(macs).count == macs.count)  // each message's MAC covers a different chain
    }

    @Test func accessNeedsTheAddressAndTheKeyItNames() throws {
        let local = try IPPrefix.parseCIDR("127.0.0.0/8")
        let key = try DNSName("xfr.")
        let byAddress = TransferAccess(allow: [local], keys: [])
        #expect(byAddress.permits(IPAddress("127.0.0.1")!, key: nil))
        #expect(byAddress.permits(IPAddress("127.0.0.1")!, key: key))
        #expect(!byAddress.permits(IPAddress("192.0.2.1")!, key: nil))
        let byKey = TransferAccess(allow: [], keys: [key])
        #expect(byKey.permits(IPAddress("192.0.2.1")!, key: key))
        #expect(!byKey.permits(IPAddress("192.0.2.1")!, key: nil))
        #expect(!byKey.permits(IPAddress("192.0.2.1")!, key: try DNSName("other.")))
        let both = TransferAccess(allow: [local], keys: [key])
        #expect(both.permits(IPAddress("127.0.0.1")!, key: key))
        #expect(!both.permits(IPAddress("127.0.0.1")!, key: nil))
        #expect(!both.permits(IPAddress("192.0.2.1")!, key: key))
        #expect(!TransferAccess(allow: [], keys: []).permits(IPAddress("127.0.0.1")!, key: nil))
    }
}
