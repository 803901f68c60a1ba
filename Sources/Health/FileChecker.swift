public import HealthModel
import Foundation
public import Logging
import Synchronization

/// `file`: an operator's file at `path` says what is up, down or drained:
///
/// ```
/// # comments and blank lines are ignored
/// iad down            # a data center: all its addresses
/// 192.0.2.10 drain    # one address (its answer ip or its check target)
/// dub up
/// ```
///
/// An address line wins over its data center's line; an address on no line is up; a missing file
/// makes every address up (logged once). The file is re-read only when its modification time,
/// size or inode changes. Its verdicts apply at once, without rise/fall.
public struct FileChecker: HealthChecker {
    public static let parameters = [CheckParameter("path", .filePath, required: true)]

    let path: String
    let cache: Cache

    public init(definition: CheckDefinition, logger: Logger) throws(HealthError) {
        guard let path = definition.parameters["path"], !path.isEmpty else {
            throw HealthError(.badParameter, check: definition.name, reason: "a file check needs 'path'")
        }
        self.path = path
        cache = Cache(path: path, check: definition.name, logger: logger)
    }

    public func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome {
        guard let entries = cache.entries() else { return CheckOutcome(.pass, "\(path) missing", immediate: true) }
        for key in [target.ip, target.endpoint, target.datacenter] {
            if let (state, line) = entries[key] {
                let reason = "\(path):\(line): \(key) \(state)"
                switch state {
                case .up: return CheckOutcome(.pass, reason, immediate: true)
                case .down: return CheckOutcome(.fail, reason, immediate: true)
                case .drain: return CheckOutcome(.drain, reason, immediate: true)
                }
            }
        }
        return CheckOutcome(.pass, "not in \(path)", immediate: true)
    }

    /// The parsed file, shared by every address of the check, re-read when the file changes.
    final class Cache: Sendable {
        typealias Entries = [String: (state: HealthModel.HealthState, line: Int)]
        struct Version: Equatable {
            var modified: Date?
            var size: Int?
            var inode: Int?
        }
        struct State {
            /// nil before the first read.
            var version: Version??
            var entries: Entries?
        }
        let path: String
        let check: String
        let logger: Logger
        let state = Mutex(State())
        /// Files whose absence has been logged and that have not come back since, across the
        /// checkers of every configuration the process has loaded.
        static let reportedMissing = Mutex(Set<String>())

        init(path: String, check: String, logger: Logger) {
            self.path = path
            self.check = check
            self.logger = logger
        }

        /// The current entries; nil when the file does not exist.
        func entries() -> Entries? {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let version = attributes.map {
                Version(modified: $0[.modificationDate] as? Date, size: ($0[.size] as? NSNumber)?.intValue,
                        inode: ($0[.systemFileNumber] as? NSNumber)?.intValue)
            }
            return state.withLock { s in
                if let known = s.version, known == version { return s.entries }
                s.version = .some(version)
                guard version != nil, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    // Once per disappearance, not once per reload (each reload makes a new checker).
                    if Self.reportedMissing.withLock({ $0.insert(path).inserted }) {
                        logger.warning("health file missing: every address it covers is up",
                                       metadata: ["check": "\(check)", "path": "\(path)"])
                    }
                    s.entries = nil
                    return nil
                }
                _ = Self.reportedMissing.withLock { $0.remove(path) }
                s.entries = parse(text)
                return s.entries
            }
        }

        func parse(_ text: String) -> Entries {
            var entries: Entries = [:]
            for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let words = raw.prefix { $0 != "#" }.split(whereSeparator: \.isWhitespace)
                guard !words.isEmpty else { continue }
                let state: HealthModel.HealthState? = switch words.count == 2 ? words[1].lowercased() : "" {
                case "up": .up
                case "down": .down
                case "drain": .drain
                default: nil
                }
                guard let state else {
                    logger.warning("health file line ignored: expected 'NAME up|down|drain'",
                                   metadata: ["check": "\(check)", "path": "\(path)", "line": "\(index + 1)"])
                    continue
                }
                entries[String(words[0])] = (state, index + 1)
            }
            return entries
        }
    }
}
