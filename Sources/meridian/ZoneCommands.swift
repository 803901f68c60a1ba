import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ServerConfig

/// `meridian zone refresh NAME`: asks the running server to refresh a secondary zone now.
struct ZoneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone", abstract: "Act on one zone of the running server.", subcommands: [ZoneRefresh.self])
}

struct ZoneRefresh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Refresh a secondary zone from its primaries now (POST /zones/NAME/refresh).",
        discussion: "The refresh runs in the server; its outcome is logged and shown in /status (secondaries).")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The zone's origin, e.g. example.net.") var name: String

    func run() async throws {
        try await adminPost(options, path: "/zones/\(name)/refresh", what: "zone refresh")
        print("refresh of \(name) requested")
    }
}

/// `meridian notify NAME`: asks the running server to send NOTIFY for a zone to its secondaries now.
struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Send NOTIFY for a zone to its notify: secondaries now (POST /zones/NAME/notify).")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The zone's origin, e.g. example.com.") var name: String

    func run() async throws {
        try await adminPost(options, path: "/zones/\(name)/notify", what: "notify")
        print("NOTIFY for \(name) sent")
    }
}

/// `meridian drain NAME`: takes a data center out of every answer (with a fleet, every instance's).
struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Drain a data center, or undrain it (POST /datacenters/NAME/drain|undrain).",
        discussion: """
            With fleet: in the configuration the drain is written to etcd with who (you, as             $USER@host) and why, and every instance applies it; an undrain on any instance             ends it. Prints when it is safe to take the data center down: when no resolver can             still hold a cached answer with it.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The data center's name.") var name: String
    @Flag(help: "Put the data center back in the answers.") var undrain = false
    @Option(help: "Why, for the fleet's drain record and the log.") var why = ""

    func run() async throws {
        let user = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "who", value: "\(user)@\(ProcessInfo.processInfo.hostName)"), URLQueryItem(name: "why", value: why)]
        let body = try await adminPost(options, path: "/datacenters/\(name)/\(undrain ? "undrain" : "drain")" + (query.percentEncodedQuery.map { "?" + $0 } ?? ""),
                                       what: undrain ? "undrain" : "drain")
        struct Result: Decodable { var drained: Bool; var fleet: Bool; var safe_after: Double; var largest_ttl: UInt32 }
        guard let result = try? JSONDecoder().decode(Result.self, from: Data(body.utf8)) else {
            print(body)
            return
        }
        let scope = result.fleet ? "on every instance of the fleet" : "on this instance"
        if result.drained {
            let safe = Date(timeIntervalSince1970: result.safe_after).formatted(.iso8601)
            print("\(name) drained \(scope); safe to take down after \(safe) (largest TTL \(result.largest_ttl) s)")
        } else {
            print("\(name) undrained \(scope)")
        }
    }
}

/// POSTs to the admin API named in the configuration with its bearer token and returns the
/// answer's body; prints the server's error and exits 1 unless it answers 200.
@discardableResult
func adminPost(_ options: ConfigOption, path: String, what: String, timeout: Int64 = 30) async throws -> String {
    let config = try options.load()
    guard let admin = config.admin, let token = admin.token else {
        printErrors(["\(options.config): \(what) needs the admin API with a token (admin.listen, admin.token or admin.token-file)"])
        throw ExitCode.failure
    }
    let host = admin.listen.host.contains(":") ? "[\(admin.listen.host)]" : admin.listen.host
    var request = HTTPClientRequest(url: "http://\(host):\(admin.listen.port)\(path)")
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    do {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            printErrors(["\(what): \(response.status.code) from the admin API: \(String(buffer: body))"])
            throw ExitCode.failure
        }
        return String(buffer: body)
    } catch let error as ExitCode {
        throw error
    } catch {
        printErrors(["\(what): cannot reach the admin API at \(admin.listen): \(error)"])
        throw ExitCode.failure
    }
}
