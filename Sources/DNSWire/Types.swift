/// A resource record type (RFC 1035 §3.2.2), open-ended so that TYPE65280 is as representable as A.
public struct RRType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var a: RRType { RRType(1) }
    @inlinable public static var ns: RRType { RRType(2) }
    @inlinable public static var md: RRType { RRType(3) }
    @inlinable public static var mf: RRType { RRType(4) }
    @inlinable public static var cname: RRType { RRType(5) }
    @inlinable public static var soa: RRType { RRType(6) }
    @inlinable public static var mb: RRType { RRType(7) }
    @inlinable public static var mg: RRType { RRType(8) }
    @inlinable public static var mr: RRType { RRType(9) }
    @inlinable public static var null: RRType { RRType(10) }
    @inlinable public static var wks: RRType { RRType(11) }
    @inlinable public static var ptr: RRType { RRType(12) }
    @inlinable public static var hinfo: RRType { RRType(13) }
    @inlinable public static var minfo: RRType { RRType(14) }
    @inlinable public static var mx: RRType { RRType(15) }
    @inlinable public static var txt: RRType { RRType(16) }
    @inlinable public static var rp: RRType { RRType(17) }
    @inlinable public static var afsdb: RRType { RRType(18) }
    @inlinable public static var aaaa: RRType { RRType(28) }
    @inlinable public static var srv: RRType { RRType(33) }
    @inlinable public static var naptr: RRType { RRType(35) }
    @inlinable public static var dname: RRType { RRType(39) }
    @inlinable public static var opt: RRType { RRType(41) }
    @inlinable public static var ds: RRType { RRType(43) }
    @inlinable public static var rrsig: RRType { RRType(46) }
    @inlinable public static var nsec: RRType { RRType(47) }
    @inlinable public static var dnskey: RRType { RRType(48) }
    @inlinable public static var nsec3: RRType { RRType(50) }
    @inlinable public static var nsec3param: RRType { RRType(51) }
    @inlinable public static var tlsa: RRType { RRType(52) }
    @inlinable public static var cds: RRType { RRType(59) }
    @inlinable public static var cdnskey: RRType { RRType(60) }
    @inlinable public static var svcb: RRType { RRType(64) }
    @inlinable public static var https: RRType { RRType(65) }
    @inlinable public static var ixfr: RRType { RRType(251) }
    @inlinable public static var axfr: RRType { RRType(252) }
    @inlinable public static var mailb: RRType { RRType(253) }
    @inlinable public static var maila: RRType { RRType(254) }
    @inlinable public static var any: RRType { RRType(255) }
    @inlinable public static var caa: RRType { RRType(257) }

    /// Query-only types (RFC 6895 §3.1: 128–255 are meta/query types); they never appear as zone data.
    @inlinable public var isMetaType: Bool { rawValue == 41 || (rawValue >= 128 && rawValue <= 255) }

    /// RDATA name fields that may be compressed on the wire: only the types of RFC 1035 (RFC 3597 §4).
    @inlinable public var hasCompressibleNames: Bool {
        switch rawValue {
        case 2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15: return true
        default: return false
        }
    }

    /// The one table of type names (RFC 1035, 3596, 2782, 3403, 6672, 6891, 4034, 5155, 6698, 7344, 9460, 8659).
    private static let names = MnemonicTable(numbered: "TYPE", [
        1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
        11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
        28: "AAAA", 33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC",
        48: "DNSKEY", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 59: "CDS", 60: "CDNSKEY", 64: "SVCB", 65: "HTTPS", 251: "IXFR", 252: "AXFR",
        255: "ANY", 257: "CAA",
    ])

    /// The presentation name: the mnemonic, else `TYPEn` (RFC 3597 §5).
    public var mnemonic: String { Self.names.name(of: rawValue) }

    /// The type a mnemonic (`A`, `cname`: ASCII case is ignored) or `TYPEn` (n from 0 to 65535)
    /// names; nil for any other text.
    public init?(mnemonic text: some StringProtocol) {
        guard let code = Self.names.code(named: text) else { return nil }
        self.init(code)
    }

    public var description: String { mnemonic }
}

/// A resource record class (RFC 1035 §3.2.4).
public struct RRClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var `in`: RRClass { RRClass(1) }
    @inlinable public static var chaos: RRClass { RRClass(3) }
    @inlinable public static var none: RRClass { RRClass(254) }
    @inlinable public static var any: RRClass { RRClass(255) }

    public var description: String {
        switch rawValue {
        case 1: return "IN"
        case 3: return "CH"
        default: return "CLASS\(rawValue)"
        }
    }
}

/// A response code, including the extended codes carried in the OPT record (RFC 6891 §6.1.3).
public struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var noError: RCode { RCode(0) }
    @inlinable public static var formErr: RCode { RCode(1) }
    @inlinable public static var servFail: RCode { RCode(2) }
    @inlinable public static var nxDomain: RCode { RCode(3) }
    @inlinable public static var notImp: RCode { RCode(4) }
    @inlinable public static var refused: RCode { RCode(5) }
    /// RFC 2136 §2.2 (and RFC 6672 §2.2: a DNAME substitution would make a name too long).
    @inlinable public static var yxDomain: RCode { RCode(6) }
    @inlinable public static var yxRRSet: RCode { RCode(7) }
    @inlinable public static var nxRRSet: RCode { RCode(8) }
    @inlinable public static var notAuth: RCode { RCode(9) }
    @inlinable public static var notZone: RCode { RCode(10) }
    @inlinable public static var badVers: RCode { RCode(16) }
    /// RFC 7873 §8: a server cookie is missing or invalid where one is required.
    @inlinable public static var badCookie: RCode { RCode(23) }

    /// The one table of response code names (RFC 1035, 2136, 6891, 7873).
    private static let names = MnemonicTable(numbered: "RCODE", [
        0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN",
        7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS", 23: "BADCOOKIE",
    ])

    /// The presentation name: the mnemonic, else `RCODEn`.
    public var mnemonic: String { Self.names.name(of: rawValue) }

    /// The code a mnemonic (`NXDOMAIN`, `nxdomain`: ASCII case is ignored) or `RCODEn` (n from 0 to
    /// 65535) names; nil for any other text, a bare number included.
    public init?(mnemonic text: some StringProtocol) {
        guard let code = Self.names.code(named: text) else { return nil }
        self.init(code)
    }

    public var description: String { mnemonic }
}

/// Names of 16-bit codes, read both ways: a mnemonic for some, `<prefix>n` for every code.
private struct MnemonicTable: Sendable {
    let prefix: String
    let names: [UInt16: String]
    /// The codes by upper-case mnemonic.
    let codes: [String: UInt16]

    init(numbered prefix: String, _ names: [UInt16: String]) {
        self.prefix = prefix
        self.names = names
        codes = Dictionary(uniqueKeysWithValues: names.map { ($0.value, $0.key) })
    }

    func name(of code: UInt16) -> String { names[code] ?? "\(prefix)\(code)" }

    /// The code `text` names (ASCII case ignored), or the n of `<prefix>n`.
    func code(named text: some StringProtocol) -> UInt16? {
        let upper = String(text).uppercased()
        if let code = codes[upper] { return code }
        guard upper.hasPrefix(prefix) else { return nil }
        return UInt16(upper.dropFirst(prefix.count))
    }
}

/// A message opcode (RFC 1035 §4.1.1, RFC 1996, RFC 2136).
public struct Opcode: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    @inlinable public static var query: Opcode { Opcode(rawValue: 0) }
    @inlinable public static var notify: Opcode { Opcode(rawValue: 4) }
    @inlinable public static var update: Opcode { Opcode(rawValue: 5) }
}
