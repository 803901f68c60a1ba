import DNSWire
import Foundation
import Health
import ServerConfig
import Testing

/// `primaries:` and `primary-key:` of a secondary zone, and the checks on its stored file.
private func parse(_ yaml: String, in directory: String) throws(ServerConfigErrors) -> ServerConfiguration {
    try ServerConfiguration.parse(yaml: yaml, file: "m.yaml", baseDirectory: directory, checkKinds: HealthCheckers.kinds)
}

private func temporaryDirectory() throws -> String {
    let directory = NSTemporaryDirectory() + "meridian-secondary-config-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}

@Test func parsesSecondaryZones() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = try parse("""
        listen: ["127.0.0.1:5353"]
        zones:
          - origin: example.net.
            file: example.net.zone
            primaries: ["127.0.0.1:53001", "::1", 192.0.2.53, "[::1]:5300"]
            primary-key: xfr-key
            notify: ["127.0.0.1:5400"]
        tsig-keys:
          - { name: xfr-key, algorithm: hmac-sha256, secret: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= }
        """, in: dir)
    let zone = config.zones[0]
    #expect(zone.isSecondary)
    #expect(zone.file == dir + "/example.net.zone")
    #expect(zone.primaries == [ListenAddress("127.0.0.1:53001")!, ListenAddress("[::1]:53")!, ListenAddress("192.0.2.53:53")!,
                               ListenAddress("[::1]:5300")!])
    #expect(zone.primaryKey == (try DNSName("xfr-key.")))
    #expect(zone.notify == [ListenAddress("127.0.0.1:5400")!])
}

@Test func rejectsBadSecondaryZones() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let errors: [ServerConfigError]
    do {
        _ = try parse("""
            listen: ["127.0.0.1:5353"]
            zones:
              - origin: example.net.
                file: example.net.zone
                primaries: ["primary.example:53", "127.0.0.1:99999"]
                primary-key: missing-key
              - origin: example.org.
                file: no-such-directory/example.org.zone
                primaries: [127.0.0.1]
              - origin: example.info.
                file: example.info.zone
                primary-key: lonely-key
            """, in: dir)
        Issue.record("expected errors")
        return
    } catch {
        errors = error.errors
    }
    let seen = errors.map { "\($0.code) \($0.line ?? 0)" }
    #expect(seen.contains("badAddress 5"), "\(errors)")
    #expect(errors.filter { $0.code == .badAddress }.count == 2, "\(errors)")
    #expect(seen.contains("unknownTSIGKey 6"), "\(errors)")
    #expect(seen.contains("unwritableZoneFile 8"), "\(errors)")
    #expect(errors.contains { $0.code == .missingZoneFile && $0.line == 11 }, "\(errors)")
    #expect(errors.contains { $0.code == .missingKey && $0.key == "zones.primaries" }, "\(errors)")
    #expect(errors.first { $0.code == .unwritableZoneFile }?.description.hasPrefix("m.yaml:8: zones.file: ") == true, "\(errors)")
}
