#if canImport(Glibc)
import Glibc
#endif
import DNSAuth
import DNSWire
import DNSZone
import Testing
import ZoneTransfer

private func name(_ s: String) -> DNSName { try! DNSName(s) }
private func soaRData(_ serial: UInt32) -> [UInt8] {
    name("ns.example.").wire + name("host.example.").wire + be32(serial) + be32(7200) + be32(3600) + be32(1_209_600) + be32(60)
}
private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
private func record(_ owner: String, _ type: RRType, _ rdata: [UInt8], ttl: UInt32 = 300) -> Message.Record {
    Message.Record(owner: name(owner), type: type, rrClass: .in, ttl: ttl, rdata: rdata)
}
private func zoneRecords(serial: UInt32, hosts: Int) -> [ZoneRecord] {
    var records = [
        ZoneRecord(owner: name("example."), type: .soa, ttl: 300, rdata: soaRData(serial), location: SourceLocation(file: "t", line: 1)),
        ZoneRecord(owner: name("example."), type: .ns, ttl: 300, rdata: name("ns.example.").wire, location: SourceLocation(file: "t", line: 2)),
        ZoneRecord(owner: name("ns.example."), type: .a, ttl: 300, rdata: [192, 0, 2, 1], location: SourceLocation(file: "t", line: 3)),
    ]
    for i in 0..<hosts {
        records.append(ZoneRecord(owner: name("h\(i).example."), type: .txt, ttl: 300, rdata: [30] + Array(repeating: UInt8(ascii: "x"), count: 30),
                                  location: SourceLocation(file: "t", line: 4 + i)))
    }
    return records
}

/// A response message by hand: ID, flags, the question `example. IN type`, the answer records
/// (uncompressed) and `additional` bytes appended (counted as `arcount` records).
private func response(id: UInt16, type: RRType, _ answers: [Message.Record], flags: UInt16 = 0x8400, question: Bool = true) -> [UInt8] {
    var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF), 0, question ? 1 : 0,
                      UInt8(answers.count >> 8), UInt8(answers.count & 0xFF), 0, 0, 0, 0]
    if question { m += name("example.").wire + [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1] }
    for r in answers {
        m += r.owner.wire + [UInt8(r.type.rawValue >> 8), UInt8(r.type.rawValue & 0xFF), 0, 1] + be32(r.ttl)
        m += [UInt8(r.rdata.count >> 8), UInt8(r.rdata.count & 0xFF)] + r.rdata
    }
    return m
}

/// Meridian's own AXFR of `zone` (AXFRStream, the code that serves secondaries) answering
/// `request`, messages of at most `limit` bytes.
private func serve(_ zone: Zone, request: [UInt8], keyring: TSIGKeyring? = nil, limit: Int = 1024) throws -> [[UInt8]] {
    var parsed = ParsedQuery()
    let outcome = request.withUnsafeBytes { QueryParser.parse($0, into: &parsed) }
    guard case .query = outcome else { throw TestFailure("request did not parse") }
    var signer: AXFRStream.Signer? = nil
    if let keyring {
        guard let tsig = parsed.tsig else { throw TestFailure("request not signed") }
        signer = AXFRStream.Signer(keyring: keyring, key: 0, tsig: tsig)
    }
    var stream = AXFRStream(snapshot: TransferSnapshot(zone: zone), query: request, parsed: parsed, signer: signer, messageLimit: limit, now: { UInt64(time(nil)) })
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ResponseWriter.bufferSize, alignment: 16)
    defer { buffer.deallocate() }
    var messages: [[UInt8]] = []
    while true {
        let length = stream.next(into: buffer)
        if length == 0 { break }
        messages.append(Array(buffer[0..<length]))
    }
    return messages
}

private struct TestFailure: Error { let text: String; init(_ text: String) { self.text = text } }

private func now() -> UInt64 { UInt64(time(nil)) }

@Suite struct IncomingTransferTests {
    let keyring = TSIGKeyring([TSIGKey(name: name("xfr."), algorithm: .hmacSHA256, secret: Array(repeating: 7, count: 32))])

    @Test func readsMeridiansOwnMultiMessageAXFR() throws {
        let records = zoneRecords(serial: 9, hosts: 200)
        let zone = Zone(origin: name("example."), records: records)
        let (request, verifier) = IncomingTransfer.request(origin: name("example."), type: .axfr, id: 4242, soa: nil, keyring: keyring, key: nil, now: now())
        #expect(verifier == nil)
        let messages = try serve(zone, request: request)
        #expect(messages.count > 3)
        var stream = IncomingTransfer(origin: name("example."), id: 4242, type: .axfr, fromSerial: nil, verifier: nil)
        for (k, m) in messages.enumerated() {
            #expect(stream.result == nil, "finished before message \(k)")
            try stream.receive(m, now: now())
        }
        guard case .full(let received) = stream.result else { Issue.record("no full result: \(String(describing: stream.result))"); return }
        #expect(received.first?.soaSerial == 9)
        #expect(received.count == records.count)
        let expected = Set(records.map { record($0.owner.description, $0.type, $0.rdata, ttl: $0.ttl) })
        #expect(Set(received) == expected)
        // A message after the end is an error.
        #expect(throws: IncomingTransfer.Failure.self) { try stream.receive(messages[0], now: now()) }
    }

    @Test func aStreamCutShortHasNoResult() throws {
        let zone = Zone(origin: name("example."), records: zoneRecords(serial: 9, hosts: 200))
        let (request, _) = IncomingTransfer.request(origin: name("example."), type: .axfr, id: 1, soa: nil, keyring: keyring, key: nil, now: now())
        let messages = try serve(zone, request: request)
        var stream = IncomingTransfer(origin: name("example."), id: 1, type: .axfr, fromSerial: nil, verifier: nil)
        for m in messages.dropLast() { try stream.receive(m, now: now()) }
        #expect(stream.result == nil)
    }

    @Test func signedStreamsVerifyAndABrokenMACInTheMiddleIsRejected() throws {
        let zone = Zone(origin: name("example."), records: zoneRecords(serial: 9, hosts: 300))
        let (request, verifier) = IncomingTransfer.request(origin: name("example."), type: .axfr, id: 7, soa: nil, keyring: keyring, key: 0, now: now())
        let messages = try serve(zone, request: request, keyring: keyring)
        #expect(messages.count > 4)
        #expect(verifier != nil)
        var good = IncomingTransfer(origin: name("example."), id: 7, type: .axfr, fromSerial: nil, verifier: verifier)
        for m in messages { try good.receive(m, now: now()) }
        guard case .full(let records) = good.result else { Issue.record("signed stream not read"); return }
        #expect(records.count == 303)

        // One byte of the MAC of a middle message flipped (the MAC is the 32 bytes before the
        // record's last 6 bytes: original ID, error, other length).
        var broken = messages
        let middle = broken.count / 2
        broken[middle][broken[middle].count - 7] ^= 0x01
        var stream = IncomingTransfer(origin: name("example."), id: 7, type: .axfr, fromSerial: nil, verifier: verifier)
        var failure: IncomingTransfer.Failure?
        for (k, m) in broken.enumerated() {
            do { try stream.receive(m, now: now()) } catch {
                failure = error
                #expect(k == middle)
                break
            }
        }
        #expect(failure?.code == .tsig, "\(String(describing: failure))")
        #expect(failure?.reason.contains("BADSIG") == true)

        // The same stream with another key's verifier fails at once; an unsigned stream to a signed request too.
        let other = TSIGKeyring([TSIGKey(name: name("xfr."), algorithm: .hmacSHA256, secret: Array(repeating: 8, count: 32))])
        let (_, otherVerifier) = IncomingTransfer.request(origin: name("example."), type: .axfr, id: 7, soa: nil, keyring: other, key: 0, now: now())
        var wrong = IncomingTransfer(origin: name("example."), id: 7, type: .axfr, fromSerial: nil, verifier: otherVerifier)
        #expect(throws: IncomingTransfer.Failure.self) { try wrong.receive(messages[0], now: now()) }
        let unsigned = try serve(zone, request: IncomingTransfer.request(origin: name("example."), type: .axfr, id: 7, soa: nil, keyring: keyring,
                                                                         key: nil, now: now()).message)
        var bare = IncomingTransfer(origin: name("example."), id: 7, type: .axfr, fromSerial: nil, verifier: verifier)
        do {
            try bare.receive(unsigned[0], now: now())
            Issue.record("an unsigned message was accepted")
        } catch {
            #expect(error.code == .tsig && error.reason.contains("not signed"))
        }
    }

    @Test func messagesThatDoNotAnswerUsAreRejected() throws {
        let soa = record("example.", .soa, soaRData(5))
        let body = [soa, record("www.example.", .a, [192, 0, 2, 1]), soa]
        func failure(_ message: [UInt8]) -> IncomingTransfer.Failure.Code? {
            var stream = IncomingTransfer(origin: name("example."), id: 9, type: .axfr, fromSerial: nil, verifier: nil)
            do { try stream.receive(message, now: now()) } catch { return error.code }
            return nil
        }
        #expect(failure(response(id: 9, type: .axfr, body)) == nil)
        #expect(failure(response(id: 10, type: .axfr, body)) == .mismatch)
        #expect(failure(response(id: 9, type: .ixfr, body)) == .mismatch)
        #expect(failure(response(id: 9, type: .axfr, body, flags: 0x0400)) == .mismatch)  // QR clear
        #expect(failure(response(id: 9, type: .axfr, body, flags: 0x8405)) == .rcode(5))
        #expect(failure(response(id: 9, type: .axfr, body, question: false)) == .mismatch)  // the first message needs the question
        #expect(failure(Array(response(id: 9, type: .axfr, body).dropLast(3))) == .malformed)
        #expect(failure(response(id: 9, type: .axfr, body) + [0]) == .malformed)
        #expect(failure([0, 9, 0x84]) == .malformed)
        #expect(failure(response(id: 9, type: .axfr, [record("www.example.", .a, [192, 0, 2, 1]), soa])) == .badContent)  // no SOA first
        #expect(failure(response(id: 9, type: .axfr, [soa, record("www.other.", .a, [192, 0, 2, 1]), soa])) == .badContent)
        #expect(failure(response(id: 9, type: .axfr, [soa, record("example.", .soa, soaRData(6))])) == .badContent)
        var small = IncomingTransfer.Limits()
        small.records = 2
        var limited = IncomingTransfer(origin: name("example."), id: 9, type: .axfr, fromSerial: nil, verifier: nil, limits: small)
        #expect(throws: IncomingTransfer.Failure(.tooLarge, "more than 2 records")) { try limited.receive(response(id: 9, type: .axfr, body), now: now()) }
    }

    @Test func ixfrDifferencesApplyAndASingleSOAMeansCurrent() throws {
        let v5 = record("example.", .soa, soaRData(5)), v6 = record("example.", .soa, soaRData(6)), v7 = record("example.", .soa, soaRData(7))
        let www1 = record("www.example.", .a, [192, 0, 2, 1]), www2 = record("www.example.", .a, [192, 0, 2, 2])
        let mail = record("mail.example.", .a, [192, 0, 2, 9])
        let base = [v5, record("example.", .ns, name("ns.example.").wire), www1]
        // 5 → 6: www 1 → 2; 6 → 7: mail added. Split over two messages, the second without a question.
        let first = response(id: 3, type: .ixfr, [v7, v5, www1, v6, www2])
        let second = response(id: 3, type: .ixfr, [v6, v7, mail, v7], question: false)
        var stream = IncomingTransfer(origin: name("example."), id: 3, type: .ixfr, fromSerial: 5, verifier: nil)
        try stream.receive(first, now: now())
        #expect(stream.result == nil)
        try stream.receive(second, now: now())
        guard case .incremental(let differences) = stream.result else { Issue.record("\(String(describing: stream.result))"); return }
        #expect(differences.map(\.fromSerial) == [5, 6] && differences.map(\.toSerial) == [6, 7])
        let applied = try IXFRApplier.apply(differences, to: base)
        #expect(applied.first == v7)
        #expect(Set(applied) == Set([v7, record("example.", .ns, name("ns.example.").wire), www2, mail]))

        // A difference that deletes what we do not hold is refused (the caller then takes AXFR).
        let stray = IXFRDifference(oldSOA: v5, deleted: [mail], newSOA: v6, added: [])
        #expect(throws: IncomingTransfer.Failure.self) { try IXFRApplier.apply([stray], to: base) }
        // A deletion that spells a name inside RDATA in another case deletes the record we hold
        // (RFC 4034 §6.2: NS, MX, … RDATA names compare case-insensitively); TXT text does not.
        let upper = IXFRDifference(oldSOA: v5, deleted: [record("example.", .ns, name("NS.Example.").wire)], newSOA: v6, added: [])
        #expect(try Set(IXFRApplier.apply([upper], to: base)) == Set([v6, www1]))
        let text = record("t.example.", .txt, [1, 0x61]), textUpper = record("t.example.", .txt, [1, 0x41])
        let caseOfText = IXFRDifference(oldSOA: v5, deleted: [textUpper], newSOA: v6, added: [])
        #expect(throws: IncomingTransfer.Failure.self) { try IXFRApplier.apply([caseOfText], to: base + [text]) }
        #expect(RDataShape.canonical(.mx, [0, 10] + name("MX.Example.").wire) == [0, 10] + name("mx.example.").wire)
        #expect(RDataShape.canonical(.soa, soaRData(5)) == soaRData(5))
        // A chain that does not start at our serial is refused by the parser.
        var wrongStart = IncomingTransfer(origin: name("example."), id: 3, type: .ixfr, fromSerial: 4, verifier: nil)
        #expect(throws: IncomingTransfer.Failure.self) { try wrongStart.receive(first, now: now()) }

        var current = IncomingTransfer(origin: name("example."), id: 3, type: .ixfr, fromSerial: 7, verifier: nil)
        try current.receive(response(id: 3, type: .ixfr, [v7]), now: now())
        #expect(current.result == .current(serial: 7))

        // AXFR-style IXFR: the second record is not an SOA.
        var full = IncomingTransfer(origin: name("example."), id: 3, type: .ixfr, fromSerial: 5, verifier: nil)
        try full.receive(response(id: 3, type: .ixfr, [v7, www2, mail, v7]), now: now())
        #expect(full.result == .full([v7, www2, mail]))
    }

    @Test func soaQueriesAndSerialArithmetic() throws {
        let (request, verifier) = IncomingTransfer.request(origin: name("example."), type: .soa, id: 11, soa: nil, keyring: keyring, key: nil, now: now())
        #expect(request.count == 12 + 9 + 4 && verifier == nil)
        #expect(try IncomingTransfer.soaSerial(response(id: 11, type: .soa, [record("example.", .soa, soaRData(2_000_000_000))]),
                                               id: 11, origin: name("example."), verifier: nil, now: now()) == 2_000_000_000)
        #expect(throws: IncomingTransfer.Failure.self) {
            try IncomingTransfer.soaSerial(response(id: 11, type: .soa, [record("example.", .soa, soaRData(1))], flags: 0x8000),
                                           id: 11, origin: name("example."), verifier: nil, now: now())
        }
        #expect(SerialNumber.isNewer(2, than: 1))
        #expect(!SerialNumber.isNewer(1, than: 2))
        #expect(!SerialNumber.isNewer(5, than: 5))
        #expect(SerialNumber.isNewer(1, than: UInt32.max))  // wraps
        #expect(!SerialNumber.isNewer(0x8000_0000, than: 0))  // exactly half way: undefined, not newer
        #expect(SOAFields(rdata: soaRData(3))?.expire == 1_209_600)
        #expect(SOAFields(rdata: Array(soaRData(3).dropLast())) == nil)
    }
}
