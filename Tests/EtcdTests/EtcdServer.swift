import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Test tools: a real etcd (Debian's etcd-server 3.4) on free loopback ports, etcdctl, and a fake
/// gateway that answers every request with one fixed body. Everything listens on 127.0.0.1.
enum Tools {
    /// The Debian package that installs each program the tests run.
    static let debianPackage = ["etcd": "etcd-server", "etcdctl": "etcd-client", "python3": "python3", "openssl": "openssl"]

    /// A required program; a missing one fails the test, naming the package to install.
    static func tool(_ name: String) throws -> String {
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/usr/local/bin"] {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let package = debianPackage[name] ?? name
        throw ToolError("\(name) not found: install the Debian package \(package) (apt-get install \(package), or scripts/install-deps --test)")
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a program to completion, killed after `timeout` seconds.
    static func run(_ exe: String, _ args: [String], input: String? = nil, timeout: TimeInterval = 30) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.environment = ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"]
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try inp.fileHandleForWriting.close()
        let pid = p.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        killer.cancel()
        return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A TCP port free on 127.0.0.1 that this process has not handed out before, below the
    /// kernel's ephemeral range (where clients' source ports come from) when there is room.
    static func freePort() throws -> Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        let low = numbers.count == 2 && numbers[0] > 12_000 ? numbers[0] : 32_768
        for _ in 0..<200 {
            let port = Int.random(in: 10_000..<low)
            guard issued.withLock({ $0.insert(port).inserted }) else { continue }
            if bindable(port) { return port }
        }
        throw ToolError("no free loopback port")
    }

    private static let issued = Mutex<Set<Int>>([])

    private static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A certificate authority of its own and a certificate it signed for 127.0.0.1, made with
/// openssl in `dir`.
struct TestCertificates {
    let caFile: String
    let certFile: String
    let keyFile: String

    init(in dir: URL) throws {
        let openssl = try Tools.tool("openssl")
        let path = { (name: String) in dir.appendingPathComponent(name).path }
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("ext.cnf"), atomically: true, encoding: .utf8)
        for args in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=meridian test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
             "-out", path("server.pem"), "-days", "2", "-extfile", path("ext.cnf")],
        ] {
            let r = try Tools.run(openssl, args)
            guard r.status == 0 else { throw ToolError("openssl \(args[0]): \(r.stderr)") }
        }
        caFile = path("ca.pem")
        certFile = path("server.pem")
        keyFile = path("server.key")
    }
}

/// A single-member etcd cluster in a temporary directory, stopped and removed by ``stop()``.
final class EtcdServer {
    let endpoint: String
    /// The CA that signed the server's certificate, when it serves https.
    let caFile: String?
    private let dir: URL
    private let process = Process()
    private let etcdctlPath: String

    /// `arguments`: more etcd flags. `tls`: serve the client port over https with a certificate
    /// of a CA made for the test.
    init(arguments: [String] = [], tls: Bool = false) throws {
        let etcd = try Tools.tool("etcd")
        etcdctlPath = try Tools.tool("etcdctl")
        let clientPort = try Tools.freePort(), peerPort = try Tools.freePort()
        endpoint = "\(tls ? "https" : "http")://127.0.0.1:\(clientPort)"
        let peer = "http://127.0.0.1:\(peerPort)"
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var arguments = arguments
        if tls {
            let certificates = try TestCertificates(in: dir)
            arguments += ["--cert-file", certificates.certFile, "--key-file", certificates.keyFile]
            caFile = certificates.caFile
        } else {
            caFile = nil
        }
        process.executableURL = URL(fileURLWithPath: etcd)
        process.arguments = [
            "--name", "default", "--data-dir", dir.appendingPathComponent("data").path,
            "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=\(peer)",
        ] + arguments
        let log = dir.appendingPathComponent("etcd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard process.isRunning else { break }
            if try etcdctl(["endpoint", "health"]).status == 0 { return }
            usleep(100_000)
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        stop()
        throw ToolError("etcd did not become healthy at \(endpoint):\n\(text.suffix(2000))")
    }

    /// Runs etcdctl against this server.
    @discardableResult
    func etcdctl(_ args: [String], input: String? = nil) throws -> Tools.Output {
        try Tools.run(etcdctlPath, ["--endpoints=\(endpoint)", "--command-timeout=5s"] + (caFile.map { ["--cacert=\($0)"] } ?? []) + args,
                      input: input)
    }

    /// etcdctl that must succeed.
    @discardableResult
    func mustEtcdctl(_ args: [String], input: String? = nil) throws -> String {
        let r = try etcdctl(args, input: input)
        guard r.status == 0 else { throw ToolError("etcdctl \(args.joined(separator: " ")): \(r.stderr)") }
        return r.stdout
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }
}

/// An HTTP server that answers every POST with `status` and `body` (for a watch, the body's
/// lines are the stream), to feed the client what etcd never sends.
final class FakeGateway {
    let endpoint: String
    private let process = Process()

    init(status: Int = 200, body: String) throws {
        let python = try Tools.tool("python3")
        let port = try Tools.freePort()
        endpoint = "http://127.0.0.1:\(port)"
        let script = """
        import http.server, sys
        status, body = int(sys.argv[2]), sys.argv[3].encode()
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a): pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, String(port), String(status), body]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready once the port is taken.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, process.isRunning {
            if Self.accepts(port) { return }
            usleep(50_000)
        }
        stop()
        throw ToolError("the fake gateway did not start on port \(port)")
    }

    private static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// SIGKILL: the child may inherit a mask that blocks SIGTERM from the test's thread, and
    /// Python, unlike etcd's Go runtime, keeps it blocked.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
