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

/// POSTs to the admin API named in the configuration with its bearer token; prints the server's
/// error and exits 1 unless it answers 200.
func adminPost(_ options: ConfigOption, path: String, what: String, timeout: Int64 = 30) async throws {
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
    } catch let error as ExitCode {
        throw error
    } catch {
        printErrors(["\(what): cannot reach the admin API at \(admin.listen): \(error)"])
        throw ExitCode.failure
    }
}
