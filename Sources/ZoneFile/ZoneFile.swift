public import DNSWire
public import DNSZone
import Dispatch

/// One problem with a zone file, reported as `file:line: reason`.
public struct ZoneFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem this is, for tests to compare.
    public enum Code: Hashable, Sendable {
        case io
        case syntax
        case missingSOA
        case multipleSOA
        case soaNotAtApex
        case missingApexNS
        case cnameWithOtherData
        case multipleCNAME
        case multipleDNAME
        case dataBelowDNAME
        case outOfZone
        case nameTooLong
        case labelTooLong
        case unsupportedClass
        case badInclude
        /// RDATA of a type with names whose names do not parse (typically written as `\#`).
        case badRData
    }

    public let code: Code
    public let location: SourceLocation?
    public let reason: String

    public init(_ code: Code, at location: SourceLocation?, _ reason: String) {
        self.code = code
        self.location = location
        self.reason = reason
    }

    public var description: String {
        if let location { return "\(location): \(reason)" }
        return reason
    }
}

/// Every problem found in one zone (a zone is rejected as a whole).
public struct ZoneFileErrors: Error, Sendable, CustomStringConvertible {
    public let errors: [ZoneFileError]
    public init(_ errors: [ZoneFileError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Reads RFC 1035 zone files through ldns and compiles them into `Zone` snapshots.
///
/// Supported: every RR type ldns knows, RFC 3597 `TYPEn`/`CLASSn`/`\# len hex`, `$ORIGIN`,
/// `$TTL`, `$INCLUDE file [origin]` (relative to the including file's directory; origin, `$TTL`
/// and the current owner revert after it, RFC 1035 §5.1), `@`, relative names, blank owners,
/// parentheses, `;` comments, `\.` and `\DDD` escapes. Only class IN is served.
///
/// TTLs follow Knot DNS, which Meridian is compared against (checked with knotd 3.2): a record
/// without a TTL takes the last `$TTL` (RFC 2308 §4), else `defaultTTL` (BIND would reuse the
/// previous record's TTL); an RRset written with different TTLs takes its last record's TTL, which
/// is not an error (Knot logs "TTL mismatch"). Repeated records are dropped, as BIND and Knot do.
public enum ZoneFile {
    /// The TTL of records without one when no `$TTL` precedes them (Knot's `default-ttl`).
    public static let defaultTTL: UInt32 = 3600

    /// Reads, validates and compiles the zone file at `path` for `origin`; see `readValid`.
    public static func load(origin: DNSName, path: String) throws(ZoneFileErrors) -> Zone {
        try readValid(origin: origin, path: path) { Zone(origin: origin, records: $0) }.compiled
    }

    /// The records of the zone file at `path` as `read` gives them, once they pass `validate`.
    ///
    /// Every problem is reported at once: the semantic checks run over the records that parsed
    /// even when others did not (in a file that cannot be opened there is nothing to check). They
    /// claim nothing an entry that failed may hold: no "no SOA" when an SOA line (or a line whose
    /// type or owner is unknown, or an `$INCLUDE` not read) failed, and likewise for the apex NS;
    /// records whose owner is unknown because their owner or `$ORIGIN` failed are not checked.
    public static func readValid(origin: DNSName, path: String) throws(ZoneFileErrors) -> [ZoneRecord] {
        try readValid(origin: origin, path: path) { _ in () }.records
    }

    /// `readValid`, with `compile` run over the records (on another core) while they are
    /// validated: a large zone's compile no longer waits for its checks. `compile` must accept
    /// any records the reader gives, valid or not (`Zone.init` does); its result is dropped when
    /// the zone is rejected.
    public static func readValid<Compiled: Sendable>(
        origin: DNSName, path: String, compiling compile: @Sendable ([ZoneRecord]) -> Compiled
    ) throws(ZoneFileErrors) -> (records: [ZoneRecord], compiled: Compiled) {
        let (records, readErrors, unread) = readCollecting(origin: origin, path: path)
        // Without the file there is nothing to validate.
        if readErrors.contains(where: { $0.code == .io }) { throw ZoneFileErrors(readErrors) }
        let outcome = CompileAndValidate<Compiled>()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            if i == 0 {
                outcome.compiled = compile(records)
            } else {
                outcome.errors = validate(origin: origin, records: records, unread: unread)
            }
        }
        let errors = readErrors + outcome.errors
        guard errors.isEmpty, let compiled = outcome.compiled else { throw ZoneFileErrors(errors) }
        return (records, compiled)
    }

    /// What the two threads of `readValid(origin:path:compiling:)` give.
    private final class CompileAndValidate<Compiled>: @unchecked Sendable {
        // Each field is written by one iteration of concurrentPerform and read after it returns.
        var compiled: Compiled?
        var errors: [ZoneFileError] = []
    }

    /// The records of the zone file at `path` (and the files it includes), in file order, with
    /// repeated records dropped and one TTL per RRset. Not validated: see `validate`.
    public static func read(origin: DNSName, path: String) throws(ZoneFileErrors) -> [ZoneRecord] {
        let (records, errors, _) = readCollecting(origin: origin, path: path)
        guard errors.isEmpty else { throw ZoneFileErrors(errors) }
        return records
    }

    private static func readCollecting(origin: DNSName, path: String) -> ([ZoneRecord], [ZoneFileError], [UnreadEntry]) {
        var reader = ZoneFileReader(origin: origin)
        reader.readFile(path, scope: .init(origin: origin, defaultTTL: defaultTTL, owner: nil), includedFrom: nil)
        return (normalized(reader.records), reader.errors, reader.unread)
    }
}
