#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import DNSWire
import DNSZone

/// A problem found before its location is attached.
struct ZoneProblem: Error {
    let code: ZoneFileError.Code
    let reason: String
    init(_ code: ZoneFileError.Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// A name that does not parse: too long or a label too long, else a syntax error.
    init(_ error: DNSWireError) {
        switch error.code {
        case .labelTooLong: code = .labelTooLong
        case .nameTooLong: code = .nameTooLong
        default: code = .syntax
        }
        reason = error.reason
    }
}

/// Reads one zone file and the files it includes into records.
///
/// The text is split into logical entries here (so that line numbers are exact and `$INCLUDE`
/// works); the owner, TTL and class fields are parsed here too, and only `TYPE RDATA` goes to
/// ldns. Missing TTLs follow Knot DNS: the last `$TTL`, else `ZoneFile.defaultTTL` (3600).
struct ZoneFileReader {
    private(set) var records: [ZoneRecord] = []
    private(set) var errors: [ZoneFileError] = []
    /// What is known of the entries that did not become records (one per error, and one per
    /// record whose owner is unknown), so that the semantic checks claim nothing they may hold.
    private(set) var unread: [UnreadEntry] = []
    private let parser: LDNSRecordParser
    /// Real paths of the files being read, outermost first, to detect include loops.
    private var includeStack: [String] = []
    /// The current logical entry, reused across entries.
    private var entry: [UInt8] = []
    /// The NUL-terminated text handed to ldns, reused across records.
    private var ldnsLine: [CChar] = []

    /// Deepest `$INCLUDE` nesting accepted; loops are caught earlier by real path.
    private static let maxIncludeDepth = 16

    /// State that `$INCLUDE` inherits and that reverts when the included file ends (RFC 1035 §5.1).
    struct Scope {
        var origin: DNSName
        var defaultTTL: UInt32
        var owner: DNSName?
        /// `owner` as written (relative to `origin`); emptied when `origin` changes.
        var ownerText: [UInt8] = []
        /// A `$ORIGIN` failed: relative names are unknown until the next one that does not.
        var originUnknown = false
        /// An owner failed: a blank owner is unknown until the next owner that parses.
        var ownerUnknown = false
    }

    init(origin: DNSName) {
        parser = LDNSRecordParser(origin: origin)
    }

    /// Reads the file at `path`, reporting an unreadable file at `includedFrom` when it is included.
    mutating func readFile(_ path: String, scope: Scope, includedFrom: SourceLocation?) {
        let failCode: ZoneFileError.Code = includedFrom == nil ? .io : .badInclude
        /// A file not read: its records are unknown.
        func fail(_ code: ZoneFileError.Code, _ reason: String) {
            errors.append(ZoneFileError(code, at: includedFrom, reason))
            unread.append(UnreadEntry())
        }
        guard includeStack.count < Self.maxIncludeDepth else {
            return fail(.badInclude, "includes nested more than \(Self.maxIncludeDepth) deep at \(path)")
        }
        guard let resolved = realpath(path, nil) else {
            return fail(failCode, "cannot open \(path): \(Self.errnoText())")
        }
        let real = String(cString: resolved)
        free(resolved)
        guard !includeStack.contains(real) else {
            return fail(.badInclude, "include loop: \(path) is already being read")
        }
        let bytes: [UInt8]
        switch Self.readBytes(path) {
        case .success(let b): bytes = b
        case .failure(let p): return fail(failCode, "cannot read \(path): \(p.reason)")
        }
        includeStack.append(real)
        defer { includeStack.removeLast() }

        if includeStack.count == 1, let parts = EntryScanner.parts(of: bytes, count: ZoneFile.loadingThreads) {
            return readParts(parts, of: bytes, path: path, scope: scope)
        }
        var scanner = EntryScanner(bytes: bytes)
        readEntries(&scanner, path: path, scope: scope)
    }

    /// Reads every entry `scanner` gives, starting in `scope`.
    private mutating func readEntries(_ scanner: inout EntryScanner, path: String, scope: Scope) {
        var scope = scope
        while let (line, problem) = scanner.next(into: &entry) {
            let location = SourceLocation(file: path, line: line)
            if let problem {
                // A malformed entry (parentheses or quotes) may run on over any number of records.
                errors.append(ZoneFileError(problem.code, at: location, problem.reason))
                unread.append(UnreadEntry())
                continue
            }
            var lost: UnreadEntry? = UnreadEntry()
            do throws(ZoneProblem) {
                if entry.first == UInt8(ascii: "$") {
                    try directive(at: location, scope: &scope, lost: &lost)
                } else {
                    var recordLost = UnreadEntry()
                    defer { lost = recordLost }
                    try record(at: location, scope: &scope, lost: &recordLost)
                }
            } catch {
                errors.append(ZoneFileError(error.code, at: location, error.reason))
                if let lost { unread.append(lost) }
            }
        }
    }

    // MARK: Reading on several cores


    /// Reads `parts` of one file (`bytes`) at once, each on its own thread with its own reader
    /// (and ldns parser), then joins their records, errors and unread entries in file order: the
    /// same result as reading the file from start to end. Each part starts at an entry with an
    /// owner, in the scope its file's earlier `$ORIGIN` and `$TTL` directives make (replayed
    /// silently: the part that holds them reports their errors).
    private mutating func readParts(_ parts: [EntryScanner.Part], of bytes: [UInt8], path: String, scope: Scope) {
        final class Results: @unchecked Sendable {
            // Each slot is written by one iteration of concurrentPerform and read after it returns.
            var readers: [ZoneFileReader?]
            init(_ count: Int) { readers = Array(repeating: nil, count: count) }
        }
        let results = Results(parts.count)
        let origin = parser.origin
        let stack = includeStack
        DispatchQueue.concurrentPerform(iterations: parts.count) { i in
            var reader = ZoneFileReader(origin: origin)
            reader.includeStack = stack
            var partScope = scope
            for directive in parts[i].directives {
                var scanner = EntryScanner(bytes: bytes, range: directive, line: 0)
                // A directive the scanner found malformed is not applied when read in order either.
                guard let (_, problem) = scanner.next(into: &reader.entry), problem == nil else { continue }
                var lost: UnreadEntry? = nil
                try? reader.directive(at: SourceLocation(file: path, line: 0), scope: &partScope, lost: &lost)
            }
            var scanner = EntryScanner(bytes: bytes, range: parts[i].range, line: parts[i].line)
            reader.readEntries(&scanner, path: path, scope: partScope)
            results.readers[i] = reader
        }
        records.reserveCapacity(records.count + results.readers.reduce(0) { $0 + ($1?.records.count ?? 0) })
        for i in results.readers.indices {
            guard let reader = results.readers[i] else { continue }
            results.readers[i] = nil
            records += reader.records
            errors += reader.errors
            unread += reader.unread
        }
    }

    // MARK: Directives

    /// Applies one directive; on an error, `lost` is what the directive may have held: nil for
    /// `$TTL` and `$ORIGIN` (which hold no records; a `$ORIGIN` that fails leaves the owners that
    /// follow unknown), any records for another.
    private mutating func directive(at location: SourceLocation, scope: inout Scope, lost: inout UnreadEntry?) throws(ZoneProblem) {
        let tokens = Self.tokens(entry)
        let name = String(decoding: entry[tokens[0]], as: UTF8.self).uppercased()
        func argument(_ i: Int) -> ArraySlice<UInt8>? { i < tokens.count ? entry[tokens[i]] : nil }
        func expectArguments(_ range: ClosedRange<Int>) throws(ZoneProblem) {
            guard range.contains(tokens.count - 1) else {
                throw ZoneProblem(.syntax, "\(name) takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) or \(range.upperBound)") argument(s), not \(tokens.count - 1)")
            }
        }
        switch name {
        case "$ORIGIN":
            lost = nil
            scope.originUnknown = true
            try expectArguments(1...1)
            scope.ownerText.removeAll()
            scope.origin = try Self.parseName(argument(1)!, origin: scope.origin)
            scope.originUnknown = false
        case "$TTL":
            lost = nil
            try expectArguments(1...1)
            scope.defaultTTL = try Self.parseTTL(argument(1)!)
        case "$INCLUDE":
            try expectArguments(1...2)
            var inner = scope
            inner.ownerText.removeAll()
            if let origin = argument(2) { inner.origin = try Self.parseName(origin, origin: scope.origin) }
            let file = String(decoding: Self.unquoted(argument(1)!), as: UTF8.self)
            let path: String
            if file.hasPrefix("/") {
                path = file
            } else if let slash = location.file.lastIndex(of: "/") {
                path = String(location.file[...slash]) + file
            } else {
                path = file
            }
            readFile(path, scope: inner, includedFrom: location)
        default:
            throw ZoneProblem(.syntax, "unknown directive \(name)")
        }
    }

    // MARK: Records

    /// Reads one record into `records`, or into `unread` when its owner is unknown (after an owner
    /// or a `$ORIGIN` that failed); on an error, `lost` holds what was read of it.
    private mutating func record(at location: SourceLocation, scope: inout Scope, lost: inout UnreadEntry) throws(ZoneProblem) {
        var i = 0
        // nil: the owner is unknown, and the record, read for its errors, goes to `unread`.
        var owner: DNSName?
        if Self.isBlank(entry[0]) {
            // After an owner that failed, the missing previous owner is that one's fault, not this line's.
            guard scope.owner != nil || scope.ownerUnknown else {
                throw ZoneProblem(.syntax, "a record with a blank owner must follow a record with an owner")
            }
            if !scope.ownerUnknown { owner = scope.owner }
        } else {
            let t = Self.token(entry, from: 0)!
            // The same owner written again on the next line (the usual way to write an RRset or a
            // name's second type) is the same name: its storage is shared, not parsed again.
            if !scope.ownerUnknown, let previous = scope.owner, entry[t].elementsEqual(scope.ownerText) {
                owner = previous
            } else {
                scope.ownerUnknown = true
                owner = try Self.parseName(entry[t], origin: scope.origin)
                scope.ownerUnknown = false
                scope.owner = owner
                scope.ownerText.removeAll(keepingCapacity: true)
                scope.ownerText.append(contentsOf: entry[t])
            }
            i = t.upperBound
        }
        if scope.originUnknown { owner = nil }
        lost.owner = owner
        // [TTL] [class] in either order (RFC 1035 §5.1); the type comes next.
        var ttl: UInt32?
        var sawClass = false
        var typeStart: Int?
        while let t = Self.token(entry, from: i) {
            let field = entry[t]
            if ttl == nil, Self.isDigit(field.first!) {
                ttl = try Self.parseTTL(field)
            } else if !sawClass, let rrClass = Self.parseClass(field) {
                guard rrClass == .in else {
                    throw ZoneProblem(.unsupportedClass, "class \(rrClass) is not served: only IN")
                }
                sawClass = true
            } else {
                typeStart = t.lowerBound
                break
            }
            i = t.upperBound
        }
        guard let typeStart, let typeField = Self.token(entry, from: typeStart) else { throw ZoneProblem(.syntax, "record has no type") }
        lost.type = RDataText.type(named: entry[typeField])

        let type: RRType
        var rdata: [UInt8]
        let special = Self.readHere(entry[typeField]) || Self.token(entry, from: typeField.upperBound).map {
            entry[$0].elementsEqual("\\#".utf8)
        } == true
        var fields: [ArraySlice<UInt8>] = []
        if special {
            var i = typeField.upperBound
            while let t = Self.token(entry, from: i) {
                fields.append(entry[t])
                i = t.upperBound
            }
        }
        let named = special ? RDataText.type(named: entry[typeField]) : nil
        if special && named == nil {
            throw ZoneProblem(.syntax, "unknown RR type \(String(decoding: entry[typeField], as: UTF8.self))")
        }
        if let named, let parsed = try RDataText.parse(named, fields, origin: scope.origin) {
            type = named
            rdata = parsed
        } else {
            // ldns sees a root owner (ours is already parsed) and the type and RDATA as written,
            // but for an SVCB `alpn` value, which it reads wrongly: a placeholder is replaced below.
            var alpn: (field: Range<Int>, value: [UInt8])?
            if special, let field = Self.svcbALPN(entry, after: typeField.upperBound) {
                alpn = (field, try RDataText.alpnValue(entry[field].drop { $0 != UInt8(ascii: "=") }.dropFirst()))
            }
            ldnsLine.removeAll(keepingCapacity: true)
            ldnsLine.append(CChar(UInt8(ascii: ".")))
            ldnsLine.append(CChar(UInt8(ascii: " ")))
            if let alpn {
                for b in entry[typeStart..<alpn.field.lowerBound] { ldnsLine.append(CChar(bitPattern: b)) }
                for b in "alpn=x".utf8 { ldnsLine.append(CChar(bitPattern: b)) }
                for b in entry[alpn.field.upperBound...] { ldnsLine.append(CChar(bitPattern: b)) }
            } else {
                for b in entry[typeStart...] { ldnsLine.append(CChar(bitPattern: b)) }
            }
            ldnsLine.append(0)
            parser.setOrigin(scope.origin)
            (type, rdata) = try ldnsLine.withUnsafeBufferPointer { buffer throws(ZoneProblem) in
                try parser.parse(buffer.baseAddress!).get()
            }
            if let alpn { rdata = try Self.replacingSvcParam(1, in: rdata, with: alpn.value) }
        }
        guard rdata.count <= Int(UInt16.max) else {
            throw ZoneProblem(.syntax, "RDATA is \(rdata.count) bytes, more than 65535")
        }
        guard !type.isMetaType else {
            throw ZoneProblem(.syntax, "type \(type) is for queries only and cannot appear in a zone")
        }
        // ldns accepts any length in RFC 3597 form (`A \# 0`); addresses must have theirs.
        if (type == .a && rdata.count != 4) || (type == .aaaa && rdata.count != 16) {
            throw ZoneProblem(.syntax, "\(type) RDATA must be \(type == .a ? 4 : 16) bytes, not \(rdata.count)")
        }
        guard let owner else {
            unread.append(UnreadEntry(owner: nil, type: type))
            return
        }
        records.append(ZoneRecord(owner: owner, type: type, ttl: ttl ?? scope.defaultTTL, rdata: rdata, location: location))
    }

    /// Whether records of the type named `field` are read by `RDataText` (or, for SVCB and HTTPS,
    /// have their `alpn` value read there); case-insensitive.
    static func readHere(_ field: ArraySlice<UInt8>) -> Bool {
        let names = ["CAA", "IPSECKEY", "CSYNC", "NSAP-PTR", "SVCB", "HTTPS"]
        return names.contains { $0.utf8.elementsEqual(field) { $0 == $1 & 0xDF || $0 == $1 } }
            || (field.count > 4 && field.prefix(4).elementsEqual("TYPE".utf8) { $0 & 0xDF == $1 })
    }

    /// The field of an SVCB or HTTPS record (priority and target come first) that sets `alpn`
    /// (or its generic name `key1`, RFC 9460 §14.3.2), if any.
    static func svcbALPN(_ text: [UInt8], after start: Int) -> Range<Int>? {
        var i = start
        var n = 0
        while let t = token(text, from: i) {
            let field = text[t]
            if n >= 2, field.count > 5,
               field.prefix(5).elementsEqual("alpn=".utf8, by: { $0 | 0x20 == $1 }) || field.prefix(5).elementsEqual("key1=".utf8, by: { $0 | 0x20 == $1 }) {
                return t
            }
            i = t.upperBound
            n += 1
        }
        return nil
    }

    /// SVCB RDATA (RFC 9460 §2.2: priority, uncompressed target, then key, length, value) with the
    /// value of parameter `key` replaced.
    static func replacingSvcParam(_ key: UInt16, in rdata: [UInt8], with value: [UInt8]) throws(ZoneProblem) -> [UInt8] {
        var i = 2
        while i < rdata.count, rdata[i] != 0 { i += Int(rdata[i]) + 1 }
        i += 1
        while i + 4 <= rdata.count {
            let k = UInt16(rdata[i]) << 8 | UInt16(rdata[i + 1])
            let length = Int(rdata[i + 2]) << 8 | Int(rdata[i + 3])
            guard i + 4 + length <= rdata.count else { break }
            if k == key {
                guard value.count <= Int(UInt16.max) else { throw ZoneProblem(.syntax, "SVCB parameter value longer than 65535 bytes") }
                return Array(rdata[..<i]) + [UInt8(key >> 8), UInt8(key & 0xFF), UInt8(value.count >> 8), UInt8(value.count & 0xFF)]
                    + value + rdata[(i + 4 + length)...]
            }
            i += 4 + length
        }
        throw ZoneProblem(.syntax, "SVCB RDATA from ldns has no parameter \(key)")
    }

    // MARK: Fields

    /// Parses a presentation-format name (`@`, relative or absolute, `\X` and `\DDD` escapes).
    static func parseName(_ text: ArraySlice<UInt8>, origin: DNSName) throws(ZoneProblem) -> DNSName {
        do { return try DNSName(presentation: text, origin: origin) } catch { throw ZoneProblem(error) }
    }

    /// Parses a TTL: seconds, or BIND-style units such as `1h30m` (s, m, h, d, w).
    static func parseTTL(_ text: ArraySlice<UInt8>) throws(ZoneProblem) -> UInt32 {
        var total: UInt64 = 0
        var number: UInt64 = 0
        var digits = false
        for c in text {
            if isDigit(c) {
                number = number * 10 + UInt64(c - 48)
                digits = true
            } else {
                let unit: UInt64
                switch c | 0x20 {
                case UInt8(ascii: "s"): unit = 1
                case UInt8(ascii: "m"): unit = 60
                case UInt8(ascii: "h"): unit = 3600
                case UInt8(ascii: "d"): unit = 86400
                case UInt8(ascii: "w"): unit = 604_800
                default: unit = 0
                }
                guard digits, unit > 0 else {
                    throw ZoneProblem(.syntax, "bad TTL \(String(decoding: text, as: UTF8.self))")
                }
                total += number * unit
                number = 0
                digits = false
            }
            guard number <= UInt32.max, total <= UInt32.max else {
                throw ZoneProblem(.syntax, "TTL \(String(decoding: text, as: UTF8.self)) is above 4294967295")
            }
        }
        total += number
        guard total <= UInt32.max else {
            throw ZoneProblem(.syntax, "TTL \(String(decoding: text, as: UTF8.self)) is above 4294967295")
        }
        return UInt32(total)
    }

    /// The class a field names (`IN`, `CH`, `HS`, `CS`, `NONE`, `ANY`, `CLASSn`), or nil for another field.
    static func parseClass(_ text: ArraySlice<UInt8>) -> RRClass? {
        /// Compares with an upper-case word, ignoring ASCII case (`& 0xDF` folds only letters onto letters).
        func isWord(_ word: StaticString) -> Bool {
            text.count == word.utf8CodeUnitCount
                && zip(text, UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)).allSatisfy { $0 & 0xDF == $1 }
        }
        if isWord("IN") { return .in }
        if isWord("CS") { return RRClass(2) }
        if isWord("CH") { return .chaos }
        if isWord("HS") { return RRClass(4) }
        if isWord("NONE") { return RRClass.none }
        if isWord("ANY") { return .any }
        let digits = text.dropFirst(5)
        guard text.count > 5, text.count <= 10, text.prefix(5).elementsEqual("CLASS".utf8, by: { $0 & 0xDF == $1 }),
              digits.allSatisfy(isDigit), let n = UInt16(String(decoding: digits, as: UTF8.self)) else { return nil }
        return RRClass(n)
    }

    // MARK: Tokens

    static func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    /// The next whitespace-separated field at or after `start`, keeping quoted strings and escapes whole.
    static func token(_ text: [UInt8], from start: Int) -> Range<Int>? {
        var i = start
        while i < text.count, isBlank(text[i]) { i += 1 }
        guard i < text.count else { return nil }
        let begin = i
        var quoted = false
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if c == UInt8(ascii: "\"") { quoted.toggle() } else if !quoted && isBlank(c) { break }
            i += 1
        }
        return begin..<min(i, text.count)
    }

    static func tokens(_ text: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var i = 0
        while let t = token(text, from: i) {
            result.append(t)
            i = t.upperBound
        }
        return result
    }

    static func unquoted(_ text: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard text.count >= 2, text.first == UInt8(ascii: "\""), text.last == UInt8(ascii: "\"") else { return text }
        return text.dropFirst().dropLast()
    }

    // MARK: Files

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func readBytes(_ path: String) -> Result<[UInt8], ZoneProblem> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(ZoneProblem(.io, errnoText())) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(ZoneProblem(.io, errnoText())) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .failure(ZoneProblem(.io, "not a regular file")) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: repeatElement(0, count: 65536)) }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ZoneProblem(.io, errnoText()))
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return .success(bytes)
    }
}

/// What is known of a zone file entry that did not become a record: its owner and type where they
/// were read. An unknown type is any type, an unknown owner any owner, and an entry of which
/// nothing is known (a file not read, a malformed entry) may have been any number of records.
struct UnreadEntry {
    var owner: DNSName?
    var type: RRType?

    /// Whether the entry may have been a record of `type` at `name`.
    func mayHold(_ type: RRType, at name: DNSName) -> Bool {
        (self.type == nil || self.type == type) && (owner == nil || owner == name)
    }
}

/// Splits zone file text into logical entries (RFC 1035 §5.1): one line, or several joined by
/// parentheses. Comments are dropped, parentheses and line breaks inside them become spaces, and
/// quoted strings and escapes pass through untouched.
struct EntryScanner {
    private let bytes: [UInt8]
    private var position: Int
    private let end: Int
    private var line: Int

    init(bytes: [UInt8]) {
        self.init(bytes: bytes, range: 0..<bytes.count, line: 1)
    }

    /// Scans `bytes[range]`, whose first line is line `line` of the file.
    init(bytes: [UInt8], range: Range<Int>, line: Int) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
        self.line = line
    }

    /// A part of a file that can be read apart from the rest: `range` starts at an entry with an
    /// owner (or at the file's start) and ends where the next part starts; `directives` are the
    /// `$` entries before it, which set its scope.
    struct Part {
        var range: Range<Int>
        var line: Int
        var directives: [Range<Int>]
    }

    /// Parts smaller than this are not worth a thread: 1 MiB is about 20,000 records, some 0.1 s
    /// of parsing, against tens of microseconds to start a thread.
    static let minimumPartBytes = 1 << 20

    /// `bytes` cut into up to `count` parts of about equal size, each starting on a line with an
    /// owner outside parentheses and quotes (so no entry spans two parts and none starts blank);
    /// nil when the file is too small for two parts, or holds `$INCLUDE` (whose scope rules are
    /// left to the reader that reads start to end). Comments, quotes, escapes and parentheses are
    /// followed exactly as `next` follows them.
    static func parts(of bytes: [UInt8], count: Int) -> [Part]? {
        let n = bytes.count
        let count = min(count, n / minimumPartBytes)
        guard count >= 2 else { return nil }
        var parts: [Part] = []
        var directives: [Range<Int>] = []
        var partStart = 0, partLine = 1
        var position = 0, line = 1, depth = 0, quoted = false
        var directiveStart: Int? = n > 0 && bytes[0] == UInt8(ascii: "$") ? 0 : nil
        bytes.withUnsafeBufferPointer { b in
            while position < n {
                // Most bytes mean nothing here: skip to the next that does.
                if !quoted {
                    while position < n && !isSpecial(b[position]) { position += 1 }
                    guard position < n else { break }
                }
                let c = b[position]
                if quoted {
                    if c == UInt8(ascii: "\n") {
                        quoted = false
                        continue
                    }
                    position += 1
                    if c == UInt8(ascii: "\\"), position < n, b[position] != UInt8(ascii: "\n") {
                        position += 1
                    } else if c == UInt8(ascii: "\"") {
                        quoted = false
                    }
                    continue
                }
                switch c {
                case UInt8(ascii: "\n"):
                    line += 1
                    position += 1
                    guard depth == 0 else { continue }
                    if let start = directiveStart {
                        directives.append(start..<position)
                        directiveStart = nil
                    }
                    guard position < n else { continue }
                    let first = b[position]
                    if first == UInt8(ascii: "$") {
                        directiveStart = position
                    } else if parts.count < count - 1, position >= (parts.count + 1) * (n / count), isOwnerStart(first) {
                        parts.append(Part(range: partStart..<position, line: partLine, directives: []))
                        partStart = position
                        partLine = line
                    }
                case UInt8(ascii: ";"):
                    while position < n, b[position] != UInt8(ascii: "\n") { position += 1 }
                case UInt8(ascii: "\\"):
                    position += 1
                    if position < n, b[position] != UInt8(ascii: "\n") { position += 1 }
                case UInt8(ascii: "\""):
                    quoted = true
                    position += 1
                case UInt8(ascii: "("):
                    depth += 1
                    position += 1
                case UInt8(ascii: ")"):
                    if depth > 0 { depth -= 1 }
                    position += 1
                default:
                    position += 1
                }
            }
        }
        if let start = directiveStart { directives.append(start..<n) }
        guard !parts.isEmpty else { return nil }
        let include = Array("$INCLUDE".utf8)
        guard !directives.contains(where: { d in
            d.count >= include.count && zip(bytes[d.prefix(include.count)], include).allSatisfy { $0 & 0xDF == $1 & 0xDF }
        }) else { return nil }
        parts.append(Part(range: partStart..<n, line: partLine, directives: []))
        // Each part's scope comes from every directive before it.
        for i in parts.indices {
            parts[i].directives = directives.filter { $0.lowerBound < parts[i].range.lowerBound }
        }
        return parts
    }

    /// Whether `c` is one of the bytes `parts` acts on outside quotes: a line feed, `;`, `\\`,
    /// `"`, `(` or `)` (a bit per byte below 128 in two words, as a table without a lookup).
    @inline(__always)
    private static func isSpecial(_ c: UInt8) -> Bool {
        let low: UInt64 = 1 << 10 | 1 << 34 | 1 << 40 | 1 << 41 | 1 << 59
        let high: UInt64 = 1 << (92 - 64)
        return c < 64 ? (low >> c) & 1 != 0 : c < 128 && (high >> (c - 64)) & 1 != 0
    }

    /// Whether a line starting with `c` starts with an owner name.
    private static func isOwnerStart(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ";"),
             UInt8(ascii: "$"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\""), UInt8(ascii: "\\"):
            return false
        default:
            return true
        }
    }

    /// Fills `entry` with the next non-empty entry and returns its first line, with a problem
    /// if it is malformed; nil at the end of the text.
    mutating func next(into entry: inout [UInt8]) -> (line: Int, problem: ZoneProblem?)? {
        entry.removeAll(keepingCapacity: true)
        var start = line
        var depth = 0
        var quoted = false
        var problem: ZoneProblem?
        let n = end
        while position < n {
            let c = bytes[position]
            if quoted {
                if c == UInt8(ascii: "\n") {
                    problem = problem ?? ZoneProblem(.syntax, "quoted string not closed at the end of the line")
                    quoted = false
                    continue
                }
                entry.append(c)
                position += 1
                if c == UInt8(ascii: "\\"), position < n, bytes[position] != UInt8(ascii: "\n") {
                    entry.append(bytes[position])
                    position += 1
                } else if c == UInt8(ascii: "\"") {
                    quoted = false
                }
                continue
            }
            switch c {
            case UInt8(ascii: "\n"):
                line += 1
                position += 1
                if depth > 0 {
                    entry.append(UInt8(ascii: " "))
                } else if entry.contains(where: { !ZoneFileReader.isBlank($0) }) {
                    return (start, problem)
                } else {
                    entry.removeAll(keepingCapacity: true)
                    start = line
                }
            case UInt8(ascii: ";"):
                while position < n, bytes[position] != UInt8(ascii: "\n") { position += 1 }
            case UInt8(ascii: "\\"):
                entry.append(c)
                position += 1
                if position < n, bytes[position] != UInt8(ascii: "\n") {
                    entry.append(bytes[position])
                    position += 1
                }
            case UInt8(ascii: "\""):
                quoted = true
                entry.append(c)
                position += 1
            case UInt8(ascii: "("):
                depth += 1
                entry.append(UInt8(ascii: " "))
                position += 1
            case UInt8(ascii: ")"):
                if depth == 0 {
                    problem = problem ?? ZoneProblem(.syntax, "\")\" without a matching \"(\"")
                } else {
                    depth -= 1
                }
                entry.append(UInt8(ascii: " "))
                position += 1
            case UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                entry.append(c == UInt8(ascii: "\t") ? c : UInt8(ascii: " "))
                position += 1
            default:
                entry.append(c)
                position += 1
            }
        }
        if depth > 0 { problem = problem ?? ZoneProblem(.syntax, "\"(\" not closed before the end of the file") }
        guard entry.contains(where: { !ZoneFileReader.isBlank($0) }) else { return nil }
        return (start, problem)
    }
}
