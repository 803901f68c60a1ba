import Health
import DNSWire
import DNSZone
import Foundation
import IPNet
import QueryEngine
import Routing
import ServerConfig
import ZoneFile

/// A private directory for the text targets' files: in memory (/dev/shm) when there is one, one
/// per process so parallel fuzzers never share a file.
enum Scratch {
    static let directory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/meridian-fuzz-\(getpid())"
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            fatalError("fuzz scratch directory \(path): \(error)")
        }
        return path
    }()

    /// Writes `bytes` to `name` in the directory and returns its path.
    static func write(_ bytes: UnsafeRawBufferPointer, as name: String) -> String {
        let path = directory + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
        return path
    }
}

/// Target (c), the zone-file reader: any text as the zone file of `example.` read through
/// `ZoneFile` (entries in Swift, records through ldns, then the semantic checks). When it loads,
/// the zone is compiled and every owner (the first 16) is asked for its type and ANY over UDP and
/// TCP, each response passing `ResponseCheck`.
public enum ZoneFileTarget {
    public static let name = "zonefile"
    static let origin = DNSName.root.child("example")
    nonisolated(unsafe) static let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)

    public static func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let path = Scratch.write(input, as: "fuzz.zone")
        let records: [ZoneRecord]
        do { records = try ZoneFile.read(origin: origin, path: path) } catch { return }
        guard ZoneFile.validate(origin: origin, records: records).isEmpty else { return }
        let engine = QueryEngine(zones: ZoneSet(zones: [Zone(origin: origin, records: records)]))
        var state = RoutingState(seed: 2)
        let client = IPAddress("127.0.0.1")!
        for (i, record) in records.prefix(16).enumerated() {
            for (j, qtype) in [record.type, RRType.any].enumerated() {
                let wire = Message.query(id: UInt16(i), name: record.owner, type: qtype, edns: j == 0 ? nil : (1232, true))
                try ResponseCheck.respond(engine, toWire: wire, from: client, over: i % 2 == 0 ? .udp : .tcp, into: buffer, state: &state, target: Self.name)
            }
        }
    }
}

/// Target (c), the configuration parser: any text as a configuration file (YAML through Yams,
/// then every key validated). Relative paths resolve inside the scratch directory, which holds
/// nothing but the fuzzers' own files.
public enum ConfigTarget {
    public static let name = "config"

    public static func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let text = String(decoding: input, as: UTF8.self)
        _ = try? ServerConfiguration.parse(yaml: text, file: "fuzz.yaml", baseDirectory: Scratch.directory, checkKinds: HealthCheckers.kinds)
    }
}
