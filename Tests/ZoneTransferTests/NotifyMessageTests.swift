import DNSAuth
import DNSWire
import DNSZone
import Foundation
import Testing
import ZoneTransfer

private func wire(_ s: String) -> [UInt8] { try! DNSName(s).wire }
private func rec(_ owner: String, _ type: RRType, _ rdata: [UInt8], ttl: UInt32 = 300) -> ZoneRecord {
    ZoneRecord(owner: try! DNSName(owner), type: type, ttl: ttl, rdata: rdata, location: SourceLocation(file: "t", line: 1))
}

/// serial 2024060701, refresh 7200, retry 3600, expire 1209600, minimum 300.
private let soaRData = wire("ns1.example.") + wire("hostmaster.example.") + [0x78, 0xA4, 0xB7, 0x1D]
    + [0, 0, 0x1C, 0x20] + [0, 0, 0x0E, 0x10] + [0, 0x12, 0x75, 0x00] + [0, 0, 1, 0x2C]

private func zone() -> Zone {
    Zone(origin: try! DNSName("example."), records: [
        rec("example.", .soa, soaRData, ttl: 3600), rec("example.", .ns, wire("ns1.example.")),
        rec("ns1.example.", .a, [192, 0, 2, 1]),
    ])
}

/// 32 bytes, base64: the same secret as in ZoneTransferTests (end to end).
private let secretBase64 = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg="
private let otherBase64 = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXIteHg="

private func keyring(_ algorithm: TSIGAlgorithm = .hmacSHA256) -> TSIGKeyring {
    TSIGKeyring([
        TSIGKey(name: try! DNSName("unused-key."), algorithm: .hmacSHA256, secret: Array(Data(base64Encoded: otherBase64)!)),
        TSIGKey(name: try! DNSName("xfr-key."), algorithm: algorithm, secret: Array(Data(base64Encoded: secretBase64)!)),
    ])
}

/// Debian's python3 with dnspython (python3-dnspython), else the test fails saying what to install.
private func python() throws -> String {
    let py = "/usr/bin/python3"
    guard FileManager.default.isExecutableFile(atPath: py) else {
        throw NotifyTestError("/usr/bin/python3 not found: install the Debian package python3 (scripts/install-deps --test)")
    }
    return py
}

private struct NotifyTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Parses `message` with dnspython, verifying its TSIG with (keyname, algorithm, secret) when
/// given, and prints what it read; the exit status is 0 only when dnspython accepted it.
private func dnspython(_ message: [UInt8], key: (String, String, String)? = nil) throws -> (status: Int32, out: String) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString).bin")
    try Data(message).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let script = """
        import sys
        import dns.message, dns.opcode, dns.flags, dns.rdatatype, dns.tsigkeyring, dns.name, dns.tsig
        data = open(sys.argv[1], "rb").read()
        keyring = None
        if len(sys.argv) > 2:
            keyring = {dns.name.from_text(sys.argv[2]): dns.tsig.Key(sys.argv[2], sys.argv[3], sys.argv[4])}
        try:
            m = dns.message.from_wire(data, keyring=keyring)
        except Exception as e:
            print(f"rejected {type(e).__name__}: {e}")
            sys.exit(1)
        print("opcode", dns.opcode.to_text(m.opcode()))
        print("flags", dns.flags.to_text(m.flags))
        print("id", m.id)
        print("question", m.question[0].to_text() if m.question else "-")
        print("answer", " | ".join(r.to_text() for r in m.answer))
        print("signed", m.had_tsig, m.keyname.to_text() if m.keyname else "-")
        """
    var args = ["-c", script, file.path]
    if let key { args += [key.0, key.2, key.1] }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try python())
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    if text.contains("No module named 'dns'") {
        throw NotifyTestError("dnspython not found for /usr/bin/python3: install the Debian package python3-dnspython")
    }
    return (p.terminationStatus, text)
}

/// NotifyMessage (RFC 1996) and TSIGKeyring.signRequest (RFC 8945 §5.1), read back by dnspython:
/// the NOTIFY Meridian sends is what a secondary parses, and its MAC verifies with the key.
@Suite struct NotifyMessageTests {
    @Test func unsignedNotifyCarriesTheSOA() throws {
        let m = NotifyMessage.make(zone: zone(), id: 0x1234, keyring: keyring(), key: nil, now: 1_700_000_000)
        let r = try dnspython(m)
        #expect(r.status == 0, "\(r.out)")
        #expect(r.out.contains("opcode NOTIFY"), "\(r.out)")
        #expect(r.out.contains("flags AA\n"), "\(r.out)")
        #expect(r.out.contains("id 4660"), "\(r.out)")
        #expect(r.out.contains("question example. IN SOA"), "\(r.out)")
        #expect(r.out.contains("answer example. 3600 IN SOA ns1.example. hostmaster.example. 2024060701 7200 3600 1209600 300"), "\(r.out)")
        #expect(r.out.contains("signed False"), "\(r.out)")
        // Our own decoder agrees on the header.
        let decoded = try Message(decoding: m)
        #expect(decoded.id == 0x1234 && decoded.flags & Header.qr == 0 && decoded.flags & Header.aa != 0)
        #expect(decoded.answer.count == 1 && decoded.answer.first?.type == .soa)
    }

    @Test(arguments: [TSIGAlgorithm.hmacSHA256, .hmacSHA384, .hmacSHA512])
    func signedNotifyVerifiesWithTheKey(algorithm: TSIGAlgorithm) throws {
        let now = UInt64(Date().timeIntervalSince1970)
        let m = NotifyMessage.make(zone: zone(), id: 0xBEEF, keyring: keyring(algorithm), key: 1, now: now)
        let name = algorithm.rawValue
        let good = try dnspython(m, key: ("xfr-key.", name, secretBase64))
        #expect(good.status == 0, "\(good.out)")
        #expect(good.out.contains("signed True xfr-key."), "\(good.out)")
        #expect(good.out.contains("opcode NOTIFY") && good.out.contains("2024060701"), "\(good.out)")
        // The wrong secret: dnspython's verification fails.
        let bad = try dnspython(m, key: ("xfr-key.", name, otherBase64))
        #expect(bad.status != 0 && bad.out.contains("BadSignature"), "\(bad.out)")
        // One byte of the signed part changed (the SOA serial): the MAC no longer verifies.
        var tampered = m
        let serialAt = try #require(findSerial(tampered))
        tampered[serialAt + 3] ^= 1
        let broken = try dnspython(tampered, key: ("xfr-key.", name, secretBase64))
        #expect(broken.status != 0 && broken.out.contains("BadSignature"), "\(broken.out)")
    }

    @Test func signedNotifyOutsideTheFudgeIsRejected() throws {
        // Signed an hour ago: dnspython checks the time against the 300 s fudge.
        let m = NotifyMessage.make(zone: zone(), id: 7, keyring: keyring(), key: 1, now: UInt64(Date().timeIntervalSince1970) - 3600)
        let r = try dnspython(m, key: ("xfr-key.", "hmac-sha256", secretBase64))
        #expect(r.status != 0 && r.out.contains("BadTime"), "\(r.out)")
    }

    @Test func answerMatchesIDQRAndOpcode() {
        func check(_ bytes: [UInt8], _ id: UInt16) -> UInt8? {
            bytes.withUnsafeBytes { NotifyMessage.answer($0, id: id) }
        }
        // ID 0x1234, QR + opcode 4 + AA, rcode NOERROR / REFUSED / NOTAUTH.
        let ok: [UInt8] = [0x12, 0x34, 0xA4, 0x00] + Array(repeating: 0, count: 8)
        #expect(check(ok, 0x1234) == 0)
        #expect(check([0x12, 0x34, 0xA4, 0x05] + Array(repeating: 0, count: 8), 0x1234) == 5)
        #expect(check([0x12, 0x34, 0xA0, 0x09] + Array(repeating: 0, count: 8), 0x1234) == 9)
        #expect(check(ok, 0x1235) == nil)  // another ID
        #expect(check([0x12, 0x34, 0x24, 0x00] + Array(repeating: 0, count: 8), 0x1234) == nil)  // QR clear: our own query
        #expect(check([0x12, 0x34, 0x84, 0x00] + Array(repeating: 0, count: 8), 0x1234) == nil)  // opcode QUERY
        #expect(check(Array(ok.prefix(11)), 0x1234) == nil)  // shorter than a header
    }
}

/// The offset of the SOA serial (2024060701) in the NOTIFY's answer.
private func findSerial(_ m: [UInt8]) -> Int? {
    let needle: [UInt8] = [0x78, 0xA4, 0xB7, 0x1D]
    guard m.count >= needle.count else { return nil }
    for i in 0...(m.count - needle.count) where Array(m[i..<(i + needle.count)]) == needle { return i }
    return nil
}
