import DNSWire
import Testing

@Suite struct ResponseWriterTests {
    @Test func compressesSharedSuffixesAndRoundTrips() throws {
        var buffer = [UInt8](repeating: 0, count: ResponseWriter.bufferSize)
        let names = try ["www.example.com.", "mail.EXAMPLE.com.", "example.com.", "other.net.", "a.b.other.net."].map { try DNSName($0) }
        var offsets: [Int] = []
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            var w = ResponseWriter(into: raw, limit: 512)
            for n in names { offsets.append(n.wire.withUnsafeBytes { w.writeName($0) }) }
            return w.position
        }
        // www.example.com (17) + mail + pointer (7) + pointer (2) + other.net (11) + a.b + pointer (6).
        #expect(length == 17 + 7 + 2 + 11 + 6)
        #expect(offsets[2] == 4)  // example.com. is pointed to inside www.example.com.
        let bytes = Array(buffer[0..<length])
        bytes.withUnsafeBytes { p in
            var at = 0
            for _ in names {
                let next = QueryParser.skipName(p, at: at)
                #expect(next != nil)
                at = next ?? length
            }
            #expect(at == length)
        }
    }

    @Test func refusesWritesBeyondTheLimitAndRollsBack() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        buffer.withUnsafeMutableBytes { raw in
            var w = ResponseWriter(into: raw, limit: 20)
            let mark = w.mark
            let wrote = w.writeU32(1)
            let overflowed = !w.writeBytes(UnsafeRawBufferPointer(start: raw.baseAddress, count: 17))
            #expect(wrote && overflowed)
            #expect(w.position == 4)
            w.rollBack(to: mark)
            #expect(w.position == 0)
        }
    }

    @Test func decodesAQueryItBuilt() throws {
        let q = Message.query(name: try DNSName("Www.Example.com."), type: .aaaa, edns: (1232, true))
        let m = try Message(decoding: q)
        #expect(m.question.first?.name == (try DNSName("www.example.com.")))
        #expect(m.opt?.rrClass.rawValue == 1232)
        #expect(m.opt?.ttl == 0x8000)
        #expect(throws: DNSWireError.self) { try Message(decoding: q + [0]) }
    }
}
