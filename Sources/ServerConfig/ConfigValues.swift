import IPNet
import Yams

extension ListenAddress {
    /// Parses `a.b.c.d:port` or `[ipv6]:port`; nil when malformed.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard IPAddress(host)?.isIPv6 == true else { return nil }
            isIPv6 = true
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard IPAddress(host)?.isIPv6 == false else { return nil }
            isIPv6 = false
        }
        guard Self.isDigits(portText), let port = UInt16(portText), port != 0 else { return nil }
        self.host = String(host)
        self.port = port
    }

    private static func isDigits(_ s: Substring) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// The value parsers: one scalar (or the shape of a node) each, failing with the key's name.
extension ConfigParser {

    mutating func mapping(_ node: Node, key: String) -> Node.Mapping? {
        guard let map = node.mapping else { fail(.wrongType, node, key, "expected a mapping"); return nil }
        return map
    }

    mutating func sequence(_ node: Node, key: String) -> Node.Sequence? {
        guard let seq = node.sequence else { fail(.wrongType, node, key, "expected a list"); return nil }
        return seq
    }

    mutating func scalar(_ node: Node, key: String) -> String? {
        guard let s = node.scalar?.string else { fail(.wrongType, node, key, "expected a single value"); return nil }
        return s
    }

    /// One of the values of `T`, by name (`info`, `json`).
    mutating func oneOf<T: RawRepresentable<String> & CaseIterable>(_ node: Node, key: String) -> T? {
        guard let text = scalar(node, key: key) else { return nil }
        guard let value = T(rawValue: text) else {
            fail(.invalidValue, node, key, "\"\(text)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: "|"))")
            return nil
        }
        return value
    }

    mutating func positiveInt(_ node: Node, key: String, max: Int) -> Int? {
        guard let text = scalar(node, key: key) else { return nil }
        guard let n = Int(text), n >= 1, n <= max else {
            fail(.invalidValue, node, key, "\"\(text)\" is not a whole number from 1 to \(max)")
            return nil
        }
        return n
    }

    /// A size in bytes: a whole number, optionally with a K (KiB) or M (MiB) suffix, from 4K to
    /// `UDPBufferSettings.maximum`.
    mutating func byteSize(_ node: Node, key: String) -> Int? {
        guard let text = scalar(node, key: key) else { return nil }
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let units: [Substring: Int] = ["": 1, "K": 1 << 10, "k": 1 << 10, "M": 1 << 20, "m": 1 << 20]
        guard digits.count <= 10, let n = Int(digits), let scale = units[text.dropFirst(digits.count)],
              n * scale >= 4096, n * scale <= UDPBufferSettings.maximum
        else {
            fail(.invalidValue, node, key, "\"\(text)\" is not a size from 4K to 1024M such as 262144, 512K or 8M")
            return nil
        }
        return n * scale
    }

    /// A TXT character-string: 1 to 255 bytes (RFC 1035 §3.3).
    mutating func txt(_ node: Node, key: String) -> String? {
        guard let text = scalar(node, key: key) else { return nil }
        guard !text.isEmpty, text.utf8.count <= 255 else {
            fail(.invalidValue, node, key, "must be 1 to 255 bytes long")
            return nil
        }
        return text
    }

    /// `500ms`, `10s`, `2m`, `1h`, `14d`: a positive whole number and a unit.
    mutating func duration(_ node: Node, key: String) -> Duration? {
        guard let text = scalar(node, key: key) else { return nil }
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        let units: [Substring: Int64] = ["ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard let n = Int64(digits), n > 0, let scale = units[text.dropFirst(digits.count)],
              n <= Int64.max / scale / 1_000_000
        else {
            fail(.badDuration, node, key, "\"\(text)\" is not a positive duration such as 500ms, 10s, 2m, 1h or 14d")
            return nil
        }
        return .milliseconds(n * scale)
    }


    /// Bytes written as hexadecimal digits (1 to 128 bytes).
    mutating func hex(_ node: Node, key: String) -> [UInt8]? {
        guard let text = scalar(node, key: key) else { return nil }
        let digits = Array(text)
        guard !digits.isEmpty, digits.count.isMultiple(of: 2), digits.count <= 256,
              digits.allSatisfy({ $0.isASCII && $0.isHexDigit })
        else {
            fail(.invalidValue, node, key, "\"\(text)\" is not 1 to 128 bytes written as pairs of hexadecimal digits")
            return nil
        }
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }
}
