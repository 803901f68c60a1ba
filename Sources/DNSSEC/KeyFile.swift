import Crypto
public import DNSWire
public import Foundation
import _CryptoExtras

/// Keys in BIND's key-file format, which `dnssec-keygen`, `ldns-keygen` and Meridian's
/// `keygen` write: `K<zone>.+<alg>+<tag>.key` holds the DNSKEY record in presentation form,
/// `.private` the private key as `Field: value` lines (`Private-key-format: v1.2` or later).
public enum KeyFile {
    /// `K<zone>.+<algorithm, 3 digits>+<key tag, 5 digits>`, the name BIND gives a pair.
    public static func baseName(_ key: SigningKey) -> String {
        let zone = key.zone.description.lowercased()
        let alg = String(key.algorithm.rawValue), tag = String(key.keyTag)
        return "K\(zone)+\(String(repeating: "0", count: max(0, 3 - alg.count)) + alg)+\(String(repeating: "0", count: max(0, 5 - tag.count)) + tag)"
    }

    /// Reads the pair named by `path` (either file of it, or the base name without suffix). The
    /// private file must be readable by its owner only (mode 0600 or stricter). Without a
    /// `.private` file, a `.pem` file (PKCS #8, as Knot's `keymgr` keeps keys in its KASP
    /// directory's `keys/`) holds the private key of an ECDSA P-256 or Ed25519 DNSKEY.
    public static func read(_ path: String) throws(DNSSECError) -> SigningKey {
        var base = path
        for suffix in [".key", ".private", ".pem"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        let keyPath = base + ".key"
        let keyText = try text(keyPath)
        let pemPath = base + ".pem"
        let privatePath = FileManager.default.fileExists(atPath: base + ".private") || !FileManager.default.fileExists(atPath: pemPath)
            ? base + ".private" : pemPath
        var info = stat()
        guard stat(privatePath, &info) == 0 else { throw DNSSECError(.fileAccess, "\(privatePath): cannot read: \(String(cString: strerror(errno)))") }
        guard info.st_mode & 0o077 == 0 else {
            throw DNSSECError(.fileAccess, "\(privatePath): readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); a private key must be readable by the server's user only: chmod 600 \(privatePath)")
        }
        if privatePath == pemPath { return try parsePEM(key: keyText, keyPath: keyPath, pem: try text(pemPath), pemPath: pemPath) }
        return try parse(key: keyText, keyPath: keyPath, private: try text(privatePath), privatePath: privatePath)
    }

    /// The key in a `.key` text and a PKCS #8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    static func parsePEM(key keyText: String, keyPath: String, pem: String, pemPath: String) throws(DNSSECError) -> SigningKey {
        let (zone, dnskey) = try parseDNSKEY(keyText, path: keyPath)
        let material: SigningKey.Material
        do {
            let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
            let der = Array(Data(base64Encoded: body) ?? Data())
            switch DNSSECAlgorithm(rawValue: dnskey.algorithm) {
            case .ecdsaP256SHA256:
                // Knot (GnuTLS) writes the private scalar as 31 to 33 bytes (a leading zero when
                // its top bit is set), which swift-crypto's PEM reader refuses: read it here.
                guard let scalar = Self.pkcs8ECPrivateKey(der) else {
                    throw DNSSECError(.badKey, "\(pemPath): not a PKCS #8 ECDSA private key (RFC 5208, RFC 5915)")
                }
                material = .p256(try P256.Signing.PrivateKey(rawRepresentation: scalar))
            case .ed25519:
                // RFC 8410 §7: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
                let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
                guard der.count == 48, Array(der[0..<16]) == prefix else {
                    throw DNSSECError(.badKey, "\(pemPath): not a PKCS #8 Ed25519 private key (RFC 8410)")
                }
                material = .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: der[16...]))
            default:
                throw DNSSECError(.unsupportedAlgorithm, "\(pemPath): a PEM key is read for algorithms 13 and 15; \(keyPath) has algorithm \(dnskey.algorithm) (give it a BIND .private file)")
            }
        } catch let e as DNSSECError {
            throw e
        } catch {
            throw DNSSECError(.badKey, "\(pemPath): not a usable private key: \(error)")
        }
        return try matched(zone, dnskey, material, privatePath: pemPath, keyPath: keyPath)
    }

    /// The key made of `material`, when its public key is the `.key` file's DNSKEY.
    static func matched(_ zone: DNSName, _ dnskey: DNSKEYData, _ material: SigningKey.Material,
                        privatePath: String, keyPath: String) throws(DNSSECError) -> SigningKey {
        let key = try SigningKey(zone: zone, flags: dnskey.flags, material: material)
        guard key.dnskey == dnskey else {
            throw DNSSECError(.keyMismatch, "\(privatePath): its private key is not the one whose public key \(keyPath) holds")
        }
        return key
    }

    /// The zone and DNSKEY of a `.key` file alone (a key published without signing).
    public static func readPublic(_ path: String) throws(DNSSECError) -> (zone: DNSName, dnskey: DNSKEYData) {
        var base = path
        for suffix in [".key", ".private"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        let (zone, dnskey) = try parseDNSKEY(try text(base + ".key"), path: base + ".key")
        return (zone, dnskey)
    }

    /// A key file's text.
    static func text(_ path: String) throws(DNSSECError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DNSSECError(.fileAccess, "\(path): cannot read: \(String(cString: strerror(errno)))")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DNSSECError(.badKeyFile, "\(path): not UTF-8 text") }
        return text
    }

    /// The key in a `.key` text and a `.private` text (the paths only name them in errors).
    public static func parse(key keyText: String, keyPath: String = ".key", private privateText: String,
                             privatePath: String = ".private") throws(DNSSECError) -> SigningKey {
        let (zone, dnskey) = try parseDNSKEY(keyText, path: keyPath)
        let fields = try parsePrivate(privateText, path: privatePath)
        func field(_ name: String) throws(DNSSECError) -> [UInt8] {
            guard let (line, value) = fields[name.lowercased()] else { throw DNSSECError(.badKeyFile, "\(privatePath): no \(name) field") }
            guard let bytes = Data(base64Encoded: value), !bytes.isEmpty else {
                throw DNSSECError(.badKeyFile, "\(privatePath):\(line): \(name) is not base64")
            }
            return Array(bytes)
        }
        guard let (algLine, algText) = fields["algorithm"] else { throw DNSSECError(.badKeyFile, "\(privatePath): no Algorithm field") }
        guard let number = algText.split(separator: " ").first.flatMap({ UInt8($0) }) else {
            throw DNSSECError(.badKeyFile, "\(privatePath):\(algLine): Algorithm \"\(algText)\" does not start with a number")
        }
        guard let algorithm = DNSSECAlgorithm(rawValue: number) else {
            throw DNSSECError(.unsupportedAlgorithm, "\(privatePath):\(algLine): algorithm \(number) is not signed with (8 RSASHA256, 13 ECDSAP256SHA256, 15 ED25519)")
        }
        guard dnskey.algorithm == number else {
            throw DNSSECError(.keyMismatch, "\(privatePath):\(algLine): algorithm \(number), but \(keyPath) has a key of algorithm \(dnskey.algorithm)")
        }
        let material: SigningKey.Material
        do {
            switch algorithm {
            case .ecdsaP256SHA256:
                let raw = try field("PrivateKey")
                guard raw.count == 32 else { throw DNSSECError(.badKey, "\(privatePath): an ECDSA P-256 PrivateKey is 32 bytes, not \(raw.count)") }
                material = .p256(try P256.Signing.PrivateKey(rawRepresentation: raw))
            case .ed25519:
                let raw = try field("PrivateKey")
                guard raw.count == 32 else { throw DNSSECError(.badKey, "\(privatePath): an Ed25519 PrivateKey is 32 bytes, not \(raw.count)") }
                material = .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
            case .rsaSHA256:
                let c = SigningKey.RSAComponents(
                    modulus: try field("Modulus"), publicExponent: try field("PublicExponent"), privateExponent: try field("PrivateExponent"),
                    prime1: try field("Prime1"), prime2: try field("Prime2"), exponent1: try field("Exponent1"), exponent2: try field("Exponent2"),
                    coefficient: try field("Coefficient"))
                let key = try _RSA.Signing.PrivateKey(n: c.modulus, e: c.publicExponent, d: c.privateExponent, p: c.prime1, q: c.prime2)
                material = .rsa(key, c)
            }
        } catch let e as DNSSECError {
            throw e
        } catch {
            throw DNSSECError(.badKey, "\(privatePath): the \(algorithm) key is not usable: \(error)")
        }
        return try matched(zone, dnskey, material, privatePath: privatePath, keyPath: keyPath)
    }

    /// The 32-byte private scalar of a PKCS #8 `PrivateKeyInfo` holding an RFC 5915 `ECPrivateKey`:
    /// SEQUENCE { INTEGER, SEQUENCE { algorithm }, OCTET STRING { SEQUENCE { INTEGER 1, OCTET
    /// STRING key, … } } }, the key's leading zeros dropped and it padded back to 32 bytes; nil
    /// when the DER is not that shape.
    static func pkcs8ECPrivateKey(_ der: [UInt8]) -> [UInt8]? {
        /// The tag, and the content's range, of the DER element at `at` within `end`.
        func element(_ at: Int, _ end: Int) -> (tag: UInt8, content: Range<Int>)? {
            guard at + 2 <= end else { return nil }
            var length = Int(der[at + 1]), start = at + 2
            if length & 0x80 != 0 {
                let bytes = length & 0x7F
                guard bytes >= 1, bytes <= 2, start + bytes <= end else { return nil }
                length = der[start..<(start + bytes)].reduce(0) { $0 << 8 | Int($1) }
                start += bytes
            }
            guard start + length <= end else { return nil }
            return (der[at], start..<(start + length))
        }
        /// The elements directly inside `range`.
        func children(_ range: Range<Int>) -> [(tag: UInt8, content: Range<Int>)]? {
            var out: [(tag: UInt8, content: Range<Int>)] = [], at = range.lowerBound
            while at < range.upperBound {
                guard let e = element(at, range.upperBound) else { return nil }
                out.append(e)
                at = e.content.upperBound
            }
            return out
        }
        guard let outer = element(0, der.count), outer.tag == 0x30, let info = children(outer.content), info.count >= 3,
              info[0].tag == 0x02, info[1].tag == 0x30, info[2].tag == 0x04,
              let ec = element(info[2].content.lowerBound, info[2].content.upperBound), ec.tag == 0x30,
              let fields = children(ec.content), fields.count >= 2, fields[0].tag == 0x02, fields[1].tag == 0x04 else { return nil }
        let key = der[fields[1].content].drop { $0 == 0 }
        guard key.count <= 32 else { return nil }
        return [UInt8](repeating: 0, count: 32 - key.count) + key
    }

    /// The owner and RDATA of the one DNSKEY record of a `.key` file (comments, `$` lines and
    /// blank lines skipped; `owner [ttl] [IN] DNSKEY flags protocol algorithm base64…`).
    static func parseDNSKEY(_ text: String, path: String) throws(DNSSECError) -> (DNSName, DNSKEYData) {
        // Logical lines: a record in parentheses continues over the lines until they close.
        var logical: [(line: Int, text: String)] = []
        var depth = 0
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            if depth > 0, !logical.isEmpty { logical[logical.count - 1].text += " " + line } else { logical.append((index + 1, line)) }
            depth = max(0, depth + line.filter { $0 == "(" }.count - line.filter { $0 == ")" }.count)
        }
        var found: (DNSName, DNSKEYData)? = nil
        for (number, line) in logical {
            var tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "(" || $0 == ")" }).map(String.init)
            guard let first = tokens.first, !first.hasPrefix("$") else { continue }
            let where_ = "\(path):\(number)"
            guard found == nil else { throw DNSSECError(.badKeyFile, "\(where_): a second record; a .key file holds one DNSKEY") }
            let ownerText = tokens.removeFirst()
            if let t = tokens.first, UInt32(t) != nil { tokens.removeFirst() }
            if let c = tokens.first, c.uppercased() == "IN" { tokens.removeFirst() }
            guard tokens.first?.uppercased() == "DNSKEY" else { throw DNSSECError(.badKeyFile, "\(where_): not a DNSKEY record") }
            tokens.removeFirst()
            guard tokens.count >= 4, let flags = UInt16(tokens[0]), let proto = UInt8(tokens[1]), let alg = UInt8(tokens[2]) else {
                throw DNSSECError(.badKeyFile, "\(where_): a DNSKEY needs flags, protocol, algorithm and a public key")
            }
            guard proto == 3 else { throw DNSSECError(.badKeyFile, "\(where_): protocol \(proto); a DNSKEY's is 3 (RFC 4034 §2.1.2)") }
            guard flags & DNSKEYData.zoneKeyFlag != 0 else { throw DNSSECError(.badKeyFile, "\(where_): flags \(flags) lack the Zone Key flag (256)") }
            guard let key = Data(base64Encoded: tokens[3...].joined()), !key.isEmpty else {
                throw DNSSECError(.badKeyFile, "\(where_): the public key is not base64")
            }
            let owner: DNSName
            do { owner = try DNSName(ownerText.hasSuffix(".") ? ownerText : ownerText + ".") } catch {
                throw DNSSECError(.badKeyFile, "\(where_): owner \(ownerText): \(error)")
            }
            found = (owner, DNSKEYData(flags: flags, protocol: proto, algorithm: alg, publicKey: Array(key)))
        }
        guard let found else { throw DNSSECError(.badKeyFile, "\(path): no DNSKEY record") }
        return found
    }

    /// The `Field: value` lines of a `.private` file, by lower-cased field, with their line numbers.
    static func parsePrivate(_ text: String, path: String) throws(DNSSECError) -> [String: (Int, String)] {
        var fields: [String: (Int, String)] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix(";") else { continue }
            guard let colon = line.firstIndex(of: ":") else { throw DNSSECError(.badKeyFile, "\(path):\(index + 1): not a \"Field: value\" line") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            fields[name] = (index + 1, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        guard let (line, format) = fields["private-key-format"] else { throw DNSSECError(.badKeyFile, "\(path): no Private-key-format line") }
        guard format.hasPrefix("v1.") else { throw DNSSECError(.badKeyFile, "\(path):\(line): Private-key-format \(format); v1.2 or v1.3 is read") }
        return fields
    }

    /// The two files' texts, as BIND 9.18 writes them (format v1.3, with the key's times:
    /// published and active from `created` unless `timing` says otherwise).
    public static func render(_ key: SigningKey, created: Date, timing: KeyDirectory.Timing? = nil) -> (key: String, private: String) {
        let stamp = timestamp(created)
        let kind = key.dnskey.isSecureEntryPoint ? "key-signing" : "zone-signing"
        var times = KeyDirectory.Timing()
        times.publish = Int64(created.timeIntervalSince1970)
        times.activate = times.publish
        if let timing { times = timing }
        let stamps = KeyDirectory.fields.compactMap { field in times[keyPath: field.path].map { "\(field.name): \(timestamp(Date(timeIntervalSince1970: TimeInterval($0))))" } }
        let keyText = ([
            "; This is a \(kind) key, keyid \(key.keyTag), for \(key.zone.description.lowercased())",
            "; Created: \(stamp)",
        ] + stamps.map { "; " + $0 } + ["\(key.zone.description.lowercased()) IN DNSKEY \(key.dnskey.presentation)", ""]).joined(separator: "\n")
        var lines = ["Private-key-format: v1.3", "Algorithm: \(key.algorithm.rawValue) (\(key.algorithm.mnemonic))"]
        func b64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
        switch key.material {
        case .p256(let k): lines.append("PrivateKey: \(b64(Array(k.rawRepresentation)))")
        case .ed25519(let k): lines.append("PrivateKey: \(b64(Array(k.rawRepresentation)))")
        case .rsa(_, let c):
            lines += ["Modulus: \(b64(c.modulus))", "PublicExponent: \(b64(c.publicExponent))", "PrivateExponent: \(b64(c.privateExponent))",
                      "Prime1: \(b64(c.prime1))", "Prime2: \(b64(c.prime2))", "Exponent1: \(b64(c.exponent1))", "Exponent2: \(b64(c.exponent2))",
                      "Coefficient: \(b64(c.coefficient))"]
        }
        lines += ["Created: \(stamp)"] + stamps
        return (keyText, lines.joined(separator: "\n") + "\n")
    }

    /// Writes the pair into `directory`: the `.private` file created with mode 0600, never
    /// replacing an existing file. Returns the two paths.
    public static func write(_ key: SigningKey, directory: String, created: Date = Date(),
                             timing: KeyDirectory.Timing? = nil) throws(DNSSECError) -> (key: String, private: String) {
        let base = (directory as NSString).appendingPathComponent(baseName(key))
        let (keyText, privateText) = render(key, created: created, timing: timing)
        for (path, text, mode) in [(base + ".private", privateText, mode_t(0o600)), (base + ".key", keyText, mode_t(0o644))] {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
            guard fd >= 0 else { throw DNSSECError(.fileAccess, "\(path): cannot create: \(String(cString: strerror(errno)))") }
            let bytes = Array(text.utf8)
            let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == bytes.count else { throw DNSSECError(.fileAccess, "\(path): short write") }
        }
        return (base + ".key", base + ".private")
    }

    /// Replaces the file at `path` with `text` (written beside it, then renamed over it, so a
    /// reader sees the old file or the new one).
    static func replace(_ path: String, _ text: String, mode: mode_t) throws(DNSSECError) {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw DNSSECError(.fileAccess, "\(temporary): cannot create: \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw DNSSECError(.fileAccess, "\(path): cannot replace: \(String(cString: strerror(errno)))")
        }
    }

    /// A YYYYMMDDHHMMSS time in UTC as seconds since 1970, or nil.
    static func time(_ text: String) -> Int64? {
        let digits = Array(text.utf8)
        guard digits.count == 14, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        func number(_ range: Range<Int>) -> Int32 { digits[range].reduce(0) { $0 * 10 + Int32($1 - 48) } }
        var parts = tm()
        parts.tm_year = number(0..<4) - 1900
        parts.tm_mon = number(4..<6) - 1
        parts.tm_mday = number(6..<8)
        parts.tm_hour = number(8..<10)
        parts.tm_min = number(10..<12)
        parts.tm_sec = number(12..<14)
        guard (0...11).contains(parts.tm_mon), (1...31).contains(parts.tm_mday), parts.tm_hour < 24, parts.tm_min < 60, parts.tm_sec < 61 else { return nil }
        return Int64(timegm(&parts))
    }

    /// YYYYMMDDHHMMSS in UTC, as key files and RRSIGs write times.
    static func timestamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d%02d%02d%02d%02d%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
