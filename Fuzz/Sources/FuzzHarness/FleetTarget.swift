import FleetModel
import HealthModel

/// Target (g), what other instances of a fleet write to etcd: member, verdict and drain records
/// and the stored configuration, applied to a `FleetSnapshot` as a watch delivers them, and the
/// quorum computed over them. A record from a broken or hostile instance must be skipped (and
/// reported), never crash; the fleet's verdicts must count only live observers, and each address's
/// up and down observers must be distinct live members.
///
/// Input: entries, each a kind byte (low 3 bits: 0 member, 1 verdicts, 2 drain, 3 config,
/// 4 delete, 5 a key of the input's own; bits 3–5 pick one of `names`), a 2-byte length and that
/// many bytes of value (for kind 5: the key, then the rest of the value as with kind 1).
public enum FleetTarget {
    public static let name = "fleet"

    static let names = ["a1", "b2", "c3", "dub", "iad", "nrt", "x", "y.z"]
    static let keys: FleetKeys = {
        // "fz" is a valid fleet name.
        guard let keys = try? FleetKeys(fleet: "fz") else { fatalError("the fuzz fleet's name is invalid") }
        return keys
    }()

    public static func run(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        var r = InputReader(input)
        var snapshot = FleetSnapshot(keys: keys, revision: 1)
        var revision: Int64 = 1
        while let kind = r.byte(), let length = r.u16(), let value = r.take(Int(length)) {
            revision += 1
            let who = names[Int(kind >> 3 & 7)]
            switch kind & 7 {
            case 0: snapshot.put(key: keys.member(who), value: value, modRevision: revision)
            case 1: snapshot.put(key: keys.verdicts(who), value: value, modRevision: revision)
            case 2: snapshot.put(key: keys.drain(who), value: value, modRevision: revision)
            case 3: snapshot.put(key: keys.config, value: value, modRevision: revision)
            case 4: snapshot.delete(key: keys.member(who), modRevision: revision)
            default:
                let split = value.firstIndex(of: 0) ?? value.count
                let key = keys.prefix + String(decoding: value[..<split], as: UTF8.self)
                snapshot.put(key: key, value: Array(value[min(split + 1, value.count)...]), modRevision: revision)
            }
        }
        for quorum in [Quorum.majority, .any, .all, .count(2)] {
            let health = FleetHealth.compute(snapshot, quorum: quorum)
            guard health.observers.isSubset(of: snapshot.liveMembers) else {
                throw FuzzFailure(name, "observers \(health.observers) outside the live members \(snapshot.liveMembers)")
            }
            for (address, verdict) in health.addresses {
                let seen = verdict.up + verdict.down
                guard Set(seen).count == seen.count, Set(seen).isSubset(of: health.observers) else {
                    throw FuzzFailure(name, "\(address): observers \(seen) are not distinct live members")
                }
                let needed = quorum.needed(observers: seen.count)
                if verdict.state == .up && verdict.up.count < needed {
                    throw FuzzFailure(name, "\(address) up on \(verdict.up.count) of \(seen.count) with \(quorum) needing \(needed)")
                }
            }
        }
    }
}
