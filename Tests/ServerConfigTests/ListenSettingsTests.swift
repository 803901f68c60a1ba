import Routing
import HealthModel
import IPNet
import Health
import Foundation
import ServerConfig
import Testing

/// `udp-receive-buffer`, `udp-send-buffer` and `pid-file`.
@Suite("Listen settings")
struct ListenSettingsTests {
    static let base = "listen: [\"127.0.0.1:5353\"]\nzones: [{ origin: example.com., file: example.com.zone }]\n"

    /// A directory with the zone file `base` names (zone files must exist).
    static let directory: String = {
        let d = NSTemporaryDirectory() + "meridian-listen-settings-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try? "; zone\n".write(toFile: d + "/example.com.zone", atomically: true, encoding: .utf8)
        return d
    }()

    static func parse(_ extra: String) throws(ServerConfigErrors) -> ServerConfiguration {
        try ServerConfiguration.parse(yaml: extra + base, file: "m.yaml", baseDirectory: directory, checkKinds: HealthCheckers.kinds)
    }

    static func errors(_ extra: String) -> [String] {
        do {
            _ = try parse(extra)
            return []
        } catch {
            return error.errors.map { "\($0.line ?? 0) \($0.key ?? "-") \($0.code)" }
        }
    }

    @Test func defaults() throws {
        let c = try Self.parse("")
        #expect(c.udpBuffers.receive == 8 << 20 && c.udpBuffers.send == 1 << 20)
        #expect(c.pidFile == nil)
    }

    @Test(arguments: [("262144", 262_144), ("512K", 512 << 10), ("512k", 512 << 10), ("8M", 8 << 20), ("4K", 4096), ("1024M", 1 << 30)])
    func sizes(text: String, bytes: Int) throws {
        let c = try Self.parse("udp-receive-buffer: \(text)\nudp-send-buffer: \(text)\n")
        #expect(c.udpBuffers.receive == bytes && c.udpBuffers.send == bytes)
    }

    @Test(arguments: ["4095", "3K", "1025M", "2G", "-1", "8 M", "M", "", "99999999999M", "0x100000"])
    func badSizes(text: String) {
        #expect(Self.errors("udp-receive-buffer: \"\(text)\"\n") == ["1 udp-receive-buffer invalidValue"], "\"\(text)\"")
    }

    @Test func pidFile() throws {
        #expect(try Self.parse("pid-file: run/meridian.pid\n").pidFile == Self.directory + "/run/meridian.pid")
        #expect(try Self.parse("pid-file: /run/meridian.pid\n").pidFile == "/run/meridian.pid")
        #expect(Self.errors("pid-file: \"\"\n") == ["1 pid-file invalidValue"])
        #expect(Self.errors("pid-file: [a, b]\n") == ["1 pid-file wrongType"])
    }
}
