/// An IPv4 or IPv6 address as a 128-bit number, most significant bit first: IPv6 in `high`/`low`,
/// IPv4 in the top 32 bits of `high` (so bit `i` of the address is bit `i` of the number for both
/// families, which is what prefix tries walk).
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    public init(high: UInt64, low: UInt64, isIPv6: Bool) {
        self.high = high
        self.low = low
        self.isIPv6 = isIPv6
    }

    /// An IPv4 address from its 32-bit value (`0x7F000001` is 127.0.0.1).
    public init(ipv4 value: UInt32) {
        self.init(high: UInt64(value) << 32, low: 0, isIPv6: false)
    }

    /// True for addresses that say nothing about where a client is (RFC 6890 special-purpose
    /// ranges: private, loopback, link-local, shared, documentation, benchmarking, multicast,
    /// reserved, unique-local, IPv4-mapped); ECS addresses like these fall back to the resolver's.
    public var isPrivateOrReserved: Bool { specialPurposePrefixLength != nil }

    /// The prefix length of the special-purpose block that holds the address (8 for 10.1.2.3 in
    /// 10.0.0.0/8, 10 for 100.64.0.0/10, 7 for fd00::1 in fc00::/7), nil for a global address.
    /// Every address of such a block is located alike (by the resolver's address), so the block is
    /// the ECS scope of an answer that a special-purpose ECS address led to.
    public var specialPurposePrefixLength: UInt8? {
        if !isIPv6 {
            let v = ipv4Value
            for (network, length) in IPAddress.specialIPv4 where v >> UInt32(32 - length) == network >> UInt32(32 - length) {
                return UInt8(length)
            }
            return nil
        }
        let top16 = high >> 48
        if high == 0 && (low == 0 || low == 1) { return 128 }  // ::/128 and ::1/128
        if high == 0 && low >> 32 == 0xFFFF { return 96 }  // ::ffff:0:0/96
        if top16 & 0xFE00 == 0xFC00 { return 7 }  // unique-local fc00::/7
        if top16 & 0xFFC0 == 0xFE80 { return 10 }  // link-local fe80::/10
        if top16 & 0xFF00 == 0xFF00 { return 8 }  // multicast ff00::/8
        return high >> 32 == 0x2001_0DB8 ? 32 : nil  // documentation 2001:db8::/32
    }

    /// RFC 6890 special-purpose IPv4 blocks: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
    /// 192.0.0/24, 192.0.2/24, 192.168/16, 198.18/15, 198.51.100/24, 203.0.113/24, 224/4, 240/4.
    private static let specialIPv4: [(UInt32, Int)] = [
        (0x0000_0000, 8), (0x0A00_0000, 8), (0x6440_0000, 10), (0x7F00_0000, 8), (0xA9FE_0000, 16),
        (0xAC10_0000, 12), (0xC000_0000, 24), (0xC000_0200, 24), (0xC0A8_0000, 16), (0xC612_0000, 15),
        (0xC633_6400, 24), (0xCB00_7100, 24), (0xE000_0000, 4), (0xF000_0000, 4),
    ]

    /// Number of bits: 32 or 128.
    @inline(__always)
    public var bitCount: Int { isIPv6 ? 128 : 32 }

    /// The IPv4 value, for IPv4 addresses.
    public var ipv4Value: UInt32 { UInt32(truncatingIfNeeded: high >> 32) }

    /// Bit `i` (0 = most significant).
    @inline(__always)
    public func bit(_ i: Int) -> Bool {
        i < 64 ? (high >> UInt64(63 - i)) & 1 != 0 : (low >> UInt64(127 - i)) & 1 != 0
    }

    /// The address with every bit from `length` on cleared.
    public func masked(to length: Int) -> IPAddress {
        var a = self
        if length <= 0 {
            a.high = 0; a.low = 0
        } else if length < 64 {
            a.high &= ~(UInt64.max >> UInt64(length)); a.low = 0
        } else if length == 64 {
            a.low = 0
        } else if length < 128 {
            a.low &= ~(UInt64.max >> UInt64(length - 64))
        }
        return a
    }

    /// The network-order bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i))) }
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i))) }
        return isIPv6 ? out : Array(out[0..<4])
    }

    /// An address from 4 or 16 network-order bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high |= UInt64(b) << UInt64(56 - 8 * i) } else { low |= UInt64(b) << UInt64(56 - 8 * (i - 8)) }
        }
        self.init(high: high, low: low, isIPv6: bytes.count == 16)
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail).
    public init?(_ text: some StringProtocol) {
        if !text.contains(":") {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var value: UInt32 = 0
            for p in parts {
                guard !p.isEmpty, p.count <= 3, let v = UInt8(p), String(v) == p else { return nil }
                value = value << 8 | UInt32(v)
            }
            self.init(ipv4: value)
            return
        }
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        var seenGap = false
        let chars = Array(String(text))
        var halves: [String] = []
        var current = ""
        var i = 0
        while i < chars.count {
            if chars[i] == ":" && i + 1 < chars.count && chars[i + 1] == ":" {
                halves.append(current)
                current = ""
                i += 2
            } else {
                current.append(chars[i])
                i += 1
            }
        }
        halves.append(current)
        guard halves.count <= 2 else { return nil }
        // `allowsIPv4Tail`: a dotted-quad may only end the whole address, never precede `::`.
        func parse(_ s: String, allowsIPv4Tail: Bool, into out: inout [UInt16]) -> Bool {
            if s.isEmpty { return true }
            let fields = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, f) in fields.enumerated() {
                if allowsIPv4Tail, i == fields.count - 1, f.contains(".") {
                    guard let v4 = IPAddress(f), !v4.isIPv6 else { return false }
                    out.append(UInt16(v4.ipv4Value >> 16)); out.append(UInt16(v4.ipv4Value & 0xFFFF))
                    continue
                }
                // Hex digits only: `UInt16(_:radix:)` alone would also accept a sign ("+1", "-0").
                guard !f.isEmpty, f.count <= 4, f.allSatisfy(\.isHexDigit), let v = UInt16(f, radix: 16) else {
                    return false
                }
                out.append(v)
            }
            return true
        }
        guard parse(halves[0], allowsIPv4Tail: halves.count == 1, into: &groups) else { return nil }
        if halves.count == 2 {
            seenGap = true
            guard parse(halves[1], allowsIPv4Tail: true, into: &tail) else { return nil }
        }
        let total = groups.count + tail.count
        guard seenGap ? total < 8 : total == 8 else { return nil }
        let all = groups + Array(repeating: 0, count: 8 - total) + tail
        var bytes: [UInt8] = []
        for g in all { bytes.append(UInt8(g >> 8)); bytes.append(UInt8(g & 0xFF)) }
        self.init(bytes: bytes)
    }

    public var description: String {
        if !isIPv6 {
            let v = ipv4Value
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        }
        // RFC 5952 §5: IPv4-mapped addresses end in dotted-quad notation.
        if high == 0, low >> 32 == 0xFFFF {
            return "::ffff:" + IPAddress(ipv4: UInt32(truncatingIfNeeded: low)).description
        }
        let b = bytes
        let groups = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
        // RFC 5952: compress the longest run (≥ 2) of zero groups.
        var bestStart = -1, bestLength = 1, i = 0
        while i < 8 {
            var j = i
            while j < 8 && groups[j] == 0 { j += 1 }
            if j - i > bestLength { bestStart = i; bestLength = j - i }
            i = max(j, i + 1)
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// An address prefix such as `10.20.0.0/16` or `2001:db8::/32`.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: Int

    /// A prefix; bits of `address` beyond `length` must be zero.
    public init?(address: IPAddress, length: Int) {
        guard length >= 0, length <= address.bitCount, address.masked(to: length) == address else { return nil }
        self.address = address
        self.length = length
    }

    /// Parses `address/length`; a bare address is a host prefix.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        var length = address.bitCount
        if parts.count == 2 {
            guard let l = Int(parts[1]), String(l) == parts[1] else { return nil }
            length = l
        }
        self.init(address: address, length: length)
    }

    public func contains(_ a: IPAddress) -> Bool {
        a.isIPv6 == address.isIPv6 && a.masked(to: length) == address
    }

    public var description: String { "\(address)/\(length)" }
}

/// Why text is not the address or prefix it should be; `reason` quotes the text.
public struct IPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// Not `address/length`.
        case notCIDR
        /// The address part is not an address of its family.
        case badAddress
        /// The length is not a number within the family's bits.
        case badLength
        /// Bits are set beyond the length.
        case hostBitsSet
    }

    public var code: Code
    public var reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { reason }
}

extension IPPrefix {
    /// Parses `address/length` as a configuration writes a network: both parts present, the
    /// length in decimal digits, and no bit set beyond the length (`10.0.0.1/8` is an error, not
    /// `10.0.0.0/8`).
    public static func parseCIDR(_ text: some StringProtocol) throws(IPParseError) -> IPPrefix {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw IPParseError(.notCIDR, "\"\(text)\" is not address/length") }
        let isIPv6 = parts[0].contains(":")
        guard let address = IPAddress(parts[0]), address.isIPv6 == isIPv6 else {
            throw IPParseError(.badAddress, "\"\(parts[0])\" is not an IP\(isIPv6 ? "v6" : "v4") address")
        }
        let bits = address.bitCount
        guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]), length <= bits else {
            throw IPParseError(.badLength, "\"\(parts[1])\" is not a prefix length from 0 to \(bits)")
        }
        guard let prefix = IPPrefix(address: address, length: length) else {
            throw IPParseError(.hostBitsSet, "\(text) has bits set beyond its /\(length)")
        }
        return prefix
    }
}
