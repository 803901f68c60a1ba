public import DNSWire
public import DNSZone
import Foundation

/// The RRSIG records of a zone signed elsewhere whose validity the operator should know about
/// (`meridian check` and every load): expired, expiring within the warning window, or not yet
/// valid. One warning per owner, covered type and state, at its first record; validators return
/// SERVFAIL for an RRset whose only signatures are outside their validity (RFC 4035 §5.3.1).
public enum SignatureExpiry {
    /// How far ahead an expiring signature is reported: a week is the usual re-signing margin of
    /// signers (dnssec-signzone re-signs at a quarter of 30 days, Knot's default refresh is 7 days).
    public static let warningWindow: Int64 = 7 * 86_400
    /// Warnings beyond this many are summed up in one line, so that a zone whose signatures have
    /// all expired yields a readable report rather than one line per RRset.
    public static let maximumWarnings = 20

    /// The warnings for the RRSIG records among `records` at `now` (seconds since 1970).
    public static func warnings(_ records: [ZoneRecord], now: Int64) -> [ZoneWarning] {
        struct Group: Hashable { let owner: DNSName; let covered: UInt16; let state: Int }
        var seen = Set<Group>()
        var out: [ZoneWarning] = []
        var more = 0
        let now32 = UInt32(truncatingIfNeeded: now)
        for r in records.indices where records[r].type == .rrsig && records[r].rdata.count >= 18 {
            let rdata = records[r].rdata
            let covered = UInt16(rdata[0]) << 8 | UInt16(rdata[1])
            let expiration = u32(rdata, 8), inception = u32(rdata, 12)
            // RFC 4034 §3.1.5: the times are compared in serial number arithmetic (RFC 1982).
            let left = Int64(Int32(bitPattern: expiration &- now32))
            let early = Int32(bitPattern: inception &- now32) > 0
            let state: Int
            let reason: String
            let what = "RRSIG \(RRType(rawValue: covered)) at \(records[r].owner)"
            if left <= 0 {
                state = 0
                reason = "\(what) expired at \(time(now + left)): validators reject the RRset it signs until the zone is signed again"
            } else if early {
                state = 1
                reason = "\(what) is not valid before \(time(now + Int64(Int32(bitPattern: inception &- now32))))"
            } else if left <= warningWindow {
                state = 2
                reason = "\(what) expires at \(time(now + left)), in \(left / 3600) h: sign the zone again before then"
            } else {
                continue
            }
            guard seen.insert(Group(owner: records[r].owner.lowercased(), covered: covered, state: state)).inserted else { continue }
            if out.count < maximumWarnings {
                out.append(ZoneWarning(at: records[r].location, reason))
            } else {
                more += 1
            }
        }
        if more > 0, let last = out.last {
            out.append(ZoneWarning(at: last.location, "and \(more) more RRsets with signatures expired, expiring or not yet valid"))
        }
        return out
    }

    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// `seconds` since 1970 as the RRSIG presentation form's UTC time with its zone spelled out.
    static func time(_ seconds: Int64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
