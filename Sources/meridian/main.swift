import ArgumentParser
import DNSServer
import DNSZone
import Logging
import QueryEngine
import ServerConfig
import ZoneFile
#if canImport(Glibc)
import Glibc
#endif

/// The `meridian` command: serve zones, or check a configuration and its zones.
struct Meridian: ParsableCommand {
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
        subcommands: [Serve.self, Check.self]
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

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load every zone and answer queries until SIGTERM or SIGINT.",
        discussion: "Logs go to stderr at the configuration's log-level. Exits 1 if a zone or setting is wrong or an address cannot be bound."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let config = try options.load()
        let level = Logger.Level(config.logLevel)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "meridian")
        let zones = loadZones(config)
        guard zones.problems.isEmpty else {
            printErrors(zones.problems)
            throw ExitCode.failure
        }

        // Block the stop signals before any thread starts, so every thread inherits the mask
        // and only `sigwait` below receives them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let engine = QueryEngine(zones: ZoneSet(zones: zones.loaded.map(\.zone)), options: QueryEngine.Options(config))
        let server: DNSServer
        do {
            server = try DNSServer.start(DNSServer.Configuration(config), engine: engine, logger: logger)
        } catch {
            printErrors(["cannot listen on \(error)"])
            throw ExitCode.failure
        }
        let addresses = config.listen.map(\.description).joined(separator: " ")
        logger.notice("listening on \(addresses) (UDP and TCP), \(zones.loaded.count) zones")

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.notice("stopping on \(received == SIGTERM ? "SIGTERM" : "SIGINT")")
        server.shutdown()
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
        let zones = loadZones(config)
        for (entry, zone) in zones.loaded {
            let serial = zone.serial.map { "serial \($0)" } ?? "no serial"
            print("\(entry.origin): \(zone.recordCount) records, \(serial) (\(entry.file))")
        }
        guard zones.problems.isEmpty else {
            printErrors(zones.problems)
            throw ExitCode.failure
        }
    }
}

/// Loads every zone of `config`, collecting the problems of all that fail.
func loadZones(_ config: ServerConfiguration) -> (loaded: [(entry: ZoneEntry, zone: Zone)], problems: [String]) {
    var loaded: [(entry: ZoneEntry, zone: Zone)] = []
    var problems: [String] = []
    for entry in config.zones {
        do {
            loaded.append((entry, try ZoneFile.load(origin: entry.origin, path: entry.file)))
        } catch {
            problems += error.errors.map(\.description)
        }
    }
    return (loaded, problems)
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

Meridian.main()
