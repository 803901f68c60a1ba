import DNSServer
public import FuzzHarness
import IPNet
import NIOCore
import QueryEngine
import Routing

/// Target (d), TCP framing: the input after its first byte as the byte stream of one
/// connection, delivered to `DNSTCPFraming` (the server's TCP handler's framing) in pieces whose
/// sizes come from the first byte, sometimes taking only one message of what arrived (as while a
/// transfer is sent), then the end of the stream. The messages that come out must be exactly
/// those a plain reading of the stream finds (2-byte length, that many bytes; a message cut off
/// by the end is dropped, RFC 1035 §4.2.2), in order; each is then answered over TCP by the query
/// fixture and passes `ResponseCheck`.
public enum TCPFramingTarget {
    public static let name = "tcp"

    nonisolated(unsafe) static let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)

    public static func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let selector = input.first else { return }
        let stream = UnsafeRawBufferPointer(rebasing: input[1...])

        var expected: [[UInt8]] = []
        var offset = 0
        while offset + 2 <= stream.count {
            let length = Int(stream[offset]) << 8 | Int(stream[offset + 1])
            guard offset + 2 + length <= stream.count else { break }
            expected.append(Array(stream[(offset + 2)..<(offset + 2 + length)]))
            offset += 2 + length
        }

        var framing = DNSTCPFraming()
        var decoded: [[UInt8]] = []
        // Piece sizes: a small xorshift stream seeded by the selector, at most 2^(selector & 7) bytes each.
        var random = UInt32(selector) &* 0x9E37_79B9 | 1
        let largest = 1 << Int(selector & 7)
        var position = 0
        while position < stream.count {
            random ^= random << 13; random ^= random >> 17; random ^= random << 5
            let size = min(1 + Int(random % UInt32(largest)), stream.count - position)
            framing.receive(ByteBuffer(bytes: stream[position..<(position + size)]))
            position += size
            // Now and then stop after one message, as the server does while it sends a zone transfer.
            let stopEarly = random & 0x30 == 0
            framing.takeMessages { decoded.append(Array($0)); return !stopEarly }
        }
        // The end of the stream: what is left whole is taken, a cut-off message never is.
        framing.takeMessages { decoded.append(Array($0)); return true }
        guard decoded == expected else {
            throw FuzzFailure(name, "decoded \(decoded.map(\.count)) message lengths, the stream holds \(expected.map(\.count)) (pieces up to \(largest) bytes)")
        }

        let engines = FuzzFixture.engines
        let engine = engines[Int(selector >> 3 & 3) % engines.count]
        var state = RoutingState(seed: 3)
        for message in decoded {
            try ResponseCheck.respond(engine, toWire: message, from: FuzzFixture.clients[0], over: .tcp, into: buffer, state: &state, target: name)
        }
    }
}
