import Atomics
import QueryEngine

/// The engine every transport answers with, behind one atomic reference so a reload can swap
/// in a new snapshot while queries are answered. Readers load it once per batch (UDP) or per
/// message (TCP); the old engine is freed when its last reader lets go.
final class EngineReference: Sendable {
    /// Holds the engine struct so it can live behind an atomic reference.
    final class Box: AtomicReference, Sendable {
        let engine: QueryEngine
        init(_ engine: QueryEngine) { self.engine = engine }
    }

    private let current: ManagedAtomic<Box>

    init(_ engine: QueryEngine) { current = ManagedAtomic(Box(engine)) }

    func load() -> Box { current.load(ordering: .acquiring) }

    func replace(with engine: QueryEngine) { current.store(Box(engine), ordering: .releasing) }
}
