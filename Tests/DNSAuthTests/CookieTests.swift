@testable import DNSAuth
import Testing

@Suite struct CookieTests {
    /// SipHash-2-4 reference vectors (the SipHash paper's test code): key 00…0f, message 00…(n-1).
    @Test func sipHashMatchesTheReferenceVectors() throws {
        let key = try #require(SipHashKey(Array(0..<16)))
        let expected: [Int: [UInt8]] = [
            0: [0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72],
            1: [0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74],
            15: [0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1],
        ]
        for (n, bytes) in expected {
            let message = [UInt8](0..<UInt8(n))
            var h = SipHash24(key)
            let out = message.withUnsafeBytes { h.finish(tail: $0, total: n) }
            let le = (0..<8).map { UInt8((out >> UInt64(8 * $0)) & 0xFF) }
            #expect(le == bytes, "length \(n)")
        }
    }

    /// RFC 9018 Appendix A.1: the server cookie for a first query from 198.51.100.100.
    @Test func serverCookieMatchesRFC9018() throws {
        let cookies = try #require(ServerCookies(secret: hex("e5e973e5a6b2a43f48e7dc849e37bfcf")))
        let client = hex("2464c4abcf10c957")
        let ip: [UInt8] = [198, 51, 100, 100]
        var out = [UInt8](repeating: 0, count: 16)
        client.withUnsafeBytes { c in
            ip.withUnsafeBytes { a in
                out.withUnsafeMutableBytes { cookies.make(clientCookie: c.baseAddress!, client: a, now: 1_559_731_985, into: $0.baseAddress!) }
            }
        }
        #expect(out == hex("010000005cf79f111f8130c3eee29480"))
        // Valid now and within the hour, not after it, not for another address or client cookie.
        func valid(_ cookie: [UInt8], _ c: [UInt8], _ ip: [UInt8], _ now: UInt32) -> Bool {
            cookie.withUnsafeBytes { s in c.withUnsafeBytes { cc in ip.withUnsafeBytes { a in
                cookies.isValid(server: s.baseAddress!, length: s.count, clientCookie: cc.baseAddress!, client: a, now: now)
            } } }
        }
        #expect(valid(out, client, ip, 1_559_731_985 + 3000))
        #expect(!valid(out, client, ip, 1_559_731_985 + 3700))
        #expect(!valid(out, client, [198, 51, 100, 101], 1_559_731_985))
        #expect(!valid(out, hex("2464c4abcf10c958"), ip, 1_559_731_985))
        // A rotated secret still accepts the old cookies as the previous one.
        let rotated = try #require(ServerCookies(secret: Array(repeating: 7, count: 16), previous: hex("e5e973e5a6b2a43f48e7dc849e37bfcf")))
        let accepted = out.withUnsafeBytes { s in client.withUnsafeBytes { cc in ip.withUnsafeBytes { a in
            rotated.isValid(server: s.baseAddress!, length: 16, clientCookie: cc.baseAddress!, client: a, now: 1_559_731_985)
        } } }
        #expect(accepted)
    }

    func hex(_ s: String) -> [UInt8] {
        let c = Array(s)
        return stride(from: 0, to: c.count, by: 2).map { UInt8(String(c[$0...$0 + 1]), radix: 16)! }
    }
}
