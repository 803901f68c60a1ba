import Foundation
import Testing

/// DNSSEC keys (issue 12, keys): `meridian keygen` writes pairs BIND and ldns read (BIND signs a
/// zone with them, ldns verifies it), and Meridian reads the pairs `dnssec-keygen` and
/// `ldns-keygen` make; the DS records Meridian prints are the ones `dnssec-dsfromkey` computes.
@Suite struct DNSSECKeyTests {
    static let algorithms = [("13", "ECDSAP256SHA256"), ("15", "ED25519"), ("8", "RSASHA256")]

    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `dnssec-dsfromkey -a SHA-256`'s DS line for the key file, lower-cased, fields joined by one space.
    static func bindDS(_ keyFile: String) throws -> String {
        let r = try E2E.run(try E2E.tool("dnssec-dsfromkey"), ["-a", "SHA-256", keyFile], timeout: 30)
        return r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
    }

    @Test("meridian keygen: BIND's dnssec-dsfromkey gives the DS it printed, dnssec-signzone signs a zone with the pair, ldns-verify-zone verifies it; the private file is 0600",
          arguments: algorithms)
    func keygenPairsWorkInBINDAndLdns(_ algorithm: (String, String)) throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try E2E.run(try E2E.meridianBinary(), ["keygen", "example.com.", "--algorithm", algorithm.0, "--directory", dir.path], timeout: 60)
        #expect(r.status == 0, "\(r)")
        let paths = r.stderr.split(separator: "\n").map(String.init)
        let keyFile = try #require(paths.first { $0.hasSuffix(".key") }, "\(r)")
        let privateFile = try #require(paths.first { $0.hasSuffix(".private") }, "\(r)")
        #expect(URL(fileURLWithPath: keyFile).lastPathComponent.hasPrefix("Kexample.com.+\(String(repeating: "0", count: 3 - algorithm.0.count))\(algorithm.0)+"))
        #expect((try FileManager.default.attributesOfItem(atPath: privateFile)[.posixPermissions] as? Int) == 0o600)
        let printed = r.stdout.split(separator: "\n").map { $0.lowercased() }
        let bindDS = try Self.bindDS(keyFile)
        #expect(printed.count == 2 && printed.contains(bindDS), "meridian: \(printed)\nBIND: \(bindDS)")

        // BIND signs a zone with the pair (reading Meridian's .private), and ldns verifies it.
        let zone = dir.appendingPathComponent("example.com.zone")
        try """
            $TTL 300
            @ IN SOA ns hostmaster 1 7200 3600 1209600 300
            @ IN NS ns
            ns IN A 192.0.2.53
            www IN A 192.0.2.1
            $INCLUDE \(keyFile)

            """.write(to: zone, atomically: true, encoding: .utf8)
        let signed = try E2E.run(try E2E.tool("dnssec-signzone"), ["-K", dir.path, "-d", dir.path, "-o", "example.com.", "-z", "-f", zone.path + ".signed", zone.path],
                                 timeout: 60)
        #expect(signed.status == 0, "\(signed)")
        let verified = try E2E.run(try E2E.tool("ldns-verify-zone"), [zone.path + ".signed"], timeout: 60)
        #expect(verified.status == 0 && verified.stdout.contains("Zone is verified"), "\(verified)")
    }

    @Test("meridian ds reads the pairs dnssec-keygen and ldns-keygen make and prints the DS BIND computes; a readable private key or a mismatched pair is refused with the file and the reason",
          arguments: algorithms)
    func readsOtherToolsKeys(_ algorithm: (String, String)) throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bits = algorithm.0 == "8" ? ["-b", "2048"] : []
        let bind = try E2E.run(try E2E.tool("dnssec-keygen"), ["-K", dir.path, "-a", algorithm.1, "-f", "KSK"] + bits + ["example.net"], timeout: 120)
        #expect(bind.status == 0, "\(bind)")
        let bindKey = dir.appendingPathComponent(bind.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + ".key").path
        let ldnsDir = dir.appendingPathComponent("ldns")
        try FileManager.default.createDirectory(at: ldnsDir, withIntermediateDirectories: true)
        let ldns = try E2E.run("/bin/sh", ["-c", "cd \(ldnsDir.path) && exec \(try E2E.tool("ldns-keygen")) -a \(algorithm.1) -k \(algorithm.0 == "8" ? "-b 2048" : "") example.org"],
                               timeout: 120)
        #expect(ldns.status == 0, "\(ldns)")
        let ldnsKey = ldnsDir.appendingPathComponent(ldns.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + ".key").path
        for key in [bindKey, ldnsKey] {
            // ldns-keygen leaves its .private readable by others; Meridian refuses it until it is not.
            chmod(key.replacingOccurrences(of: ".key", with: ".private"), 0o644)
            let open = try E2E.run(try E2E.meridianBinary(), ["ds", key], timeout: 30)
            #expect(open.status == 1 && open.stderr.contains("readable by others") && open.stderr.contains("chmod 600"), "\(open)")
            chmod(key.replacingOccurrences(of: ".key", with: ".private"), 0o600)
            let r = try E2E.run(try E2E.meridianBinary(), ["ds", key], timeout: 30)
            let bindDS = try Self.bindDS(key)
            #expect(r.status == 0 && r.stdout.split(separator: "\n").map { $0.lowercased() }.contains(bindDS), "\(key):\n\(r)\nBIND: \(bindDS)")
        }
        // The public half of one pair with the private half of the other: refused.
        let mixed = dir.appendingPathComponent("Kmixed")
        try FileManager.default.copyItem(atPath: bindKey, toPath: mixed.path + ".key")
        try FileManager.default.copyItem(atPath: ldnsKey.replacingOccurrences(of: ".key", with: ".private"), toPath: mixed.path + ".private")
        chmod(mixed.path + ".private", 0o600)
        let refused = try E2E.run(try E2E.meridianBinary(), ["ds", mixed.path], timeout: 30)
        #expect(refused.status == 1 && refused.stderr.contains("Kmixed.private") && refused.stderr.contains("not the one whose public key"), "\(refused)")
    }
}
