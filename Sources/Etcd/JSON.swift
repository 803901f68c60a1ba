import Foundation

/// A JSON value as the gateway sends and takes it: parsed in full by `JSONDecoder` (which
/// rejects malformed text with an error, never a crash) and read only through the checked
/// accessors of ``JSONObject``.
enum JSONValue: Codable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// An int64 as the gateway writes it (a decimal string, as proto3's JSON mapping says) or
    /// as a JSON number.
    static func int64(_ value: Int64) -> JSONValue { .string(String(value)) }

    /// Bytes as proto3's JSON mapping writes them: base64.
    static func bytes(_ value: [UInt8]) -> JSONValue { .string(Data(value).base64EncodedString()) }
}

/// One JSON object of a response, with accessors that check each field's type. proto3's JSON
/// mapping leaves out fields at their default value (0, "", false, empty), so an absent field
/// reads as that default; a field present with the wrong type is a ``EtcdError/badResponse(_:)``.
struct JSONObject: Sendable {
    let fields: [String: JSONValue]
    /// Where in the response this object is, for messages.
    let path: String

    /// The object in `bytes`, or badResponse.
    init(parsing bytes: some Collection<UInt8>, what: String) throws(EtcdError) {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw .badResponse("\(what): not JSON: \(String(decoding: bytes.prefix(120), as: UTF8.self))")
        }
        guard case .object(let fields) = value else { throw .badResponse("\(what): not a JSON object") }
        self.init(fields: fields, path: what)
    }

    init(fields: [String: JSONValue], path: String) {
        self.fields = fields
        self.path = path
    }

    private func wrong(_ key: String, _ expected: String) -> EtcdError {
        .badResponse("\(path).\(key) is not \(expected)")
    }

    func has(_ key: String) -> Bool { fields[key] != nil }

    func int64(_ key: String) throws(EtcdError) -> Int64 {
        switch fields[key] {
        case nil, .null: return 0
        case .integer(let i): return i
        case .string(let s):
            guard let i = Int64(s) else { throw wrong(key, "an int64") }
            return i
        default: throw wrong(key, "an int64")
        }
    }

    /// A revision, count or TTL: an int64 that is not negative.
    func count(_ key: String) throws(EtcdError) -> Int64 {
        let value = try int64(key)
        guard value >= 0 else { throw wrong(key, "zero or more") }
        return value
    }

    func bool(_ key: String) throws(EtcdError) -> Bool {
        switch fields[key] {
        case nil, .null: return false
        case .bool(let b): return b
        default: throw wrong(key, "a boolean")
        }
    }

    func string(_ key: String) throws(EtcdError) -> String {
        switch fields[key] {
        case nil, .null: return ""
        case .string(let s): return s
        default: throw wrong(key, "a string")
        }
    }

    func bytes(_ key: String) throws(EtcdError) -> [UInt8] {
        let text = try string(key)
        guard let data = Data(base64Encoded: text) else { throw wrong(key, "base64") }
        return Array(data)
    }

    /// A nested object; an absent one reads as empty.
    func object(_ key: String) throws(EtcdError) -> JSONObject {
        switch fields[key] {
        case nil, .null: return JSONObject(fields: [:], path: "\(path).\(key)")
        case .object(let o): return JSONObject(fields: o, path: "\(path).\(key)")
        default: throw wrong(key, "an object")
        }
    }

    /// A list of objects; an absent one reads as empty.
    func objects(_ key: String) throws(EtcdError) -> [JSONObject] {
        switch fields[key] {
        case nil, .null: return []
        case .array(let items):
            var result: [JSONObject] = []
            for (i, item) in items.enumerated() {
                guard case .object(let o) = item else { throw wrong("\(key)[\(i)]", "an object") }
                result.append(JSONObject(fields: o, path: "\(path).\(key)[\(i)]"))
            }
            return result
        default: throw wrong(key, "a list")
        }
    }

    /// `header.revision`: the store's revision when etcd answered.
    func headerRevision() throws(EtcdError) -> Int64 {
        try object("header").count("revision")
    }
}
