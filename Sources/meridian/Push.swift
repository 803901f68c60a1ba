import ArgumentParser
import DNSServer
import Foundation
import Health
import QueryEngine
import Routing
import ServerConfig

/// `meridian push`: one configuration for a fleet, stored in etcd.
struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration, diff it against the one the fleet serves, and store it in etcd.",
        discussion: """
            DESCRIPTION
              Loads --config as check does (every problem as file:line: reason, exit 1),
              reads the configuration stored in the fleet's etcd (the endpoints and the
              fleet name come from --config's fleet: section), prints what --config
              would change in routing against it (as meridian diff), and stores it with a
              compare-and-swap on the revision it was diffed against: a push that landed
              meanwhile is refused, not overwritten. Instances with config-source: etcd
              load each stored configuration through their reload path.

              The stored configuration is loaded beside --config (written next to it), so
              relative paths (zones, geo database) resolve the same.

            OPTIONS
              --revision R   push only if the stored configuration is still at revision R
                             (printed by an earlier push or --dry-run): what you reviewed
                             is what you replace.
              --dry-run      check and diff only.

            EXIT STATUS
              0  pushed (or, with --dry-run, checked and diffed)
              1  a problem in --config, or etcd unreachable
              3  refused: the stored configuration is no longer at the revision diffed
                 against; diff again (the diff against the new one is printed)
            """
    )

    @OptionGroup var options: ConfigOption
    @Option(help: "Push only if the stored configuration is at this etcd revision.") var revision: Int64?
    @Flag(help: "Check and diff only; store nothing.") var dryRun = false

    func run() async throws {
        let config = try options.load()
        let proposed = try loadDeployment(config)
        guard let fleet = config.fleet else {
            printErrors(["\(options.config): no fleet: section, so no etcd to push to"])
            throw ExitCode.failure
        }
        let text: [UInt8]
        do {
            text = [UInt8](try Data(contentsOf: URL(fileURLWithPath: options.config)))
        } catch {
            printErrors(["\(options.config): \(error)"])
            throw ExitCode.failure
        }
        let stored: (text: [UInt8], revision: Int64)?
        do {
            stored = try await FleetConfigStore.read(fleet)
        } catch {
            printErrors(["fleet \(fleet.name): \(error)"])
            throw ExitCode.failure
        }
        printDiff(stored, proposed, fleet: fleet)
        let current = stored?.revision ?? 0
        if let revision, revision != current {
            printErrors(["refused: the fleet's configuration is at revision \(current), not \(revision): another push landed; the diff above is against it; push again with --revision \(current)"])
            throw ExitCode(3)
        }
        if dryRun {
            print("dry run: not pushed (the fleet's configuration is at revision \(current); push with --revision \(current))")
            return
        }
        do {
            let pushed = try await FleetConfigStore.push(fleet, text: text, expectedRevision: current)
            print("pushed \(options.config) to fleet \(fleet.name): revision \(pushed)")
        } catch {
            if case .moved(let now) = error {
                printErrors(["refused: \(error); diff again and push with --revision \(now)"])
                throw ExitCode(3)
            }
            printErrors(["fleet \(fleet.name): \(error)"])
            throw ExitCode.failure
        }
    }

    /// The routing diff from the stored configuration (loaded beside --config) to the proposed one.
    func printDiff(_ stored: (text: [UInt8], revision: Int64)?, _ proposed: Deployment, fleet: FleetSettings) {
        guard let stored else {
            print("fleet \(fleet.name): no configuration stored yet")
            return
        }
        let dir = URL(fileURLWithPath: options.config).deletingLastPathComponent()
        let file = dir.appendingPathComponent(".meridian-fleet-\(fleet.name)-\(stored.revision).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            try Data(stored.text).write(to: file)
            let current = try Deployment.load(try ServerConfiguration.load(path: file.path, checkKinds: HealthCheckers.kinds))
            let diff = RoutingDiff(current: current.config.routing, current.services?.routing,
                                   proposed: proposed.config.routing, proposed.services?.routing, limit: 20)
            print(DiffRendering.text(diff, header: "fleet \(fleet.name) revision \(stored.revision) → \(options.config)"))
        } catch {
            print("fleet \(fleet.name) revision \(stored.revision): the stored configuration does not load here, so no routing diff: \(error)")
        }
    }
}
