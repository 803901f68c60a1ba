@testable import DNSSEC
import DNSZone
import DNSWire
import Foundation
import Testing

private func b64(_ s: String) -> [UInt8] { Array(Data(base64Encoded: s) ?? Data()) }
/// `mail.example.com.` MX 10, as wire RDATA.
private let mxRData: [UInt8] = [0, 10] + ((try? DNSName("mail.example.com.").wire) ?? [])

/// The examples of RFC 8080 §6.1 (Ed25519, with verified erratum 4935) and RFC 6605 §6.1
/// (ECDSA P-256): keys in BIND's file format, their key tags and DS records, and signatures.
/// Ed25519 signing is deterministic, so Meridian's signature must be the RFC's byte for byte;
/// an ECDSA signature has a random nonce, so the RFC's own must verify under the key instead.
@Suite struct RFCExampleTests {
    static let ed25519Private = "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n"
    static let ed25519Key = "example.com. 3600 IN DNSKEY 257 3 15 (\n  l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= )\n"

    @Test func ed25519KeyTagDSAndSignature() throws {
        let key = try KeyFile.parse(key: Self.ed25519Key, private: Self.ed25519Private)
        #expect(key.keyTag == 3613 && key.algorithm == .ed25519 && key.dnskey.flags == 257)
        #expect(DNSKEYData.dsPresentation(key.dnskey.ds(owner: key.zone))
                == "3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b")
        let sig = try RRSetSigner.sign(owner: try DNSName("example.com."), type: .mx, ttl: 3600, rdatas: [mxRData], key: key,
                                       inception: 1_438_207_200, expiration: 1_440_021_600)
        #expect(sig.labels == 2 && sig.keyTag == 3613 && sig.originalTTL == 3600)
        #expect(sig.signature == b64("oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg=="))
        // The same RRset given twice, in upper case: canonical form and order make it the same data.
        let upper = [0, 10] + (try DNSName("MAIL.Example.COM.").wire)
        let again = try RRSetSigner.sign(owner: try DNSName("EXAMPLE.com."), type: .mx, ttl: 3600, rdatas: [upper, mxRData], key: key,
                                         inception: 1_438_207_200, expiration: 1_440_021_600)
        #expect(again.signature == sig.signature)
    }

    @Test func ecdsaP256KeyTagDSAndTheRFCSignatureVerifies() throws {
        let key = try KeyFile.parse(
            key: "example.net. 3600 IN DNSKEY 257 3 13 ( GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )",
            private: "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n")
        #expect(key.keyTag == 55648)
        #expect(DNSKEYData.dsPresentation(key.dnskey.ds(owner: key.zone))
                == "55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17")
        // www.example.net. 3600 IN A 192.0.2.1, RRSIG A 13 3 3600 20100909100439 20100812100439 55648.
        let owner = try DNSName("www.example.net.")
        var fields = RRSIGData(typeCovered: .a, algorithm: 13, labels: 3, originalTTL: 3600, expiration: 1_284_026_679,
                               inception: 1_281_607_479, keyTag: 55648, signerName: try DNSName("example.net."), signature: [])
        let data = RRSetSigner.signedData(owner: owner, type: .a, rdatas: [[192, 0, 2, 1]], fields: fields)
        let rfc = b64("qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==")
        #expect(try key.verify(rfc, over: data), "RFC 6605's signature verifies over Meridian's signed data")
        fields.signature = try key.sign(data)
        let verifies = try key.verify(fields.signature, over: data)
        #expect(fields.signature.count == 64 && verifies)
        #expect(try !key.verify(fields.signature, over: data + [0]))
    }
}

@Suite struct KeyFileTests {
    @Test(arguments: DNSSECAlgorithm.allCases)
    func generatedKeysRoundTripThroughTheirFiles(_ algorithm: DNSSECAlgorithm) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dnssec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = try SigningKey.generate(zone: try DNSName("Example.COM."), algorithm: algorithm, secureEntryPoint: algorithm != .ed25519)
        let (keyPath, privatePath) = try KeyFile.write(key, directory: dir.path)
        #expect(keyPath.hasSuffix("/Kexample.com.+\(String(format: "%03d", algorithm.rawValue))+\(String(format: "%05d", key.keyTag)).key"))
        let mode = (try FileManager.default.attributesOfItem(atPath: privatePath)[.posixPermissions] as? Int) ?? -1
        #expect(mode == 0o600)
        let read = try KeyFile.read(keyPath)
        #expect(read.dnskey == key.dnskey && read.zone == key.zone)
        let data: [UInt8] = Array("signed data".utf8)
        #expect(try read.verify(key.sign(data), over: data), "a signature of the generated key verifies under the key read back")
        #expect(throws: DNSSECError.self, "a pair is never overwritten") { try KeyFile.write(key, directory: dir.path) }
        // Readable by others: refused, saying how to fix it.
        chmod(privatePath, 0o644)
        #expect { try KeyFile.read(privatePath) } throws: { ($0 as? DNSSECError)?.code == .fileAccess && "\($0)".contains("chmod 600") }
    }

    @Test func badFilesSayWhereAndWhy() throws {
        let key = RFCExampleTests.ed25519Key, priv = RFCExampleTests.ed25519Private
        let cases: [(String, String, String)] = [
            ("example.com. IN A 192.0.2.1\n", priv, ".key:1: not a DNSKEY record"),
            ("example.com. IN DNSKEY 257 2 15 AAAA\n", priv, ".key:1: protocol 2"),
            ("example.com. IN DNSKEY 1 3 15 AAAA\n", priv, "lack the Zone Key flag"),
            ("example.com. IN DNSKEY 257 3 15 !!!!\n", priv, "not base64"),
            (key + key, priv, ".key:3: a second record"),
            ("; nothing\n", priv, "no DNSKEY record"),
            (key, "Algorithm: 15 (ED25519)\nPrivateKey: AAAA\n", "no Private-key-format"),
            (key, "Private-key-format: v1.2\nAlgorithm: 14 (ECDSAP384SHA384)\nPrivateKey: AAAA\n", ".private:2: algorithm 14 is not signed with"),
            (key, "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\n", "but .key has a key of algorithm 15"),
            (key, "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: AAAA\n", "32 bytes, not 3"),
            (key, "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=\n", "not the one whose public key"),
            (key, "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\n", "no PrivateKey field"),
            (key, "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nthis line\n", ".private:3: not a \"Field: value\" line"),
        ]
        for (k, p, want) in cases {
            let said = Self.error(k, p)
            #expect(said.contains(want), "\(said): should say \(want)")
        }
    }

    static func error(_ key: String, _ priv: String) -> String {
        do { _ = try KeyFile.parse(key: key, private: priv); return "parsed" } catch { return error.description }
    }

    @Test func keyTagOfKnownKeysAndAlgorithmNames() throws {
        #expect(DNSSECAlgorithm(name: "13") == .ecdsaP256SHA256 && DNSSECAlgorithm(name: "ed25519") == .ed25519
                && DNSSECAlgorithm(name: "RSASHA256") == .rsaSHA256 && DNSSECAlgorithm(name: "5") == nil && DNSSECAlgorithm(name: "x") == nil)
        #expect(try DNSKEYData(rdata: DNSKEYData(flags: 256, algorithm: 13, publicKey: [1, 2, 3]).rdata).publicKey == [1, 2, 3])
        #expect(throws: DNSSECError.self) { try DNSKEYData(rdata: [1, 0, 3, 13]) }
        let (wildcard, plain) = (try DNSName("*.example.com."), try DNSName("a.b.example."))
        #expect(RRSetSigner.labels(wildcard) == 2 && RRSetSigner.labels(.root) == 0 && RRSetSigner.labels(plain) == 3)
    }
}

/// Signature jitter (RFC 6781 §4.4.2.2): each RRset's expiration is brought forward by its own
/// offset below the jitter, the same whenever it is signed in one window.
@Suite struct SignatureJitterTests {
    @Test func expirationsSpreadWithinTheJitterAndRepeat() throws {
        let key = try KeyFile.parse(key: RFCExampleTests.ed25519Key, private: RFCExampleTests.ed25519Private)
        let origin = try DNSName("example.com.")
        var records = [ZoneRecord(owner: origin, type: .soa, ttl: 3600,
                                  rdata: try DNSName("ns.example.com.").wire + (try DNSName("h.example.com.").wire) + [UInt8](repeating: 0, count: 19) + [1],
                                  location: SourceLocation(file: "t", line: 1))]
        for i in 0..<40 {
            records.append(ZoneRecord(owner: try DNSName("h\(i).example.com."), type: .a, ttl: 300, rdata: [192, 0, 2, UInt8(i)],
                                      location: SourceLocation(file: "t", line: i + 2)))
        }
        let zone = Zone(origin: origin, records: records)
        let validity = SignatureValidity(inception: 1_796_000_000, expiration: 1_797_000_000, jitter: 43_200)
        let signed = try ZoneSignatures(zone: zone, key: key, validity: validity)
        var expirations: [UInt32] = []
        for (offset, length, count) in signed.rrsetSignatures where count > 0 && length > 0 {
            let at = Int(offset) + 10 + 8  // TYPE CLASS TTL RDLENGTH, then type covered … original TTL
            expirations.append(UInt32(signed.records[at]) << 24 | UInt32(signed.records[at + 1]) << 16
                               | UInt32(signed.records[at + 2]) << 8 | UInt32(signed.records[at + 3]))
        }
        #expect(expirations.count == 40)
        #expect(expirations.allSatisfy { $0 <= 1_797_000_000 && $0 >= 1_797_000_000 - 43_200 }, "\(expirations)")
        #expect(Set(expirations).count >= 30, "spread over the window: \(Set(expirations).count) distinct of 40")
        let again = try ZoneSignatures(zone: zone, key: key, validity: validity)
        #expect(again.records == signed.records, "Ed25519 is deterministic and so is each offset: the same signatures")
        let owner = try DNSName("h1.example.com.").wire
        let e = owner.withUnsafeBytes { validity.expiration(owner: $0, type: .a) }
        #expect(expirations.contains(e), "the per-query signer uses the same offset as the zone's")
        let none = SignatureValidity(inception: 1_796_000_000, expiration: 1_797_000_000)
        #expect(owner.withUnsafeBytes { none.expiration(owner: $0, type: .a) } == 1_797_000_000)
    }
}

/// Key times as BIND's `dnssec-keygen` and `dnssec-settime` write them, and the states they give.
@Suite struct KeyTimingTests {
    @Test func bindTimesReadFromBothFilesAndStatesFollowThem() throws {
        let key = "; This is a zone-signing key, keyid 1, for example.com.\n; Created: 20261201000000 (Tue Dec  1 00:00:00 2026)\n"
            + "; Publish: 20261201000000 (Tue Dec  1 00:00:00 2026)\n; Activate: 20261202000000 (Wed Dec  2 00:00:00 2026)\n"
            + "example.com. IN DNSKEY 256 3 13 AAAA\n"
        let fromKey = try KeyDirectory.timing(key, comments: true)
        #expect(fromKey.publish == 1_796_083_200 && fromKey.activate == 1_796_169_600 && fromKey.inactive == nil && fromKey.delete == nil)
        let fromPrivate = try KeyDirectory.timing("Private-key-format: v1.3\nInactive: 20261203000000\nDelete: 20261204000000\n", comments: false)
        #expect(fromPrivate.inactive == 1_796_256_000 && fromPrivate.delete == 1_796_342_400)
        var timing = fromKey
        timing.inactive = fromPrivate.inactive
        timing.delete = fromPrivate.delete
        #expect(!timing.isPublished(at: 1_796_083_199) && timing.isPublished(at: 1_796_083_200) && !timing.isActive(at: 1_796_083_200))
        #expect(timing.isActive(at: 1_796_169_600) && !timing.isActive(at: 1_796_256_000) && timing.isPublished(at: 1_796_256_000))
        #expect(!timing.isPublished(at: 1_796_342_400))
        #expect(timing.events(after: 1_796_169_600) == [1_796_256_000, 1_796_342_400])
        #expect(throws: DNSSECError.self) { try KeyDirectory.timing("Activate: 2026120\n", comments: false) }
        #expect(KeyFile.time("20261301000000") == nil && KeyFile.time("19700101000000") == 0)
    }
}

/// The per-thread signature cache grows from a small table and arena as it fills, keeping every
/// entry: the second round of lookups all hit and hand back the bytes signed the first time.
@Suite struct SignatureCacheGrowthTests {
    @Test func entriesSurviveTheTablesGrowing() throws {
        let key = try KeyFile.parse(key: RFCExampleTests.ed25519Key, private: RFCExampleTests.ed25519Private)
        let origin = try DNSName("example.com.")
        let soa = ZoneRecord(owner: origin, type: .soa, ttl: 3600,
                             rdata: try DNSName("ns.example.com.").wire + (try DNSName("h.example.com.").wire) + [UInt8](repeating: 0, count: 19) + [1],
                             location: SourceLocation(file: "t", line: 1))
        let signatures = try ZoneSignatures(zone: Zone(origin: origin, records: [soa]), key: key,
                                            validity: SignatureValidity(inception: 1_796_000_000, expiration: 1_797_000_000))
        var cache = SignatureCache()
        let count = 3 * SignatureCache.initialEntries + 7  // past two doublings of the table, and of the arena
        var first: [[UInt8]] = []
        for round in 0..<2 {
            for i in 0..<count {
                let owner = try DNSName("n\(i).example.com.").wire
                var got: [UInt8] = []
                let signed = cache.withSignature(type: .a, ttl: 60, signatures: signatures, build: { k in
                    owner.withUnsafeBytes { k.owner($0) }
                    [UInt8(i & 0xFF), 0, 2, UInt8(i >> 8)].withUnsafeBytes { k.rdata($0) }
                }) { got = Array($0); return true }
                #expect(signed)
                if round == 0 { first.append(got) } else { #expect(got == first[i], "entry \(i) kept through the growth") }
            }
        }
        #expect(cache.misses == count && cache.hits == count && cache.count == count)
    }
}

/// Knot's keymgr keeps ECDSA keys as PKCS #8 PEM whose private scalar may be 33 bytes (a leading
/// zero) or 31: the scalar is read whatever its padding.
@Suite struct PKCS8Tests {
    @Test func ecPrivateKeyScalarOfAnyPadding() {
        let scalar: [UInt8] = [0x88] + [UInt8](repeating: 0x11, count: 31)
        func info(_ key: [UInt8]) -> [UInt8] {
            let ec: [UInt8] = [0x30, UInt8(3 + 2 + key.count), 0x02, 0x01, 0x01, 0x04, UInt8(key.count)] + key
            let algorithm: [UInt8] = [0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
            let body: [UInt8] = [0x02, 0x01, 0x00] + algorithm + [0x04, UInt8(ec.count)] + ec
            return [0x30, UInt8(body.count)] + body
        }
        #expect(KeyFile.pkcs8ECPrivateKey(info(scalar)) == scalar)
        #expect(KeyFile.pkcs8ECPrivateKey(info([0] + scalar)) == scalar, "33 bytes with a leading zero")
        let short: [UInt8] = [0x00] + [UInt8](repeating: 0x22, count: 31)
        #expect(KeyFile.pkcs8ECPrivateKey(info(Array(short.dropFirst()))) == short, "31 bytes, padded back")
        #expect(KeyFile.pkcs8ECPrivateKey(info([1] + scalar)) == nil, "33 significant bytes")
        #expect(KeyFile.pkcs8ECPrivateKey(Array(info(scalar).dropLast(5))) == nil, "cut short")
        #expect(KeyFile.pkcs8ECPrivateKey([]) == nil)
    }
}
