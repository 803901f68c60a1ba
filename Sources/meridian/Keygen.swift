import ArgumentParser
import DNSSEC
import DNSWire
import Foundation

/// `meridian keygen`: a DNSSEC key pair in BIND's key-file format, and the DS records for the parent.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a DNSSEC key pair for a zone and print the DS records for its parent.",
        discussion: """
            DESCRIPTION
              Writes K<zone>.+<algorithm>+<key tag>.key (the DNSKEY record) and .private
              (the private key, mode 0600) into --directory, in the format dnssec-keygen
              and ldns-keygen write, so keys made by either work the same. Never replaces
              an existing file. Prints the key's DS records (SHA-256, and SHA-384) for the
              parent zone on standard output, and the two paths on standard error.

            KEY KINDS
              csk (the default)  one combined key signing everything (flags 257)
              ksk                a key-signing key, signing the DNSKEY RRset (flags 257)
              zsk                a zone-signing key, signing the rest (flags 256; no DS)

            ALGORITHMS
              13 ECDSAP256SHA256 (the default), 15 ED25519, 8 RSASHA256 (--bits, 2048 to 4096)

            EXIT STATUS
              0  written; 1  a bad zone name, algorithm or directory, or a file already there
            """
    )

    @Argument(help: "The zone the key is for, e.g. example.com.") var zone: String
    @Option(help: "13 | ECDSAP256SHA256, 15 | ED25519, or 8 | RSASHA256.") var algorithm = "13"
    @Option(help: "csk, ksk or zsk.") var kind = "csk"
    @Option(help: "Bits of an RSA key.") var bits = 2048
    @Option(help: "Where to write the pair.") var directory = "."

    func run() throws {
        func fail(_ message: String) -> ExitCode {
            FileHandle.standardError.write(Data("meridian keygen: \(message)\n".utf8))
            return ExitCode.failure
        }
        guard let name = try? DNSName(zone.hasSuffix(".") ? zone : zone + ".") else { throw fail("\(zone) is not a domain name") }
        guard let algorithm = DNSSECAlgorithm(name: algorithm) else {
            throw fail("algorithm \(self.algorithm): use 13 (ECDSAP256SHA256), 15 (ED25519) or 8 (RSASHA256)")
        }
        guard ["csk", "ksk", "zsk"].contains(kind) else { throw fail("kind \(kind): use csk, ksk or zsk") }
        do {
            let key = try SigningKey.generate(zone: name, algorithm: algorithm, secureEntryPoint: kind != "zsk", rsaBits: bits)
            let (keyPath, privatePath) = try KeyFile.write(key, directory: directory)
            FileHandle.standardError.write(Data("\(keyPath)\n\(privatePath)\n".utf8))
            if key.dnskey.isSecureEntryPoint {
                let owner = name.description.lowercased()
                for digest in DSDigestType.allCases {
                    print("\(owner) IN DS \(DNSKEYData.dsPresentation(key.dnskey.ds(owner: name, digest: digest)))")
                }
            }
        } catch {
            throw fail(error.description)
        }
    }
}

/// `meridian ds`: the DS records of existing key pairs, each read as the server would read it.
struct DSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ds",
        abstract: "Read DNSSEC key pairs (BIND key-file format) and print their DS records.",
        discussion: """
            DESCRIPTION
              Reads each pair as the server does (the .key and .private files, the
              private key readable by its owner only and matching the public key) and
              prints the DS records (SHA-256 and SHA-384) of each key with the Secure
              Entry Point flag. A pair that cannot be used is reported as file: reason.

            EXIT STATUS
              0  every pair read; 1  a pair could not be used
            """
    )

    @Argument(help: "Key files (.key, .private, or the name without a suffix).") var keys: [String]

    func run() throws {
        var failed = false
        for path in keys {
            do {
                let key = try KeyFile.read(path)
                guard key.dnskey.isSecureEntryPoint else {
                    FileHandle.standardError.write(Data("\(path): a zone-signing key (flags \(key.dnskey.flags)): no DS\n".utf8))
                    continue
                }
                for digest in DSDigestType.allCases {
                    print("\(key.zone.description.lowercased()) IN DS \(DNSKEYData.dsPresentation(key.dnskey.ds(owner: key.zone, digest: digest)))")
                }
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}

/// `meridian rollover ZONE`: begins a ZSK rollover by pre-publication on the running server.
struct RolloverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollover",
        abstract: "Begin a ZSK rollover of a zone signed from a key directory (POST /zones/ZONE/rollover).",
        discussion: """
            DESCRIPTION
              The server writes a new ZSK (the algorithm of the active one) into the zone's
              dnssec.key-directory, published now and signing once the DNSKEY TTL and the
              propagation delay have passed; the old ZSK gets Inactive at that time and Delete
              once the zone's largest TTL and the propagation delay have passed after it (RFC
              6781 §4.1.1.1, RFC 7583 §3.2). It reloads at once and at each of those times.
              Prints the schedule. The times are in the key files (BIND's Publish, Activate,
              Inactive, Delete), so a restart keeps to them.

            EXIT STATUS
              0  begun; 1  refused (no key directory, a combined key, a rollover under way),
                 or the server could not be reached
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The zone, e.g. example.com.") var zone: String

    func run() async throws {
        let origin = zone.hasSuffix(".") ? zone : zone + "."
        let body = try await adminPost(options, path: "/zones/\(origin)/rollover", what: "rollover")
        struct Outcome: Decodable { var new_key: UInt16; var old_key: UInt16; var new_key_file: String; var activate: Int64; var delete: Int64 }
        guard let outcome = try? JSONDecoder().decode(Outcome.self, from: Data(body.utf8)) else {
            print(body)
            return
        }
        func at(_ t: Int64) -> String { Date(timeIntervalSince1970: TimeInterval(t)).formatted(.iso8601) }
        print("\(origin): ZSK \(outcome.new_key) published now (\(outcome.new_key_file))")
        print("\(origin): ZSK \(outcome.new_key) signs from \(at(outcome.activate)); ZSK \(outcome.old_key) stops signing then")
        print("\(origin): ZSK \(outcome.old_key) leaves the DNSKEY RRset at \(at(outcome.delete)); its files can be deleted after that")
    }
}
