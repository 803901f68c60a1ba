/// A domain name in uncompressed wire form (RFC 1035 §3.1): length-prefixed labels ending in the
/// root label. Case is preserved as given; equality and hashing ignore ASCII case (RFC 4343).
public struct DNSName: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// Wire bytes, at most 255, ending with the zero-length root label.
    public let wire: [UInt8]

    /// The root name ".".
    public static let root = DNSName(validatedWire: [0])

    /// Maximum length of a name on the wire (RFC 1035 §2.3.4).
    public static let maxWireLength = 255
    /// Maximum length of one label (RFC 1035 §2.3.4).
    public static let maxLabelLength = 63

    init(validatedWire: [UInt8]) { self.wire = validatedWire }

    /// Wraps uncompressed wire bytes, checking label lengths, total length and the final root label.
    public init(wire: [UInt8]) throws(DNSWireError) {
        var i = 0
        while true {
            guard i < wire.count else { throw DNSWireError(.truncated, "name runs past its end") }
            let len = Int(wire[i])
            if len == 0 { break }
            guard len <= DNSName.maxLabelLength else {
                throw DNSWireError(.badLabelType, "label length byte \(len) is not a plain label")
            }
            i += 1 + len
        }
        guard i + 1 == wire.count else { throw DNSWireError(.trailingData, "bytes after the root label") }
        guard wire.count <= DNSName.maxWireLength else {
            throw DNSWireError(.nameTooLong, "name is \(wire.count) bytes on the wire, more than 255")
        }
        self.wire = wire
    }

    /// Parses presentation format (RFC 1035 §5.1): labels separated by dots, `\.` and `\DDD` escapes.
    /// A name without a final dot is relative to `origin` (fully qualified when `origin` is nil).
    public init(_ text: String, origin: DNSName? = nil) throws(DNSWireError) {
        if text == "." { self = .root; return }
        if text == "@", let origin { self = origin; return }
        var out: [UInt8] = []
        var label: [UInt8] = []
        var absolute = false
        let bytes = Array(text.utf8)
        var i = 0
        func endLabel() throws(DNSWireError) {
            guard !label.isEmpty else { throw DNSWireError(.badPresentation, "empty label in \"\(text)\"") }
            guard label.count <= DNSName.maxLabelLength else {
                throw DNSWireError(.labelTooLong, "label longer than 63 bytes in \"\(text)\"")
            }
            out.append(UInt8(label.count))
            out.append(contentsOf: label)
            label.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { throw DNSWireError(.badPresentation, "dangling escape in \"\(text)\"") }
                let d = bytes[i + 1]
                if d >= 0x30 && d <= 0x39 {
                    guard i + 3 < bytes.count else {
                        throw DNSWireError(.badPresentation, "short \\DDD escape in \"\(text)\"")
                    }
                    var v = 0
                    for k in 1...3 {
                        let x = bytes[i + k]
                        guard x >= 0x30 && x <= 0x39 else {
                            throw DNSWireError(.badPresentation, "bad \\DDD escape in \"\(text)\"")
                        }
                        v = v * 10 + Int(x - 0x30)
                    }
                    guard v <= 255 else { throw DNSWireError(.badPresentation, "\\DDD escape above 255 in \"\(text)\"") }
                    label.append(UInt8(v))
                    i += 4
                } else {
                    label.append(d)
                    i += 2
                }
                continue
            }
            if c == UInt8(ascii: ".") {
                try endLabel()
                if i == bytes.count - 1 { absolute = true }
                i += 1
                continue
            }
            label.append(c)
            i += 1
        }
        if !label.isEmpty { try endLabel() }
        if !absolute, let origin {
            out.append(contentsOf: origin.wire.dropLast())
        }
        out.append(0)
        guard out.count <= DNSName.maxWireLength else {
            throw DNSWireError(.nameTooLong, "name \"\(text)\" is \(out.count) bytes on the wire, more than 255")
        }
        self.wire = out
    }

    /// Number of labels, not counting the root label.
    public var labelCount: Int {
        var n = 0
        var i = 0
        while wire[i] != 0 { n += 1; i += Int(wire[i]) + 1 }
        return n
    }

    /// The labels, leftmost first, without the root label.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            result.append(wire[(i + 1)..<(i + 1 + len)])
            i += len + 1
        }
        return result
    }

    /// The name with ASCII letters folded to lower case.
    public func lowercased() -> DNSName {
        var w = wire
        var i = 0
        while w[i] != 0 {
            let len = Int(w[i])
            for k in (i + 1)...(i + len) { w[k] = DNSName.lower(w[k]) }
            i += len + 1
        }
        return DNSName(validatedWire: w)
    }

    /// The name with its leftmost label removed, or nil for the root.
    public var parent: DNSName? {
        guard wire[0] != 0 else { return nil }
        return DNSName(validatedWire: Array(wire[(Int(wire[0]) + 1)...]))
    }

    /// True when `self` equals `ancestor` or lies below it.
    public func isSubdomain(of ancestor: DNSName) -> Bool {
        let extra = wire.count - ancestor.wire.count
        guard extra >= 0 else { return false }
        // The suffix must start on a label boundary.
        var i = 0
        while i < extra { i += Int(wire[i]) + 1 }
        guard i == extra else { return false }
        for k in 0..<ancestor.wire.count where DNSName.lower(wire[extra + k]) != DNSName.lower(ancestor.wire[k]) {
            return false
        }
        return true
    }

    /// True when the leftmost label is `*` (RFC 4592 §2.1.1).
    public var isWildcard: Bool { wire.count >= 2 && wire[0] == 1 && wire[1] == UInt8(ascii: "*") }

    /// Prepends one label.
    public func prepending(label: some Collection<UInt8>) throws(DNSWireError) -> DNSName {
        guard label.count <= DNSName.maxLabelLength, !label.isEmpty else {
            throw DNSWireError(.labelTooLong, "bad label length \(label.count)")
        }
        guard wire.count + label.count + 1 <= DNSName.maxWireLength else {
            throw DNSWireError(.nameTooLong, "name would exceed 255 bytes")
        }
        return DNSName(validatedWire: [UInt8(label.count)] + label + wire)
    }

    @inline(__always)
    public static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        guard lhs.wire.count == rhs.wire.count else { return false }
        for i in 0..<lhs.wire.count where lower(lhs.wire[i]) != lower(rhs.wire[i]) { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        for b in wire { hasher.combine(DNSName.lower(b)) }
    }

    /// Canonical DNS name order (RFC 4034 §6.1): compare labels right to left, case-folded.
    public static func < (lhs: DNSName, rhs: DNSName) -> Bool {
        let l = lhs.labels, r = rhs.labels
        var i = l.count - 1, j = r.count - 1
        while i >= 0 && j >= 0 {
            let a = l[i].map(lower), b = r[j].map(lower)
            if a != b { return a.lexicographicallyPrecedes(b) }
            i -= 1; j -= 1
        }
        return l.count < r.count
    }

    /// Presentation format with a final dot; `.`, `\` and bytes outside printable ASCII escaped.
    public var description: String {
        if wire.count == 1 { return "." }
        var s = ""
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            for k in (i + 1)...(i + len) {
                let b = wire[k]
                switch b {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("),
                     UInt8(ascii: ")"), UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    s.append("\\")
                    s.unicodeScalars.append(Unicode.Scalar(b))
                case 0x21...0x7E:
                    s.unicodeScalars.append(Unicode.Scalar(b))
                default:
                    let d = String(b)
                    s.append("\\" + String(repeating: "0", count: 3 - d.count) + d)
                }
            }
            s.append(".")
            i += len + 1
        }
        return s
    }
}
