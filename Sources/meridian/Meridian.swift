import ArgumentParser
import DNSServer
import DNSZone
import Health
import Logging
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
        abstract: "An authoritative DNS server for RFC 1035 zone files, over UDP and TCP.",
        discussion: """
            Meridian answers queries for the zones listed in its YAML configuration, on every \
            listen address over both UDP and TCP. It loads every zone file before it starts \
            listening and refuses to start if any zone or setting is wrong, listing each \
            problem as file:line: reason. SIGTERM or SIGINT stops it gracefully.

            Example configuration (meridian.yaml):

              listen: ["127.0.0.1:5353", "[::1]:5353"]
              log-level: info
              tcp: { idle-timeout: 10s, max-connections: 1000 }
              zones:
                - origin: example.com.
                  file: zones/example.com.zone

            Examples:

              meridian check --config meridian.yaml
              meridian serve --config meridian.yaml
              dig @127.0.0.1 -p 5353 www.example.com A
            """,
        version: "meridian 0.1.0",
        subcommands: [Serve.self, Check.self, Explain.self]
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The configuration file; zone paths in it are relative to its directory.", valueName: "path"))
    var config = "meridian.yaml"

    /// The configuration, or every problem in it printed to stderr and exit status 1.
    func load() throws(ExitCode) -> ServerConfiguration {
        do {
            return try ServerConfiguration.load(path: config)
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
            Logs go to stderr at the configuration's log-level. Exits 1 if a zone or setting is \
            wrong or an address cannot be bound. With services, health checks start at once; the \
            last known states are read from the health state file. SIGHUP reloads the \
            configuration, changed zone files and the geo database without dropping a query; a \
            file with an error is logged and the old data keeps serving.
            """
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        let level = Logger.Level(config.logLevel)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "meridian")
        let deployment = try loadDeployment(config)

        let server: DNSServer
        do {
            server = try DNSServer.start(DNSServer.Configuration(config), engine: deployment.engine(), logger: logger)
        } catch {
            printErrors(["cannot listen on \(error)"])
            throw ExitCode.failure
        }
        let controller = DeploymentController(configPath: options.config, deployment: deployment, server: server, logger: logger)
        var services: [any Service] = [DeploymentService(controller: controller)]
        if let admin = config.admin {
            services.append(AdminAPI.application(admin, controller: controller, logger: logger))
        }
        services.append(DNSService(server: server, logger: logger))
        let addresses = config.listen.map(\.description).joined(separator: " ")
        let routed = deployment.services.map { ", \($0.routing.services.count) services" } ?? ""
        logger.notice("listening on \(addresses) (UDP and TCP), \(deployment.zones.count) zones\(routed)")
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration and every zone file without serving.",
        discussion: "Prints one line per zone (origin, record count, SOA serial) and exits 0, or lists every problem on stderr and exits 1."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        let deployment = try loadDeployment(config)
        for (entry, zone) in deployment.zones {
            let serial = zone.serial.map { "serial \($0)" } ?? "no serial"
            print("\(entry.origin): \(zone.recordCount) records, \(serial) (\(entry.file))")
        }
        if let routing = deployment.services?.routing {
            print("routing: \(routing.services.count) services, \(routing.sites.count) data centers, \(routing.addresses.count) checked addresses")
        }
    }
}

/// Loads the zones, geo data and routing of `config`, or prints every problem and exits 1.
func loadDeployment(_ config: ServerConfiguration) throws(ExitCode) -> Deployment {
    do {
        return try Deployment.load(config)
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

