import IPNet
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("0.0.0.0", "0.0.0.0"), ("192.0.2.1", "192.0.2.1"), ("255.255.255.255", "255.255.255.255"),
        ("::", "::"), ("::1", "::1"), ("1::", "1::"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),  // RFC 5952 §4.2.1: longest run
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // §4.2.2: a single zero group stays
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // §4.2.3: the longest run
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // §4.2.3: the first of equal runs
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),  // §5: IPv4-mapped
        ("::ffff:c000:201", "::ffff:192.0.2.1"),
        ("::192.0.2.1", "::c000:201"),
        ("64:ff9b::192.0.2.1", "64:ff9b::c000:201"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
    ])
    func parsesAndPrints(text: String, canonical: String) throws {
        let a = try #require(IPAddress(text))
        #expect(a.description == canonical)
        #expect(IPAddress(canonical) == a)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "+1.2.3.4", "1..2.3",
        ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", ":1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:", "12345::", "g::", "+1::", "-0::", "::+f", "1.2.3.4::", "1.2.3.4::5",
        "::1.2.3.4:5", "::1.2.3", "fe80::1%eth0",
    ])
    func rejects(text: String) {
        #expect(IPAddress(text) == nil, "\(text)")
    }

    /// The RFC 6890 block of a special-purpose address, both edges of each block checked against
    /// its public neighbours: the length is the ECS scope of an answer such an address led to.
    @Test(arguments: [
        ("0.0.0.1", UInt8?(8)), ("10.0.0.0", 8), ("10.255.255.255", 8), ("9.255.255.255", nil), ("11.0.0.0", nil),
        ("100.64.0.0", 10), ("100.127.255.255", 10), ("100.63.255.255", nil), ("100.128.0.0", nil),
        ("127.0.0.1", 8), ("126.255.255.255", nil), ("128.0.0.0", nil), ("169.254.9.9", 16), ("172.16.0.1", 12),
        ("172.31.255.255", 12), ("172.32.0.0", nil), ("192.0.0.8", 24), ("192.0.2.1", 24), ("192.168.7.1", 16),
        ("198.18.0.1", 15), ("198.19.255.255", 15), ("198.20.0.0", nil), ("198.51.100.1", 24), ("203.0.113.1", 24),
        ("224.0.0.1", 4), ("255.255.255.255", 4), ("1.0.16.1", nil), ("8.8.8.8", nil),
        ("::", 128), ("::1", 128), ("::2", nil), ("::ffff:10.1.2.3", 96), ("fc00::1", 7), ("fdff:ffff::1", 7),
        ("fe80::1", 10), ("febf::1", 10), ("fec0::1", nil), ("ff02::1", 8), ("2001:db8::1", 32), ("2001:db9::1", nil),
        ("2400:4050::1", nil),
    ])
    func specialPurposeBlocks(text: String, block: UInt8?) throws {
        let a = try #require(IPAddress(text))
        #expect(a.specialPurposePrefixLength == block, "\(text)")
        #expect(a.isPrivateOrReserved == (block != nil), "\(text)")
    }

    @Test func bitsAndMasks() throws {
        let v4 = try #require(IPAddress("192.0.2.129"))
        #expect(v4.ipv4Value == 0xC000_0281)
        #expect(v4.bit(0) && v4.bit(1) && !v4.bit(2) && v4.bit(24) && v4.bit(31))
        #expect(v4.masked(to: 25) == IPAddress("192.0.2.128"))
        #expect(v4.masked(to: 0) == IPAddress("0.0.0.0"))
        #expect(v4.masked(to: 32) == v4)
        let v6 = try #require(IPAddress("2001:db8::8000:1"))
        #expect(v6.bit(2) && v6.bit(127) && v6.bit(96) && !v6.bit(95))
        #expect(v6.masked(to: 64) == IPAddress("2001:db8::"))
        #expect(v6.masked(to: 97) == IPAddress("2001:db8::8000:0"))
        #expect(v6.masked(to: 128) == v6)
        #expect(IPAddress(bytes: v6.bytes) == v6 && IPAddress(bytes: v4.bytes) == v4)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress("0.0.0.1") != IPAddress("::1"))
    }

    @Test func prefixes() throws {
        let p = try #require(IPPrefix("10.20.0.0/16"))
        #expect(p.description == "10.20.0.0/16")
        #expect(p.contains(IPAddress("10.20.255.1")!) && !p.contains(IPAddress("10.21.0.0")!))
        #expect(!p.contains(IPAddress("::a14:1")!))
        #expect(IPPrefix("2001:DB8::/32")?.description == "2001:db8::/32")
        #expect(IPPrefix("192.0.2.1")?.length == 32 && IPPrefix("::1")?.length == 128)
        #expect(IPPrefix("0.0.0.0/0")?.contains(IPAddress("1.2.3.4")!) == true)
        for bad in ["10.20.0.1/16", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08", "::/129", "/8", "10.0.0.0/8/8", "10.0.0.0/"] {
            #expect(IPPrefix(bad) == nil, "\(bad)")
        }
    }
}
