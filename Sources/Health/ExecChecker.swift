public import HealthModel
import Foundation
public import Logging
import Synchronization

/// `exec`: runs `command` (a list: program, then arguments) with `{ip}`, `{target}` (the check
/// target, else the ip) and `{datacenter}` substituted. Exit 0 passes; any other status fails with
/// the first line of output (stdout and stderr together) as the reason, the Nagios plugin
/// convention. Killed (SIGKILL) at the timeout or when the check is cancelled.
public struct ExecChecker: HealthChecker {
    public static let parameters = [CheckParameter("command", .command, required: true)]

    let command: [String]

    /// Output kept for the reason: a plugin's status line is short, and a process that writes more
    /// than the pipe holds (64 KiB on Linux) without exiting is killed at the timeout anyway.
    static let maxOutputBytes = 64 * 1024

    public init(definition: CheckDefinition, logger: Logger) throws(HealthError) {
        guard var command = definition.list("command"), let program = command.first, !program.isEmpty else {
            throw HealthError(.badParameter, check: definition.name, reason: "an exec check needs 'command'")
        }
        if !program.contains("/") {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            let candidates: [String] = path.split(separator: ":").map { directory in "\(directory)/\(program)" }
            guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
                throw HealthError(.commandNotFound, check: definition.name, reason: "command '\(program)' not found in PATH")
            }
            command[0] = found
        }
        self.command = command
    }

    public func check(_ target: CheckTarget, timeout: Duration) async -> CheckOutcome {
        let arguments = command.map {
            $0.replacing("{ip}", with: target.ip).replacing("{target}", with: target.endpoint)
                .replacing("{datacenter}", with: target.datacenter)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let run = RunState()
        let end: End = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<End, Never>) in
                guard run.start(continuation) else { return }
                process.terminationHandler = { p in
                    run.finish(p.terminationReason == .exit ? .exited(p.terminationStatus) : .signalled(p.terminationStatus))
                }
                do {
                    try process.run()
                } catch {
                    run.finish(.failedToStart(error.localizedDescription))
                    return
                }
                run.started(pid: process.processIdentifier, timeout: timeout)
            }
        } onCancel: {
            run.finish(.cancelled)
        }
        let line = Self.firstLine(of: output.fileHandleForReading)
        switch end {
        case .exited(0): return .pass(line.isEmpty ? "exit 0" : line)
        case .exited(let status): return .fail(line.isEmpty ? "exit \(status)" : "exit \(status): \(line)")
        case .signalled(let signal): return .fail("killed by signal \(signal)")
        case .timedOut: return .fail(CheckFailure.timedOut(timeout) + ", killed")
        case .failedToStart(let why): return .fail("cannot run \(arguments[0]): \(why)")
        case .cancelled: return .fail("cancelled")
        }
    }

    /// How a run ended.
    enum End: Sendable {
        case exited(Int32), signalled(Int32), timedOut, failedToStart(String), cancelled
    }

    /// The first non-empty line of what the process wrote, read without blocking (a grandchild
    /// still holding the pipe open must not hang the check), then the pipe is closed.
    static func firstLine(of handle: FileHandle) -> String {
        let fd = handle.fileDescriptor
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < maxOutputBytes {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk.prefix(n)
        }
        try? handle.close()
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).lazy.map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
    }

    /// Who resumes the check first: the exit, the timeout or a cancellation. Whichever is not the
    /// exit kills the process.
    final class RunState: Sendable {
        struct State {
            var continuation: CheckedContinuation<End, Never>?
            var pid: pid_t?
            var end: End?
            var timer: Task<Void, Never>?
        }
        let state = Mutex(State())

        /// Keeps the continuation; false (and resumed) when the check was cancelled before it started.
        func start(_ continuation: CheckedContinuation<End, Never>) -> Bool {
            guard let end = state.withLock({ s in
                if s.end == nil { s.continuation = continuation }
                return s.end
            }) else { return true }
            continuation.resume(returning: end)
            return false
        }

        /// Arms the timeout for the running process.
        func started(pid: pid_t, timeout: Duration) {
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self.finish(.timedOut) }
            }
            let end = state.withLock { s in
                s.pid = pid
                s.timer = timer
                return s.end
            }
            guard let end else { return }
            timer.cancel()
            if case .cancelled = end { kill(pid, SIGKILL) }
        }

        func finish(_ end: End) {
            let taken: (CheckedContinuation<End, Never>?, pid_t?, Task<Void, Never>?)? = state.withLock { s in
                if s.end != nil { return nil }
                s.end = end
                defer { s.continuation = nil }
                return (s.continuation, s.pid, s.timer)
            }
            guard let (continuation, pid, timer) = taken else { return }
            timer?.cancel()
            switch end {
            case .exited, .signalled, .failedToStart: break
            case .timedOut, .cancelled: if let pid { kill(pid, SIGKILL) }
            }
            continuation?.resume(returning: end)
        }
    }
}
