import ArgumentParser
import DNSServer
import DNSZone
import Health
import Logging
import Metrics
import NIOCore
import Prometheus
import QueryEngine
import ServerConfig
import ServiceLifecycle
import Routing
import UnixSignals
import ZoneFile
#if canImport(Glibc)
import Glibc
#endif

/// The `meridian` command: serve zones, or check a configuration and its zones.
@main
struct Meridian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meridian",
        abstract: "An authoritative DNS server with data-center routing, over UDP and TCP.",
        discussion: """
            DESCRIPTION
              Meridian answers authoritatively for the RFC 1035 zone files listed in its
              YAML configuration, over UDP and TCP on every listen address. Service names
              in the configuration are answered with the addresses of the data centers
              their policy picks for the client (located by EDNS Client Subnet or the
              resolver's address), leaving out addresses whose health checks fail.
              Everything is loaded and checked before it listens: any error stops it,
              each listed as file:line: reason.

            CONFIGURATION
              One YAML file (--config, default meridian.yaml); relative paths in it are
              relative to its directory. Unknown keys are errors.
                listen       addresses served over UDP and TCP: ["0.0.0.0:53", "[::]:53"]
                workers      UDP worker threads (default: one per core)
                log-level    trace | debug | info | notice | warning | error
                log-format   logfmt (default) | json
                tcp          { idle-timeout: 10s, max-connections: 1000 }
                zones        - { origin: example.com., file: zones/example.com.zone }
                identity     CHAOS TXT id.server. / hostname.bind. answer
                version      CHAOS TXT version.server. / version.bind. answer
                nsid         RFC 5001 NSID for queries that ask (or nsid-hex)
                query-log    { path: FILE or "-", sample: 0.01 }: sampled JSON lines
                watch-zones  2s: reload when a zone file changes, checked this often
                admin        { listen: "127.0.0.1:8053", token-file: FILE }: HTTP API
                udp-receive-buffer, udp-send-buffer
                             bytes per UDP socket (default 8M, 1M) for bursts
                pid-file     written once listening, removed at exit (or --pid-file)
                tsig-keys    - { name: k., algorithm: hmac-sha256, secret: BASE64 }
                cookies      { secret: 32 hex digits, previous-secret: ..., require: false }
                rate-limit   { responses-per-second: 20, slip: 2, exempt: [10.0.0.0/8] }
                geoip, datacenters, checks, health, services: data-center routing
              docs/OPERATIONS.md describes every key with an example.

            SIGNALS
              SIGHUP    Reload the configuration, changed zone files and the geo
                        database without dropping a query. A file with an error is
                        logged and the old data keeps serving. Listen addresses,
                        workers, tcp, admin, logging, query-log, watch-zones, UDP
                        buffers, pid-file and rate-limit take effect only at restart.
              SIGTERM, SIGINT
                        Stop gracefully: listeners close, health states are saved.

            FILES
              meridian.yaml              the configuration (--config)
              /etc/meridian/meridian.yaml
                                         the configuration of the systemd unit and the
                                         container image
              health.state-file          last known health of every address, read at
                                         start (e.g. /var/lib/meridian/health-state.json)

            EXIT STATUS
              0  success (serve: stopped by SIGTERM or SIGINT)
              1  a problem: in the configuration or a zone file, an address that
                 cannot be bound, a command that failed
              64 a usage error (unknown option, missing argument)

            EXAMPLES
              meridian check --config meridian.yaml
              meridian serve --config meridian.yaml
              dig @127.0.0.1 -p 5353 www.example.com A
              meridian explain app.example.com --ecs 81.2.69.0/24
              kill -HUP $(pidof meridian)      # or: meridian reload

            SEE ALSO
              docs/OPERATIONS.md, docs/ARCHITECTURE.md, dig(1)
            """,
        version: "meridian 0.1.0",
        subcommands: [Serve.self, Check.self, Explain.self, Diff.self, Push.self, Reload.self, DrainCommand.self, ZoneCommand.self, NotifyCommand.self, Keygen.self, DSCommand.self, RolloverCommand.self]
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The configuration file; zone paths in it are relative to its directory.", valueName: "path"))
    var config = "meridian.yaml"

    /// The configuration, or every problem in it printed to stderr and exit status 1.
    func load() throws(ExitCode) -> ServerConfiguration {
        do {
            return try ServerConfiguration.load(path: config, checkKinds: HealthCheckers.kinds)
        } catch {
            printErrors(error.errors.map(\.description))
            throw ExitCode.failure
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load every zone and answer queries until SIGTERM or SIGINT.",
        discussion: """
            Loads the configuration, every zone file, the geo database and the routing \
            table, then answers on every listen address over UDP and TCP. Exits 1, listing \
            every problem as file:line: reason, if a zone or setting is wrong, if an address \
            cannot be bound or another process serves it (the error names it), or if the \
            pid file names a running process.

            With services, health checks start at once from the last known states in the \
            health state file. With admin, the HTTP API listens too (GET /status; POST \
            /reload and /datacenters/NAME/drain with the bearer token). Logs go to stderr \
            at log-level.

            SIGHUP (or meridian reload) reloads the configuration, changed zone files and \
            the geo database without dropping a query; a file with an error is logged and \
            the old data keeps serving. SIGTERM or SIGINT stops gracefully and saves the \
            health states.
            """
    )

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Write the process ID here once listening, remove it at exit (overrides pid-file).", valueName: "path"))
    var pidFile: String?

    func run() async throws {
        let bootstrap = try options.load()
        let level = Logger.Level(bootstrap.logLevel)
        let format = bootstrap.logFormat
        LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: format, level: level) }
        let logger = Logger(label: "meridian")
        // With fleet.config-source: etcd, the configuration pushed to the fleet, if there is one.
        let (config, configPath, configRevision) = await FleetConfigSource.start(bootstrap: bootstrap, path: options.config, logger: logger)
        let pid = (pidFile ?? config.pidFile).map(PIDFile.init(path:))
        do {
            try pid?.checkNotRunning()
        } catch {
            printErrors(["cannot start: \(error)"])
            throw ExitCode.failure
        }
        // With fleet:, the fleet's view is read before the first answer.
        let deployment = await (try loadDeployment(config, readingJournals: logger)).readingFleet(logger: logger)
        for (_, zone) in deployment.zones {
            for warning in zone.warnings { logger.warning("\(warning)") }
        }

        let server: DNSServer
        do {
            // The admin listener binds only once the service group runs: a port in use is reported
            // now, before anything answers.
            if let admin = config.admin { try DNSServer.checkAvailable(admin.listen, stream: true, role: "admin API") }
            server = try DNSServer.start(DNSServer.Configuration(config), engine: deployment.startEngine(), logger: logger)
        } catch {
            printErrors(["cannot listen on \(error)"])
            throw ExitCode.failure
        }
        do {
            try pid?.write()
        } catch {
            server.shutdown()
            printErrors(["cannot start: \(error)"])
            throw ExitCode.failure
        }
        defer { pid?.remove() }
        let metrics = MetricsExporter(server: server)
        // swift-metrics (health checks, reloads, all-down events) reports to the exporter's registry.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        let controller = DeploymentController(configPath: configPath, deployment: deployment, server: server, logger: logger,
                                              version: Meridian.configuration.version, configRevision: configRevision)
        var services: [any Service] = [DeploymentService(controller: controller)]
        if let admin = config.admin {
            services.append(AdminAPI.application(admin, controller: controller, metrics: metrics, logger: logger))
        }
        services.append(DNSService(server: server, logger: logger))
        let addresses = config.listen.map(\.description).joined(separator: " ")
        let routed = deployment.services.map { ", \($0.routing.services.count) services" } ?? ""
        logger.notice("listening on \(addresses) (UDP and TCP), \(deployment.zones.count) zones\(routed)")
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE && config.admin != nil {
            // The admin listener was free a moment ago (checked above) and was taken since.
            printErrors(["cannot listen on \(config.admin.map { "\($0.listen)" } ?? ""): admin API, TCP: \(error)"])
            server.shutdown()
            throw ExitCode.failure
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration and every zone file without serving.",
        discussion: """
            Reads the configuration, every zone file and the geo database as serve would, \
            and builds the routing table. Prints one line per zone (origin, record count, \
            SOA serial, file) and a routing summary, and exits 0; or lists every problem on \
            stderr as file:line: reason and exits 1. Data that loads but is never served \
            (below a delegation, not glue) is listed on stderr as file:line: warning: reason \
            and does not change the exit status. Safe to run beside a running server, \
            before a reload (the systemd unit runs it before every start).
            """
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        let deployment = try loadDeployment(config)
        printErrors(deployment.zones.flatMap { $0.zone.warnings.map(\.description) })
        for (entry, zone) in deployment.zones {
            let serial = zone.serial.map { "serial \($0)" } ?? "no serial"
            print("\(entry.origin): \(zone.recordCount) records, \(serial) (\(entry.generatesCatalog ? "generated catalog" : entry.file))")
        }
        if let routing = deployment.services?.routing {
            print("routing: \(routing.services.count) services, \(routing.sites.count) data centers, \(routing.addresses.count) checked addresses")
        }
    }
}

/// Loads the zones, geo data and routing of `config`, or prints every problem and exits 1.
/// With a logger, the zones' IXFR journals are read from `journal-dir` first (what serving starts from).
func loadDeployment(_ config: ServerConfiguration, readingJournals logger: Logger? = nil) throws(ExitCode) -> Deployment {
    do {
        let stored = logger.map { JournalStore(directory: config.journalDirectory).read(config, logger: $0) } ?? [:]
        return try Deployment.load(config, stored: stored)
    } catch {
        printErrors(error.problems)
        throw ExitCode.failure
    }
}

func printErrors(_ lines: [String]) {
    var stderr = StandardError()
    for line in lines { print(line, to: &stderr) }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

extension Logger.Level {
    init(_ level: LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        }
    }
}

