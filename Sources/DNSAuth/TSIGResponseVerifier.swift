public import DNSWire

/// Checks the TSIG records of the messages answering a request we signed with one key, as RFC 8945
/// §5.3.1 asks of the receiving end of a multi-message response (a zone transfer): the first
/// message's MAC covers the request MAC, the message and every TSIG variable; each later one the
/// previous MAC, the message and the timers only. We require every message to be signed (Knot and
/// BIND sign each one; the RFC's allowance of up to 99 unsigned messages in between is not taken,
/// so a message cannot be slipped in unsigned). A value type: one per request.
public struct TSIGResponseVerifier: Sendable {
    let key: TSIGKey
    /// The MAC the next message's signature covers: the request's, then each message's own.
    var priorMAC: [UInt8]
    var first = true

    /// For responses to `request`, signed with key `key` of `keyring` (by `signRequest`);
    /// `unsignedLength` is the request's length before its TSIG record. Nil when the request
    /// carries no readable TSIG record there.
    public init?(keyring: TSIGKeyring, key index: Int, request: [UInt8], unsignedLength: Int) {
        guard keyring.keys.indices.contains(index) else { return nil }
        let fields = request.withUnsafeBytes { TSIGFields(parsing: $0, at: unsignedLength) }
        guard let fields else { return nil }
        key = keyring.keys[index]
        priorMAC = Array(request[fields.macOffset..<(fields.macOffset + fields.macSize)])
    }

    /// Why the message's signature is not right, or nil when it is. `tsigStart` is where its TSIG
    /// record (the last of the additional section) starts; nil when it has none. `now` is seconds
    /// since 1970, checked against the time signed with the record's fudge.
    public mutating func verify(_ message: UnsafeRawBufferPointer, tsigStart: Int?, now: UInt64) -> String? {
        guard let tsigStart else { return "the message is not signed (every message must carry a TSIG record)" }
        guard message.count >= 12, let t = TSIGFields(parsing: message, at: tsigStart), t.end == message.count else {
            return "the TSIG record is malformed"
        }
        let owner = message[tsigStart..<t.ownerEnd].map(DNSName.lower)
        let algorithm = message[t.algorithmStart..<t.algorithmEnd].map(DNSName.lower)
        guard owner == key.canonicalName, algorithm == key.algorithm.wireName else {
            return "signed with another key than \(key.name) (\(key.algorithm.rawValue))"
        }
        guard t.error == 0 else { return "the primary reports TSIG error \(t.error)" }
        let full = key.algorithm.macLength
        // §5.2.2.1: shorter than half the output or 10 bytes, or longer than the output, is malformed.
        guard t.macSize <= full, t.macSize >= max(10, full / 2) else { return "a MAC of \(t.macSize) bytes is not allowed" }
        var unsigned = Array(message[0..<tsigStart])
        unsigned[0] = UInt8(t.originalID >> 8)
        unsigned[1] = UInt8(t.originalID & 0xFF)
        let arcount = UInt16(unsigned[10]) << 8 | UInt16(unsigned[11])
        guard arcount > 0 else { return "ARCOUNT does not count the TSIG record" }
        unsigned[10] = UInt8((arcount - 1) >> 8)
        unsigned[11] = UInt8((arcount - 1) & 0xFF)
        let timers = Array(message[(t.algorithmEnd)..<(t.algorithmEnd + 8)])
        var signed = [UInt8(priorMAC.count >> 8), UInt8(priorMAC.count & 0xFF)] + priorMAC + unsigned
        if first {
            signed += key.canonicalName + [0, 255, 0, 0, 0, 0] + algorithm + timers
            signed += Array(message[(t.macOffset + t.macSize + 2)..<t.end])  // error, other length, other data
        } else {
            signed += timers
        }
        let mac = key.algorithm.mac(key.secret, signed)
        guard constantTimeEqual(mac.prefix(t.macSize), message[t.macOffset..<(t.macOffset + t.macSize)]) else {
            return "the TSIG MAC does not verify (BADSIG)"
        }
        let skew = now > t.timeSigned ? now - t.timeSigned : t.timeSigned - now
        guard skew <= UInt64(t.fudge) else { return "signed at \(t.timeSigned), \(skew) s from our clock (BADTIME)" }
        priorMAC = Array(message[t.macOffset..<(t.macOffset + t.macSize)])
        first = false
        return nil
    }
}

/// The fields of a TSIG record at `start` (uncompressed owner, type 250, class ANY), every length
/// checked against the buffer.
struct TSIGFields {
    var ownerEnd = 0, algorithmStart = 0, algorithmEnd = 0
    var timeSigned: UInt64 = 0
    var fudge: UInt16 = 0
    var macOffset = 0, macSize = 0
    var originalID: UInt16 = 0
    var error: UInt16 = 0
    /// The offset after the record.
    var end = 0

    init?(parsing p: UnsafeRawBufferPointer, at start: Int) {
        guard start >= 0, let ownerEnd = Self.plainName(p, start, p.count), ownerEnd + 10 <= p.count,
              p.u16(at: ownerEnd) == TSIGRecord.type, p.u16(at: ownerEnd + 2) == RRClass.any.rawValue
        else { return nil }
        let rdata = ownerEnd + 10
        let end = rdata + Int(p.u16(at: ownerEnd + 8))
        guard end <= p.count, let algorithmEnd = Self.plainName(p, rdata, end), algorithmEnd + 10 <= end else { return nil }
        self.ownerEnd = ownerEnd
        algorithmStart = rdata
        self.algorithmEnd = algorithmEnd
        timeSigned = UInt64(p.u16(at: algorithmEnd)) << 32 | UInt64(p.u32(at: algorithmEnd + 2))
        fudge = p.u16(at: algorithmEnd + 6)
        macSize = Int(p.u16(at: algorithmEnd + 8))
        macOffset = algorithmEnd + 10
        guard macOffset + macSize + 6 <= end else { return nil }
        originalID = p.u16(at: macOffset + macSize)
        error = p.u16(at: macOffset + macSize + 2)
        let otherLength = Int(p.u16(at: macOffset + macSize + 4))
        guard macOffset + macSize + 6 + otherLength == end else { return nil }
        self.end = end
    }

    /// The offset after the uncompressed name at `i` that ends before `end`, or nil.
    static func plainName(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        var i = start
        while i < end {
            let len = Int(p[i])
            if len == 0 { return i + 1 - start <= DNSName.maxWireLength ? i + 1 : nil }
            guard len <= DNSName.maxLabelLength else { return nil }
            i += 1 + len
        }
        return nil
    }
}
