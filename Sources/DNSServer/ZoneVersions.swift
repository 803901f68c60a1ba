import DNSWire
import DNSZone
import Foundation
import ServerConfig
import ZoneTransfer

/// The version a zone file's records become when served, given what was served before: the
/// serial policy applied (RFC 1982), a serial that goes backwards refused, and the zone's IXFR
/// journal carried on. What was served before is the previous zone in memory on a reload, or the
/// stored journal's newest version (serial and content digest) at a start.
struct ZoneVersion {
    var zone: Zone
    /// The zone's journal (zones with `transfer` only).
    var journal: ZoneJournal?
    /// Whether the journal differs from the one it was made from, so it must be written.
    var journalChanged = false
    /// Lines for the log (`file:line: warning: …`).
    var notices: [String] = []

    /// The served version of the records read from `entry`'s file (`records`, compiled as `zone`).
    /// `previous` is the zone served until now, nil at a start or for a new zone; `journal` the
    /// journal kept with it (or read from disk at a start). `now` is seconds since 1970.
    static func make(
        entry: ZoneEntry, records: [ZoneRecord], zone compiled: Zone, previous: Zone?, journal: ZoneJournal?, now: Int64
    ) throws(DeploymentError) -> ZoneVersion {
        var zone = compiled
        let soaIndex = records.firstIndex { $0.type == .soa && $0.owner == entry.origin }
        let soaLine = soaIndex.map { records[$0].location.description } ?? "\(entry.file):1"
        var notices: [String] = []
        // Content digests cost a pass over the zone: made only when a decision needs one.
        var computed: UInt64? = nil
        func digest() -> UInt64 {
            if let computed { return computed }
            let d = TransferSnapshot(zone: zone, serviceRecords: []).contentDigest
            computed = d
            return d
        }
        if let serial = zone.serial, let served = previous?.serial ?? journal?.serial {
            func servedDigest() -> UInt64 {
                journal.flatMap { $0.serial == served ? $0.digest : nil }
                    ?? previous.map { TransferSnapshot(zone: $0, serviceRecords: []).contentDigest } ?? 0
            }
            let newer = SerialNumber.isNewer(serial, than: served)
            if entry.serialPolicy == .keep {
                if serial == served && digest() != servedDigest() {
                    notices.append("\(soaLine): warning: zone \(entry.origin) changed but its SOA serial \(serial) did not; secondaries will not see the change (serial-policy: keep)")
                } else if serial != served && !newer {
                    let reason = "the SOA serial \(serial) is not newer than the serial \(served) served (RFC 1982); give it a serial above \(served)"
                    guard previous == nil else { throw DeploymentError(.serialBackwards, "\(soaLine): \(reason); the old zone keeps serving") }
                    notices.append("\(soaLine): warning: \(reason); the journal starts again at \(serial)")
                }
            } else if !newer {
                // A file serial at or below the served one does not say "new version": the
                // content decides. Unchanged: the served serial again; changed: a raised one.
                let target = digest() == servedDigest() ? served : raise(served, entry.serialPolicy, now)
                if target != serial, let i = soaIndex, let rdata = SerialNumber.settingSerial(target, inSOA: records[i].rdata) {
                    var edited = records
                    edited[i].rdata = rdata
                    zone = Zone(origin: entry.origin, records: edited)
                    if target != served {
                        notices.append("\(soaLine): zone \(entry.origin) changed without a new serial: serving serial \(target) (serial-policy: \(entry.serialPolicy.rawValue))")
                    }
                }
            }
        }
        var version = ZoneVersion(zone: zone, notices: notices)
        guard entry.transfer != nil, let serial = zone.serial else { return version }
        if let previous, let old = previous.serial, old != serial,
           let change = ZoneChange.diff(from: TransferSnapshot(zone: previous, serviceRecords: []), to: TransferSnapshot(zone: zone, serviceRecords: [])) {
            var j = journal ?? ZoneJournal(serial: old, digest: TransferSnapshot(zone: previous, serviceRecords: []).contentDigest)
            j.record(change, digest: digest())
            version.journal = j
            version.journalChanged = true
        } else if let journal, journal.serial == serial, journal.digest == digest() {
            version.journal = journal
        } else {
            // The journal's changes lead to other content than the zone's: they cannot be sent.
            if let journal, previous == nil {
                version.notices.append("\(soaLine): zone \(entry.origin): the journal ends at serial \(journal.serial) and the file, changed while the server was down, is at serial \(serial); the journal starts again (secondaries behind get the whole zone)")
            }
            version.journal = ZoneJournal(serial: serial, digest: digest())
            version.journalChanged = true
        }
        return version
    }

    /// The serial `policy` gives a zone served at `served` whose content changed.
    static func raise(_ served: UInt32, _ policy: SerialPolicy, _ now: Int64) -> UInt32 {
        switch policy {
        case .keep: return served
        case .increment: return served &+ 1
        case .unixtime: return SerialNumber.raised(from: served, to: SerialNumber.unixtime(now))
        case .dateserial: return SerialNumber.raised(from: served, to: SerialNumber.dateserial(now))
        }
    }
}
