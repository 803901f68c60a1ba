#if canImport(Glibc)
import Glibc
#endif
import DNSAuth
import DNSSEC
import DNSWire
import DNSZone
import Foundation
import ServerConfig
import ZoneFile
import ZoneTransfer

/// One refresh of a secondary zone (RFC 1034 §4.3.5, RFC 1995, RFC 5936), run on a thread of its
/// own with blocking sockets (`TransferSocket`): each primary in turn is asked for its SOA (UDP,
/// TCP when truncated); when its serial is newer (RFC 1982) the zone is fetched by IXFR from our
/// serial over TCP, or by AXFR when we hold no copy, when the primary refuses IXFR, or when its
/// differences do not apply to our copy. The zone received is written as a zone file to a
/// temporary file next to `file`, read back with `ZoneFile.readValid` (the path every zone file
/// takes) and compiled; only then is it renamed over `file`. A refresh that finds the zone current
/// touches `file`, whose modification time is the last successful refresh (kept across restarts,
/// for EXPIRE).
struct SecondaryRefresh: Sendable {
    /// Why one primary did not give us the zone.
    enum Problem: Error, CustomStringConvertible {
        case io(String)
        case transfer(IncomingTransfer.Failure)
        /// The primary's serial is older than ours (RFC 1982): never taken.
        case backwards(String)
        /// The zone received is not a valid zone (`ZoneFile.readValid`'s report).
        case invalid(String)
        /// Our stored copy cannot be read as the base of an IXFR (AXFR is taken instead).
        case noBase(String)

        var description: String {
            switch self {
            case .io(let s): s
            case .transfer(let f): f.reason
            case .backwards(let s): s
            case .invalid(let s): s
            case .noBase(let s): s
            }
        }
    }

    enum Outcome: Sendable {
        /// The primary has our serial.
        case current(primary: ListenAddress, serial: UInt32)
        /// A new copy is stored and compiled.
        case transferred(primary: ListenAddress, zone: Zone, kind: String, records: Int)
        /// No primary gave us the zone: each one's reason.
        case failed([(primary: ListenAddress, reason: String)])
    }

    let entry: ZoneEntry
    let keyring: TSIGKeyring
    let key: Int?
    /// Our copy's SOA serial and RDATA; nil when we hold none.
    let ourSerial: UInt32?
    let ourSOA: [UInt8]?

    func run() -> Outcome {
        var failures: [(primary: ListenAddress, reason: String)] = []
        for primary in entry.primaries {
            do throws(Problem) {
                return try refresh(from: primary)
            } catch {
                failures.append((primary, error.description))
            }
        }
        return .failed(failures)
    }

    func refresh(from primary: ListenAddress) throws(Problem) -> Outcome {
        let serial: UInt32?
        do throws(Problem) {
            serial = try primarySerial(primary)
        } catch {
            // Knot answers no query for a catalog it generates (REFUSED), only transfers: a
            // consumed catalog goes straight to IXFR from our serial (which says when we are
            // current) or AXFR.
            guard entry.interpretsCatalog, case .transfer(let f) = error, f.code == .rcode(5) else { throw error }
            serial = nil
        }
        if let ourSerial, let serial {
            if serial == ourSerial {
                _ = utimes(entry.file, nil)
                return .current(primary: primary, serial: serial)
            }
            guard SerialNumber.isNewer(serial, than: ourSerial) else {
                throw .backwards("the primary's serial \(serial) is older than ours (\(ourSerial)); not transferred")
            }
        }
        if ourSerial != nil, let ourSOA {
            do throws(Problem) {
                switch try transfer(primary, type: .ixfr, soa: ourSOA) {
                case .current(let s) where serial == nil && s == ourSerial:
                    _ = utimes(entry.file, nil)
                    return .current(primary: primary, serial: s)
                case .current(let s):
                    // The SOA query saw a newer serial; the IXFR says otherwise: a changing primary.
                    throw Problem.transfer(IncomingTransfer.Failure(.badContent, "IXFR answered serial \(s) as current after the SOA showed \(serial.map(String.init) ?? "-")"))
                case .full(let records):
                    return try store(records, from: primary, kind: "AXFR-style IXFR")
                case .incremental(let differences):
                    let base = try storedRecords()
                    let records: [Message.Record]
                    do { records = try IXFRApplier.apply(differences, to: base) } catch { throw Problem.transfer(error) }
                    return try store(records, from: primary, kind: "IXFR (\(differences.count) differences)")
                }
            } catch {
                // A primary without IXFR (REFUSED, NOTIMP, FORMERR) or whose differences do not
                // fit our copy: the whole zone instead. Other problems fail this primary.
                switch error {
                case .transfer(let f) where f.code == .rcode(5) || f.code == .rcode(4) || f.code == .rcode(1) || f.code == .badContent: break
                case .noBase: break
                default: throw error
                }
            }
        }
        switch try transfer(primary, type: .axfr, soa: nil) {
        case .full(let records): return try store(records, from: primary, kind: "AXFR")
        case .current, .incremental: throw .transfer(IncomingTransfer.Failure(.badContent, "an AXFR answered as an IXFR"))
        }
    }

    /// The primary's SOA serial: UDP, then TCP when the answer is truncated.
    func primarySerial(_ primary: ListenAddress) throws(Problem) -> UInt32 {
        let id = UInt16.random(in: 0...UInt16.max)
        let (request, verifier) = IncomingTransfer.request(origin: entry.origin, type: .soa, id: id, soa: nil, keyring: keyring, key: key,
                                                           now: UInt64(time(nil)))
        var answer: [UInt8]
        do { answer = try TransferSocket.udpExchange(primary, request) } catch { throw .io("SOA query: \(error)") }
        if IncomingTransfer.isTruncated(answer) {
            try TransferSocket.tcpExchange(primary, request) { message throws(Problem) in
                answer = message
                return true
            }
        }
        do {
            return try IncomingTransfer.soaSerial(answer, id: id, origin: entry.origin, verifier: verifier, now: UInt64(time(nil)))
        } catch {
            throw .transfer(IncomingTransfer.Failure(error.code, "SOA query: \(error.reason)"))
        }
    }

    /// Runs one AXFR or IXFR over TCP and returns what the stream brought.
    func transfer(_ primary: ListenAddress, type: RRType, soa: [UInt8]?) throws(Problem) -> IncomingTransfer.Result {
        let id = UInt16.random(in: 0...UInt16.max)
        let (request, verifier) = IncomingTransfer.request(origin: entry.origin, type: type, id: id, soa: soa, keyring: keyring, key: key,
                                                           now: UInt64(time(nil)))
        var stream = IncomingTransfer(origin: entry.origin, id: id, type: type, fromSerial: type == .ixfr ? ourSerial : nil, verifier: verifier)
        var messages = 0
        do throws(Problem) {
            try TransferSocket.tcpExchange(primary, request) { message throws(Problem) in
                messages += 1
                do throws(IncomingTransfer.Failure) {
                    try stream.receive(message, now: UInt64(time(nil)))
                } catch {
                    throw .transfer(IncomingTransfer.Failure(error.code, "\(type) message \(messages): \(error.reason)"))
                }
                return stream.result != nil
            }
        } catch {
            if case .io(let reason) = error {
                throw .transfer(IncomingTransfer.Failure(.truncated, "\(type): the stream ended before the final SOA after \(messages) messages: \(reason)"))
            }
            throw error
        }
        guard let result = stream.result else {
            throw .transfer(IncomingTransfer.Failure(.truncated, "\(type): the stream ended before the final SOA"))
        }
        return result
    }

    /// Our stored copy's records, the base an IXFR applies to.
    func storedRecords() throws(Problem) -> [Message.Record] {
        do {
            return try ZoneFile.readValid(origin: entry.origin, path: entry.file).map {
                Message.Record(owner: $0.owner, type: $0.type, rrClass: $0.rrClass, ttl: $0.ttl, rdata: $0.rdata)
            }
        } catch {
            throw .noBase("stored copy \(entry.file) cannot be read: \(error)")
        }
    }

    /// Writes `records` as a zone file next to `file`, validates and compiles it through
    /// `ZoneFile.readValid`, and only then renames it over `file`.
    func store(_ records: [Message.Record], from primary: ListenAddress, kind: String) throws(Problem) -> Outcome {
        guard let serial = records.first?.soaSerial else { throw .invalid("the zone received has no SOA first") }
        if let ourSerial, !SerialNumber.isNewer(serial, than: ourSerial) {
            throw .backwards("the \(kind) brought serial \(serial), not newer than ours (\(ourSerial)); not taken")
        }
        let directory = (entry.file as NSString).deletingLastPathComponent
        let name = (entry.file as NSString).lastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\(name).transfer-\(getpid())"
        let header = "\(entry.origin) serial \(serial), \(kind) from \(primary) at \(Date())"
        let text = ZoneFileWriter.text(records.map { ($0.owner, $0.type, $0.rrClass, $0.ttl, $0.rdata) }, header: header)
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) else {
            throw .io("cannot write \(temporary): errno \(errno)")
        }
        defer { unlink(temporary) }
        let read: [ZoneRecord]
        let zone: Zone
        let origin = entry.origin
        let now = Int64(Date().timeIntervalSince1970)
        do {
            // Compiled while it is validated (a large transfer's compile need not wait for the checks).
            (read, zone) = try ZoneFile.readValid(origin: origin, path: temporary) { records in
                Zone(origin: origin, records: records, notes: SignatureExpiry.warnings(records, now: now))
            }
        } catch {
            throw .invalid("the zone received does not validate: \(error.errors.prefix(5).map(\.description).joined(separator: "; "))")
        }
        guard zone.serial == serial else { throw .invalid("the zone compiled has serial \(zone.serial.map(String.init) ?? "-"), not \(serial)") }
        guard rename(temporary, entry.file) == 0 else { throw .io("cannot rename \(temporary) to \(entry.file): errno \(errno)") }
        return .transferred(primary: primary, zone: zone, kind: kind, records: read.count)
    }
}
