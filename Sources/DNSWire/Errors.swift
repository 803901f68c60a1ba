/// The one error type of the DNSWire module: a code that tests compare and a reason that logs show.
public struct DNSWireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a value tests can compare.
    public enum Code: Hashable, Sendable {
        case truncated
        case labelTooLong
        case nameTooLong
        case badPointer
        case badLabelType
        case badPresentation
        case trailingData
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}
