import DNSWire
import DNSZone
import ServerConfig
import ZoneTransfer

/// The serial rules, in one place. A zone's served version is its file's records (the `base`
/// zone), its service names' transfer records and a serial; secondaries must never see the serial
/// go back (RFC 1982) nor one serial name two contents. Two steps apply them:
/// `check`, when a reload reads a zone file again (it may refuse the reload), and `servedSerial`,
/// when a deployment starts serving a zone after what was served before (a reload, a health
/// change of the service records, a restart from the stored journal).
enum ZoneVersion {
    /// What the log says about the file's serial under `serial-policy: keep`, given the zone
    /// served until now from the same entry (`previous`, nil at a start or for a new zone): an
    /// edit without a new serial is a warning; a serial that goes backwards refuses the reload
    /// (the old zone keeps serving). Other policies choose the serial themselves (`servedSerial`).
    static func check(entry: ZoneEntry, records: [ZoneRecord], zone: Zone, previous: Zone?) throws(DeploymentError) -> [String] {
        guard entry.serialPolicy == .keep, let serial = zone.serial, let previous, let served = previous.serial else { return [] }
        let soaLine = records.first { $0.type == .soa && $0.owner == entry.origin }.map(\.location.description) ?? "\(entry.file):1"
        if serial == served {
            // A digest is a pass over each zone: made only when the serials say "same version".
            guard TransferSnapshot(zone: zone).contentDigest != TransferSnapshot(zone: previous).contentDigest else { return [] }
            return ["\(soaLine): warning: zone \(entry.origin) changed but its SOA serial \(serial) did not; secondaries will not see the change (serial-policy: keep)"]
        }
        guard SerialNumber.isNewer(serial, than: served) else {
            throw DeploymentError(.serialBackwards, "\(soaLine): the SOA serial \(serial) is not newer than the serial \(served) served (RFC 1982); give it a serial above \(served); the old zone keeps serving")
        }
        return []
    }

    /// What a zone was served with before this deployment: its serial, and whether that serial is
    /// one Meridian chose (a health or policy raise) rather than the file's.
    struct Before {
        var serial: UInt32
        var raised: Bool
    }

    /// The serial a zone whose file has serial `file` is served with after `before` (nil: nothing
    /// served before, so the file's). The file's serial when it is newer (RFC 1982); the one
    /// served when the content (`sameContent`) is what secondaries hold already; the file's under
    /// `keep` when no serial of ours was served (an edit without a new serial, warned about by
    /// `check`); else the policy's raise of the served serial (`keep` raises by one: a serial
    /// of ours is being served, and only a higher one reaches the secondaries).
    static func servedSerial(
        file: UInt32, before: Before?, sameContent: () -> Bool, policy: SerialPolicy, now: Int64
    ) -> UInt32 {
        guard let before else { return file }
        if SerialNumber.isNewer(file, than: before.serial) { return file }
        if sameContent() { return before.serial }
        if policy == .keep && !before.raised && file == before.serial { return file }
        return raise(before.serial, policy, now)
    }

    /// The serial `policy` gives a zone served at `served` whose content changed (`keep`, whose
    /// file did not give a newer serial, raises by one as `increment` does).
    static func raise(_ served: UInt32, _ policy: SerialPolicy, _ now: Int64) -> UInt32 {
        switch policy {
        case .keep, .increment: return served &+ 1
        case .unixtime: return SerialNumber.raised(from: served, to: SerialNumber.unixtime(now))
        case .dateserial: return SerialNumber.raised(from: served, to: SerialNumber.dateserial(now))
        }
    }
}
