import DNSWire
import Foundation
@testable import Health
import HealthModel
import Logging
import Testing

let logger = Logger(label: "health-tests")

func checker(_ type: String, _ parameters: [String: String] = [:]) throws -> any HealthChecker {
    try HealthCheckers.make(CheckDefinition(name: "t", type: type, interval: .seconds(1), timeout: .seconds(1), parameters: parameters),
                            logger: logger)
}

func loopback(_ port: Int, datacenter: String = "iad") -> CheckTarget {
    CheckTarget(ip: "127.0.0.1", target: "127.0.0.1:\(port)", datacenter: datacenter)
}

@Suite struct RegistryTests {
    @Test func knownTypes() throws {
        for type in ["tcp", "http", "https", "dns", "exec", "file"] { #expect(HealthCheckers.kinds.names.contains(type)) }
        #expect(!HealthCheckers.kinds.names.contains("icmp"))
        #expect(throws: HealthError.self) { try checker("icmp") }
        #expect(throws: HealthError.self) { try checker("tcp", ["port": "70000"]) }
        #expect(throws: HealthError.self) { try checker("dns") }
        #expect(throws: HealthError.self) { try checker("dns", ["name": "x.", "qtype": "BOGUS"]) }
        #expect(throws: HealthError.self) { try checker("exec", ["command": "no-such-program-anywhere"]) }
        #expect(throws: HealthError.self) { try checker("http", ["expect": "abc"]) }
    }

    @Test func targets() {
        #expect(CheckTarget(ip: "::1", datacenter: "x").hostPort == ("::1", nil))
        #expect(CheckTarget(ip: "::1", target: "[::1]:8080", datacenter: "x").hostPort == ("::1", 8080))
        #expect(CheckTarget(ip: "127.0.0.1", target: "127.0.0.1:81", datacenter: "x").hostPort == ("127.0.0.1", 81))
        #expect(CheckTarget(ip: "127.0.0.1", datacenter: "x").hostPort == ("127.0.0.1", nil))
    }
}

@Suite struct TCPCheckerTests {
    @Test func connectsAndRefused() async throws {
        let backend = try await TCPBackend(.accept)
        let tcp = try checker("tcp")
        #expect(await tcp.check(loopback(backend.port), timeout: .seconds(1)).verdict == .pass)
        try await backend.stop()
        let refused = await tcp.check(loopback(backend.port), timeout: .seconds(1))
        #expect(refused.verdict == .fail)
        #expect(refused.reason.contains("refused"))
    }

    @Test func portParameterAndIPv6() async throws {
        let backend = try await TCPBackend(.accept)
        defer { Task { try await backend.stop() } }
        let tcp = try checker("tcp", ["port": "\(backend.port)"])
        #expect(await tcp.check(CheckTarget(ip: "127.0.0.1", datacenter: "x"), timeout: .seconds(1)).verdict == .pass)
        #expect(await tcp.check(CheckTarget(ip: "::1", datacenter: "x"), timeout: .seconds(1)).verdict == .fail)
        #expect(try await checker("tcp").check(CheckTarget(ip: "127.0.0.1", datacenter: "x"), timeout: .seconds(1)).verdict == .fail)
    }
}

@Suite struct HTTPCheckerTests {
    @Test func statusAndBody() async throws {
        let ok = try await TCPBackend(.http(status: 200, body: "all good"))
        let error = try await TCPBackend(.http(status: 500, body: "broken"))
        defer { Task { try await ok.stop(); try await error.stop() } }
        #expect(try await checker("http").check(loopback(ok.port), timeout: .seconds(2)) == .pass("HTTP 200"))
        #expect(try await checker("http", ["body": "good"]).check(loopback(ok.port), timeout: .seconds(2)).verdict == .pass)
        let wrongBody = try await checker("http", ["body": "healthy"]).check(loopback(ok.port), timeout: .seconds(2))
        #expect(wrongBody == .fail("HTTP 200, body lacks 'healthy'"))
        #expect(try await checker("http").check(loopback(error.port), timeout: .seconds(2)) == .fail("HTTP 500, expected 200"))
        #expect(try await checker("http", ["expect": "500"]).check(loopback(error.port), timeout: .seconds(2)).verdict == .pass)
        let url = CheckTarget(ip: "127.0.0.1", target: "http://127.0.0.1:\(ok.port)/healthz", datacenter: "x")
        #expect(try await checker("http").check(url, timeout: .seconds(2)).verdict == .pass)
        let port = CheckTarget(ip: "127.0.0.1", datacenter: "x")
        #expect(try await checker("http", ["port": "\(ok.port)", "path": "/x"]).check(port, timeout: .seconds(2)).verdict == .pass)
    }

    @Test func refusedAndTimeout() async throws {
        let refused = try await checker("http").check(loopback(try await closedPort()), timeout: .seconds(1))
        #expect(refused.verdict == .fail)
        // The same closed port reads the same to an http check as to a tcp check.
        #expect(refused.reason.contains("connection refused"), "\(refused.reason)")
        let silent = try await TCPBackend(.silent)
        defer { Task { try await silent.stop() } }
        let start = ContinuousClock.now
        let hung = try await checker("http").check(loopback(silent.port), timeout: .milliseconds(300))
        #expect(hung.verdict == .fail)
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func httpsVerifiesUnlessInsecure() async throws {
        let directory = try temporaryDirectory()
        let server = try PythonHTTPSBackend(directory: directory)
        defer { server.stop() }
        let verified = try await checker("https").check(loopback(server.port), timeout: .seconds(3))
        #expect(verified.verdict == .fail)
        #expect(try await checker("https", ["insecure": "true"]).check(loopback(server.port), timeout: .seconds(3)) == .pass("HTTP 200"))
        let insecure = try await checker("https", ["insecure": "true", "body": "tls ok"]).check(loopback(server.port), timeout: .seconds(3))
        #expect(insecure == .pass("HTTP 200, body matches"))
    }
}

@Suite struct DNSCheckerTests {
    @Test func rcodeAndAnswer() async throws {
        let server = try await DNSBackend()
        let nx = try await DNSBackend(rcode: .nxDomain)
        defer { Task { try await server.stop(); try await nx.stop() } }
        let plain = try checker("dns", ["name": "www.example.com"])
        #expect(await plain.check(loopback(server.port), timeout: .seconds(1)) == .pass("NOERROR"))
        let answer = try checker("dns", ["name": "www.example.com", "answer": "127.0.0.1"])
        #expect(await answer.check(loopback(server.port), timeout: .seconds(1)) == .pass("NOERROR, www.example.com. A 127.0.0.1"))
        let wrongAnswer = try checker("dns", ["name": "www.example.com", "answer": "10.0.0.1"])
        #expect(await wrongAnswer.check(loopback(server.port), timeout: .seconds(1)).verdict == .fail)
        #expect(await plain.check(loopback(nx.port), timeout: .seconds(1)) == .fail("NXDOMAIN, expected NOERROR"))
        let expectNX = try checker("dns", ["name": "nope.example.com", "qtype": "aaaa", "rcode": "nxdomain"])
        #expect(await expectNX.check(loopback(nx.port), timeout: .seconds(1)).verdict == .pass)
    }

    @Test func silentServerTimesOut() async throws {
        let server = try await DNSBackend(silent: true)
        defer { Task { try await server.stop() } }
        let start = ContinuousClock.now
        let outcome = try await checker("dns", ["name": "www.example.com"]).check(loopback(server.port), timeout: .milliseconds(200))
        #expect(outcome == .fail("no response"))
        #expect(ContinuousClock.now - start < .seconds(1))
    }
}

@Suite struct ExecCheckerTests {
    @Test func exitStatusAndSubstitution() async throws {
        let directory = try temporaryDirectory()
        let path = try script("""
        echo "OK - $1 in $2"
        [ "$1" = 127.0.0.1 ] && exit 0
        echo "CRITICAL - $1 unreachable"; exit 2
        """, in: directory)
        let exec = try checker("exec", ["command": [path, "{ip}", "{datacenter}"].joined(separator: "\u{1F}")])
        #expect(await exec.check(CheckTarget(ip: "127.0.0.1", datacenter: "iad"), timeout: .seconds(2)) == .pass("OK - 127.0.0.1 in iad"))
        let down = await exec.check(CheckTarget(ip: "127.0.0.2", datacenter: "dub"), timeout: .seconds(2))
        #expect(down == .fail("exit 2: OK - 127.0.0.2 in dub"))
        let one = try checker("exec", ["command": "sh\u{1F}-c\u{1F}echo failing {target} >&2; exit 1"])
        #expect(await one.check(loopback(9), timeout: .seconds(2)) == .fail("exit 1: failing 127.0.0.1:9"))
    }

    @Test func killedAtTimeout() async throws {
        let exec = try checker("exec", ["command": "sleep\u{1F}30"])
        let start = ContinuousClock.now
        let outcome = await exec.check(loopback(9), timeout: .milliseconds(200))
        #expect(outcome.verdict == .fail)
        #expect(outcome.reason.contains("timed out"))
        #expect(ContinuousClock.now - start < .seconds(2))
    }
}

@Suite struct FileCheckerTests {
    @Test func operatorFile() async throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("health.txt").path
        let file = try checker("file", ["path": path])
        let iad = CheckTarget(ip: "127.0.0.1", datacenter: "iad")
        let dub = CheckTarget(ip: "127.0.0.2", datacenter: "dub")
        let nrt = CheckTarget(ip: "127.0.0.3", datacenter: "nrt")
        #expect(await file.check(iad, timeout: .seconds(1)).verdict == .pass)
        try "# maintenance\niad down\n127.0.0.2 drain   # one box\ndub up\n".write(toFile: path, atomically: true, encoding: .utf8)
        let down = await file.check(iad, timeout: .seconds(1))
        #expect(down == CheckOutcome(.fail, "\(path):2: iad down", immediate: true))
        #expect(await file.check(dub, timeout: .seconds(1)).verdict == .drain)
        #expect(await file.check(nrt, timeout: .seconds(1)) == CheckOutcome(.pass, "not in \(path)", immediate: true))
        try "iad up\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await file.check(iad, timeout: .seconds(1)).verdict == .pass)
        #expect(await file.check(dub, timeout: .seconds(1)).verdict == .pass)
        try FileManager.default.removeItem(atPath: path)
        #expect(await file.check(iad, timeout: .seconds(1)) == CheckOutcome(.pass, "\(path) missing", immediate: true))
    }
}
