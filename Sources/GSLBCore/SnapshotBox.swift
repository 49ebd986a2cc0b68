import Synchronization

/// Holds the current `ServingSnapshot`. Readers on the query path check a
/// generation counter (one atomic load per batch) and take the short lock only
/// when it changed, to copy the new reference; no lock is ever held across work.
public final class SnapshotBox: Sendable {
    private let current: Mutex<ServingSnapshot>
    private let gen = Atomic<UInt64>(0)

    public init(_ initial: ServingSnapshot = .empty) {
        current = Mutex(initial)
    }

    public var generation: UInt64 { gen.load(ordering: .acquiring) }

    public func load() -> ServingSnapshot { current.withLock { $0 } }

    public func publish(_ s: ServingSnapshot) {
        current.withLock { $0 = s }
        gen.add(1, ordering: .releasing)
    }
}

/// A worker's cached view of a `SnapshotBox`.
public struct SnapshotReader {
    let box: SnapshotBox
    public private(set) var snapshot: ServingSnapshot
    var seen: UInt64

    public init(_ box: SnapshotBox) {
        self.box = box
        self.seen = box.generation
        self.snapshot = box.load()
    }

    /// Refreshes the cached snapshot when a newer one was published.
    @inline(__always)
    public mutating func refresh() -> ServingSnapshot {
        let g = box.generation
        if g != seen {
            seen = g
            snapshot = box.load()
        }
        return snapshot
    }
}
