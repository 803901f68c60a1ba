import Foundation
import HealthModel

/// The last known states, saved as JSON so that a restart starts from them. Entries are matched
/// to addresses by data center, ip, check target and check name, so a config edit that renumbers
/// addresses keeps them.
struct StateFile: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var datacenter: String
        var ip: String
        var target: String?
        var check: String
        var state: String
        var since: Double
        var reason: String
        var drained: Bool

        var key: String { [datacenter, ip, target ?? "", check].joined(separator: "\u{1F}") }
    }

    /// Bumped when the format changes incompatibly; other versions are ignored.
    static let currentVersion = 1
    var version = currentVersion
    var addresses: [Entry]

    /// Reads `path`; nil when it is missing or unreadable (every address then starts up).
    static func load(_ path: String) throws -> StateFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file = try JSONDecoder().decode(StateFile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        return file.version == currentVersion ? file : nil
    }

    /// Writes to a temporary file beside `path`, then renames it over `path`, so a reader or a crash
    /// never sees half a file.
    func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = "\(path).tmp-\(getpid())"
        try encoder.encode(self).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "rename to \(path): \(reason)"])
        }
    }
}
