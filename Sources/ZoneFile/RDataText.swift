#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLDNS
import DNSWire
import IPNet

/// RDATA that ldns 1.8.3 reads wrongly or refuses although the RFCs (and Knot and NSD) accept
/// it, parsed here instead:
///
/// - RFC 3597 `\# length hex` for any type: ldns reads each field into a buffer of 65,535
///   characters, so a long RDATA (`\# 65000 …`, 130,000 hex digits) fails.
/// - CAA (RFC 8659 §4.1.1): the value may be written unquoted (without interior spaces) or as a
///   quoted string; ldns wants it quoted.
/// - IPSECKEY (RFC 4025 §3.1): a record without a public key (algorithm 0), which ldns refuses
///   whatever the gateway.
/// - CSYNC (RFC 7477 §2.1.1): the type bitmap may be empty; ldns wants at least one type.
/// - NSAP-PTR (RFC 1348): the RDATA is a domain name; ldns stores the text as a character string.
///
/// SVCB and HTTPS go through ldns except the `alpn` value (see `alpnValue`).
enum RDataText {
    /// The RDATA of `type` read from `fields` when this type (or the generic form) is read here,
    /// or nil when ldns reads it. `fields` are the tokens after the type.
    static func parse(_ type: RRType, _ fields: [ArraySlice<UInt8>], origin: DNSName) throws(ZoneProblem) -> [UInt8]? {
        if let first = fields.first, first.elementsEqual("\\#".utf8) {
            return try generic(fields.dropFirst())
        }
        switch type.rawValue {
        case 257: return try caa(fields)
        case 45: return try ipseckey(fields, origin: origin)
        case 62: return try csync(fields)
        case 23:
            guard fields.count == 1 else { throw ZoneProblem(.syntax, "NSAP-PTR takes one name, not \(fields.count) fields") }
            return try ZoneFileReader.parseName(fields[0], origin: origin).wire
        default: return nil
        }
    }

    /// The type a zone file's type field names (`A`, `NSAP-PTR`, `TYPE65280`, any case), if ldns
    /// knows the mnemonic; `TYPEn` is read here, since ldns would wrap n above 65535 to 16 bits.
    static func type(named field: ArraySlice<UInt8>) -> RRType? {
        if field.count > 4, field.prefix(4).elementsEqual("TYPE".utf8, by: { $0 & 0xDF == $1 }) {
            guard let n = number(field.dropFirst(4), max: 65535), n > 0 else { return nil }
            return RRType(UInt16(n))
        }
        var text = [CChar](repeating: 0, count: field.count + 1)
        for (i, b) in field.enumerated() { text[i] = CChar(bitPattern: b) }
        let code = UInt16(truncatingIfNeeded: ldns_get_rr_type_by_name(text).rawValue)
        return code == 0 ? nil : RRType(code)
    }

    // MARK: Types

    /// `\# length hex…` (RFC 3597 §5): the hex may be split into several fields.
    static func generic(_ fields: ArraySlice<ArraySlice<UInt8>>) throws(ZoneProblem) -> [UInt8] {
        guard let lengthField = fields.first, let length = number(lengthField, max: 65535) else {
            throw ZoneProblem(.syntax, "\\# must be followed by the RDATA length (0 to 65535)")
        }
        var rdata: [UInt8] = []
        rdata.reserveCapacity(Int(length))
        var high: UInt8?
        for field in fields.dropFirst() {
            for c in field {
                guard let v = hexValue(c) else {
                    throw ZoneProblem(.syntax, "\\# RDATA has a character that is not a hex digit: " + String(decoding: [c], as: UTF8.self))
                }
                if let h = high {
                    rdata.append(h << 4 | v)
                    high = nil
                } else {
                    high = v
                }
            }
        }
        guard high == nil else { throw ZoneProblem(.syntax, "\\# RDATA has an odd number of hex digits") }
        guard rdata.count == Int(length) else {
            throw ZoneProblem(.syntax, "\\# says \(length) bytes but the hex gives \(rdata.count)")
        }
        return rdata
    }

    /// CAA `flags tag value` (RFC 8659 §4.1.1): the tag is 1 to 15 letters and digits, the value a
    /// character string (quoted or not) stored without a length.
    static func caa(_ fields: [ArraySlice<UInt8>]) throws(ZoneProblem) -> [UInt8] {
        guard fields.count == 3 else { throw ZoneProblem(.syntax, "CAA takes flags, tag and value, not \(fields.count) fields") }
        guard let flags = number(fields[0], max: 255) else { throw ZoneProblem(.syntax, "CAA flags must be 0 to 255") }
        let tag = fields[1]
        guard (1...15).contains(tag.count), tag.allSatisfy(isAlphanumeric) else {
            throw ZoneProblem(.syntax, "CAA tag must be 1 to 15 letters and digits (RFC 8659 §4.1)")
        }
        return [UInt8(flags), UInt8(tag.count)] + tag + (try characterString(fields[2]))
    }

    /// IPSECKEY `precedence gateway-type algorithm gateway [public-key]` (RFC 4025 §3.1).
    static func ipseckey(_ fields: [ArraySlice<UInt8>], origin: DNSName) throws(ZoneProblem) -> [UInt8] {
        guard fields.count >= 4 else { throw ZoneProblem(.syntax, "IPSECKEY takes precedence, gateway type, algorithm and gateway") }
        guard let precedence = number(fields[0], max: 255), let gatewayType = number(fields[1], max: 3),
              let algorithm = number(fields[2], max: 255) else {
            throw ZoneProblem(.syntax, "IPSECKEY precedence and algorithm must be 0 to 255, the gateway type 0 to 3")
        }
        var rdata = [UInt8(precedence), UInt8(gatewayType), UInt8(algorithm)]
        let gateway = fields[3]
        switch gatewayType {
        case 0:
            // No gateway: type 0 and the gateway field "." (RFC 4025 §2.3, §3.1).
            guard gateway.elementsEqual(".".utf8) else { throw ZoneProblem(.syntax, "IPSECKEY gateway type 0 needs the gateway \".\"") }
        case 1: rdata += try address(gateway, family: AF_INET, size: 4)
        case 2: rdata += try address(gateway, family: AF_INET6, size: 16)
        default: rdata += try ZoneFileReader.parseName(gateway, origin: origin).wire
        }
        rdata += try base64(fields.dropFirst(4))
        return rdata
    }

    /// CSYNC `SOA-serial flags [types…]` (RFC 7477 §2.1.1); the bitmap may be empty.
    static func csync(_ fields: [ArraySlice<UInt8>]) throws(ZoneProblem) -> [UInt8] {
        guard fields.count >= 2, let serial = number(fields[0], max: UInt32.max), let flags = number(fields[1], max: 65535) else {
            throw ZoneProblem(.syntax, "CSYNC takes a serial (0 to 4294967295), flags (0 to 65535) and types")
        }
        var rdata: [UInt8] = [UInt8(serial >> 24), UInt8(serial >> 16 & 0xFF), UInt8(serial >> 8 & 0xFF), UInt8(serial & 0xFF),
                              UInt8(flags >> 8), UInt8(flags & 0xFF)]
        var types: [UInt16] = []
        for field in fields.dropFirst(2) {
            guard let t = type(named: field) else {
                throw ZoneProblem(.syntax, "unknown type \(String(decoding: field, as: UTF8.self)) in the CSYNC type bitmap")
            }
            types.append(t.rawValue)
        }
        rdata += typeBitmap(types)
        return rdata
    }

    /// The RFC 4034 §4.1.2 type bitmap of `types`: for each 256-type window in use, the window,
    /// the length of its bitmap (trailing zero octets left out) and the bitmap.
    static func typeBitmap(_ types: [UInt16]) -> [UInt8] {
        var out: [UInt8] = []
        var window = -1
        var bits = [UInt8](repeating: 0, count: 32)
        func flush() {
            guard window >= 0, let last = bits.lastIndex(where: { $0 != 0 }) else { return }
            out += [UInt8(window), UInt8(last + 1)] + bits[...last]
        }
        for t in Set(types).sorted() {
            if Int(t >> 8) != window {
                flush()
                window = Int(t >> 8)
                bits = [UInt8](repeating: 0, count: 32)
            }
            bits[Int(t & 0xFF) >> 3] |= 0x80 >> (t & 7)
        }
        flush()
        return out
    }

    /// The wire value of an SVCB `alpn` parameter written as `text` (RFC 9460 §7.1.1 and
    /// Appendix A.1): a character string whose unescaped contents are a comma-separated list in
    /// which `\,` is a comma and `\\` a backslash inside an item; each item is written with a
    /// length octet. ldns 1.8.3 keeps the backslashes of the second level.
    static func alpnValue(_ text: ArraySlice<UInt8>) throws(ZoneProblem) -> [UInt8] {
        let list = try characterString(text)
        var value: [UInt8] = []
        var item: [UInt8] = []
        func close() throws(ZoneProblem) {
            guard (1...255).contains(item.count) else { throw ZoneProblem(.syntax, "alpn ids must be 1 to 255 bytes (RFC 9460 §7.1.1)") }
            value.append(UInt8(item.count))
            value += item
            item.removeAll(keepingCapacity: true)
        }
        var i = 0
        while i < list.count {
            let c = list[i]
            if c == UInt8(ascii: "\\") {
                guard i + 1 < list.count, list[i + 1] == UInt8(ascii: "\\") || list[i + 1] == UInt8(ascii: ",") else {
                    throw ZoneProblem(.syntax, #"in an alpn list only "\," and "\\" are escapes (RFC 9460 Appendix A.1)"#)
                }
                item.append(list[i + 1])
                i += 2
            } else if c == UInt8(ascii: ",") {
                try close()
                i += 1
            } else {
                item.append(c)
                i += 1
            }
        }
        try close()
        return value
    }

    // MARK: Fields

    /// A `<character-string>` (RFC 1035 §5.1): quoted or not, with `\X` and `\DDD` escapes.
    static func characterString(_ field: ArraySlice<UInt8>) throws(ZoneProblem) -> [UInt8] {
        var text = field
        if text.first == UInt8(ascii: "\"") {
            guard text.count >= 2, text.last == UInt8(ascii: "\"") else { throw ZoneProblem(.syntax, "quoted string not closed") }
            text = text.dropFirst().dropLast()
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < text.endIndex else { throw ZoneProblem(.syntax, "dangling escape in a character string") }
            if ZoneFileReader.isDigit(text[i + 1]) {
                guard i + 3 < text.endIndex, ZoneFileReader.isDigit(text[i + 2]), ZoneFileReader.isDigit(text[i + 3]) else {
                    throw ZoneProblem(.syntax, #"bad \DDD escape in a character string"#)
                }
                let value = Int(text[i + 1] - 48) * 100 + Int(text[i + 2] - 48) * 10 + Int(text[i + 3] - 48)
                guard value <= 255 else { throw ZoneProblem(.syntax, #"\DDD escape above 255"#) }
                out.append(UInt8(value))
                i += 4
            } else {
                out.append(text[i + 1])
                i += 2
            }
        }
        return out
    }

    /// Base64 (RFC 4648 §4) spread over any number of fields, padding optional at the very end only.
    static func base64(_ fields: ArraySlice<ArraySlice<UInt8>>) throws(ZoneProblem) -> [UInt8] {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        var count = 0
        var padding = 0
        for field in fields {
            for c in field {
                if c == UInt8(ascii: "=") {
                    padding += 1
                    continue
                }
                guard padding == 0, let v = base64Value(c) else { throw ZoneProblem(.syntax, "bad base64") }
                accumulator = accumulator << 6 | UInt32(v)
                count += 1
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                }
            }
        }
        // Left-over bits are the zero fill of the last group; one character alone is never a group.
        guard count % 4 != 1, padding <= 2, padding == 0 || (count + padding) % 4 == 0 else {
            throw ZoneProblem(.syntax, "bad base64 length")
        }
        return out
    }

    private static func address(_ field: ArraySlice<UInt8>, family: Int32, size: Int) throws(ZoneProblem) -> [UInt8] {
        let text = String(decoding: field, as: UTF8.self)
        guard let address = IPAddress(text), address.isIPv6 == (family == AF_INET6) else {
            throw ZoneProblem(.syntax, "bad \(family == AF_INET ? "IPv4" : "IPv6") address \(text)")
        }
        return address.bytes
    }

    /// A decimal number from 0 to `max`, or nil.
    private static func number(_ field: ArraySlice<UInt8>, max: UInt32) -> UInt32? {
        guard !field.isEmpty, field.count <= 10, field.allSatisfy(ZoneFileReader.isDigit) else { return nil }
        var value: UInt64 = 0
        for c in field { value = value * 10 + UInt64(c - 48) }
        return value <= UInt64(max) ? UInt32(value) : nil
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        ZoneFileReader.isDigit(c) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    private static func base64Value(_ c: UInt8) -> UInt8? {
        switch c {
        case 65...90: c - 65
        case 97...122: c - 71
        case 48...57: c + 4
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
