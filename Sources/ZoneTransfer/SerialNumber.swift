/// SOA serial arithmetic (RFC 1982 with SERIAL_BITS 32) and the serials the automatic serial
/// policies propose (as Knot's `serial-policy`).
public enum SerialNumber {
    /// Whether `a` is newer than `b`: `a` is `b` plus 1 to 2^31−1, modulo 2^32 (RFC 1982 §3.2).
    /// Two serials exactly 2^31 apart are neither newer nor older than each other.
    public static func isNewer(_ a: UInt32, than b: UInt32) -> Bool {
        let d = a &- b
        return d != 0 && d < 0x8000_0000
    }

    /// `candidate` when it is newer than `served`, else `served` plus one (RFC 1982 §3.1): always
    /// newer than `served`, so secondaries see a change whatever the clock or date says.
    public static func raised(from served: UInt32, to candidate: UInt32) -> UInt32 {
        isNewer(candidate, than: served) ? candidate : served &+ 1
    }

    /// The `unixtime` policy's serial: seconds since 1970, modulo 2^32.
    public static func unixtime(_ now: Int64) -> UInt32 { UInt32(truncatingIfNeeded: now) }

    /// The `dateserial` policy's serial: YYYYMMDD00 for the UTC day of `now` (seconds since 1970),
    /// or the served serial plus one when the served serial is already that day's or later
    /// (`raised` takes care of that), as Knot does (two digits: 100 changes a day before the
    /// serial runs into the next day's).
    public static func dateserial(_ now: Int64) -> UInt32 {
        // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil inverse).
        let z = now >= 0 ? now / 86_400 : (now - 86_399) / 86_400
        let shifted = z + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let doe = shifted - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return UInt32(truncatingIfNeeded: (year * 10_000 + month * 100 + day) * 100)
    }
}
