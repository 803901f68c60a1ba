import Health
import ArgumentParser
import DNSServer
import Foundation
import QueryEngine
import Routing
import ServerConfig

/// `meridian diff`: what a routing change would do, computed from the configuration in force and
/// an edited copy before the copy is loaded.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what an edited configuration would change in routing before it is loaded.",
        discussion: """
            DESCRIPTION
              A dry run of a routing change. Loads and validates two configurations
              the way check does (the configuration, every zone, the geo data, the
              routing table): the proposed one (--config) and the one in force
              (--against), and prints what the proposed one would answer
              differently. Nothing is served and no query is sent.

              --against defaults to ./meridian.yaml when the current directory has
              one (the file serve and check read by default: a checkout, or
              /etc/meridian itself), else to /etc/meridian/meridian.yaml (the file
              the systemd unit serves). The first line of the text output names
              the file compared against.

            OUTPUT
              data centers   added (+), removed (-) or changed (~): location,
                             country, continent, addresses, check targets.
              checks, geoip  checks added, removed or changed; the geo database
                             path; explicit networks added, removed or moved.
              services       added (+) and removed (-), by name, with their policy;
                             changed (~), with what changed: policy, data centers,
                             weights and their shares ("weights iad 3→2, dub 1→1;
                             shares 75%→67% / 25%→33%"), map entries, unlocated
                             order, pick, check, TTL, degraded TTL, max answers,
                             when-all-down.
              clients        for a service that depends on the client's location
                             (geo-nearest, geo-map, or a failover with one) in both
                             files: the clients whose first choice with every
                             address up changes. The address space is walked as
                             both routing tables partition it; moving prefixes
                             are counted per family, per from→to pair of data
                             centers, and per country of the moving networks (as
                             the proposed geo data places them, else the current;
                             "unknown" for none), the first --limit of each, with
                             the first moving prefixes. "nrt" is a choice where A
                             and AAAA queries get nrt; "nrt (AAAA iad)" one where
                             AAAA queries get iad, as nrt has no IPv6 address.
              empty answers  each list of the proposed file that answers a query
                             type with no address although every address is up: a
                             service's data centers, a geo map entry or default,
                             an unlocated order, every step of a failover, none of
                             whose data centers has an address of that family.
                             "new" marks those the file in force does not have.

              --json prints the same as one JSON object: services, datacenters,
              checks, geoip, emptyAnswers and changed. Address counts are numbers;
              IPv6 counts can reach 2^128 and are not exact beyond 53 bits.

            EXIT STATUS
              0  the comparison was made, whether or not anything changes
              1  a problem in either configuration, each as file:line: reason
              2  with --exit-code, when anything changes (like git diff
                 --exit-code), for CI jobs

            EXAMPLE
              Edit a copy beside the configuration in force, so that its relative
              paths (zones, geo database) resolve the same, compare, then install
              it and reload:

                cp /etc/meridian/meridian.yaml /etc/meridian/new.yaml
                $EDITOR /etc/meridian/new.yaml
                meridian diff --config /etc/meridian/new.yaml \\
                    --against /etc/meridian/meridian.yaml
                mv /etc/meridian/new.yaml /etc/meridian/meridian.yaml
                systemctl reload meridian      # SIGHUP, no query dropped
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("The proposed (edited) configuration.", valueName: "path"))
    var config: String
    @Option(help: ArgumentHelp(
        "The configuration in force (default: ./meridian.yaml if it exists, else /etc/meridian/meridian.yaml).",
        valueName: "path"))
    var against: String?
    @Option(help: "The most countries, data-center moves and example prefixes listed per service.")
    var limit = 20
    @Flag(help: "Print JSON for tools.") var json = false
    @Flag(help: "Exit 2 when anything changes.") var exitCode = false

    /// `--against`, or the configuration an operator means when they leave it out: the one in
    /// the current directory, as for serve and check, else the one the systemd unit serves.
    var againstPath: String {
        if let against { return against }
        return FileManager.default.fileExists(atPath: "meridian.yaml") ? "meridian.yaml" : "/etc/meridian/meridian.yaml"
    }

    func run() throws {
        var problems: [String] = []
        let current = load(againstPath, &problems), proposed = load(config, &problems)
        guard let current, let proposed, problems.isEmpty else {
            printErrors(problems)
            throw ExitCode.failure
        }
        let diff = RoutingDiff(current: current.config.routing, current.services?.routing,
                               proposed: proposed.config.routing, proposed.services?.routing, limit: max(0, limit))
        print(json ? try DiffRendering.json(diff) : DiffRendering.text(diff, header: "\(againstPath) → \(config)"))
        if exitCode && diff.changed { throw ExitCode(2) }
    }

    /// The deployment of `path`, or nil with its problems appended.
    func load(_ path: String, _ problems: inout [String]) -> Deployment? {
        do {
            return try Deployment.load(try ServerConfiguration.load(path: path, checkKinds: HealthCheckers.kinds))
        } catch let error as ServerConfigErrors {
            problems += error.errors.map(\.description)
        } catch let error as DeploymentErrors {
            problems += error.problems
        } catch {
            problems.append("\(path): \(error)")
        }
        return nil
    }
}
