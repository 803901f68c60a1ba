/// A resource record type (RFC 1035 §3.2.2), open-ended so that TYPE65280 is as representable as A.
public struct RRType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RRType(1)
    public static let ns = RRType(2)
    public static let md = RRType(3)
    public static let mf = RRType(4)
    public static let cname = RRType(5)
    public static let soa = RRType(6)
    public static let mb = RRType(7)
    public static let mg = RRType(8)
    public static let mr = RRType(9)
    public static let null = RRType(10)
    public static let wks = RRType(11)
    public static let ptr = RRType(12)
    public static let hinfo = RRType(13)
    public static let minfo = RRType(14)
    public static let mx = RRType(15)
    public static let txt = RRType(16)
    public static let rp = RRType(17)
    public static let afsdb = RRType(18)
    public static let aaaa = RRType(28)
    public static let srv = RRType(33)
    public static let naptr = RRType(35)
    public static let dname = RRType(39)
    public static let opt = RRType(41)
    public static let ds = RRType(43)
    public static let rrsig = RRType(46)
    public static let nsec = RRType(47)
    public static let dnskey = RRType(48)
    public static let nsec3 = RRType(50)
    public static let nsec3param = RRType(51)
    public static let tlsa = RRType(52)
    public static let cds = RRType(59)
    public static let cdnskey = RRType(60)
    public static let svcb = RRType(64)
    public static let https = RRType(65)
    public static let ixfr = RRType(251)
    public static let axfr = RRType(252)
    public static let mailb = RRType(253)
    public static let maila = RRType(254)
    public static let any = RRType(255)
    public static let caa = RRType(257)

    /// Query-only types (RFC 6895 §3.1: 128–255 are meta/query types); they never appear as zone data.
    public var isMetaType: Bool { rawValue == 41 || (rawValue >= 128 && rawValue <= 255) }

    /// RDATA name fields that may be compressed on the wire: only the types of RFC 1035 (RFC 3597 §4).
    public var hasCompressibleNames: Bool {
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
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let `in` = RRClass(1)
    public static let chaos = RRClass(3)
    public static let none = RRClass(254)
    public static let any = RRClass(255)

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
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = RCode(0)
    public static let formErr = RCode(1)
    public static let servFail = RCode(2)
    public static let nxDomain = RCode(3)
    public static let notImp = RCode(4)
    public static let refused = RCode(5)
    /// RFC 2136 §2.2 (and RFC 6672 §2.2: a DNAME substitution would make a name too long).
    public static let yxDomain = RCode(6)
    public static let yxRRSet = RCode(7)
    public static let nxRRSet = RCode(8)
    public static let notAuth = RCode(9)
    public static let notZone = RCode(10)
    public static let badVers = RCode(16)
    /// RFC 7873 §8: a server cookie is missing or invalid where one is required.
    public static let badCookie = RCode(23)

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
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let query = Opcode(rawValue: 0)
    public static let notify = Opcode(rawValue: 4)
    public static let update = Opcode(rawValue: 5)
}
