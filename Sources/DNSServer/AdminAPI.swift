import DNSWire
import FleetModel
import Foundation
import Hummingbird
public import Logging
public import ServiceLifecycle
import NIOCore
import HTTPTypes
public import ServerConfig

/// The admin HTTP API on its own listener (loopback in every example), built on Hummingbird:
///
/// - `GET /`: the status page (`StatusPage`), which renders `GET /status` in a browser;
/// - `GET /status`: zones with serials and load times, services, data centers with per-address
///   health (since when, why), the last reload (JSON);
/// - `POST /datacenters/{name}/drain` and `/undrain`: takes a data center out of every answer (or
///   back), answering when no resolver can still hold a cached answer with it;
/// - `POST /reload`: reloads like SIGHUP; 200 when the new data serves, 422 with every problem as
///   `file:line: reason` when the old data keeps serving;
/// - `POST /zones/{name}/refresh`: refreshes a secondary zone from its primaries now;
/// - `POST /zones/{name}/notify`: sends NOTIFY for a zone to its `notify` secondaries now;
/// - `POST /zones/{name}/rollover`: begins a ZSK rollover of a zone signed from a key directory;
/// - `GET /metrics`: Prometheus text format (see `MetricsExporter`).
///
/// Mutating calls need `Authorization: Bearer <token>` with the configured token; with no token
/// configured they are refused.
public enum AdminAPI {
    public static func application(
        _ settings: AdminSettings, controller: DeploymentController, metrics: MetricsExporter, logger: Logger
    ) -> some Service {
        let router = Router()
        let token = settings.token
        @Sendable func authorized(_ request: Request) -> Bool {
            guard let token, let header = request.headers[.authorization] else { return false }
            return header == "Bearer \(token)"
        }
        router.get("/status") { _, _ in
            try json(await controller.status())
        }
        router.get("/metrics") { _, _ -> Response in
            let text = metrics.render(await controller.status())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/") { _, _ in StatusPage.response() }
        for (path, on) in [("drain", true), ("undrain", false)] {
            router.post("/datacenters/{name}/\(path)") { request, context -> Response in
                guard authorized(request) else { return message(.unauthorized, "a bearer token is required") }
                let name = context.parameters.get("name") ?? ""
                // Who and why, for the fleet's drain record (`?who=alice&why=power+work`).
                let query = request.uri.queryParameters
                let who = query.get("who").map { String($0.prefix(FleetModel.fleetMaxTextBytes)) } ?? "admin API"
                let why = query.get("why").map { String($0.prefix(FleetModel.fleetMaxTextBytes)) } ?? ""
                guard let result = await controller.drain(name, on, who: who, why: why) else {
                    return message(.notFound, "no data center \(name) in the routing configuration")
                }
                return try json(result)
            }
        }
        router.post("/zones/{name}/refresh") { request, context -> Response in
            guard authorized(request) else { return message(.unauthorized, "a bearer token is required") }
            let text = context.parameters.get("name") ?? ""
            guard let name = try? DNSName(text.hasSuffix(".") ? text : text + "."),
                  await controller.requestRefresh(name, reason: "admin API") else {
                return message(.notFound, "no secondary zone \(text)")
            }
            struct Outcome: Codable { var zone: String; var refresh: String }
            return try json(Outcome(zone: "\(name)", refresh: "requested"))
        }
        router.post("/zones/{name}/notify") { request, context -> Response in
            guard authorized(request) else { return message(.unauthorized, "a bearer token is required") }
            let text = context.parameters.get("name") ?? ""
            guard let name = try? DNSName(text.hasSuffix(".") ? text : text + "."),
                  let secondaries = await controller.notifyNow(name) else {
                return message(.notFound, "no zone \(text) served with data")
            }
            struct Outcome: Codable { var zone: String; var secondaries: [String] }
            return try json(Outcome(zone: "\(name)", secondaries: secondaries))
        }
        router.post("/zones/{name}/rollover") { request, context -> Response in
            guard authorized(request) else { return message(.unauthorized, "a bearer token is required") }
            let text = context.parameters.get("name") ?? ""
            guard let name = try? DNSName(text.hasSuffix(".") ? text : text + ".") else { return message(.notFound, "no zone \(text)") }
            switch await controller.rollover(name) {
            case .success(let outcome): return try json(outcome)
            case .failure(let problem): return message(problem.notFound ? .notFound : .unprocessableContent, problem.text)
            }
        }
        router.post("/reload") { request, _ -> Response in
            guard authorized(request) else { return message(.unauthorized, "a bearer token is required") }
            let problems = await controller.reload()
            struct Outcome: Codable { var ok: Bool; var problems: [String] }
            return try json(Outcome(ok: problems.isEmpty, problems: problems), status: problems.isEmpty ? .ok : .unprocessableContent)
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(settings.listen.host, port: Int(settings.listen.port)), serverName: "meridian"),
            logger: logger)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func message(_ status: HTTPResponse.Status, _ text: String) -> Response {
        struct Message: Codable { var error: String }
        return (try? json(Message(error: text), status: status)) ?? Response(status: status)
    }
}
