public import DNSWire
import Foundation
public import Logging
public import ServerConfig
public import ZoneTransfer

/// The IXFR journals on disk (`journal-dir`): one file per zone with `transfer`, named after its
/// origin (`example.com.journal`), in `JournalCoding`'s format, replaced whole at every change
/// (written to a temporary file in the directory, then renamed over the old one), so a crash
/// leaves the old journal or the new, never a mix.
public struct JournalStore: Sendable {
    public let directory: String
    public init(directory: String) { self.directory = directory }

    /// The file of zone `origin`: its lower-case name with every byte other than a letter, digit,
    /// `-`, `_` or `.` written `%XX`, and `.journal`; the root zone's is `root.journal`.
    public func path(for origin: DNSName) -> String {
        let text = origin.lowercased().description
        var name = ""
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                name.append(Character(Unicode.Scalar(b)))
            default: name += String(format: "%%%02X", b)
            }
        }
        return directory + "/" + (text == "." ? "root" : name) + "journal"
    }

    /// The stored journal of every zone of `config` with `transfer`. A missing file is no journal;
    /// one that cannot be read or decoded is logged with its path and reason and ignored (that
    /// zone's IXFR is answered AXFR-style until its next change, which rewrites the file).
    public func read(_ config: ServerConfiguration, logger: Logger) -> [DNSName: ZoneJournal] {
        var journals: [DNSName: ZoneJournal] = [:]
        for entry in config.zones where entry.transfer != nil {
            let file = path(for: entry.origin)
            guard FileManager.default.fileExists(atPath: file) else { continue }
            do {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
                journals[entry.origin] = try JournalCoding.decode(bytes, origin: entry.origin)
            } catch {
                logger.error("\(file): journal ignored, IXFR answered with the whole zone until the next change: \(error)")
            }
        }
        return journals
    }

    /// Writes `journal` as zone `origin`'s file, creating the directory when needed.
    public func write(_ journal: ZoneJournal, origin: DNSName) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // `.atomic`: written to a temporary file in the same directory, then renamed over the old one.
        try Data(JournalCoding.encode(journal, origin: origin)).write(to: URL(fileURLWithPath: path(for: origin)), options: .atomic)
    }
}
