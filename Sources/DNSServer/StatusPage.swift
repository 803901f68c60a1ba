import HTTPTypes
import Hummingbird
import NIOCore

/// The admin listener's status page, served at `/`: one self-contained HTML document,
/// `Resources/status.html` (inline CSS and JavaScript, no external fonts, scripts or images),
/// that polls `GET /status` every 3 s and renders the data centers (overall state, per address: check, state, since, reason, history of
/// state changes), each service's policy, TTLs and share of answers per data center, the zones of
/// the current snapshot and the last reload. When `/status` cannot be fetched it shows an error
/// banner and keeps the last data, dimmed.
///
/// Rendered elements carry stable hooks for tests and scripts: `tr.datacenter[data-name][data-state]`,
/// `tr.address[data-datacenter][data-ip][data-check][data-state]`, `div.service[data-name][data-policy]`
/// with `div.share-row[data-service][data-datacenter][data-answers]`, `tr.zone[data-origin][data-serial]`,
/// `#last-reload[data-ok]`, and `body[data-status]` (`loading`, `ok` or `error`).
enum StatusPage {
    /// `GET /`: the page, with a content security policy that lets it fetch nothing but `/status`
    /// from its own origin.
    static func response() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                    + "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                .cacheControl: "no-cache",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: html)))
    }

    /// The document, `Resources/status.html` (HTML with its CSS and JavaScript inline), embedded
    /// in the binary by SwiftPM (`.embedInCode`): the server needs no file beside it.
    static let html: [UInt8] = PackageResources.status_html
}
