public import IPNet
import CMaxMindDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A MaxMind DB (GeoLite2-City layout) opened through libmaxminddb, memory-mapped.
///
/// Lookups here cost hundreds of nanoseconds: use them for tools and tests, and build a
/// `PrefixMap` from `networks()` for the query path.
public struct GeoDatabase: Sendable {
    /// What the file says about itself.
    public struct Metadata: Hashable, Sendable {
        /// `database_type`, e.g. `"GeoLite2-City"`.
        public var databaseType: String
        /// Build time, seconds since the Unix epoch.
        public var buildEpoch: UInt64
        /// Number of nodes in the search tree.
        public var nodeCount: UInt32
        /// 4 for an IPv4-only tree, 6 for an IPv6 tree (IPv4 under `::/96`).
        public var ipVersion: Int
    }

    public let path: String
    public let metadata: Metadata
    let handle: MaxMindHandle

    /// Opens and maps the database at `path`.
    public init(path: String) throws(GeoIPError) {
        handle = try MaxMindHandle(path: path)
        self.path = path
        let m = handle.mmdb.pointee.metadata
        metadata = Metadata(
            databaseType: m.database_type.map { String(cString: $0) } ?? "",
            buildEpoch: m.build_epoch,
            nodeCount: m.node_count,
            ipVersion: Int(m.ip_version))
    }

    /// The location libmaxminddb finds for `address` and the length of the network it belongs to,
    /// in the address's own family (0…32 for IPv4, also in an IPv6 tree); nil when the database
    /// has no record for it (or `address` is IPv6 and the database IPv4-only).
    public func lookup(_ address: IPAddress) throws(GeoIPError) -> (location: GeoLocation, prefixLength: Int)? {
        var error: Int32 = 0
        let result: MMDB_lookup_result_s
        if address.isIPv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: address.bytes) }
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(handle.mmdb, $0, &error) }
            }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = address.ipv4Value.bigEndian
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(handle.mmdb, $0, &error) }
            }
        }
        if error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR { return nil }
        guard error == MMDB_SUCCESS else {
            throw GeoIPError(.corrupt, "\(path): lookup of \(address): \(String(cString: MMDB_strerror(error)))")
        }
        guard result.found_entry else { return nil }
        var length = Int(result.netmask)
        // libmaxminddb reports an IPv4 address's netmask in the IPv6 tree it searched.
        if !address.isIPv6 && metadata.ipVersion == 6 { length = max(0, length - 96) }
        return (try handle.location(at: result.entry), length)
    }

    /// Every network of the search tree with its location: each distinct data record is decoded
    /// once. IPv4 networks of an IPv6 tree (`::/96`) are reported as IPv4 prefixes; the subtrees
    /// that an IPv6 tree links back to its IPv4 data (`::ffff:0:0/96`, `2001::/32`, `2002::/16`,
    /// and `::/96` itself) are listed once in `ipv4Aliases` instead of being walked again.
    public func networks() throws(GeoIPError) -> GeoNetworkTable {
        var walker = TreeWalker(handle: handle, metadata: metadata)
        try walker.run()
        return walker.table
    }
}

/// Depth-first walk of the search tree with `MMDB_read_node`.
private struct TreeWalker {
    let handle: MaxMindHandle
    let nodeCount: UInt32
    let isIPv6Tree: Bool
    /// The node where IPv4 addresses start in an IPv6 tree (`::/96`), if that is a search node.
    var ipv4Root: UInt32?
    var table = GeoNetworkTable()
    /// Data-section record → index in `table.locations`, so each record is decoded once.
    var locationIndex: [UInt64: UInt32] = [:]

    init(handle: MaxMindHandle, metadata: GeoDatabase.Metadata) {
        self.handle = handle
        nodeCount = metadata.nodeCount
        isIPv6Tree = metadata.ipVersion == 6
    }

    mutating func run() throws(GeoIPError) {
        guard nodeCount > 0 else { return }
        if isIPv6Tree {
            // Follow ::/96 down the zero branch to find the IPv4 root.
            var node: UInt32 = 0
            var depth = 0
            while depth < 96 {
                let n = try read(node)
                guard n.left_record_type == MMDB_RECORD_TYPE_SEARCH_NODE else { break }
                node = UInt32(n.left_record)
                depth += 1
            }
            if depth == 96 { ipv4Root = node }
        }
        try walk(node: 0, address: IPAddress(high: 0, low: 0, isIPv6: isIPv6Tree), depth: 0)
    }

    private func read(_ node: UInt32) throws(GeoIPError) -> MMDB_search_node_s {
        var n = MMDB_search_node_s()
        let status = MMDB_read_node(handle.mmdb, node, &n)
        guard status == MMDB_SUCCESS else {
            throw GeoIPError(.corrupt, "\(handle.path): search node \(node): \(String(cString: MMDB_strerror(status)))")
        }
        return n
    }

    private mutating func walk(node: UInt32, address: IPAddress, depth: Int) throws(GeoIPError) {
        let n = try read(node)
        let bitCount = isIPv6Tree ? 128 : 32
        for side in 0..<2 {
            var child = address
            if side == 1 {
                if depth < 64 { child.high |= 1 << UInt64(63 - depth) } else { child.low |= 1 << UInt64(127 - depth) }
            }
            let type = side == 0 ? n.left_record_type : n.right_record_type
            let record = side == 0 ? n.left_record : n.right_record
            let length = depth + 1
            switch Int32(type) {
            case MMDB_RECORD_TYPE_SEARCH_NODE:
                guard length < bitCount else {
                    throw GeoIPError(.corrupt, "\(handle.path): search tree deeper than \(bitCount) bits")
                }
                let isIPv4Subtree = length == 96 && child.high == 0 && child.low == 0
                if let ipv4Root, UInt32(record) == ipv4Root {
                    table.ipv4Aliases.append(IPPrefix(address: child, length: length)!)
                    if !isIPv4Subtree { continue }
                }
                try walk(node: UInt32(record), address: child, depth: length)
            case MMDB_RECORD_TYPE_DATA:
                let entry = side == 0 ? n.left_record_entry : n.right_record_entry
                try add(child, length: length, record: record, entry: entry)
            case MMDB_RECORD_TYPE_EMPTY:
                continue
            default:
                throw GeoIPError(.corrupt, "\(handle.path): search node \(node) has an invalid record \(record)")
            }
        }
    }

    private mutating func add(_ address: IPAddress, length: Int, record: UInt64, entry: MMDB_entry_s) throws(GeoIPError) {
        let index: UInt32
        if let known = locationIndex[record] {
            index = known
        } else {
            index = UInt32(table.locations.count)
            table.locations.append(try handle.location(at: entry))
            locationIndex[record] = index
        }
        guard isIPv6Tree else {
            table.ipv4.append(GeoNetwork(address: address, length: length, location: index))
            return
        }
        let underIPv4Root = address.high == 0 && address.low >> 32 == 0
        if underIPv4Root && length >= 96 {
            let v4 = IPAddress(ipv4: UInt32(truncatingIfNeeded: address.low))
            table.ipv4.append(GeoNetwork(address: v4, length: length - 96, location: index))
            return
        }
        if underIPv4Root {
            // One record covers ::/96 and more: every IPv4 address gets it.
            table.ipv4.append(GeoNetwork(address: IPAddress(ipv4: 0), length: 0, location: index))
        }
        table.ipv6.append(GeoNetwork(address: address, length: length, location: index))
    }
}
