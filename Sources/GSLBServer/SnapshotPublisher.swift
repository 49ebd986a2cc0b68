import DNSWire
import Foundation
import GSLBCore
import Logging
import Synchronization

/// Loads zones, builds snapshots and publishes them. Reloads are serialized;
/// a zone that fails keeps its previous good version, and its error is logged
/// with file and line.
public final class SnapshotPublisher: Sendable {
    public let box: SnapshotBox
    let source: any ZoneSource
    let logger: Logger
    private let state = Mutex<(zones: ZoneSet, generation: UInt64, lastErrors: [String])>((ZoneSet(), 0, []))

    public init(source: any ZoneSource, box: SnapshotBox = SnapshotBox(), logger: Logger = Logger(label: "cairn.zones")) {
        self.source = source
        self.box = box
        self.logger = logger
    }

    public struct Report: Sendable {
        public var zones: [(origin: String, serial: UInt32, source: String)]
        public var errors: [String]
        public var stale: [String]
        public var generation: UInt64
        public var buildMicros: Int
    }

    /// Reads every zone again and publishes a new snapshot.
    @discardableResult
    public func reload() -> Report {
        let started = DispatchTime.now()
        let result = source.loadZones()
        return state.withLock { st in
            var zs = st.zones
            zs.apply(result)
            let gen = st.generation + 1
            let errors = result.failures.map(\.message)
            for e in errors { logger.error("zone load failed, previous version kept if any: \(e)") }
            do {
                let snap = try SnapshotBuilder().build(zones: zs.sorted, generation: gen)
                box.publish(snap)
                st.zones = zs
                st.generation = gen
                st.lastErrors = errors
                let micros = Int((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1000)
                let rep = Report(zones: snap.zones.map { ($0.origin.description, $0.serial, $0.source) }, errors: errors,
                                 stale: zs.stale.map(\.description).sorted(), generation: gen, buildMicros: micros)
                logger.info("published snapshot \(gen): \(snap.zones.count) zones, \(snap.nameCount) names, \(errors.count) errors, \(micros) µs")
                return rep
            } catch {
                // The previous snapshot keeps serving.
                logger.error("snapshot build failed, previous snapshot kept: \(error)")
                st.lastErrors = errors + ["\(error)"]
                return Report(zones: [], errors: st.lastErrors, stale: [], generation: st.generation, buildMicros: 0)
            }
        }
    }

    public var lastErrors: [String] { state.withLock { $0.lastErrors } }
}
