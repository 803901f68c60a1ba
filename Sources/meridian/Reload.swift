import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ServerConfig

/// `meridian reload`: asks the running server to reload through its admin API.
struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running server to reload its configuration, zone files and geo database.",
        discussion: """
            Sends POST /reload to the admin listener named in the configuration (admin.listen), \
            with the bearer token from admin.token or admin.token-file. The server reads every \
            file again off the query path and swaps the new data in atomically; zone files that \
            did not change are kept. When a file has an error the server keeps serving the old \
            data and this command prints every problem as file:line: reason.

            Without an admin listener, send SIGHUP instead: kill -HUP $(pidof meridian).

            EXIT STATUS
              0  the new data is serving
              1  the reload was rejected (problems printed), or the server could not be reached
            """
    )

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Give up after this many seconds.", valueName: "seconds"))
    var timeout: Int = 60

    func run() async throws {
        let config = try options.load()
        guard let admin = config.admin else {
            printErrors(["\(options.config): no admin listener (admin.listen) configured; send SIGHUP instead: kill -HUP $(pidof meridian)"])
            throw ExitCode.failure
        }
        guard let token = admin.token else {
            printErrors(["\(options.config): admin.token or admin.token-file is required to reload through the admin API"])
            throw ExitCode.failure
        }
        let host = admin.listen.host.contains(":") ? "[\(admin.listen.host)]" : admin.listen.host
        var request = HTTPClientRequest(url: "http://\(host):\(admin.listen.port)/reload")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        struct Outcome: Decodable { var ok: Bool; var problems: [String] }
        let outcome: Outcome
        let status: UInt
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(timeout)))
            let body = try await response.body.collect(upTo: 16 << 20)
            status = response.status.code
            guard let decoded = try? JSONDecoder().decode(Outcome.self, from: Data(body.readableBytesView)) else {
                printErrors(["reload: \(status) from the admin API: \(String(buffer: body))"])
                throw ExitCode.failure
            }
            outcome = decoded
        } catch let error as ExitCode {
            throw error
        } catch {
            printErrors(["reload: cannot reach the admin API at \(admin.listen) (is meridian serving with this configuration?): \(error)"])
            throw ExitCode.failure
        }
        guard outcome.ok else {
            printErrors(outcome.problems + ["reload rejected: the old data is still serving"])
            throw ExitCode.failure
        }
        print("reloaded: the new data is serving")
    }
}
