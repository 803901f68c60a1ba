/// Writes a message into a caller's buffer, owning name compression (RFC 1035 §4.1.4).
///
/// Every write checks against `limit` and returns false when it does not fit, so callers can roll
/// back to a `Mark` and never emit a partial RRset. Compression remembers where each written name
/// suffix starts; a suffix is reused only when its uncompressed length matches, which rejects almost
/// every candidate before any byte is compared.
public struct ResponseWriter {
    public let base: UnsafeMutableRawPointer
    /// Bytes written so far. (The stored field is `written`, so that the writes below can be
    /// inlined into other modules, which cannot see a private setter.)
    @inlinable public var position: Int { written }
    @usableFromInline var written: Int
    /// No write may end beyond this offset.
    public var limit: Int

    /// Name suffixes already in the message, packed as `offset << 8 | uncompressedLength`, in the
    /// tail of the caller's buffer (never cleared: only the first `suffixCount` entries are read).
    private let suffixes: UnsafeMutablePointer<UInt32>?
    @usableFromInline var suffixCount = 0

    /// Compression pointers hold 14-bit offsets (RFC 1035 §4.1.4).
    public static let maxPointerOffset = 0x3FFF
    /// The largest message: the TCP length prefix is 16 bits.
    public static let maxMessageSize = 65535
    /// Where the suffix table starts in a buffer of `bufferSize` bytes (4-byte aligned, past any message).
    static let suffixTableOffset = 65536
    /// Every suffix a pointer can reach: only offsets up to 0x3FFF are remembered and each label takes
    /// at least two bytes, so the table never fills before the message does.
    static let suffixTableCapacity = (maxPointerOffset + 1) / 2
    /// Bytes a response buffer needs: room for the largest message, then the suffix table.
    public static let bufferSize = suffixTableOffset + suffixTableCapacity * MemoryLayout<UInt32>.size

    /// A writer into `buffer`'s first `limit` bytes. A buffer of at least `bufferSize` bytes also holds
    /// the compression table; a smaller one gets names written uncompressed.
    public init(into buffer: UnsafeMutableRawBufferPointer, limit: Int) {
        guard let base = buffer.baseAddress else { preconditionFailure("ResponseWriter needs a buffer") }
        self.base = base
        self.written = 0
        if buffer.count >= ResponseWriter.bufferSize {
            self.limit = Swift.min(limit, ResponseWriter.maxMessageSize)
            self.suffixes = (base + ResponseWriter.suffixTableOffset).bindMemory(
                to: UInt32.self, capacity: ResponseWriter.suffixTableCapacity)
        } else {
            self.limit = Swift.min(limit, buffer.count, ResponseWriter.maxMessageSize)
            self.suffixes = nil
        }
    }

    /// A point to roll back to.
    public struct Mark {
        @usableFromInline let position: Int
        @usableFromInline let suffixCount: Int
        @inlinable init(position: Int, suffixCount: Int) {
            self.position = position
            self.suffixCount = suffixCount
        }
    }

    @inlinable public var mark: Mark { Mark(position: written, suffixCount: suffixCount) }

    @inlinable
    public mutating func rollBack(to m: Mark) {
        written = m.position
        suffixCount = m.suffixCount
    }

    // The writes below are inlinable: each is a few instructions, called several times per RR.

    @inlinable @inline(__always)
    public func fits(_ count: Int) -> Bool { position + count <= limit }

    @inlinable @inline(__always)
    public mutating func writeU8(_ v: UInt8) -> Bool { writeBigEndian(v) }

    @inlinable @inline(__always)
    public mutating func writeU16(_ v: UInt16) -> Bool { writeBigEndian(v) }

    @inlinable @inline(__always)
    public mutating func writeU32(_ v: UInt32) -> Bool { writeBigEndian(v) }

    /// Appends `v` in network byte order if it fits (specialized and inlined into each caller above).
    @inlinable @inline(__always)
    mutating func writeBigEndian<T: FixedWidthInteger>(_ v: T) -> Bool {
        guard fits(MemoryLayout<T>.size) else { return false }
        base.storeBytes(of: v.bigEndian, toByteOffset: written, as: T.self)
        written += MemoryLayout<T>.size
        return true
    }

    @inlinable @inline(__always)
    public mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard fits(bytes.count) else { return false }
        ResponseWriter.copy(bytes, to: base + written)
        written += bytes.count
        return true
    }

    /// Copies short runs (questions, address records: most writes) eight bytes at a time inline;
    /// a libc memmove call costs more than the copy below 64 bytes.
    @inlinable @inline(__always)
    static func copy(_ bytes: UnsafeRawBufferPointer, to target: UnsafeMutableRawPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        guard n <= 64 else {
            target.copyMemory(from: bytes.baseAddress!, byteCount: n)
            return
        }
        let source = bytes.baseAddress!
        var i = 0
        while i + 8 <= n {
            target.storeBytes(of: source.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            target.storeBytes(of: source.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    /// Overwrites a 16-bit field written earlier (counts, RDLENGTH).
    @inlinable @inline(__always)
    public func patchU16(_ v: UInt16, at offset: Int) {
        base.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// Writes a reference to the name already in the message at `offset`: a compression pointer, or,
    /// when the name lies beyond what a 14-bit pointer reaches, the name itself (compressed).
    @inlinable @inline(__always)
    public mutating func writePointer(to offset: Int) -> Bool {
        if offset <= ResponseWriter.maxPointerOffset { return writeU16(0xC000 | UInt16(offset)) }
        return writeCopy(ofNameAt: offset)
    }

    /// Writes the name at `offset` in the message again, expanded from its pointers, then compressed.
    @usableFromInline
    mutating func writeCopy(ofNameAt offset: Int) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: DNSName.maxWireLength, alignment: 1) { name in
            var o = offset
            var n = 0
            while true {
                let len = Int(base.load(fromByteOffset: o, as: UInt8.self))
                if len & 0xC0 == 0xC0 {
                    o = (len & 0x3F) << 8 | Int(base.load(fromByteOffset: o + 1, as: UInt8.self))
                    continue
                }
                guard n + len + 1 <= DNSName.maxWireLength else { return false }
                name[n] = UInt8(len)
                if len == 0 { break }
                (name.baseAddress! + n + 1).copyMemory(from: base + o + 1, byteCount: len)
                n += len + 1
                o += len + 1
            }
            return writeName(UnsafeRawBufferPointer(rebasing: name[0...n])) >= 0
        }
    }

    /// Records the suffixes of an uncompressed name of `length` bytes already at `offset` (e.g. QNAME).
    public mutating func rememberName(at offset: Int, length: Int) {
        var i = offset
        var remaining = length
        while remaining > 1 {
            remember(offset: i, length: remaining)
            let len = Int(base.load(fromByteOffset: i, as: UInt8.self)) + 1
            i += len
            remaining -= len
        }
    }

    @inline(__always)
    private mutating func remember(offset: Int, length: Int) {
        guard let suffixes, offset <= ResponseWriter.maxPointerOffset,
              suffixCount < ResponseWriter.suffixTableCapacity else { return }
        suffixes[suffixCount] = UInt32(offset) << 8 | UInt32(length)
        suffixCount += 1
    }

    /// Writes `name` (uncompressed wire bytes) compressed against the names already written and
    /// returns the offset at which the name can be referred to (its first label, the target of the
    /// pointer it became, or for the root name the byte it wrote), or -1 when it does not fit.
    public mutating func writeName(_ name: UnsafeRawBufferPointer) -> Int {
        let total = name.count
        var start = 0
        while let suffixes, start < total - 1 {
            let length = total - start
            for k in 0..<suffixCount {
                let entry = suffixes[k]
                guard Int(entry & 0xFF) == length else { continue }
                let offset = Int(entry >> 8)
                if matches(name, from: start, at: offset) {
                    return writeLabels(name, upTo: start, thenPointerTo: offset)
                }
            }
            start += Int(name[start]) + 1
        }
        return writeLabels(name, upTo: total - 1, thenPointerTo: nil)
    }

    private mutating func writeLabels(_ name: UnsafeRawBufferPointer, upTo end: Int, thenPointerTo target: Int?) -> Int {
        let needed = end + (target == nil ? 1 : 2)
        guard fits(needed) else { return -1 }
        let first = position
        ResponseWriter.copy(UnsafeRawBufferPointer(rebasing: name[0..<end]), to: base + position)
        written += end
        if let target {
            _ = writePointer(to: target)
        } else {
            base.storeBytes(of: 0, toByteOffset: written, as: UInt8.self)
            written += 1
        }
        var i = 0
        while i < end {
            remember(offset: first + i, length: name.count - i)
            i += Int(name[i]) + 1
        }
        return end > 0 ? first : (target ?? first)
    }

    /// Compares `name[from...]` with the (possibly compressed) name in the message at `offset`,
    /// ignoring ASCII case. Lengths are known equal, so only label bytes need comparing.
    private func matches(_ name: UnsafeRawBufferPointer, from: Int, at offset: Int) -> Bool {
        var i = from
        var o = offset
        while true {
            var len = Int(base.load(fromByteOffset: o, as: UInt8.self))
            if len & 0xC0 == 0xC0 {
                o = (len & 0x3F) << 8 | Int(base.load(fromByteOffset: o + 1, as: UInt8.self))
                len = Int(base.load(fromByteOffset: o, as: UInt8.self))
            }
            guard len == Int(name[i]) else { return false }
            if len == 0 { return true }
            for k in 1...len {
                let a = DNSName.lower(base.load(fromByteOffset: o + k, as: UInt8.self))
                if a != DNSName.lower(name[i + k]) { return false }
            }
            i += len + 1
            o += len + 1
        }
    }
}
