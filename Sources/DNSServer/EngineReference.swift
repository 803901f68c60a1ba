import Atomics
import Foundation
import QueryEngine
import Synchronization

/// The engine every transport answers with, behind one atomic reference so a reload can swap
/// in a new snapshot while queries are answered. Readers load it once per batch (UDP) or per
/// read (TCP: the messages one read completed); a load is two compare-and-swaps on the shared
/// reference, so never once per query. The old engine is freed when its last reader lets go.
///
/// The engine travels with the tally of its routing table's answers: a health change swaps in a
/// new engine over the same routing table and keeps the tally; a new routing table gets a new one,
/// and the old tally is kept until its last counts can no longer change, then folded by name.
final class EngineReference: Sendable {
    /// Holds the engine struct so it can live behind an atomic reference.
    final class Box: AtomicReference, Sendable {
        let engine: QueryEngine
        let tally: AnswerTally?
        init(_ engine: QueryEngine, _ tally: AnswerTally?) {
            self.engine = engine
            self.tally = tally
        }
    }

    /// Tallies of replaced routing tables, and the counts of those already folded.
    private struct Retired {
        var tallies: [(tally: AnswerTally, at: ContinuousClock.Instant)] = []
        var folded: [QueryStatistics.AnswerKey: UInt64] = [:]
    }

    /// A replaced tally may still be written by a thread finishing its batch; after this it cannot.
    static let foldDelay: Duration = .seconds(2)

    private let current: ManagedAtomic<Box>
    private let shards: Int
    private let retired = Mutex(Retired())

    init(_ engine: QueryEngine, shards: Int) {
        self.shards = shards
        current = ManagedAtomic(Box(engine, engine.services.map { AnswerTally(routing: $0.routing, shards: shards) }))
    }

    func load() -> Box { current.load(ordering: .acquiring) }

    func replace(with engine: QueryEngine) {
        retired.withLock { retired in
            let old = current.load(ordering: .acquiring)
            let tally: AnswerTally?
            if let services = engine.services {
                tally = services === old.engine.services ? old.tally : AnswerTally(routing: services.routing, shards: shards)
            } else {
                tally = nil
            }
            current.store(Box(engine, tally), ordering: .releasing)
            if let previous = old.tally, previous !== tally { retired.tallies.append((previous, .now)) }
        }
    }

    /// Routed answers per service and data center since start, over every routing table served.
    func answers() -> [QueryStatistics.AnswerKey: UInt64] {
        retired.withLock { retired in
            let now = ContinuousClock.now
            let settled = retired.tallies.filter { now - $0.at >= Self.foldDelay }
            for (tally, _) in settled { tally.add(to: &retired.folded) }
            retired.tallies.removeAll { now - $0.at >= Self.foldDelay }
            var answers = retired.folded
            for (tally, _) in retired.tallies { tally.add(to: &answers) }
            current.load(ordering: .acquiring).tally?.add(to: &answers)
            return answers
        }
    }
}
