public import DNSAuth
import DNSWire
public import DNSZone

/// NOTIFY (RFC 1996) as we send it to a zone's secondaries: the message and the test of its
/// answer. No I/O here; `DNSServer`'s `NotifySender` sends, retries and counts.
public enum NotifyMessage {
    /// A NOTIFY for `zone`: opcode 4, AA, the question `origin IN SOA`, and the zone's SOA in the
    /// answer section (RFC 1996 §3.7: a hint the secondary may use), owner uncompressed. Signed
    /// with key `key` of `keyring` (RFC 8945 §5.1) when given.
    public static func make(zone: Zone, id: UInt16, keyring: TSIGKeyring, key: Int?, now: UInt64) -> [UInt8] {
        let owner = zone.origin.wire
        let apexSOA = zone.rrset(at: 0, .soa)
        let soaRecord: [UInt8]
        if apexSOA >= 0 {
            let soa = zone.bytes(of: apexSOA)
            soaRecord = Array(soa[0..<(10 + (Int(soa[8]) << 8 | Int(soa[9])))])
        } else {
            soaRecord = []
        }
        // ID, flags (opcode 4 << 11 | AA), QDCOUNT 1, ANCOUNT 0 or 1, NSCOUNT 0, ARCOUNT 0.
        var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x24, 0x00, 0, 1, 0, soaRecord.isEmpty ? 0 : 1, 0, 0, 0, 0]
        m += owner + [0, 6, 0, 1]
        if !soaRecord.isEmpty { m += owner + soaRecord }
        guard let key else { return m }
        return keyring.signRequest(m, key: key, now: now)
    }

    /// Whether `response` answers the NOTIFY with `id`: the same ID, QR set, opcode NOTIFY. Its
    /// rcode is returned (NOERROR is an acknowledgement; anything else the secondary's refusal).
    public static func answer(_ response: UnsafeRawBufferPointer, id: UInt16) -> UInt8? {
        guard response.count >= 12, UInt16(response[0]) << 8 | UInt16(response[1]) == id,
              response[2] & 0x80 != 0, (response[2] >> 3) & 0x0F == 4
        else { return nil }
        return response[3] & 0x0F
    }
}
