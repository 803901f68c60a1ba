public import Prometheus
import Synchronization

/// `GET /metrics`: every metric in the Prometheus text format (0.0.4), through swift-prometheus.
///
/// Health checks, reloads and all-down events are counted where they happen through swift-metrics,
/// which the executable points at this exporter's `registry` (the library never bootstraps a backend). The query path keeps its own per-thread
/// counters (no lock per query); each scrape adds what they gained since the last scrape to the
/// registry's counters and sets the gauges (health, zone serials) from the deployment's status.
/// The ECS scope histogram is written from the per-thread counts directly: a histogram in the
/// registry would take a lock per observation.
public final class MetricsExporter: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let server: DNSServer

    /// What the registry's counters already hold, and the gauges set by the last scrape.
    private struct Exported {
        var counters: [String: UInt64] = [:]
        var gauges: [String: Prometheus.Gauge] = [:]
    }
    private let exported = Mutex(Exported())

    /// Bounds of the ECS scope histogram (prefix lengths).
    static let scopeBuckets = [0, 8, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96, 128]

    public init(server: DNSServer) { self.server = server }

    /// The metrics page for `status`, the deployment's current state.
    public func render(_ status: DeploymentController.Status) -> String {
        let statistics = server.statistics()
        exported.withLock { exported in
            func add(_ name: String, _ help: String, _ labels: [(String, String)], _ total: UInt64) {
                let key = name + "|" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                let before = exported.counters[key] ?? 0
                let counter = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
                if total > before { counter.increment(by: Int64(total - before)) }
                exported.counters[key] = max(before, total)
            }
            for (key, n) in statistics.queries {
                add("meridian_queries_total", "DNS queries by transport, QTYPE and response code (DROPPED: answered with silence).",
                    [("transport", key.transport), ("qtype", key.qtype), ("rcode", key.rcode)], n)
            }
            for (key, n) in statistics.answers {
                add("meridian_answers_total", "Routed answers that included the data center, by service.",
                    [("service", key.service), ("datacenter", key.datacenter)], n)
            }
            let ecsHelp = "Answered queries with and without an EDNS Client Subnet option."
            add("meridian_client_subnet_queries_total", ecsHelp, [("ecs", "present")], statistics.clientSubnetPresent)
            add("meridian_client_subnet_queries_total", ecsHelp, [("ecs", "absent")], statistics.clientSubnetAbsent)
            for (transport, n) in statistics.truncated {
                add("meridian_truncated_total", "Responses sent with the TC bit set.", [("transport", transport)], n)
            }
            let cacheHelp = "Signatures of answers made per query (routed, wildcard, SOA, NXDOMAIN NSEC) in online-signed zones: found in a query thread's signature cache (hit) or made (miss)."
            add("meridian_signature_cache_lookups_total", cacheHelp, [("result", "hit")], statistics.signatureCacheHits)
            add("meridian_signature_cache_lookups_total", cacheHelp, [("result", "miss")], statistics.signatureCacheMisses)
            for limited in statistics.rateLimited {
                add("meridian_rate_limited_total", "UDP responses held back by rate limiting: dropped, or slipped (sent truncated).",
                    [("kind", limited.kind), ("action", limited.action)], limited.count)
            }

            var gauges: [String: Prometheus.Gauge] = [:]
            func set(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
                let gauge = registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
                gauge.set(value)
                gauges[name + "|" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")] = gauge
            }
            for zone in status.zones {
                if let serial = zone.serial {
                    set("meridian_zone_serial", "SOA serial of each zone served.", [("zone", zone.origin)], Double(serial))
                }
                set("meridian_zone_records", "Records of each zone served.", [("zone", zone.origin)], Double(zone.records))
            }
            for secondary in status.secondaries {
                set("meridian_secondary_expired", "1 while a secondary zone answers SERVFAIL (no copy yet, or past EXPIRE).",
                    [("zone", secondary.origin)], secondary.expired ? 1 : 0)
                if let at = secondary.lastRefresh {
                    set("meridian_secondary_last_refresh_seconds", "When a secondary zone was last refreshed, seconds since 1970.",
                        [("zone", secondary.origin)], at)
                }
            }
            for dc in status.datacenters {
                set("meridian_datacenter_up", "1 when any address of the data center is up.", [("datacenter", dc.name)],
                    dc.state == "up" ? 1 : 0)
                for a in dc.addresses {
                    let labels = [("datacenter", dc.name), ("address", a.ip)]
                    set("meridian_address_up", "1 when the address is up (0: down or drained).", labels, a.state == "up" ? 1 : 0)
                    set("meridian_address_drained", "1 when the address is drained.", labels, a.state == "drain" ? 1 : 0)
                }
            }
            if let fleet = status.fleet {
                set("meridian_fleet_members", "The fleet's live members (instances whose lease is alive), as last seen.", [], Double(fleet.members.count))
                set("meridian_fleet_revision", "The etcd revision of the fleet view answered from.", [], Double(fleet.revision))
            }
            // Series of zones or addresses no longer served disappear.
            for (key, gauge) in exported.gauges where gauges[key] == nil { registry.unregisterGauge(gauge) }
            exported.gauges = gauges
        }
        return registry.emitToString() + Self.scopeHistogram(statistics.scopes)
    }

    /// The registry's name for a metric: the name as given (no unit suffix) and its help text.
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// `meridian_ecs_scope_prefix_length`: the scope prefix lengths of answers to queries with ECS.
    static func scopeHistogram(_ scopes: [UInt64]) -> String {
        let name = "meridian_ecs_scope_prefix_length"
        var lines = [
            "# HELP \(name) ECS scope prefix length of answers to queries with EDNS Client Subnet.",
            "# TYPE \(name) histogram",
        ]
        var cumulative: UInt64 = 0
        var sum: UInt64 = 0
        var next = 0
        for bound in scopeBuckets {
            while next <= bound && next < scopes.count {
                cumulative += scopes[next]
                sum += UInt64(next) * scopes[next]
                next += 1
            }
            lines.append("\(name)_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        lines.append("\(name)_bucket{le=\"+Inf\"} \(cumulative)")
        lines.append("\(name)_sum \(sum)")
        lines.append("\(name)_count \(cumulative)")
        return lines.joined(separator: "\n") + "\n"
    }
}
