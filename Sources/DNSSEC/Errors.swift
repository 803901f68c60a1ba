/// Why a key, a key file or a signature could not be used.
public struct DNSSECError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A file or field that does not say what the format needs.
        case badKeyFile
        /// An algorithm Meridian does not sign with.
        case unsupportedAlgorithm
        /// Key material the algorithm rejects (wrong length, not on the curve, too short).
        case badKey
        /// The public key of the `.key` file is not the private key's.
        case keyMismatch
        /// A file that cannot be read or written, or is readable by others.
        case fileAccess
        /// The signing primitive failed.
        case signingFailed
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
