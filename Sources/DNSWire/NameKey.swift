/// A wire name (or a suffix of one) as a hash key that ignores ASCII case, like `DNSName`, but
/// hashes the case-folded bytes as one block (a `DNSName` hashes byte by byte, which dominates a
/// million-record load) and works on slices without copying. For tables built at load time; the
/// query path looks names up in `NameTable`.
public struct NameKey: Hashable, Sendable {
    public let wire: ArraySlice<UInt8>

    public init(_ wire: ArraySlice<UInt8>) { self.wire = wire }
    public init(_ wire: [UInt8]) { self.wire = wire[...] }

    public static func == (lhs: NameKey, rhs: NameKey) -> Bool {
        lhs.wire.count == rhs.wire.count
            && (lhs.wire == rhs.wire || lhs.wire.elementsEqual(rhs.wire) { DNSName.lower($0) == DNSName.lower($1) })
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: wire.count) { folded in
            for (i, b) in wire.enumerated() { folded[i] = DNSName.lower(b) }
            hasher.combine(bytes: UnsafeRawBufferPointer(folded))
        }
    }
}
