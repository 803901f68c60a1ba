import Foundation
import Health
import ServerConfig
import Testing

/// A zone's `dnssec:` settings: the key pair named, the validity, refresh and inception offset,
/// and every mistake reported with its line and key.
@Suite struct SigningConfigTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "meridian-signing-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in ["example.com.zone", "Kexample.com.+013+00001.key", "Kexample.com.+013+00001.private", "Kexample.com.+013+00002.key"] {
            try "; test\n".write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
        }
    }

    func parse(_ dnssec: String, primaries: String = "") throws(ServerConfigErrors) -> ServerConfiguration {
        try ServerConfiguration.parse(yaml: """
            listen: ["127.0.0.1:5353"]
            zones:
              - origin: example.com.
                file: example.com.zone
            \(primaries)    dnssec: \(dnssec)
            """, file: "m.yaml", baseDirectory: directory, checkKinds: HealthCheckers.kinds)
    }

    func errors(_ dnssec: String, primaries: String = "") -> [String] {
        do {
            _ = try parse(dnssec, primaries: primaries)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func parsesSettings() throws {
        let zone = try parse("{ keys: [Kexample.com.+013+00001.key], validity: 30d, refresh: 10d, inception-offset: 2h }").zones[0]
        #expect(zone.signing?.keys == [directory + "/Kexample.com.+013+00001"])
        #expect(zone.signing?.validity == .seconds(30 * 86_400) && zone.signing?.refreshSeconds == 10 * 86_400)
        #expect(zone.signing?.inceptionOffset == .seconds(7_200))
        let rolling = try parse("{ keys: [Kexample.com.+013+00001], publish: [Kexample.com.+013+00002], cds: true }").zones[0].signing
        #expect(rolling?.publish == [directory + "/Kexample.com.+013+00002"] && rolling?.cds == true, "a published key needs no .private")
        let defaults = try parse("{ keys: [Kexample.com.+013+00001] }").zones[0].signing
        #expect(defaults?.validity == .seconds(14 * 86_400) && defaults?.refreshSeconds == 7 * 86_400 && defaults?.inceptionOffset == .seconds(3_600))
        #expect(defaults?.jitterSeconds == Int64(43_200), "BIND's 12 hours by default")
        let short = try parse("{ keys: [Kexample.com.+013+00001], validity: 4h }").zones[0].signing
        #expect(short?.jitterSeconds == 1_800, "at most a quarter of refresh (2h)")
        let jittered = try parse("{ keys: [Kexample.com.+013+00001], jitter: 1d }").zones[0].signing
        #expect(jittered?.jitterSeconds == 86_400)
    }

    @Test func mistakesSayWhere() {
        let cases: [(String, String, String)] = [
            ("{ validity: 14d }", "", "m.yaml:5: zones.dnssec.keys: required key is missing"),
            ("{ keys: [Kexample.com.+013+00002] }", "", "Kexample.com.+013+00002.private: no such file"),
            ("{ keys: [Kmissing] }", "", "Kmissing.key: no such file"),
            ("{ keys: [Kexample.com.+013+00001], validity: 30m }", "", "at least 1h"),
            ("{ keys: [Kexample.com.+013+00001], validity: 2h, refresh: 2h }", "", "zones.dnssec.refresh: shorter than validity"),
            ("{ keys: [Kexample.com.+013+00001, Kexample.com.+013+00001] }", "", "one combined key (CSK), or a KSK and a ZSK"),
            ("{ keys: [Kexample.com.+013+00001], refresh: 2d, jitter: 2d }", "", "zones.dnssec.jitter: shorter than refresh"),
            ("{ keys: [Kexample.com.+013+00001], publish: [Kmissing] }", "", "Kmissing.key: no such file"),
            ("{ keys: [Kexample.com.+013+00001], cds: maybe }", "", "zones.dnssec.cds: \"maybe\" is not true or false"),
            ("{ keys: [Kexample.com.+013+00001], nsec3: yes }", "", "zones.dnssec.nsec3: unknown key"),
            ("{ keys: [Kexample.com.+013+00001] }", "    primaries: [192.0.2.53]\n", "a secondary zone is served as its primary signed it"),
        ]
        for (dnssec, primaries, want) in cases {
            let said = errors(dnssec, primaries: primaries)
            #expect(said.contains { $0.contains(want) }, "\(dnssec): \(said) should say \(want)")
        }
    }
}
