import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process ID file an init system reads (`pid-file:` or `--pid-file`): checked before the
/// server loads anything, written once every address is bound, removed at exit. A file naming a
/// process that is still alive stops the start; one naming a dead process (left by a crash or
/// SIGKILL), or this very process (a container restarted with the same PID), is replaced.
public struct PIDFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Fails when the file names another live process.
    public func checkNotRunning() throws(PIDFileError) {
        guard let pid = recordedPID(), pid != getpid() else { return }
        // kill(pid, 0) delivers nothing: it succeeds (or fails with EPERM, for another user's
        // process) exactly when the process exists.
        if kill(pid, 0) == 0 || errno == EPERM {
            throw PIDFileError(path: path, reason: "process \(pid) named in it is running (another meridian?); stop it, or remove the file if it is not meridian")
        }
    }

    /// Writes this process's ID through a rename, so a reader never sees half a file.
    public func write() throws(PIDFileError) {
        let temporary = "\(path).\(getpid()).tmp"
        let text = "\(getpid())\n"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PIDFileError(path: path, reason: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        let failure = written == text.utf8.count ? 0 : errno
        close(fd)
        guard failure == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(failure == 0 ? errno : failure))
            unlink(temporary)
            throw PIDFileError(path: path, reason: "cannot write: \(reason)")
        }
    }

    /// Removes the file if it still names this process (a newer server may have replaced it).
    public func remove() {
        if recordedPID() == getpid() { unlink(path) }
    }

    /// The process ID in the file; nil when there is no file or it holds no positive number.
    private func recordedPID() -> pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return nil }
        return pid
    }
}

/// A PID file that stops the start or cannot be written.
public struct PIDFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "pid file \(path): \(reason)" }
}
