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

    /// Parses presentation format (RFC 1035 §5.1); see `init(presentation:origin:)`.
    public init(_ text: String, origin: DNSName? = nil) throws(DNSWireError) {
        try self.init(presentation: Array(text.utf8)[...], origin: origin)
    }

    /// Parses presentation format (RFC 1035 §5.1), as zone files and configurations write names:
    /// labels separated by dots, with `\X` (the byte X, such as a dot inside a label) and `\DDD`
    /// (the byte of decimal value DDD) escapes. `.` is the root and `@` the origin; a name without a
    /// final dot is relative to `origin` (fully qualified when `origin` is nil), the empty text
    /// included. Errors name the text: `.badPresentation` for an empty label or a bad escape,
    /// `.labelTooLong` and `.nameTooLong` for a label over 63 bytes or a name over 255 on the wire.
    public init(presentation text: ArraySlice<UInt8>, origin: DNSName?) throws(DNSWireError) {
        func problem(_ code: DNSWireError.Code, _ what: String) -> DNSWireError {
            DNSWireError(code, "\(what) in name \(String(decoding: text, as: UTF8.self))")
        }
        if text.count == 1 && text.first == UInt8(ascii: ".") { self = .root; return }
        if text.count == 1 && text.first == UInt8(ascii: "@"), let origin { self = origin; return }
        // Labels are written in place: a length byte, filled in when the label ends, then its bytes.
        var wire: [UInt8] = []
        wire.reserveCapacity(text.count + (origin?.wire.count ?? 1) + 1)
        var labelStart = 0
        var absolute = false
        func closeLabel() throws(DNSWireError) {
            let length = wire.count - labelStart - 1
            guard length > 0 else { throw problem(.badPresentation, "empty label") }
            guard length <= DNSName.maxLabelLength else {
                throw problem(.labelTooLong, "label of \(length) bytes (more than 63)")
            }
            wire[labelStart] = UInt8(length)
        }
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        if !text.isEmpty { wire.append(0) }
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == UInt8(ascii: ".") {
                try closeLabel()
                if i == text.endIndex - 1 {
                    absolute = true
                } else {
                    labelStart = wire.count
                    wire.append(0)
                }
                i += 1
            } else if c == UInt8(ascii: "\\") {
                guard i + 1 < text.endIndex else { throw problem(.badPresentation, "dangling escape") }
                if isDigit(text[i + 1]) {
                    guard i + 3 < text.endIndex, isDigit(text[i + 2]), isDigit(text[i + 3]) else {
                        throw problem(.badPresentation, "bad \\DDD escape")
                    }
                    func digit(_ k: Int) -> Int { Int(text[i + k] - UInt8(ascii: "0")) }
                    let value = digit(1) * 100 + digit(2) * 10 + digit(3)
                    guard value <= 255 else { throw problem(.badPresentation, "\\DDD escape above 255") }
                    wire.append(UInt8(value))
                    i += 4
                } else {
                    wire.append(text[i + 1])
                    i += 2
                }
            } else {
                wire.append(c)
                i += 1
            }
        }
        if absolute {
            wire.append(0)
        } else {
            if !text.isEmpty { try closeLabel() }
            wire.append(contentsOf: origin?.wire ?? [0])
        }
        guard wire.count <= DNSName.maxWireLength else {
            throw problem(.nameTooLong, "\(wire.count) bytes on the wire (more than 255)")
        }
        self.wire = wire
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

    /// The name with ASCII letters folded to lower case; the same storage when it has none
    /// (a zone's names usually do not: a million-record load no longer copies every owner).
    /// Length bytes are at most 63, below "A" (0x41), so every byte can be folded alike.
    public func lowercased() -> DNSName {
        guard wire.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return self }
        return DNSName(validatedWire: wire.map(DNSName.lower))
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
