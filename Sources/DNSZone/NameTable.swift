/// An immutable open-addressing hash table from lower-case wire names to dense indices, probed
/// straight from packet bytes with no allocation. Keys are stored back to back in one arena.
public final class NameTable: @unchecked Sendable {
    /// `hash >> 32 << 32 | (record offset + 1)`; 0 = empty. The upper half (the tag) rejects almost
    /// every other key before its record is fetched, and the lower half leads straight to it, so a
    /// hit reads two cache lines, the slot's and the record's (with separate index, length and
    /// offset arrays it was four: perf showed the lookup's cache misses as its cost, not its
    /// instructions).
    private let slots: UnsafeMutableBufferPointer<UInt64>
    private let mask: Int
    /// Where key `i`'s record starts in the arena.
    private let keyOffsets: UnsafeMutableBufferPointer<UInt32>
    /// One record per key, back to back: its index (4 bytes, native order), its length minus one
    /// (1 byte: 256 lengths fit), its bytes.
    private let arena: UnsafeMutableRawBufferPointer
    /// Bytes in front of a key's bytes in its record.
    @inline(__always) private static var recordHeader: Int { 5 }
    /// Which key lengths occur (bit per length 0…255): lets callers skip suffixes no key can match.
    private(set) var lengths = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))

    /// The upper half of a slot: the tag, the upper 32 bits of the key's hash.
    @inline(__always) private static var tagMask: UInt64 { 0xFFFF_FFFF_0000_0000 }
    /// The lower half of a slot: the key's record offset plus one.
    @inline(__always) private static var offsetMask: UInt64 { 0xFFFF_FFFF }

    /// `keys` must be lower-case, distinct wire names; key `i` maps to index `i`.
    public init(keys: [[UInt8]]) {
        // Load factor at most 1/2 keeps linear probes short.
        var size = 8
        while size < keys.count * 2 { size <<= 1 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0)
        keyOffsets = .allocate(capacity: max(keys.count, 1))
        let total = keys.reduce(0) { $0 + NameTable.recordHeader + $1.count }
        // Record offsets (plus one) fill the slot's lower 32 bits.
        precondition(total < Int(UInt32.max), "NameTable: more than 4 GB of names")
        arena = .allocate(byteCount: max(total, 1), alignment: 8)
        var offset = 0
        for (index, key) in keys.enumerated() {
            keyOffsets[index] = UInt32(offset)
            let record = arena.baseAddress! + offset
            record.storeBytes(of: UInt32(index), as: UInt32.self)
            record.storeBytes(of: UInt8(key.count - 1), toByteOffset: 4, as: UInt8.self)
            key.withUnsafeBytes { (record + NameTable.recordHeader).copyMemory(from: $0.baseAddress!, byteCount: key.count) }
            offset += NameTable.recordHeader + key.count
            setLength(key.count)
            let h = key.withUnsafeBytes { NameTable.hash($0.baseAddress!, key.count) }
            var slot = h & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = UInt64(truncatingIfNeeded: h) & NameTable.tagMask | UInt64(keyOffsets[index] + 1)
        }
    }

    deinit {
        slots.deallocate()
        keyOffsets.deallocate()
        arena.deallocate()
    }

    private func setLength(_ n: Int) {
        let bit = UInt64(1) << UInt64(n & 63)
        switch n >> 6 {
        case 0: lengths.0 |= bit
        case 1: lengths.1 |= bit
        case 2: lengths.2 |= bit
        default: lengths.3 |= bit
        }
    }

    /// True when some key is `n` bytes long.
    @inline(__always)
    func hasKey(ofLength n: Int) -> Bool {
        let bit = UInt64(1) << UInt64(n & 63)
        switch n >> 6 {
        case 0: return lengths.0 & bit != 0
        case 1: return lengths.1 & bit != 0
        case 2: return lengths.2 & bit != 0
        default: return lengths.3 & bit != 0
        }
    }

    /// The index of the key equal to the `count` bytes at `name` (already lower case), or -1.
    @inline(__always)
    public func find(_ name: UnsafeRawPointer, _ count: Int) -> Int32 {
        let h = NameTable.hash(name, count)
        let tag = UInt64(truncatingIfNeeded: h) & NameTable.tagMask
        var slot = h & mask
        while true {
            let s = slots[slot]
            if s == 0 { return -1 }
            if s & NameTable.tagMask == tag {
                let record = UnsafeRawPointer(arena.baseAddress! + Int(s & NameTable.offsetMask) - 1)
                if Int(record.load(fromByteOffset: 4, as: UInt8.self)) + 1 == count
                    && NameTable.equal(record + NameTable.recordHeader, name, count) {
                    return Int32(bitPattern: record.loadUnaligned(as: UInt32.self))
                }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Byte equality eight bytes at a time (names are short; a libc call costs more than the compare).
    @inline(__always)
    public static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// The stored key of `index`.
    func key(_ index: Int32) -> UnsafeRawBufferPointer {
        let record = UnsafeRawPointer(arena.baseAddress! + Int(keyOffsets[Int(index)]))
        return UnsafeRawBufferPointer(
            start: record + NameTable.recordHeader, count: Int(record.load(fromByteOffset: 4, as: UInt8.self)) + 1)
    }

    // The hash's constants, borrowed from well-studied mixers rather than tuned here. Each multiply
    // spreads a word's low bits over the high ones and each xor-shift brings the high bits back
    // down, so that both halves of the result (the slot and the tag) depend on every byte.
    /// The start value: 2^64/φ, the golden-ratio constant of Fibonacci hashing (any odd constant
    /// with mixed bits would do); the name's length is xored into it.
    @inline(__always) private static var seed: UInt64 { 0x9E37_79B9_7F4A_7C15 }
    /// The two multipliers of MurmurHash3's 64-bit finalizer (`fmix64`): one per 8-byte word, the
    /// other for the last word.
    @inline(__always) private static var wordMultiplier: UInt64 { 0xFF51_AFD7_ED55_8CCD }
    @inline(__always) private static var tailMultiplier: UInt64 { 0xC4CE_B9FE_1A85_EC53 }
    /// The xor-shifts after the multiplies, those of xxHash64's final avalanche: 29 after each word,
    /// 32 at the end (which folds the tag half into the slot half).
    @inline(__always) private static var wordShift: UInt64 { 29 }
    @inline(__always) private static var finalShift: UInt64 { 32 }

    /// A multiply-xor hash over 8-byte words (names are short; this is a few cycles per word).
    @inline(__always)
    static func hash(_ p: UnsafeRawPointer, _ count: Int) -> Int {
        var h: UInt64 = seed ^ UInt64(count)
        var i = 0
        while i + 8 <= count {
            h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* wordMultiplier
            h ^= h >> wordShift
            i += 8
        }
        var tail: UInt64 = 0
        if count >= 8 {
            // The last 8 bytes, overlapping words already mixed: cheaper than a byte loop.
            tail = p.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        } else {
            var shift: UInt64 = 0
            while i < count {
                tail |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << shift
                shift += 8
                i += 1
            }
        }
        h = (h ^ tail) &* tailMultiplier
        h ^= h >> finalShift
        return Int(truncatingIfNeeded: h)
    }
}
