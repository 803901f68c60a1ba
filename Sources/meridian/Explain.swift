import ArgumentParser
import DNSServer
import DNSWire
import Foundation
import GeoIP
import IPNet
import Health
import HealthModel
import Logging
import QueryEngine
import Routing
import ServerConfig

/// `meridian explain`: the decision trace of one answer, from the configuration, the zones, the
/// geo data and the last known health (the health state file), without a running server.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a name would be answered for a client, step by step.",
        discussion: """
            Loads the configuration like serve, with health from the health state file (as \
            a restarted server would start), answers one query with the real query engine \
            and traces the routing decision: how the client was located (ECS subnet or \
            resolver address, the network that matched, coordinates, country), every \
            candidate data center with its distance or weight and the health of each \
            address (since when, why), the policy's choice, the answer records, the TTL and \
            the ECS scope. Sends no packet and needs no running server.

            Examples:

              meridian explain app.example.com --ecs 81.2.69.0/24
              meridian explain www.example.com. --client 192.0.2.53
              meridian explain app.example.com --type AAAA --ecs 1.0.17.0/24 --json
            """
    )

    @OptionGroup var options: ConfigOption
    @Argument(help: "The name to answer (absolute or not; a final dot is added).") var name: String
    @Option(help: "A or AAAA.") var type = "A"
    @Option(help: "The resolver's address, the query's source.") var client = "127.0.0.1"
    @Option(help: "An EDNS Client Subnet prefix to send, like 81.2.69.0/24.") var ecs: String?
    @Flag(help: "Print JSON for tools.") var json = false

    func run() throws {
        let config = try options.load()
        let deployment = try loadDeployment(config)
        guard let qname = try? DNSName(name.hasSuffix(".") ? name : name + "."),
              let qtype = [("A", RRType.a), ("AAAA", .aaaa)].first(where: { $0.0 == type.uppercased() })?.1
        else { throw ValidationError("the name must be a domain name and --type A or AAAA") }
        guard let resolver = IPAddress(client) else { throw ValidationError("--client must be an IP address") }
        var subnet: IPPrefix? = nil
        if let ecs {
            guard let p = IPPrefix(ecs) else { throw ValidationError("--ecs must be a prefix like 81.2.69.0/24") }
            subnet = p
        }

        var health: HealthSnapshot? = nil
        if deployment.services != nil {
            var logger = Logger(label: "meridian")
            logger.logLevel = .critical
            health = try? HealthMonitor(addresses: deployment.monitoredAddresses, checks: deployment.config.routing.checks,
                                        stateFile: config.routing.healthStateFile, logger: logger) { _ in }.snapshot
        }
        let engine = deployment.engine(health: health)
        let seed: UInt64 = 0x5EED
        let query = Message.query(
            name: qname, type: qtype, edns: (1232, false),
            clientSubnet: subnet.map { p in
                (family: p.address.isIPv6 ? 2 : 1, sourcePrefixLength: UInt8(p.length), address: Array(p.address.bytes.prefix((p.length + 7) / 8)))
            })
        var out = [UInt8](repeating: 0, count: QueryEngine.responseBufferSize)
        var state = RoutingState(seed: seed)
        let n = query.withUnsafeBytes { q in
            out.withUnsafeMutableBytes { engine.respond(to: q, from: resolver, over: .udp, into: $0, state: &state) }
        }
        guard n > 0, let response = try? Message(decoding: Array(out[0..<n])) else {
            throw ValidationError("the engine gave no answer")
        }

        var report = Report(name: qname.description, type: type.uppercased(), resolver: resolver.description, ecs: subnet?.description)
        report.rcode = response.rcode.description
        report.answer = response.answer.map { "\($0.owner) \($0.ttl) IN \($0.type) \(rdataText($0))" }
        report.ttl = response.answer.last?.ttl
        report.scope = response.clientSubnet.map { Int($0.scopePrefixLength) }
        report.zone = deployment.zones.map(\.entry.origin).filter { qname.isSubdomain(of: $0) }
            .max { $0.labelCount < $1.labelCount }?.description

        if let routing = deployment.services?.routing,
           let index = routing.services.firstIndex(where: { $0.name == qname }) {
            report.service = routing.services[index].name.description
            // The client as the engine sees it: the query path's own rule.
            let info = ClientInfo(resolver: resolver, subnet: subnet?.address, sourcePrefixLength: subnet?.length ?? 0)
            report.located = locate(info, deployment)
            var tracer = RecordingTracer()
            var traceState = RoutingState(seed: seed)
            let answer = routing.answer(service: index, ipv6: qtype == .aaaa, client: info,
                                        health: routing.health(health ?? .allUp(count: routing.addresses.count)),
                                        state: &traceState, tracer: &tracer)
            report.failedOpen = answer.failedOpen
            if answer.failedOpen {
                var answered: [String] = []
                for i in 0..<answer.selection.count {
                    let name = routing.sites[Int(routing.addresses[Int(answer.selection.ids[i])].site)].name
                    if !answered.contains(name) { answered.append(name) }
                }
                report.failedOpenWith = answered
            }
            let clientCoordinates = report.located?.coordinates
            // Failing open, the policy runs a second time with every address counted up: its
            // candidates are those of the first run again, each (site, detail) listed once, as
            // the health made it; its steps are listed once too.
            for event in tracer.events {
                switch event {
                case .located(let policy, let detail, let scope):
                    let step = "\(policy): client \(detail), scope /\(scope)"
                    if !report.steps.contains(step) { report.steps.append(step) }
                case .candidate(let site, let detail, let up):
                    guard !report.candidates.contains(where: { $0.site == site && $0.detail == detail }) else { continue }
                    let info = routing.sites[Int(site)]
                    var c = Candidate(datacenter: info.name, detail: detail, up: up)
                    c.site = site
                    if let here = clientCoordinates, let there = info.coordinates {
                        c.distanceKm = (greatCircleDistance(Coordinates(latitude: here[0], longitude: here[1]), there) * 10).rounded() / 10
                    }
                    let ids = routing.addresses.indices.filter { routing.addresses[$0].site == site }
                    func healthState(_ id: Int) -> HealthState { health.map { $0.states.indices.contains(id) ? $0.states[id] : .up } ?? .up }
                    c.state = Candidate.datacenterState(ids.map(healthState))
                    c.addresses = ids.map { id in
                        let a = routing.addresses[id]
                        let state = healthState(id)
                        var line = "\(a.ip) \(state)"
                        if let h = health, h.since.indices.contains(id), h.since[id] > 0 {
                            line += " since \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: h.since[id])))"
                        }
                        if let h = health, h.reasons.indices.contains(id) { line += " (\(h.reasons[id]))" }
                        return line
                    }
                    report.candidates.append(c)
                case .chose(let policy, let detail):
                    let step = "\(policy) chose: \(detail)"
                    if !report.steps.contains(step) { report.steps.append(step) }
                }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }

    /// Where the client is: the configured network that holds it, else the database's record.
    func locate(_ client: ClientInfo, _ deployment: Deployment) -> Located {
        var located = Located(address: client.address.description, source: client.fromSubnet ? "ECS subnet" : "resolver address")
        guard client.locatable else {
            located.network = "none: ECS source prefix 0 asks for an answer that depends on no client"
            return located
        }
        let explicit = deployment.config.routing.geoip?.networks
            .filter { $0.prefix.contains(client.address) }
            .max { $0.prefix.length < $1.prefix.length }
        if let n = explicit {
            located.network = "\(n.prefix) (geoip.networks, line \(n.line))"
            located.coordinates = n.location.map { [$0.latitude, $0.longitude] }
            located.country = n.country
            located.continent = n.continent
        } else if let db = deployment.geoDatabase, let found = try? db.lookup(client.address) {
            located.network = "\(client.address.masked(to: found.prefixLength))/\(found.prefixLength) (\(db.path))"
            if let lat = found.location.latitude, let lon = found.location.longitude { located.coordinates = [lat, lon] }
            located.country = found.location.countryCode
            located.continent = found.location.continentCode
            located.city = found.location.city
        } else {
            located.network = "none: not in the geo data"
        }
        return located
    }

    func rdataText(_ r: Message.Record) -> String {
        if (r.type == .a || r.type == .aaaa), let ip = IPAddress(bytes: r.rdata) { return ip.description }
        if [.cname, .dname, .ns, .ptr].contains(r.type), let n = try? DNSName(wire: r.rdata) { return n.description }
        return "\\# \(r.rdata.count) " + r.rdata.map { String(format: "%02x", $0) }.joined()
    }
}

/// How the client was located.
struct Located: Codable {
    var address: String
    var source: String
    var network: String?
    var coordinates: [Double]?
    var country: String?
    var continent: String?
    var city: String?
}

/// One candidate data center in the trace.
struct Candidate: Codable {
    var datacenter: String
    var detail: String
    /// Whether the policy could answer with it: an address of the family asked for is up.
    var up: Bool
    /// Its state from all its addresses: `up`, `down`, `drained`, or `partly up (1 of 2 addresses up)`.
    var state = "up"
    var distanceKm: Double?
    var addresses: [String] = []
    /// Its index in the routing table, not printed.
    var site: Int32 = -1

    enum CodingKeys: String, CodingKey { case datacenter, detail, up, state, distanceKm, addresses }

    /// The state of a data center whose addresses are in `states`: up when all are up (or it
    /// has none), drained when all are drained, down when none is up, else partly up.
    static func datacenterState(_ states: [HealthState]) -> String {
        let up = states.filter { $0 == .up }.count
        if up == states.count { return "up" }
        if states.allSatisfy({ $0 == .drain }) { return "drained" }
        if up == 0 { return "down" }
        return "partly up (\(up) of \(states.count) addresses up)"
    }
}

/// Everything `explain` prints.
struct Report: Codable {
    var name: String
    var type: String
    var resolver: String
    var ecs: String?
    var service: String?
    var located: Located?
    var candidates: [Candidate] = []
    var steps: [String] = []
    var failedOpen = false
    /// The data centers of the answer when it failed open, in answer order.
    var failedOpenWith: [String]?
    /// The zone that holds the name; nil when it is outside every zone served.
    var zone: String?
    var rcode = ""
    var answer: [String] = []
    var ttl: UInt32?
    var scope: Int?

    var text: String {
        var lines = ["\(name) \(type) asked by \(resolver)" + (ecs.map { " with ECS \($0)" } ?? "")]
        if let service {
            lines.append("service \(service)")
        } else if zone == nil {
            lines.append("outside every zone served, so REFUSED")
        } else {
            lines.append("not a service name: answered from the zone data")
        }
        if let l = located {
            var where_ = "located by the \(l.source) \(l.address): \(l.network ?? "")"
            if let c = l.coordinates { where_ += ", at \(c[0]), \(c[1])" }
            let place = [l.city, l.country, l.continent].compactMap { $0 }.joined(separator: ", ")
            if !place.isEmpty { where_ += " (\(place))" }
            lines.append(where_)
        }
        if !candidates.isEmpty { lines.append("candidates:") }
        for c in candidates {
            var line = "  \(c.datacenter): \(c.state)" + (c.up || c.state == "down" || c.state == "drained" ? "" : " (no \(type) address up)")
                + ", \(c.detail)"
            if let d = c.distanceKm { line += ", \(d) km away" }
            lines.append(line)
            for a in c.addresses { lines.append("      \(a)") }
        }
        for s in steps { lines.append(s) }
        if failedOpen {
            let with = failedOpenWith ?? []
            lines.append("every candidate is down: answered as if every address were up (fail open)"
                         + (with.isEmpty ? "" : ", with " + with.joined(separator: ", ")))
        }
        lines.append("answer (\(rcode)):")
        for a in answer { lines.append("  \(a)") }
        if answer.isEmpty { lines.append("  (no records)") }
        lines.append("TTL \(ttl.map(String.init) ?? "-"), ECS scope \(scope.map { "/\($0)" } ?? "- (no ECS in the query)")")
        return lines.joined(separator: "\n")
    }
}
