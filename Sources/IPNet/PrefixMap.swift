/// An immutable binary trie from addresses to caller-defined decisions, with sibling subtrees that
/// decide alike merged (as gdnsd does): `lookup` returns the decision and the widest prefix around
/// the address over which every address gets that same decision — the ECS scope (RFC 7871 §7.2.1).
///
/// Lookups walk flat arrays: no allocation, no locks, no libmaxminddb.
public struct PrefixMap: Sendable {
    private let ipv4: Trie
    private let ipv6: Trie

    /// Builds the map of `table`: an address gets `decisions[location]` of the longest network
    /// containing it, and `unknown` when none does. `decisions` has one entry per location.
    public init(table: GeoNetworkTable, decisions: [UInt32], unknown: UInt32) {
        precondition(decisions.count == table.locations.count, "one decision per location")
        ipv4 = Trie(networks: table.ipv4, aliases: [], decisions: decisions, unknown: unknown)
        ipv6 = Trie(networks: table.ipv6, aliases: table.ipv4Aliases, decisions: decisions, unknown: unknown)
    }

    /// The decision for `address` and the length of the widest prefix around it with that decision
    /// everywhere (0…32 for IPv4).
    public func lookup(_ address: IPAddress) -> (decision: UInt32, prefixLength: UInt8) {
        guard address.isIPv6 else { return ipv4.lookup(high: address.high, low: 0) }
        let leaf = ipv6.leaf(high: address.high, low: address.low)
        guard leaf.aliasOffset != 0 else { return (leaf.decision, leaf.length) }
        // An IPv4 alias: the 32 bits after the alias prefix are the IPv4 address.
        let shift = UInt64(leaf.aliasOffset)
        let bits = shift < 64 ? address.high << shift | address.low >> (64 - shift) : address.low << (shift - 64)
        let v4 = ipv4.lookup(high: bits & 0xFFFF_FFFF_0000_0000, low: 0)
        return (v4.decision, leaf.aliasOffset + v4.prefixLength)
    }

    /// Trie nodes, both families (for memory accounting).
    public var nodeCount: Int { (ipv4.children.count + ipv6.children.count) / 2 }
}

/// A merged trie for one family.
///
/// A reference (`Ref`) is a node index, or a leaf index when `leafTag` is set. The first
/// `rootBits` bits index `root` directly; below, node `i` has its children at `children[2i]` and
/// `children[2i + 1]`.
private struct Trie: Sendable {
    /// Bits resolved by the direct `root` table: 2¹⁶ references are 256 KiB (fits in L2), and skip
    /// the 16 dependent loads that a bit-by-bit walk from the root would take.
    static let rootBits = 16
    static let leafTag: UInt32 = 1 << 31

    struct Leaf: Hashable {
        var decision: UInt32
        /// Depth of the leaf: the merged prefix length.
        var length: UInt8
        /// Non-zero for an IPv4 alias: the length of the alias prefix.
        var aliasOffset: UInt8
    }

    let root: [UInt32]
    let children: [UInt32]
    let leaves: [Leaf]

    @inline(__always)
    func leaf(high: UInt64, low: UInt64) -> Leaf {
        root.withUnsafeBufferPointer { root in
            children.withUnsafeBufferPointer { children in
                var ref = root[Int(truncatingIfNeeded: high >> UInt64(64 - Self.rootBits))]
                var hi = high << UInt64(Self.rootBits) | low >> UInt64(64 - Self.rootBits)
                var lo = low << UInt64(Self.rootBits)
                while ref & Self.leafTag == 0 {
                    ref = children[Int(truncatingIfNeeded: ref) &* 2 &+ Int(truncatingIfNeeded: hi >> 63)]
                    hi = hi << 1 | lo >> 63
                    lo <<= 1
                }
                return leaves[Int(truncatingIfNeeded: ref & ~Self.leafTag)]
            }
        }
    }

    @inline(__always)
    func lookup(high: UInt64, low: UInt64) -> (decision: UInt32, prefixLength: UInt8) {
        let l = leaf(high: high, low: low)
        return (l.decision, l.length)
    }

    init(networks: [GeoNetwork], aliases: [IPPrefix], decisions: [UInt32], unknown: UInt32) {
        var builder = Builder(unknown: unknown)
        // Shorter prefixes first, so that a longer one, inserted later, overrides inside itself.
        var entries = networks.map { ($0.address, Int($0.length), builder.kind(Leaf(decision: decisions[Int($0.location)], length: 0, aliasOffset: 0))) }
        for a in aliases {
            entries.append((a.address, a.length, builder.kind(Leaf(decision: 0, length: 0, aliasOffset: UInt8(a.length)))))
        }
        entries.sort { $0.1 < $1.1 }
        for (address, length, kind) in entries { builder.insert(address, length: length, kind: kind) }
        let top = builder.merge(node: 0, inherited: 0, depth: 0)
        let rootRef = builder.reference(top, depth: 0)

        // Resolve the first `rootBits` bits of every address into the direct table. The nodes above
        // that depth stay in `children` unreferenced: at most 2¹⁶ − 1 of them, not worth a compaction.
        var root = [UInt32](repeating: 0, count: 1 << Self.rootBits)
        for i in root.indices {
            var ref = rootRef
            var depth = 0
            while ref & Self.leafTag == 0 && depth < Self.rootBits {
                let bit = (i >> (Self.rootBits - 1 - depth)) & 1
                ref = builder.output[Int(ref) * 2 + bit]
                depth += 1
            }
            root[i] = ref
        }
        self.root = root
        children = builder.output
        leaves = builder.leaves
    }
}

/// Builds the unmerged trie, then emits the merged one.
private struct Builder {
    /// Unmerged trie: children of node `i` at `2i`, `2i + 1` (0 = none; the root is never a child).
    var nodes: [UInt32] = [0, 0]
    /// Kind assigned to each unmerged node by a network ending there (0 = none).
    var nodeKind: [UInt32] = [0]
    /// Distinct leaf kinds (decision and alias offset); index 0 is `unknown`.
    var kinds: [Trie.Leaf]
    var kindIndex: [Trie.Leaf: UInt32] = [:]
    /// The merged trie's child references.
    var output: [UInt32] = []
    var leaves: [Trie.Leaf] = []
    var leafIndex: [Trie.Leaf: UInt32] = [:]

    enum Merged { case leaf(UInt32), node(UInt32) }

    init(unknown: UInt32) {
        let u = Trie.Leaf(decision: unknown, length: 0, aliasOffset: 0)
        kinds = [u]
        kindIndex[u] = 0
    }

    mutating func kind(_ leaf: Trie.Leaf) -> UInt32 {
        if let k = kindIndex[leaf] { return k }
        kinds.append(leaf)
        kindIndex[leaf] = UInt32(kinds.count - 1)
        return UInt32(kinds.count - 1)
    }

    mutating func insert(_ address: IPAddress, length: Int, kind: UInt32) {
        var node = 0
        for depth in 0..<length {
            let slot = node * 2 + (address.bit(depth) ? 1 : 0)
            if nodes[slot] == 0 {
                nodes[slot] = UInt32(nodeKind.count)
                nodes.append(0)
                nodes.append(0)
                nodeKind.append(0)
            }
            node = Int(nodes[slot])
        }
        nodeKind[node] = kind
    }

    /// Merges the subtree of `node` bottom-up: a subtree whose leaves all have one kind becomes a leaf.
    mutating func merge(node: Int, inherited: UInt32, depth: Int) -> Merged {
        let kind = nodeKind[node] != 0 ? nodeKind[node] : inherited
        let left = nodes[node * 2], right = nodes[node * 2 + 1]
        if left == 0 && right == 0 { return .leaf(kind) }
        let l = left == 0 ? .leaf(kind) : merge(node: Int(left), inherited: kind, depth: depth + 1)
        let r = right == 0 ? .leaf(kind) : merge(node: Int(right), inherited: kind, depth: depth + 1)
        if case .leaf(let a) = l, case .leaf(let b) = r, a == b { return .leaf(a) }
        let index = output.count / 2
        let refs = (reference(l, depth: depth + 1), reference(r, depth: depth + 1))
        output.append(refs.0)
        output.append(refs.1)
        return .node(UInt32(index))
    }

    /// The reference to `merged` placed at `depth`: leaves are interned per (kind, depth).
    mutating func reference(_ merged: Merged, depth: Int) -> UInt32 {
        switch merged {
        case .node(let index):
            return index
        case .leaf(let kind):
            var leaf = kinds[Int(kind)]
            leaf.length = UInt8(depth)
            if let i = leafIndex[leaf] { return i | Trie.leafTag }
            leaves.append(leaf)
            leafIndex[leaf] = UInt32(leaves.count - 1)
            return UInt32(leaves.count - 1) | Trie.leafTag
        }
    }
}
