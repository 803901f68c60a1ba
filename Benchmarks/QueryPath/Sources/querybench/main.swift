// querybench: the query path in one process, without NIO or sockets, for callgrind.
//
//   querybench CONFIG QUERIES REPETITIONS [--limit N] [--do]
//
// --do sets the DNSSEC OK bit of every query (adding an OPT record, payload 1232, to a text
// file's queries), for the signed mixes: a zone with `dnssec:` is signed here as Deployment.load
// signs it (its keys' DNSKEYs added, `ZoneSignatures` made).
//
// CONFIG is a meridian.yaml (its zones, and for routed names its geoip/datacenters/services), read
// and loaded the way `Deployment.load` does: ServerConfiguration.load, ZoneFile.readValid → Zone →
// ZoneSet, GeoDatabase.networks → RoutingTable → ServiceSet, then one QueryEngine. QUERIES is a
// dnsperf query file: text (`name type` per line, as gen-queries.py writes for run.py) or, when it
// ends in `.bin`, dnsperf -B format (2-byte big-endian length, then the raw message, as routing.py
// writes, each with its EDNS Client Subnet option). The first N queries (default 10,000) are
// encoded once into one buffer.
//
// Then: one unmeasured pass over every query (first-use costs: lazy globals, metadata, page
// faults), whose responses are hashed byte by byte into the printed checksum; then REPETITIONS
// measured passes, between CALLGRIND_START_INSTRUMENTATION and CALLGRIND_STOP_INSTRUMENTATION,
// each calling `respond` for every query into one reused response buffer, as UDPWorker does per
// datagram. The measured passes only add up the response lengths (printed, so the calls cannot be
// dropped). Under `valgrind --tool=callgrind --instr-atstart=no` only the measured passes are
// counted; (Ir(K=2) − Ir(K=1)) / N is the cost of one query. Benchmarks/callgrind.sh does that.

import CCallgrind
import DNSAuth
import DNSSEC
import DNSWire
import DNSZone
import GeoIP
import HealthModel
import IPNet
import QueryEngine
import Routing
import ServerConfig
import ZoneFile
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    var text = "querybench: \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(2)
}

// MARK: command line

var positional: [String] = []
/// How many queries of the file make the corpus when --limit is not given: enough to cover the
/// mixes' rare categories (0.5 % of 10,000 is 50 queries), few enough that callgrind runs a pass
/// in seconds.
var limit = 10_000
var dnssecOK = false
do {
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        if a == "--limit", let v = args.popFirst(), let n = Int(v), n > 0 { limit = n } else if a == "--do" { dnssecOK = true } else { positional.append(a) }
    }
}
guard positional.count == 3, let repetitions = Int(positional[2]), repetitions >= 0 else {
    fail("usage: querybench CONFIG QUERIES REPETITIONS [--limit N]")
}
let configPath = positional[0]
let queryPath = positional[1]

// MARK: the engine, as Deployment.load and Deployment.engine make it

let config: ServerConfiguration
do {
    // No health checks run here (every address is up, as with a configuration without checks),
    // so no check kinds are declared; a configuration with `checks:` is refused by the parser.
    config = try ServerConfiguration.load(path: configPath, checkKinds: CheckKinds([]))
} catch {
    fail("\(configPath): \(error)")
}
var zones: [Zone] = []
var zoneSignatures: [DNSName: ZoneSignatures] = [:]
for entry in config.zones {
    do {
        var records = try ZoneFile.readValid(origin: entry.origin, path: entry.file)
        var keys: [SigningKey] = []
        if let signing = entry.signing {
            keys = try signing.keys.map { try KeyFile.read($0) }
            let ttl = records.first { $0.type == .soa }?.ttl ?? 3600
            for key in keys {
                records.append(ZoneRecord(owner: entry.origin, type: .dnskey, ttl: ttl, rdata: key.dnskey.rdata,
                                          location: SourceLocation(file: signing.keys[0], line: 1)))
            }
        }
        let zone = Zone(origin: entry.origin, records: records)
        zones.append(zone)
        if let settings = entry.signing, let zsk = keys.first(where: { !$0.dnskey.isSecureEntryPoint }) ?? keys.first {
            // A fixed window, so the signatures (and the responses' checksum) repeat from run to run.
            zoneSignatures[entry.origin] = try ZoneSignatures(
                zone: zone, key: zsk, keySigningKey: keys.first { $0.dnskey.isSecureEntryPoint } ?? zsk,
                validity: SignatureValidity(inception: 1_796_000_000, expiration: 1_796_000_000 + UInt32(settings.validity.components.seconds)))
        }
    } catch {
        fail("\(entry.file): \(error)")
    }
}
let zoneSet = ZoneSet(zones: zones)
var services: ServiceSet? = nil
if !config.routing.services.isEmpty {
    var geo: GeoNetworkTable? = nil
    if let geoip = config.routing.geoip {
        if let path = geoip.database {
            do { geo = try GeoDatabase(path: path).networks() } catch { fail("\(path): \(error)") }
        }
        let explicit = geoip.locatedNetworks
        if !explicit.isEmpty { geo = (geo ?? GeoNetworkTable()).overlaying(explicit) }
    }
    do {
        services = ServiceSet(routing: try RoutingTable(config: config.routing, geo: geo), zones: zoneSet)
    } catch {
        fail("services: \(error)")
    }
}
// QueryEngine.Options(config) lives in DNSServer (which pulls NIO); these are the fields it sets
// that the query mixes can reach. Transfer access, journals and NOTIFY access are only read for
// AXFR/IXFR/NOTIFY, which the mixes do not send.
var options = QueryEngine.Options()
options.identity = config.identity
options.version = config.version
options.nsid = config.nsid
options.tsigKeys = TSIGKeyring(config.tsigKeys.compactMap { key in
    TSIGAlgorithm(rawValue: key.algorithm).map { TSIGKey(name: key.name, algorithm: $0, secret: key.secret) }
})
/// The server always has a cookie secret (a random one per process when the configuration names
/// none); a fixed one here, so runs repeat. The mixes carry no COOKIE option, so it is never used.
let fixedCookieSecret: [UInt8] = Array(0..<16)
options.cookies = ServerCookies(secret: config.cookies.secret ?? fixedCookieSecret, previous: config.cookies.previousSecret)
options.requireCookies = config.cookies.require
options.signatures = zoneSignatures
// health nil: every address up, as the server starts without checks.
let engine = QueryEngine(zones: zoneSet, services: services, health: nil, options: options)

// MARK: the query corpus

/// QTYPE mnemonics the benchmark query files use (gen-queries.py), and a few more.
let qtypes: [String: UInt16] = [
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
    "DS": 43, "DNSKEY": 48, "CAA": 257, "ANY": 255,
]

/// Every query's wire bytes, back to back.
var wire: [UInt8] = []
var spans: [(offset: Int, length: Int)] = []

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fail("\(path): cannot open") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

let file = readFile(queryPath)
if queryPath.hasSuffix(".bin") {
    // dnsperf -B: length-prefixed messages. dnsperf overwrites the ID; so does this (query index).
    var i = 0
    while i + 2 <= file.count, spans.count < limit {
        let length = Int(file[i]) << 8 | Int(file[i + 1])
        guard length >= 12, i + 2 + length <= file.count else { fail("\(queryPath): bad record at byte \(i)") }
        var message = Array(file[(i + 2)..<(i + 2 + length)])
        message[0] = UInt8(truncatingIfNeeded: spans.count >> 8)
        message[1] = UInt8(truncatingIfNeeded: spans.count)
        if dnssecOK {
            // The OPT record follows the one question: root name, TYPE, CLASS, then the TTL field
            // whose third byte holds DO (RFC 6891 §6.1.3).
            var q = 12
            while q < message.count, message[q] != 0 { q += Int(message[q]) + 1 }
            let opt = q + 1 + 4
            guard opt + 9 <= message.count, message[opt] == 0, message[opt + 1] == 0, message[opt + 2] == 41 else {
                fail("\(queryPath): record at byte \(i) has no OPT right after its question")
            }
            message[opt + 7] |= 0x80
        }
        spans.append((wire.count, message.count))
        wire += message
        i += 2 + length
    }
} else {
    // dnsperf -d text: `name type` per line, sent as ID, RD, one question, class IN, no EDNS
    // (run.py runs dnsperf without -e).
    for line in String(decoding: file, as: UTF8.self).split(separator: "\n") {
        if spans.count >= limit { break }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, !fields[0].hasPrefix("#"), !fields[0].hasPrefix(";") else { continue }
        let upper = fields[1].uppercased()
        guard let qtype = qtypes[upper] ?? (upper.hasPrefix("TYPE") ? UInt16(upper.dropFirst(4)) : nil) else {
            fail("\(queryPath): unknown type \(fields[1])")
        }
        let id = UInt16(truncatingIfNeeded: spans.count)
        var message: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in fields[0].split(separator: ".") {
            guard label.utf8.count <= 63 else { fail("\(queryPath): label too long in \(fields[0])") }
            message.append(UInt8(label.utf8.count))
            message += label.utf8
        }
        message.append(0)
        message += [UInt8(qtype >> 8), UInt8(qtype & 0xFF), 0, 1]
        if dnssecOK {
            // ARCOUNT 1; OPT: root, TYPE 41, payload 1232, extended RCODE 0, version 0, DO, no options.
            message[11] = 1
            message += [0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0]
        }
        spans.append((wire.count, message.count))
        wire += message
    }
}
guard !spans.isEmpty else { fail("\(queryPath): no queries") }

// MARK: the passes

let corpus = UnsafeMutableRawBufferPointer.allocate(byteCount: wire.count, alignment: 16)
wire.withUnsafeBytes { corpus.copyMemory(from: $0) }
let queries: [UnsafeRawBufferPointer] = spans.map { UnsafeRawBufferPointer(rebasing: corpus[$0.offset..<($0.offset + $0.length)]) }
let response = UnsafeMutableRawBufferPointer.allocate(byteCount: QueryEngine.responseBufferSize, alignment: 16)
/// dnsperf's queries come from loopback; a routed answer without ECS is located by this address.
let client = IPAddress(ipv4: 0x7F00_0001)
/// The server seeds each worker's routing state at random; a fixed seed makes the weighted
/// choices, and so the instruction counts, repeat from run to run.
var state = RoutingState(seed: 1)
/// As each UDP worker does, one cache of signatures made while answering, kept across queries.
var signatures = SignatureCache()
var outcome = QueryOutcome()

// The unmeasured first pass: FNV-1a (64-bit) over every response, and the RCODEs.
let fnvOffset: UInt64 = 0xCBF2_9CE4_8422_2325
let fnvPrime: UInt64 = 0x0000_0100_0000_01B3
var checksum = fnvOffset
var answered = 0
var rcodes = [Int](repeating: 0, count: 16)
var authoritative = 0
for query in queries {
    let length = engine.respond(to: query, from: client, over: .udp, into: response, state: &state, signatures: &signatures, outcome: &outcome)
    guard length > 0 else { continue }
    answered += 1
    rcodes[Int(response[3] & 0x0F)] += 1
    if response[2] & 0x04 != 0 { authoritative += 1 }
    for i in 0..<length { checksum = (checksum ^ UInt64(response[i])) &* fnvPrime }
}

/// The measured passes, not inlined, so a profile shows them as one function.
@inline(never)
func measure(
    _ engine: QueryEngine, _ queries: [UnsafeRawBufferPointer], from client: IPAddress, into response: UnsafeMutableRawBufferPointer,
    repetitions: Int, state: inout RoutingState, signatures: inout SignatureCache, outcome: inout QueryOutcome
) -> Int {
    var bytes = 0
    queries.withUnsafeBufferPointer { all in
        for _ in 0..<repetitions {
            for query in all {
                bytes &+= engine.respond(to: query, from: client, over: .udp, into: response, state: &state, signatures: &signatures,
                                         outcome: &outcome)
            }
        }
    }
    return bytes
}

ccallgrind_start()
let measuredBytes = measure(engine, queries, from: client, into: response, repetitions: repetitions, state: &state, signatures: &signatures, outcome: &outcome)
ccallgrind_stop()

let rcodeNames = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
let histogram = rcodes.enumerated().filter { $0.element > 0 }
    .map { "\($0.offset < rcodeNames.count ? rcodeNames[$0.offset] : "RCODE\($0.offset)")=\($0.element)" }
print("queries \(queries.count) answered \(answered) aa \(authoritative) \(histogram.joined(separator: " "))")
print("checksum \(String(checksum, radix: 16)) (FNV-1a of the first pass's responses)")
print("measured passes \(repetitions) response bytes \(measuredBytes)")
