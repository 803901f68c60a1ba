import DNSWire
import Foundation
import IPNet
import QueryEngine
import Routing
import ServerConfig
#if canImport(Glibc)
import Glibc
#endif

/// The query log: one JSON object per line for a sampled share of queries, appended to a file (or
/// written to standard output). Off unless configured; when off the query path pays one test of
/// an optional per batch. Each answering thread formats its lines into its own buffer and writes
/// them with one `write` after its batch is sent; `O_APPEND` keeps lines from different threads whole.
final class QueryLog: Sendable {
    let fd: Int32
    let sample: Double

    init(_ settings: QueryLogSettings) throws(DNSServerError) {
        sample = settings.sample
        if settings.path == "-" {
            fd = STDOUT_FILENO
            return
        }
        let fd = open(settings.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw DNSServerError(.queryLog, address: nil, reason: "query-log: cannot open \(settings.path): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
    }

    deinit { if fd != STDOUT_FILENO { close(fd) } }

    /// A writer for one answering thread.
    func writer() -> QueryLogWriter { QueryLogWriter(log: self) }
}

/// One thread's side of the query log: decides which queries are logged, formats their lines and
/// writes them out when asked (after each UDP batch, after each TCP message).
struct QueryLogWriter {
    let log: QueryLog
    private var sampler = RoutingState(seed: UInt64.random(in: 0...UInt64.max))
    private var pending: [UInt8] = []

    init(log: QueryLog) {
        self.log = log
        pending.reserveCapacity(4096)
    }

    /// Adds a line for this query when it is sampled.
    mutating func consider(
        _ query: UnsafeRawBufferPointer, _ outcome: QueryOutcome, client: IPAddress, transport: Transport, engine: QueryEngine
    ) {
        guard log.sample >= 1 || sampler.unit() < log.sample else { return }
        pending += QueryLogLine.format(query, outcome, client: client, transport: transport, engine: engine).utf8
        pending.append(UInt8(ascii: "\n"))
    }

    /// Writes the lines gathered so far.
    mutating func flush() {
        guard !pending.isEmpty else { return }
        pending.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(log.fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { break }  // a full disk loses log lines, never queries
                offset += n
            }
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// The JSON line of one logged query.
enum QueryLogLine {
    static func format(
        _ query: UnsafeRawBufferPointer, _ outcome: QueryOutcome, client: IPAddress, transport: Transport, engine: QueryEngine
    ) -> String {
        let now = Int((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let millis = now % 1000
        var fields = [
            "\"ts\":\(now / 1000).\(millis < 10 ? "00" : millis < 100 ? "0" : "")\(millis)",
            "\"client\":\"\(client)\"",
            "\"transport\":\"\(transport == .udp ? "udp" : "tcp")\"",
        ]
        var q = ParsedQuery()
        if QueryParser.parse(query, into: &q) != .drop, q.qnameLength > 0,
           let name = try? DNSName(wire: Array(query[Header.size..<(Header.size + q.qnameLength)]))
        {
            fields.append("\"qname\":\(JSONString.quoted(name.description))")
            if let subnet = q.edns?.clientSubnet {
                let address = IPAddress(high: subnet.high, low: subnet.low, isIPv6: subnet.family == 2)
                fields.append("\"ecs\":\"\(address)/\(subnet.sourcePrefixLength)\"")
                fields.append("\"scope\":\(outcome.scope)")
            }
        }
        fields.append("\"qtype\":\(JSONString.quoted(RRType(rawValue: outcome.qtype).description))")
        fields.append("\"rcode\":\"\(outcome.rcode == QueryOutcome.dropped ? "DROPPED" : QueryCounters.rcodeNames[min(Int(outcome.rcode), 16)])\"")
        if outcome.truncated { fields.append("\"tc\":true") }
        if outcome.service >= 0, let routing = engine.services?.routing {
            fields.append("\"service\":\(JSONString.quoted(routing.services[Int(outcome.service)].name.description))")
            let sites = routing.sites.indices.filter { $0 < 64 && outcome.sites & (1 << UInt64($0)) != 0 }
            fields.append("\"datacenters\":[\(sites.map { JSONString.quoted(routing.sites[$0].name) }.joined(separator: ","))]")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// JSON string literals, for the query log and JSON log lines.
public enum JSONString {
    /// `text` in double quotes with JSON's escapes (RFC 8259 §7); logfmt readers accept the same.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
