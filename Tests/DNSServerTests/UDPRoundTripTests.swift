import DNSServer
import DNSWire
import DNSZone
import Foundation
import Logging
import QueryEngine
import ServerConfig
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One query through the real UDP path of DNSServer: its listener bound on 127.0.0.1, a worker
/// thread answering from a one-zone engine, and a plain datagram socket as the client. Nothing
/// leaves loopback.
@Suite("DNSServer over UDP on loopback", .serialized)
struct UDPRoundTripTests {
    /// example.test. with an SOA, an NS and www A 192.0.2.1.
    static func engine() throws -> QueryEngine {
        func record(_ owner: String, _ type: RRType, _ rdata: [UInt8]) throws -> ZoneRecord {
            ZoneRecord(owner: try DNSName(owner), type: type, ttl: 300, rdata: rdata, location: SourceLocation(file: "test", line: 0))
        }
        let soa = try DNSName("ns.example.test.").wire + (try DNSName("hostmaster.example.test.")).wire
            + [0, 0, 0, 1, 0, 0, 0x1C, 0x20, 0, 0, 0x0E, 0x10, 0, 0x12, 0x75, 0, 0, 0, 0x01, 0x2C]
        let zone = Zone(origin: try DNSName("example.test."), records: [
            try record("example.test.", .soa, soa),
            try record("example.test.", .ns, try DNSName("ns.example.test.").wire),
            try record("ns.example.test.", .a, [192, 0, 2, 53]),
            try record("www.example.test.", .a, [192, 0, 2, 1]),
        ])
        return QueryEngine(zones: ZoneSet(zones: [zone]))
    }

    /// Starts the server on a free port of 127.0.0.1 (a port found free can be taken before the
    /// server binds it, so a few are tried).
    static func start(_ engine: QueryEngine) throws -> (DNSServer, UInt16) {
        var last: (any Error)?
        for _ in 0..<20 {
            let port = UInt16.random(in: 20_000...29_999)  // below Linux's ephemeral range
            let configuration = DNSServer.Configuration(
                listen: [ListenAddress(host: "127.0.0.1", port: port, isIPv6: false)], workers: 1,
                tcpIdleTimeout: .seconds(5), tcpMaxConnections: 8)
            do {
                return (try DNSServer.start(configuration, engine: engine, logger: Logger(label: "dnsserver-tests")), port)
            } catch {
                last = error
            }
        }
        throw last!
    }

    /// Sends `query` to 127.0.0.1:`port` over UDP and returns the reply (nil after 2 s).
    static func exchange(_ query: [UInt8], port: UInt16) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let sent = query.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard sent == query.count else { return nil }
        var reply = [UInt8](repeating: 0, count: 65_535)
        let n = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(reply[0..<n]) : nil
    }

    @Test("an A query over UDP is answered with the zone's address, authoritatively")
    func answersAnAQuery() throws {
        let (server, port) = try Self.start(try Self.engine())
        defer { server.shutdown() }
        let reply = try #require(Self.exchange(Message.query(id: 0x5A17, name: try DNSName("www.example.test."), type: .a), port: port),
                                 "no UDP answer from 127.0.0.1:\(port)")
        let m = try Message(decoding: reply)
        #expect(m.id == 0x5A17)
        #expect(m.flags & 0x8000 != 0, "QR set")
        #expect(m.flags & 0x0400 != 0, "AA set")
        #expect(m.rcode == .noError)
        #expect(m.answer.map(\.rdata) == [[192, 0, 2, 1]])
        #expect(m.answer.first?.owner == (try DNSName("www.example.test.")))
        #expect(m.answer.first?.ttl == 300)
    }

    @Test("a name outside the zone is REFUSED, a missing one in it NXDOMAIN with the SOA")
    func refusesAndDenies() throws {
        let (server, port) = try Self.start(try Self.engine())
        defer { server.shutdown() }
        let outside = try Message(decoding: try #require(
            Self.exchange(Message.query(id: 1, name: try DNSName("www.example.org."), type: .a), port: port)))
        #expect(outside.rcode == .refused && outside.answer.isEmpty)
        let missing = try Message(decoding: try #require(
            Self.exchange(Message.query(id: 2, name: try DNSName("nothing.example.test."), type: .a), port: port)))
        #expect(missing.rcode == .nxDomain && missing.answer.isEmpty)
        #expect(missing.authority.map(\.type) == [.soa])
    }
}
