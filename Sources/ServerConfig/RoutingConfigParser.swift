import DNSWire
import Foundation
import HealthModel
import IPNet
import Routing
#if canImport(Glibc)
import Glibc
#endif
import Yams

/// What services may refer to: every declared data center (whether it has a location) and check,
/// including those with errors of their own, so that one mistake is reported once.
private struct Declared {
    var datacenters: [String: Bool] = [:]
    var checks: Set<String> = []
}

/// Parsing of the routing sections (see ``RoutingConfiguration`` for the YAML accepted).
extension ConfigParser {
    static let policies = ["round-robin", "weighted", "geo-nearest", "geo-map", "failover"]
    static let continents: Set<String> = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"]
    /// ISO 3166-1 alpha-2 codes in use, and XK (Kosovo), which MaxMind uses.
    static let countries = Set("""
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
        CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO \
        FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE \
        JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO \
        MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW \
        PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM \
        TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
        """.split(separator: " ").map(String.init))

    /// The routing sections, parsed after the rest so that services may refer to data centers and checks
    /// written anywhere in the file.
    mutating func routing(_ sections: [String: (key: Node, value: Node)]) -> RoutingConfiguration {
        var routing = RoutingConfiguration()
        var declared = Declared()
        if let (key, value) = sections["geoip"] { routing.geoip = geoip(value, line: key.mark?.line ?? 1) }
        if let (_, value) = sections["datacenters"] { routing.datacenters = datacenters(value, &declared) }
        if let (_, value) = sections["checks"] { routing.checks = checks(value, &declared) }
        if let (_, value) = sections["health"], let map = mapping(value, key: "health") {
            for (keyNode, value) in map where !isDuplicate(keyNode) {
                let name = keyNode.scalar?.string ?? "?"
                if name == "state-file", let path = scalar(value, key: "health.state-file") {
                    routing.healthStateFile = resolve(path)
                } else {
                    fail(.unknownKey, keyNode, "health." + name, "unknown key")
                }
            }
        }
        if let (_, value) = sections["services"] { routing.services = services(value, declared) }
        return routing
    }

    // MARK: geoip

    mutating func geoip(_ node: Node, line: Int) -> GeoIPConfig? {
        guard let map = mapping(node, key: "geoip") else { return nil }
        var config = GeoIPConfig(database: nil, networks: [], line: line)
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            let name = keyNode.scalar?.string ?? "?"
            let key = "geoip." + name
            switch name {
            case "database":
                guard let text = scalar(value, key: key) else { break }
                let path = resolve(text)
                if FileManager.default.isReadableFile(atPath: path) {
                    config.database = path
                } else {
                    fail(.missingFile, value, key, "\(path): no such readable file")
                }
            case "networks":
                guard let networks = mapping(value, key: key) else { break }
                for (prefixNode, place) in networks where !isDuplicate(prefixNode) {
                    guard let prefix = scalar(prefixNode, key: key) else { continue }
                    let networkKey = key + "." + prefix
                    var parsed: IPPrefix?
                    do throws(IPParseError) {
                        parsed = try IPPrefix.parseCIDR(prefix)
                    } catch {
                        fail(.badPrefix, prefixNode, networkKey, error.reason)
                    }
                    guard let attributes = mapping(place, key: networkKey) else { continue }
                    var location: Coordinates?
                    var country: String?
                    var continent: String?
                    for (attributeNode, value) in attributes where !isDuplicate(attributeNode) {
                        let attribute = attributeNode.scalar?.string ?? "?"
                        let attributeKey = networkKey + "." + attribute
                        switch attribute {
                        case "location": location = coordinates(value, key: attributeKey)
                        case "country": country = self.country(value, key: attributeKey)
                        case "continent": continent = self.continent(value, key: attributeKey)
                        default: fail(.unknownKey, attributeNode, attributeKey, "unknown key")
                        }
                    }
                    if attributes.isEmpty {
                        fail(.missingKey, place, networkKey, "give at least one of location, country, continent")
                    }
                    // A bad prefix is reported above, its attributes still checked; only good ones are kept.
                    if let parsed {
                        config.networks.append(NetworkConfig(prefix: parsed, location: location, country: country,
                                                             continent: continent, line: prefixNode.mark?.line ?? 1))
                    }
                }
            default: fail(.unknownKey, keyNode, key, "unknown key")
            }
        }
        return config
    }

    // MARK: datacenters

    private mutating func datacenters(_ node: Node, _ declared: inout Declared) -> [DataCenterConfig] {
        guard let map = mapping(node, key: "datacenters") else { return [] }
        var result: [DataCenterConfig] = []
        for (nameNode, value) in map where !isDuplicate(nameNode) {
            guard let name = identifier(nameNode, key: "datacenters") else { continue }
            let key = "datacenters." + name
            var dc = DataCenterConfig(name: name, location: nil, country: nil, continent: nil, addresses: [],
                                      line: nameNode.mark?.line ?? 1)
            declared.datacenters[name] = value.mapping?["location"] != nil
            guard let fields = mapping(value, key: key) else { continue }
            for (fieldNode, value) in fields where !isDuplicate(fieldNode) {
                let field = fieldNode.scalar?.string ?? "?"
                let fieldKey = key + "." + field
                switch field {
                case "location": dc.location = coordinates(value, key: fieldKey)
                case "country": dc.country = country(value, key: fieldKey)
                case "continent": dc.continent = continent(value, key: fieldKey)
                case "addresses": dc.addresses = addresses(value, key: fieldKey)
                default: fail(.unknownKey, fieldNode, fieldKey, "unknown key")
                }
            }
            if fields["addresses"] == nil { fail(.noAddresses, nameNode, key + ".addresses", "a data center needs addresses") }
            result.append(dc)
        }
        return result
    }

    private mutating func addresses(_ node: Node, key: String) -> [AddressConfig] {
        guard let items = sequence(node, key: key) else { return [] }
        if items.isEmpty { fail(.noAddresses, node, key, "a data center needs addresses") }
        var result: [AddressConfig] = []
        for (i, item) in items.enumerated() {
            let itemKey = key + "[\(i)]"
            var ipNode = item
            var check: String?
            if let fields = item.mapping {
                guard fields["ip"] != nil else { fail(.missingKey, item, itemKey + ".ip", "required key is missing"); continue }
                for (fieldNode, value) in fields where !isDuplicate(fieldNode) {
                    switch fieldNode.scalar?.string {
                    case "ip": ipNode = value
                    case "check":
                        check = scalar(value, key: itemKey + ".check")
                        if check?.isEmpty == true { fail(.invalidValue, value, itemKey + ".check", "must not be empty") }
                    default: fail(.unknownKey, fieldNode, itemKey + "." + (fieldNode.scalar?.string ?? "?"), "unknown key")
                    }
                }
            }
            let ipKey = item.mapping == nil ? itemKey : itemKey + ".ip"
            guard let text = scalar(ipNode, key: ipKey) else { continue }
            guard let ip = IPAddress(text) else {
                fail(.badAddress, ipNode, ipKey, "\"\(text)\" is not an IPv4 or IPv6 address")
                continue
            }
            if result.contains(where: { $0.ip == ip }) {
                fail(.invalidValue, ipNode, ipKey, "\(ip) is listed twice")
                continue
            }
            result.append(AddressConfig(ip: ip, checkTarget: check, line: ipNode.mark?.line ?? 1))
        }
        return result
    }

    // MARK: checks

    private mutating func checks(_ node: Node, _ declared: inout Declared) -> [CheckDefinition] {
        guard let map = mapping(node, key: "checks") else { return [] }
        let kindNames = checkKinds.names.joined(separator: ", ")
        var result: [CheckDefinition] = []
        for (nameNode, value) in map where !isDuplicate(nameNode) {
            guard let name = identifier(nameNode, key: "checks") else { continue }
            declared.checks.insert(name)
            let key = "checks." + name
            guard let fields = mapping(value, key: key) else { continue }
            var check = CheckDefinition(name: name, type: "", interval: .seconds(10), timeout: .seconds(2), jitter: 0.1,
                                        rise: 2, fall: 3, parameters: [:], line: nameNode.mark?.line ?? 1)
            var kindParameters: [CheckParameter]?
            if let typeNode = fields["type"], let type = scalar(typeNode, key: key + ".type") {
                check.type = type
                kindParameters = checkKinds.parameters(of: type)
                if kindParameters == nil {
                    fail(.unknownCheckType, typeNode, key + ".type", "unknown check type \"\(type)\"; known: \(kindNames)")
                }
            } else if fields["type"] == nil {
                fail(.missingKey, nameNode, key + ".type", "required key is missing (\(kindNames))")
            }
            var intervalNode: Node?
            var timeoutNode: Node?
            for (fieldNode, value) in fields where !isDuplicate(fieldNode) {
                let field = fieldNode.scalar?.string ?? "?"
                let fieldKey = key + "." + field
                switch field {
                case "type": break
                case "interval":
                    intervalNode = value
                    if let d = duration(value, key: fieldKey) { check.interval = d }
                case "timeout":
                    timeoutNode = value
                    if let d = duration(value, key: fieldKey) { check.timeout = d }
                case "jitter": if let j = jitter(value, key: fieldKey) { check.jitter = j }
                case "rise": if let n = positiveInt(value, key: fieldKey, max: 1000) { check.rise = n }
                case "fall": if let n = positiveInt(value, key: fieldKey, max: 1000) { check.fall = n }
                default:
                    guard let kindParameters else { break }
                    guard let parameter = kindParameters.first(where: { $0.name == field }) else {
                        let known = kindParameters.map(\.name).sorted().joined(separator: ", ")
                        fail(.unknownKey, fieldNode, fieldKey, "not a parameter of \(check.type) checks (\(known))")
                        continue
                    }
                    if let normal = checkParameter(parameter, value, key: fieldKey) { check.parameters[field] = normal }
                }
            }
            if check.timeout >= check.interval {
                fail(.badTimeout, timeoutNode ?? intervalNode ?? nameNode, key + (timeoutNode == nil ? ".interval" : ".timeout"),
                     "timeout \(Self.format(check.timeout)) must be shorter than interval \(Self.format(check.interval))")
            }
            for parameter in kindParameters ?? [] where parameter.isRequired && fields[parameter.name] == nil {
                fail(.missingKey, nameNode, key + "." + parameter.name, "required key is missing for \(check.type) checks")
            }
            result.append(check)
        }
        return result
    }

    /// One kind parameter, validated by its declaration and in the form stored in
    /// ``CheckDefinition/parameters`` (a file path made absolute against the config's directory).
    private mutating func checkParameter(_ parameter: CheckParameter, _ node: Node, key: String) -> String? {
        let value: CheckParameter.Value
        if parameter.kind == .command, let items = node.sequence {
            let words = items.compactMap { scalar($0, key: key) }
            guard words.count == items.count else { return nil }
            value = .list(words)
        } else {
            guard let text = scalar(node, key: key) else { return nil }
            value = .scalar(text)
        }
        switch parameter.normalize(value) {
        case .success(let normal): return parameter.kind == .filePath ? resolve(normal) : normal
        case .failure(let problem):
            fail(.invalidValue, node, key, problem.reason)
            return nil
        }
    }

    /// `10%` or `0.1`: a fraction from 0 up to (not including) 1.
    private mutating func jitter(_ node: Node, key: String) -> Double? {
        guard let text = scalar(node, key: key) else { return nil }
        let value = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
        guard let value, value >= 0, value < 1 else {
            fail(.invalidValue, node, key, "\"\(text)\" is not a fraction such as 10% or 0.1, below 100%")
            return nil
        }
        return value
    }

    // MARK: services

    private mutating func services(_ node: Node, _ declared: Declared) -> [ServiceConfig] {
        guard let map = mapping(node, key: "services") else { return [] }
        var result: [ServiceConfig] = []
        for (nameNode, value) in map where !isDuplicate(nameNode) {
            guard let text = scalar(nameNode, key: "services") else { continue }
            let key = "services." + text
            let name: DNSName
            do throws(DNSWireError) {
                name = try DNSName(text)
            } catch {
                fail(.badName, nameNode, key, "\"\(text)\" is not a domain name: \(error)")
                continue
            }
            guard text.hasSuffix(".") else {
                fail(.relativeName, nameNode, key, "service names must be absolute: write \"\(text).\"")
                continue
            }
            if let other = result.first(where: { $0.name == name }) {
                fail(.duplicateKey, nameNode, key, "\(name) is already defined at line \(other.line)")
                continue
            }
            guard let fields = mapping(value, key: key) else { continue }
            var service = ServiceConfig(name: name, policy: .roundRobin(datacenters: []), check: nil, ttl: 30, degradedTTL: 5,
                                        maxAnswers: nil, whenAllDown: .failOpen, line: nameNode.mark?.line ?? 1)
            var degradedTTL: (value: UInt32, node: Node)?
            for (fieldNode, value) in fields where !isDuplicate(fieldNode) {
                let fieldKey = key + "." + (fieldNode.scalar?.string ?? "?")
                switch fieldNode.scalar?.string {
                case "check":
                    guard let check = scalar(value, key: fieldKey) else { break }
                    if declared.checks.contains(check) {
                        service.check = check
                    } else {
                        fail(.unknownCheck, value, fieldKey, "no check named \"\(check)\" in checks")
                    }
                case "ttl": if let ttl = ttl(value, key: fieldKey, min: 1) { service.ttl = ttl }
                case "degraded-ttl": if let ttl = ttl(value, key: fieldKey, min: 0) { degradedTTL = (ttl, value) }
                case "max-answers": service.maxAnswers = positiveInt(value, key: fieldKey, max: 1000)
                case "when-all-down":
                    guard let text = scalar(value, key: fieldKey) else { break }
                    if let behaviour = AllDownBehaviour(rawValue: text) {
                        service.whenAllDown = behaviour
                    } else {
                        fail(.invalidValue, value, fieldKey, "\"\(text)\" is not fail-open or nodata")
                    }
                case "transfer":
                    guard let text = scalar(value, key: fieldKey) else { break }
                    if let mode = TransferMode(rawValue: text) {
                        service.transfer = mode
                    } else {
                        fail(.invalidValue, value, fieldKey, "\"\(text)\" is not healthy, all-addresses or omit")
                    }
                default: break
                }
            }
            if let degradedTTL {
                if degradedTTL.value > service.ttl {
                    fail(.badTTL, degradedTTL.node, key + ".degraded-ttl", "\(degradedTTL.value) is more than ttl \(service.ttl)")
                }
                service.degradedTTL = degradedTTL.value
            } else {
                service.degradedTTL = min(service.ttl, 5)
            }
            let serviceKeys: Set<String> = ["check", "ttl", "degraded-ttl", "max-answers", "when-all-down", "transfer"]
            if let policy = policy(fields, at: value, key: key, handled: serviceKeys, declared) { service.policy = policy }
            result.append(service)
        }
        return result
    }

    private mutating func ttl(_ node: Node, key: String, min: UInt32) -> UInt32? {
        guard let text = scalar(node, key: key) else { return nil }
        guard let n = UInt32(text), n >= min, n <= UInt32(Int32.max) else {
            fail(.badTTL, node, key, "\"\(text)\" is not a TTL from \(min) to 2147483647 seconds")
            return nil
        }
        return n
    }

    /// The policy of a service or failover step: `policy` (default round-robin) and the keys it takes;
    /// keys in `handled` belong to the caller.
    private mutating func policy(_ fields: Node.Mapping, at node: Node, key: String, handled: Set<String>,
                                 _ declared: Declared) -> PolicyConfig? {
        var policyName = "round-robin"
        if let policyNode = fields["policy"], let text = scalar(policyNode, key: key + ".policy") {
            guard Self.policies.contains(text) else {
                fail(.unknownPolicy, policyNode, key + ".policy",
                     "unknown policy \"\(text)\"; known: \(Self.policies.joined(separator: ", "))")
                return nil
            }
            policyName = text
        }
        let own: [String: Set<String>] = [
            "round-robin": ["datacenters"],
            "weighted": ["datacenters", "per-address"],
            "geo-nearest": ["datacenters", "unlocated", "pick"],
            "geo-map": ["map", "pick"],
            "failover": ["failover"],
        ]
        var datacenters: [String] = []
        var weights: [(name: String, weight: Double)] = []
        var unlocated: (names: [String], node: Node)?
        var pick = AddressPick.roundRobin
        var perAddress = false
        var geoMap: [(key: String, datacenters: [String])] = []
        var steps: [PolicyConfig] = []
        var valid = true
        for (fieldNode, value) in fields where !isDuplicate(fieldNode) {
            let field = fieldNode.scalar?.string ?? "?"
            let fieldKey = key + "." + field
            if field == "policy" || handled.contains(field) { continue }
            guard own[policyName]!.contains(field) else {
                if let owner = Self.policies.first(where: { own[$0]!.contains(field) }) {
                    fail(.invalidValue, fieldNode, fieldKey, "\(field) applies to policy \(owner), not \(policyName)")
                } else {
                    fail(.unknownKey, fieldNode, fieldKey, "unknown key")
                }
                continue
            }
            switch field {
            case "datacenters" where policyName == "weighted":
                guard let map = value.mapping else {
                    fail(.wrongType, value, fieldKey, "expected a mapping of data center to weight, e.g. { iad: 3, dub: 1 }")
                    valid = false
                    break
                }
                weights = self.weights(map, at: value, key: fieldKey, declared)
            case "datacenters":
                datacenters = dataCenterList(value, key: fieldKey, declared)
                for (i, item) in (value.sequence ?? []).enumerated() where policyName == "geo-nearest" {
                    if let name = item.scalar?.string, declared.datacenters[name] == false {
                        fail(.missingLocation, item, fieldKey + "[\(i)]", "geo-nearest needs a location for data center \(name)")
                    }
                }
            case "unlocated": unlocated = (dataCenterList(value, key: fieldKey, declared), value)
            case "pick":
                guard let text = scalar(value, key: fieldKey) else { break }
                if let p = AddressPick(rawValue: text) { pick = p } else {
                    fail(.invalidValue, value, fieldKey, "\"\(text)\" is not round-robin or random")
                }
            case "per-address":
                guard let text = scalar(value, key: fieldKey) else { break }
                if text == "true" || text == "false" { perAddress = text == "true" } else {
                    fail(.invalidValue, value, fieldKey, "\"\(text)\" is not true or false")
                }
            case "map":
                guard let map = mapping(value, key: fieldKey) else { valid = false; break }
                geoMap = self.geoMap(map, at: value, key: fieldKey, declared)
            case "failover":
                guard let items = sequence(value, key: fieldKey) else { valid = false; break }
                if items.isEmpty { fail(.invalidValue, value, fieldKey, "at least one step is needed") }
                for (i, item) in items.enumerated() {
                    let stepKey = fieldKey + "[\(i)]"
                    if let step = item.mapping {
                        if let policy = policy(step, at: item, key: stepKey, handled: [], declared) { steps.append(policy) }
                    } else if let name = dataCenterName(item, key: stepKey, declared) {
                        steps.append(.roundRobin(datacenters: [name]))
                    }
                }
            default: break
            }
        }
        let required = policyName == "geo-map" ? "map" : policyName == "failover" ? "failover" : "datacenters"
        if fields[required] == nil {
            fail(.missingKey, node, key + "." + required, "required key is missing for policy \(policyName)")
            valid = false
        }
        for (i, item) in (unlocated?.node.sequence ?? []).enumerated() {
            if let name = item.scalar?.string, declared.datacenters[name] != nil, !datacenters.contains(name) {
                fail(.invalidValue, item, key + ".unlocated[\(i)]", "\(name) is not one of this policy's datacenters")
            }
        }
        guard valid else { return nil }
        switch policyName {
        case "weighted": return .weighted(datacenters: weights, perAddress: perAddress)
        case "geo-nearest": return .geoNearest(datacenters: datacenters, unlocated: unlocated?.names, pick: pick)
        case "geo-map": return .geoMap(map: geoMap, pick: pick)
        case "failover": return .failover(steps)
        default: return .roundRobin(datacenters: datacenters)
        }
    }

    private mutating func weights(_ map: Node.Mapping, at node: Node, key: String, _ declared: Declared) -> [(name: String, weight: Double)] {
        var result: [(name: String, weight: Double)] = []
        for (nameNode, value) in map where !isDuplicate(nameNode) {
            guard let name = dataCenterName(nameNode, key: key + "." + (nameNode.scalar?.string ?? "?"), declared),
                  let text = scalar(value, key: key + "." + name)
            else { continue }
            guard let weight = Double(text), weight.isFinite, weight >= 0 else {
                fail(.badWeight, value, key + "." + name, "\"\(text)\" is not a weight (a number, 0 or more)")
                continue
            }
            result.append((name, weight))
        }
        if map.isEmpty {
            fail(.invalidValue, node, key, "at least one data center is needed")
        } else if result.count == map.count, result.allSatisfy({ $0.weight == 0 }) {
            fail(.badWeight, node, key, "every weight is 0; at least one must be positive (0 marks a standby)")
        }
        return result
    }

    /// Geo map keys: `default`, a country (`JP`), a continent (`EU`), or `country:XX` / `continent:XX`, needed
    /// for AF, AS, NA and SA, which are both. Stored as `default`, `JP` and `continent:EU`.
    private mutating func geoMap(_ map: Node.Mapping, at node: Node, key: String, _ declared: Declared) -> [(key: String, datacenters: [String])] {
        var result: [(key: String, datacenters: [String])] = []
        for (keyNode, value) in map where !isDuplicate(keyNode) {
            guard let text = scalar(keyNode, key: key) else { continue }
            let entryKey = key + "." + text
            let upper = text.uppercased()
            let normalized: String?
            if text == "default" {
                normalized = text
            } else if upper.hasPrefix("COUNTRY:") {
                normalized = Self.countries.contains(String(upper.dropFirst(8))) ? String(upper.dropFirst(8)) : nil
            } else if upper.hasPrefix("CONTINENT:") {
                normalized = Self.continents.contains(String(upper.dropFirst(10))) ? "continent:" + upper.dropFirst(10) : nil
            } else if Self.continents.contains(upper), Self.countries.contains(upper) {
                fail(.badCountry, keyNode, entryKey, "\(text) is both a country and a continent: write country:\(upper) or continent:\(upper)")
                continue
            } else if Self.continents.contains(upper) {
                normalized = "continent:" + upper
            } else {
                normalized = Self.countries.contains(upper) ? upper : nil
            }
            guard let normalized else {
                fail(.badCountry, keyNode, entryKey, "\"\(text)\" is not default, an ISO 3166 country code or a continent code (AF AN AS EU NA OC SA)")
                continue
            }
            if result.contains(where: { $0.key == normalized }) {
                fail(.duplicateKey, keyNode, entryKey, "\(normalized) is already mapped")
                continue
            }
            result.append((normalized, dataCenterList(value, key: entryKey, declared)))
        }
        if map["default"] == nil {
            fail(.missingDefault, node, key + ".default", "a geo map needs a default entry for every other client")
        }
        return result
    }

    /// A non-empty list of declared data centers, each once.
    private mutating func dataCenterList(_ node: Node, key: String, _ declared: Declared) -> [String] {
        guard let items = sequence(node, key: key) else { return [] }
        if items.isEmpty { fail(.invalidValue, node, key, "at least one data center is needed") }
        var result: [String] = []
        for (i, item) in items.enumerated() {
            guard let name = dataCenterName(item, key: key + "[\(i)]", declared) else { continue }
            if result.contains(name) {
                fail(.invalidValue, item, key + "[\(i)]", "\(name) is listed twice")
            } else {
                result.append(name)
            }
        }
        return result
    }

    private mutating func dataCenterName(_ node: Node, key: String, _ declared: Declared) -> String? {
        guard let name = scalar(node, key: key) else { return nil }
        guard declared.datacenters[name] != nil else {
            fail(.unknownDataCenter, node, key, "no data center named \"\(name)\" in datacenters")
            return nil
        }
        return name
    }

    // MARK: values

    /// A data center or check name: letters, digits, `-` and `_`.
    private mutating func identifier(_ node: Node, key: String) -> String? {
        guard let name = scalar(node, key: key) else { return nil }
        let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
        guard !name.isEmpty, allowed else {
            fail(.badName, node, key + "." + name, "\"\(name)\" is not a name of letters, digits, - and _")
            return nil
        }
        return name
    }

    /// `[latitude, longitude]` in degrees.
    private mutating func coordinates(_ node: Node, key: String) -> Coordinates? {
        guard let items = node.sequence, items.count == 2, let lat = items[0].scalar?.string, let lon = items[1].scalar?.string else {
            fail(.wrongType, node, key, "expected [latitude, longitude]")
            return nil
        }
        guard let latitude = Double(lat), let longitude = Double(lon), (-90...90).contains(latitude), (-180...180).contains(longitude) else {
            fail(.badCoordinates, node, key, "[\(lat), \(lon)] is not a latitude from -90 to 90 and a longitude from -180 to 180")
            return nil
        }
        return Coordinates(latitude: latitude, longitude: longitude)
    }

    private mutating func country(_ node: Node, key: String) -> String? {
        code(node, key: key, in: Self.countries, .badCountry, "an ISO 3166 alpha-2 country code")
    }

    private mutating func continent(_ node: Node, key: String) -> String? {
        code(node, key: key, in: Self.continents, .badContinent, "a continent code (AF AN AS EU NA OC SA)")
    }

    /// The scalar upper-cased when it is one of `known`; else the error `problem`, saying it is not `what`.
    private mutating func code(_ node: Node, key: String, in known: Set<String>, _ problem: ServerConfigError.Code,
                               _ what: String) -> String? {
        guard let text = scalar(node, key: key) else { return nil }
        guard known.contains(text.uppercased()) else {
            fail(problem, node, key, "\"\(text)\" is not \(what)")
            return nil
        }
        return text.uppercased()
    }

    /// `path` resolved against the config file's directory.
    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : baseDirectory + "/" + path
    }

    private static func format(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
    }
}
