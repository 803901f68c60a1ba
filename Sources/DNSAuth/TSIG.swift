import Crypto
public import DNSWire

/// A TSIG MAC algorithm (RFC 8945 §6): the HMAC-SHA2 family, by its algorithm name.
public enum TSIGAlgorithm: String, Sendable, CaseIterable {
    case hmacSHA256 = "hmac-sha256"
    case hmacSHA384 = "hmac-sha384"
    case hmacSHA512 = "hmac-sha512"

    /// The algorithm name as it appears in a TSIG record (lower-case wire form).
    public var wireName: [UInt8] {
        var out: [UInt8] = []
        for label in rawValue.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out.append(contentsOf: label.utf8)
        }
        out.append(0)
        return out
    }

    /// Length of the full MAC in bytes.
    public var macLength: Int {
        switch self {
        case .hmacSHA256: return 32
        case .hmacSHA384: return 48
        case .hmacSHA512: return 64
        }
    }

    func mac(_ key: SymmetricKey, _ data: [UInt8]) -> [UInt8] {
        switch self {
        case .hmacSHA256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .hmacSHA384: return Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
        case .hmacSHA512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }
}

/// A shared TSIG key: its name (the TSIG owner), algorithm and secret.
public struct TSIGKey: Sendable {
    public let name: DNSName
    public let algorithm: TSIGAlgorithm
    let secret: SymmetricKey
    /// The lower-case wire form of `name`, compared against a record's owner.
    let canonicalName: [UInt8]

    public init(name: DNSName, algorithm: TSIGAlgorithm, secret: [UInt8]) {
        self.name = name
        self.algorithm = algorithm
        self.secret = SymmetricKey(data: secret)
        self.canonicalName = name.lowercased().wire
    }
}

/// TSIG error codes carried in the record's Error field (RFC 8945 §3).
public enum TSIGError: UInt16, Sendable {
    case noError = 0
    case badSig = 16
    case badKey = 17
    case badTime = 18
    case badTrunc = 22
}

/// What checking a query's TSIG found (RFC 8945 §5.2).
public enum TSIGVerdict: Sendable {
    /// The MAC is right and the time within the fudge: answer, and sign the answer with the key.
    case verified(key: Int)
    /// The MAC is too short or too long to be a truncation the RFC allows: FORMERR (§5.2.2.1).
    case malformed
    /// NOTAUTH with this TSIG error; `key` (when known) signs the error response, which RFC 8945
    /// asks only for BADTIME and BADTRUNC (§5.2.3, §5.2.2.1), BADKEY and BADSIG stay unsigned.
    case rejected(TSIGError, key: Int?)
}

/// The keys a server accepts, and checking and signing of TSIG records with them (RFC 8945).
/// Used only for signed messages; nothing here runs for unsigned queries.
public struct TSIGKeyring: Sendable {
    public let keys: [TSIGKey]
    /// Seconds of clock difference the server allows and puts in its own records (RFC 8945 §10: 300).
    public static let fudge: UInt16 = 300

    public init(_ keys: [TSIGKey] = []) { self.keys = keys }

    public var isEmpty: Bool { keys.isEmpty }

    /// The index of the key named by the record's owner with its algorithm, or nil.
    func find(_ p: UnsafeRawBufferPointer, _ tsig: TSIGRecord) -> Int? {
        let owner = lowered(p, tsig.recordStart, tsig.keyNameEnd)
        let algorithm = lowered(p, tsig.algorithmStart, tsig.algorithmEnd)
        return keys.firstIndex { $0.canonicalName == owner && $0.algorithm.wireName == algorithm }
    }

    /// Checks the TSIG of `query` at time `now` (seconds since the epoch): key, MAC, then time
    /// (the order RFC 8945 §5.2 gives).
    public func verify(_ query: UnsafeRawBufferPointer, _ tsig: TSIGRecord, now: UInt64) -> TSIGVerdict {
        guard let index = find(query, tsig) else { return .rejected(.badKey, key: nil) }
        let key = keys[index]
        let full = key.algorithm.macLength
        // §5.2.2.1: a MAC shorter than half the output or 10 bytes, or longer than the output, is malformed.
        guard tsig.macSize <= full, tsig.macSize >= max(10, full / 2) else { return .malformed }
        var signed = Array(query[0..<tsig.recordStart])
        signed[0] = UInt8(tsig.originalID >> 8)
        signed[1] = UInt8(tsig.originalID & 0xFF)
        let arcount = UInt16(signed[10]) << 8 | UInt16(signed[11])
        signed[10] = UInt8((arcount &- 1) >> 8)
        signed[11] = UInt8((arcount &- 1) & 0xFF)
        signed += variables(key, query, tsig, time: tsig.timeSigned, fudge: tsig.fudge, error: tsig.error,
                            other: Array(query[tsig.otherOffset..<(tsig.otherOffset + tsig.otherLength)]))
        let mac = key.algorithm.mac(key.secret, signed)
        guard constantTimeEqual(mac.prefix(tsig.macSize), query[tsig.macOffset..<(tsig.macOffset + tsig.macSize)]) else {
            return .rejected(.badSig, key: nil)
        }
        let skew = now > tsig.timeSigned ? now - tsig.timeSigned : tsig.timeSigned - now
        guard skew <= UInt64(tsig.fudge) else { return .rejected(.badTime, key: index) }
        return .verified(key: index)
    }

    /// Bytes the TSIG record of a response to `tsig` takes: the key name and algorithm as received,
    /// the fixed fields, a full MAC and 6 bytes of Other Data (BADTIME's server time).
    public static func responseRecordSize(_ tsig: TSIGRecord) -> Int {
        (tsig.keyNameEnd - tsig.recordStart) + 10 + (tsig.algorithmEnd - tsig.algorithmStart) + 16 + 64 + 6
    }

    /// Appends a TSIG record for the response of `length` bytes in `response` to the signed `query`,
    /// bumps ARCOUNT and returns the new length. `key` signs it (RFC 8945 §5.3: the MAC covers the
    /// request MAC, the response and the TSIG variables); without one the MAC is empty (BADKEY,
    /// BADSIG). BADTIME carries the server's time as Other Data (§5.2.3).
    public func sign(
        _ response: UnsafeMutableRawBufferPointer, length: Int, query: UnsafeRawBufferPointer, _ tsig: TSIGRecord,
        key index: Int?, error: TSIGError, now: UInt64
    ) -> Int {
        let other: [UInt8] = error == .badTime ? u48(now) : []
        let time = error == .badTime ? tsig.timeSigned : now
        var mac: [UInt8] = []
        if let index {
            let key = keys[index]
            var signed: [UInt8] = [UInt8(tsig.macSize >> 8), UInt8(tsig.macSize & 0xFF)]
            signed += query[tsig.macOffset..<(tsig.macOffset + tsig.macSize)]
            signed += UnsafeRawBufferPointer(rebasing: response[0..<length])
            signed += variables(key, query, tsig, time: time, fudge: TSIGKeyring.fudge, error: error.rawValue, other: other)
            mac = key.algorithm.mac(key.secret, signed)
        }
        return appendRecord(response, length: length, query: query, tsig, time: time, mac: mac, error: error, other: other)
    }

    /// Signs one message of a multi-message response (a zone transfer) with `key` and appends its
    /// TSIG record, as RFC 8945 §5.3.1 says: the first message (`priorMAC` nil) like any response
    /// (request MAC, message, every TSIG variable); each later one over the previous message's
    /// MAC, the message and the timers only. Every message is signed. Returns the new length and the
    /// MAC, which the next message's signature covers; the length is unchanged when the record does
    /// not fit.
    public func signNext(
        _ response: UnsafeMutableRawBufferPointer, length: Int, query: UnsafeRawBufferPointer, _ tsig: TSIGRecord,
        key index: Int, priorMAC: [UInt8]?, now: UInt64
    ) -> (length: Int, mac: [UInt8]) {
        guard let priorMAC else {
            let key = keys[index]
            var signed: [UInt8] = [UInt8(tsig.macSize >> 8), UInt8(tsig.macSize & 0xFF)]
            signed += query[tsig.macOffset..<(tsig.macOffset + tsig.macSize)]
            signed += UnsafeRawBufferPointer(rebasing: response[0..<length])
            signed += variables(key, query, tsig, time: now, fudge: TSIGKeyring.fudge, error: 0, other: [])
            let mac = key.algorithm.mac(key.secret, signed)
            return (appendRecord(response, length: length, query: query, tsig, time: now, mac: mac, error: .noError, other: []), mac)
        }
        let key = keys[index]
        var signed = u16(UInt16(priorMAC.count)) + priorMAC
        signed += UnsafeRawBufferPointer(rebasing: response[0..<length])
        signed += u48(now) + u16(TSIGKeyring.fudge)
        let mac = key.algorithm.mac(key.secret, signed)
        return (appendRecord(response, length: length, query: query, tsig, time: now, mac: mac, error: .noError, other: []), mac)
    }

    /// Signs a request we send (a NOTIFY, RFC 8945 §5.1) with `key`: the MAC covers the message and
    /// every TSIG variable (no request MAC: there is none). Appends the TSIG record with the key's
    /// canonical name and algorithm, Original ID = the message's ID, bumps ARCOUNT and returns the
    /// signed message.
    public func signRequest(_ message: [UInt8], key index: Int, now: UInt64) -> [UInt8] {
        let key = keys[index]
        let algorithm = key.algorithm.wireName
        let timers = u48(now) + u16(TSIGKeyring.fudge)
        let signed = message + key.canonicalName + u16(RRClass.any.rawValue) + [0, 0, 0, 0] + algorithm
            + timers + u16(0) + u16(0)
        let mac = key.algorithm.mac(key.secret, signed)
        let id = UInt16(message[0]) << 8 | UInt16(message[1])
        let rdata = algorithm + timers + u16(UInt16(mac.count)) + mac + u16(id) + u16(0) + u16(0)
        var out = message + key.canonicalName + u16(TSIGRecord.type) + u16(RRClass.any.rawValue) + [0, 0, 0, 0]
            + u16(UInt16(rdata.count)) + rdata
        let arcount = UInt16(out[10]) << 8 | UInt16(out[11])
        out[10] = UInt8((arcount + 1) >> 8)
        out[11] = UInt8((arcount + 1) & 0xFF)
        return out
    }

    /// Appends the TSIG record (owner and algorithm as the query wrote them) and bumps ARCOUNT.
    private func appendRecord(
        _ response: UnsafeMutableRawBufferPointer, length: Int, query: UnsafeRawBufferPointer, _ tsig: TSIGRecord,
        time: UInt64, mac: [UInt8], error: TSIGError, other: [UInt8]
    ) -> Int {
        var record = Array(query[tsig.recordStart..<tsig.keyNameEnd])
        var rdata = Array(query[tsig.algorithmStart..<tsig.algorithmEnd])
        rdata += u48(time) + u16(TSIGKeyring.fudge) + u16(UInt16(mac.count)) + mac
        rdata += u16(tsig.originalID) + u16(error.rawValue) + u16(UInt16(other.count)) + other
        record += u16(TSIGRecord.type) + u16(RRClass.any.rawValue) + [0, 0, 0, 0] + u16(UInt16(rdata.count)) + rdata
        guard length + record.count <= response.count else { return length }
        for (k, b) in record.enumerated() { response[length + k] = b }
        let arcount = UInt16(response[10]) << 8 | UInt16(response[11])
        response[10] = UInt8((arcount + 1) >> 8)
        response[11] = UInt8((arcount + 1) & 0xFF)
        return length + record.count
    }

    /// The TSIG variables of RFC 8945 §4.3.3: key name and algorithm in canonical (lower-case) form,
    /// class ANY, TTL 0, then the timers, error and other data.
    private func variables(
        _ key: TSIGKey, _ p: UnsafeRawBufferPointer, _ tsig: TSIGRecord, time: UInt64, fudge: UInt16, error: UInt16, other: [UInt8]
    ) -> [UInt8] {
        key.canonicalName + u16(RRClass.any.rawValue) + [0, 0, 0, 0] + lowered(p, tsig.algorithmStart, tsig.algorithmEnd)
            + u48(time) + u16(fudge) + u16(error) + u16(UInt16(other.count)) + other
    }

    private func lowered(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> [UInt8] {
        // Length bytes are at most 63, below 'A', so folding every byte leaves them intact.
        p[start..<end].map(DNSName.lower)
    }
}

private func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
private func u48(_ v: UInt64) -> [UInt8] { (0..<6).map { UInt8((v >> UInt64(40 - 8 * $0)) & 0xFF) } }

/// Compares two byte runs in time that depends only on their length.
func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for (x, y) in zip(a, b) { diff |= x ^ y }
    return diff == 0
}
