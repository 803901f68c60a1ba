import Foundation
import Testing

/// The admin status page (`GET /`) rendered by headless Chromium against a running meridian with
/// routing, health from an operator's `file` check and an admin listener on 127.0.0.1. The DOM
/// after the page's JavaScript ran must show every data center and address in the state `/status`
/// reports and the zone's serial; a drain through the API shows up as `data-state="drain"`; a page
/// that cannot fetch `/status` shows the error banner. Screenshots (light and dark) are kept in
/// Tests/.artifacts/ for a person to look at.
@Suite("Status page in headless Chromium", .serialized)
struct StatusPageTests {
    @Test("renders /status, shows a drain, shows an error banner without /status; screenshots", .timeLimit(.minutes(5)))
    func statusPage() throws {
        let browser = try Browser()
        defer { browser.remove() }
        let curl = try E2E.tool("curl")
        let server = try RoutedMeridian()
        defer { server.remove() }
        let adminPort = try E2E.freePort()
        let dir = server.dir.path
        try "s3cret\n".write(to: server.dir.appendingPathComponent("admin-token"), atomically: true, encoding: .utf8)
        // iad: one address up, one drained by the operator; nrt down; dub up until the API drains it.
        try writeAtomically("nrt down\n192.0.2.11 drain\n", to: server.dir.appendingPathComponent("operator-state"))
        try server.start(routing: """
            admin: { listen: "127.0.0.1:\(adminPort)", token-file: admin-token }
            datacenters:
              iad: { addresses: [192.0.2.10, 192.0.2.11] }
              dub: { addresses: [198.51.100.10] }
              nrt: { addresses: [203.0.113.10] }
            checks:
              ops: { type: file, path: "\(dir)/operator-state", interval: 100ms, timeout: 50ms, jitter: 0 }
            services:
              rr.example.com.: { policy: round-robin, datacenters: [iad, dub, nrt], check: ops, ttl: 40, degraded-ttl: 10 }
              w.example.com.: { policy: weighted, datacenters: { iad: 3, dub: 1 }, check: ops, ttl: 60 }

            """)
        let base = "http://127.0.0.1:\(adminPort)/"
        func status() throws -> [String: Any] {
            let r = try E2E.run(curl, ["-s", "-m", "30", base + "status"], timeout: 40)
            return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
        }
        func datacenters(_ s: [String: Any]) -> [[String: Any]] { s["datacenters"] as? [[String: Any]] ?? [] }
        func addressState(_ s: [String: Any], _ ip: String) -> String? {
            datacenters(s).flatMap { $0["addresses"] as? [[String: Any]] ?? [] }.first { $0["ip"] as? String == ip }?["state"] as? String
        }
        let settled = try waitFor(30) {
            let s = try status()
            return addressState(s, "203.0.113.10") == "down" && addressState(s, "192.0.2.11") == "drain"
        }
        try #require(settled != nil, "the file check's verdicts reach /status: \((try? status()).map { "\($0)" } ?? "unreachable")")
        for _ in 0..<5 { _ = try server.query("rr.example.com.") }
        #expect(try server.query("rr.example.com.").addresses == ["192.0.2.10", "198.51.100.10"], "\(server.show("rr.example.com."))")

        // The page itself: HTML, self-contained (no URL to fetch anything from anywhere).
        let page = try E2E.run(curl, ["-s", "-m", "30", "-D", "-", base], timeout: 40).stdout
        #expect(page.lowercased().contains("content-type: text/html; charset=utf-8"), "\(page.prefix(400))")
        #expect(page.contains("<title>Meridian status</title>"))
        #expect(!page.contains("http://") && !page.contains("https://"), "the page references nothing outside itself")

        // 1. The rendered DOM matches /status.
        let expected = try status()
        var html = try browser.dumpDOM(base)
        var dom = DOM(html)
        #expect(dom.element(tag: "body")?["data-status"] == "ok", "the page fetched /status: \(html.prefix(2000))")
        #expect(dom.element(id: "error")?["hidden"] != nil, "no error banner")
        #expect(dom.element(id: "fleet")?["hidden"] != nil, "no fleet banner without a fleet")
        let renderedDCs = dom.elements(class: "datacenter")
        var changes = 0
        #expect(datacenters(expected).count == 3)
        for dc in datacenters(expected) {
            let name = dc["name"] as? String ?? ""
            let row = renderedDCs.first { $0["data-name"] == name }
            #expect(row != nil, "data center \(name) rendered")
            #expect(row?["data-state"] == dc["state"] as? String, "\(name): \(row ?? [:]) vs \(dc)")
            for address in dc["addresses"] as? [[String: Any]] ?? [] {
                let ip = address["ip"] as? String ?? ""
                let rendered = dom.elements(class: "address").first { $0["data-datacenter"] == name && $0["data-ip"] == ip }
                #expect(rendered?["data-state"] == address["state"] as? String, "\(name) \(ip): \(rendered ?? [:]) vs \(address)")
                changes += (address["history"] as? [Any])?.count ?? 0
            }
        }
        #expect(changes > 0 && dom.elements(class: "change").count == changes, "every state change in the addresses' histories is listed")
        #expect(html.contains("<div class=\"share-row\" data-service=\"rr.example.com.\" data-datacenter=\"iad\""), "rr's answers from iad")
        #expect(renderedDCs.first { $0["data-name"] == "iad" }?["data-state"] == "up")
        #expect(renderedDCs.first { $0["data-name"] == "nrt" }?["data-state"] == "down")
        let zone = dom.elements(class: "zone").first { $0["data-origin"] == "example.com." }
        #expect(zone?["data-serial"] == "2024060101", "\(dom.elements(class: "zone"))")
        #expect(html.contains(">2024060101</td>"), "the zones table shows the serial")
        for service in expected["services"] as? [[String: Any]] ?? [] {
            let name = service["name"] as? String ?? ""
            let card = dom.elements(class: "service").first { $0["data-name"] == name }
            #expect(card != nil, "service \(name) rendered")
            #expect(service["policy"] != nil && card?["data-policy"] == service["policy"] as? String, "\(name): \(card ?? [:])")
            let answers = (service["share"] as? [String: Any])?["answers"] as? [String: Int]
            var bars: [String: Int] = [:]
            for row in dom.elements(class: "share-row") where row["data-service"] == name {
                bars[row["data-datacenter"] ?? ""] = Int(row["data-answers"] ?? "")
            }
            #expect(answers != nil && bars == answers, "\(name): a bar per data center with its answers: \(bars) vs \(service)")
        }

        // 2. Drain dub: out of the answers, and the page shows it drained.
        let drain = try E2E.run(curl, ["-s", "-m", "30", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                       "-H", "Authorization: Bearer s3cret", base + "datacenters/dub/drain"], timeout: 40)
        #expect(drain.stdout == "200", "drain: \(drain.stdout) \(drain.stderr)")
        let gone = try waitFor(10) { try server.query("rr.example.com.").addresses == ["192.0.2.10"] }
        #expect(gone != nil, "dub (198.51.100.10) leaves the answers: \(server.show("rr.example.com."))")
        html = try browser.dumpDOM(base)
        dom = DOM(html)
        let dub = dom.elements(class: "datacenter").first { $0["data-name"] == "dub" }
        #expect(dub?["data-state"] == "drain", "dub rendered drained: \(dub ?? [:])")
        #expect(dom.elements(class: "address").first { $0["data-ip"] == "198.51.100.10" }?["data-state"] == "drain")

        // 3. Screenshots, kept for a person to look at.
        let artifacts = E2E.repo.appendingPathComponent("Tests/.artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        for (file, dark) in [("status-page.png", false), ("status-page-dark.png", true)] {
            let png = artifacts.appendingPathComponent(file)
            try? FileManager.default.removeItem(at: png)
            try browser.screenshot(base, to: png.path, dark: dark)
            let size = (try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
            #expect(size > 20_000, "\(png.path): \(size) bytes")
        }

        // 4. Without /status (the page opened from a file): the error banner.
        let copy = browser.home.appendingPathComponent("status.html")
        _ = try E2E.run(curl, ["-s", "-m", "30", "-o", copy.path, base], timeout: 40)
        let offline = try browser.dumpDOM(copy.absoluteString)
        #expect(DOM(offline).element(tag: "body")?["data-status"] == "error", "\(offline.prefix(2000))")
        #expect(DOM(offline).element(id: "error")?["hidden"] == nil, "the error banner is shown")
        #expect(offline.contains("Cannot fetch /status"))

        // 5. After a reload that succeeded, the last-reload line says when and "ok", and nothing
        // more (a reload that succeeded has no problems to list; it once read "…oknullnull").
        let reload = try E2E.run(curl, ["-s", "-m", "30", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                        "-H", "Authorization: Bearer s3cret", base + "reload"], timeout: 40)
        #expect(reload.stdout == "200", "reload: \(reload.stdout) \(reload.stderr)")
        html = try browser.dumpDOM(base)
        dom = DOM(html)
        #expect(dom.element(id: "last-reload")?["data-ok"] == "true", "\(dom.element(id: "last-reload") ?? [:])")
        let box = try #require(html.firstMatch(of: #/id="last-reload"[^>]*>(.*?)</div>/#.dotMatchesNewlines()), "\(html.suffix(3000))")
        let text = String(box.output.1).replacing(#/<[^>]*>/#, with: "")
        #expect(text.hasPrefix("Last reload") && text.hasSuffix("ok"), "the last-reload line: \(text)")
        #expect(!text.lowercased().contains("null"), "the last-reload line: \(text)")
    }
}

/// Headless Chromium with its own profile and HOME in a temporary directory; every run waits for
/// the page's scripts through a virtual time budget. Host names resolve nowhere: only loopback
/// addresses are ever contacted.
final class Browser {
    let executable: String
    let home: URL

    init() throws {
        executable = try E2E.tool("chromium")
        home = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: home) }

    private func run(_ args: [String]) throws -> String {
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--user-data-dir=\(home.path)/profile",
            "--virtual-time-budget=8000",
        ]
        let r = try E2E.run("/usr/bin/env", ["HOME=\(home.path)", executable] + flags + args, timeout: 180)
        // Chromium exits 0 even when the page did not load; it says so on stderr.
        guard r.status == 0, !r.stderr.contains("Page load failed") else {
            throw E2EError.setup("chromium \(args.joined(separator: " ")) exited \(r.status): \(r.stderr.suffix(2000))")
        }
        return r.stdout
    }

    /// The DOM after the page's scripts ran, serialized.
    func dumpDOM(_ url: String) throws -> String { try run(["--dump-dom", url]) }

    func screenshot(_ url: String, to path: String, dark: Bool) throws {
        _ = try run(["--screenshot=\(path)", "--window-size=1280,900"] + (dark ? ["--force-dark-mode"] : []) + [url])
    }
}

/// The start tags of a serialized DOM, each as its attributes (enough for the page's own markup).
struct DOM {
    let tags: [(name: String, attributes: [String: String])]

    init(_ html: String) {
        let tag = /<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>\/]+(?:="[^"]*")?)*)\s*\/?>/
        let attribute = /([^\s=>\/]+)(?:="([^"]*)")?/
        tags = html.matches(of: tag).map { m in
            var attributes: [String: String] = [:]
            for a in m.output.2.matches(of: attribute) {
                attributes[String(a.output.1)] = a.output.2.map { DOM.unescape(String($0)) } ?? ""
            }
            return (String(m.output.1), attributes)
        }
    }

    func elements(class name: String) -> [[String: String]] {
        tags.map(\.attributes).filter { ($0["class"] ?? "").split(separator: " ").contains { $0 == name } }
    }

    func element(id: String) -> [String: String]? { tags.first { $0.attributes["id"] == id }?.attributes }

    func element(tag: String) -> [String: String]? { tags.first { $0.name == tag }?.attributes }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}
