import DNSWire

/// One parameter a kind of health check takes, as its checker declares it (the way Knot's modules
/// declare their configuration schema): the configuration layer checks every configured check
/// against its kind's declarations, and the checker reads values already in normal form.
public struct CheckParameter: Sendable {
    /// What a parameter's value must be.
    public enum Kind: Sendable {
        /// A port, 1–65535.
        case port
        /// An HTTP path starting with `/`.
        case urlPath
        /// A file path (the configuration layer makes it absolute).
        case filePath
        /// An HTTP status, 100–599.
        case httpStatus
        /// `true` or `false`.
        case boolean
        /// A domain name.
        case domainName
        /// A query type mnemonic (`A`, `AAAA`, …) or `TYPEn`; stored upper case.
        case queryType
        /// A response code mnemonic (`NOERROR`, …) or a number below 4096; stored upper case.
        case responseCode
        /// A program and its arguments: a list, or one string split at spaces.
        case command
        /// Any text but the empty one.
        case text
    }

    /// A value as written: one scalar, or a list of scalars.
    public enum Value: Sendable {
        case scalar(String)
        case list([String])
    }

    public var name: String
    public var kind: Kind
    /// True when a check of the kind must set it.
    public var isRequired: Bool

    public init(_ name: String, _ kind: Kind, required: Bool = false) {
        self.name = name
        self.kind = kind
        self.isRequired = required
    }

    /// The value in the normal form ``CheckDefinition/parameters`` holds, or why it is not valid.
    public func normalize(_ value: Value) -> Result<String, CheckParameterProblem> {
        if kind == .command {
            let words: [String]
            switch value {
            case .list(let items): words = items
            case .scalar(let text): words = text.split(separator: " ").map(String.init)
            }
            guard let program = words.first, !program.isEmpty else { return .failure(CheckParameterProblem("a command is needed")) }
            return .success(words.joined(separator: String(CheckDefinition.listSeparator)))
        }
        guard case .scalar(let text) = value else { return .failure(CheckParameterProblem("must be a single value, not a list")) }
        func invalid(_ reason: String) -> Result<String, CheckParameterProblem> {
            .failure(CheckParameterProblem("\"\(text)\" \(reason)"))
        }
        switch kind {
        case .port:
            guard let n = UInt16(text), n > 0 else { return invalid("is not a port number from 1 to 65535") }
            return .success(String(n))
        case .filePath:
            return text.isEmpty ? invalid("is not a path") : .success(text)
        case .urlPath:
            return text.hasPrefix("/") ? .success(text) : invalid("is not a URL path starting with /")
        case .httpStatus:
            guard let n = Int(text), (100...599).contains(n) else { return invalid("is not an HTTP status from 100 to 599") }
            return .success(String(n))
        case .boolean:
            return text == "true" || text == "false" ? .success(text) : invalid("is not true or false")
        case .domainName:
            do throws(DNSWireError) {
                _ = try DNSName(text)
                return .success(text)
            } catch {
                return invalid("is not a domain name: \(error)")
            }
        case .queryType:
            let upper = text.uppercased()
            guard RRType(mnemonic: upper) != nil else { return invalid("is not a query type (A, AAAA, SOA, TXT, …, TYPEn)") }
            return .success(upper)
        case .responseCode:
            let upper = text.uppercased()
            guard RCode(mnemonic: upper) != nil || (UInt16(text).map { $0 < 4096 } ?? false) else {
                return invalid("is not a response code (NOERROR, NXDOMAIN, SERVFAIL, … or 0-4095)")
            }
            return .success(upper)
        case .text, .command:
            return text.isEmpty ? invalid("must not be empty") : .success(text)
        }
    }
}

/// Why a check parameter's value is not valid.
public struct CheckParameterProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The kinds of health check there are and the parameters each declares, in the order they are
/// listed to operators. Built by the `Health` module from its checkers; the configuration layer
/// validates checks against it without linking any checker.
public struct CheckKinds: Sendable {
    /// Kind name → its parameters, in listing order.
    public let kinds: [(name: String, parameters: [CheckParameter])]

    public init(_ kinds: [(name: String, parameters: [CheckParameter])]) { self.kinds = kinds }

    /// The kind names, in listing order.
    public var names: [String] { kinds.map(\.name) }

    /// The parameters of kind `name`; nil when there is no such kind.
    public func parameters(of name: String) -> [CheckParameter]? {
        kinds.first { $0.name == name }?.parameters
    }
}
