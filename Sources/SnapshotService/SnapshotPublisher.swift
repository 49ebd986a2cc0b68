import Foundation
import GSLBCore
import CNetShim
import Logging
import Synchronization

/// Loads zones and the GSLB state, builds snapshots and publishes them.
/// Rebuilds are serialized; a zone that fails keeps its previous good version,
/// and its error is logged with file and line; a store that cannot be read
/// keeps the previous GSLB state.
public final class SnapshotPublisher: Sendable {
    public let box: SnapshotBox
    let source: any ZoneSource
    let repository: (any ConfigRepository)?
    let clock: @Sendable () -> Double
    let logger: Logger
    /// This node's name in the registry (`--node-name`): its own observations are `live`, not the store's.
    public let nodeName: String
    /// Seconds without a heartbeat after which a node is gone and its observations stop counting.
    public let goneAfter: Double
    /// The local copy of the last state served, written on each change and read when the store cannot be at start.
    let cache: (any StateCache)?
    /// Opens the configuration's GeoIP database (and the new file when it is replaced); nil: GeoIP not used.
    let geo: (any GeoDatabaseProvider)?

    struct State {
        var zones = ZoneSet()
        var gslb = GSLBState()
        var lastErrors: [String] = []
        var lastIssues: [String] = []
        var storeToken: Int64 = -1
        /// Earliest expiry of an active override: rebuild then.
        var nextExpiry: Double?
        /// Real states seen by this process's probes: they win over the store's rows.
        var live: [MemberKey: MemberHealth] = [:]
        /// Until the first probe round ends, health from the store is the last known state: stale.
        var coldStart = true
        var last: ServingSnapshot?
        /// The live nodes of the registry (this one included), by name: health quorum counts their
        /// observations while there is more than one and the store answers.
        var liveNodes: [String] = []
        /// The registry as last read, this node's own record fresh.
        var registry: [NodeRecord] = []
        /// The GeoIP database of `gslb.config.geoip`, as the provider last gave it.
        var geo: GeoDatabaseRef?
        /// Snapshots replaced while something may still answer from them (a DNS worker until its next packet or
        /// receive timeout, a TCP connection until its next query): `releaseRetired` lets go of them here rather
        /// than on a query thread. At most `maxRetired`, the oldest let go first.
        var retired: [ServingSnapshot] = []
    }
    private let state = Mutex<State>(State())
    static let maxRetired = 64

    /// What metrics show of the publisher's work.
    public struct Stats: Sendable {
        /// Full builds (zones reloaded: the zone index too), GSLB-layer builds (configuration changed:
        /// the zone index shared) and pool-only rebuilds (health, overrides).
        public var fullRebuilds: UInt64 = 0
        public var gslbRebuilds: UInt64 = 0
        public var incrementalRebuilds: UInt64 = 0
        /// Builds that failed (the previous snapshot kept serving).
        public var failedRebuilds: UInt64 = 0
        public var fullDuration = Histogram(bounds: Histogram.rebuildBounds)
        public var gslbDuration = Histogram(bounds: Histogram.rebuildBounds)
        public var incrementalDuration = Histogram(bounds: Histogram.rebuildBounds)
        /// Reloads that found every zone file unchanged (the zone index kept, nothing re-read).
        public var unchangedReloads: UInt64 = 0
        /// Zones indexed from their files (at start, then each one that changed); the others of a
        /// full build are taken from the previous index.
        public var zonesIndexed: UInt64 = 0
        /// Times the store's change token was seen to move (by the watcher, or on reload).
        public var storeChanges: UInt64 = 0
        /// Store reads that failed (the previous GSLB state kept).
        public var storeReadErrors: UInt64 = 0
        /// Whether the last store read worked (false while the database is away: the previous
        /// GSLB state keeps serving).
        public var storeUp = true
        /// Seconds since the epoch (injected clock) of the last published snapshot; 0 before the first.
        public var lastPublished: Double = 0
        /// Zones that failed to load in the last reload (served from their previous version if any).
        public var zoneLoadErrors = 0
        /// Zones served from an older version because their file failed.
        public var staleZones: [String] = []
        /// When the state served came from the local cache (the store was away at start): when the cache was
        /// saved. Nil once the store has been read.
        public var servingCacheSavedAt: Double?
    }
    private let statsBox = Mutex<Stats>(Stats())

    /// A copy of the counters, for metrics.
    public var stats: Stats { statsBox.withLock { $0 } }

    public init(source: any ZoneSource, repository: (any ConfigRepository)? = nil, box: SnapshotBox = SnapshotBox(),
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "cairn.zones"), nodeName: String = "", goneAfter: Double = 10,
                cache: (any StateCache)? = nil, geo: (any GeoDatabaseProvider)? = nil) {
        self.cache = cache
        self.geo = geo
        self.nodeName = nodeName
        self.goneAfter = goneAfter
        self.source = source
        self.repository = repository
        self.box = box
        self.clock = clock
        self.logger = logger
    }

    public struct Report: Sendable {
        public var zones: [(origin: String, serial: UInt32, source: String)]
        public var errors: [String]
        public var stale: [String]
        public var issues: [String]
        public var generation: UInt64
        public var buildMicros: Int
    }

    /// Reads the zones that changed and the store again and publishes a new snapshot: the zones whose files
    /// did not change are taken from the index being served (not read, not indexed again); when none
    /// changed, nothing is rebuilt unless the store did.
    @discardableResult
    public func reload() -> Report {
        let report = loadAndRebuild()
        // The parsed records were dropped once indexed, and the zone files' text (read, or only hashed when
        // unchanged) with them: glibc keeps such pages resident unless asked, about 50 MiB after a
        // 1,050,003-record zone, 31 MiB after a reload that found its file unchanged (docs/benchmarks.md).
        cairn_release_free_memory()
        return report
    }

    /// `reload`'s work (the parsed zones are freed by its return).
    private func loadAndRebuild() -> Report {
        var result = source.loadChangedZones()
        let kept = result.unchanged + result.failures.compactMap(\.origin)
        let before = state.withLock { Set($0.zones.zones.keys) }
        let removed = result.complete ? before.subtracting(kept + result.zones.map(\.origin)) : []
        if SnapshotBuilder.reindexNeeded(changed: result.zones.map(\.origin) + removed, kept: kept) {
            // A zone changed or removed above or below a kept one: the kept one is indexed again too (a
            // child's apex links to its parent's delegation), so read every zone.
            result = source.loadZones()
        }
        return state.withLock { st in
            st.zones.apply(result)
            result.zones = []   // the zone set holds them now, alone: the build can drop each zone's records
            st.lastErrors = result.failures.map(\.message)
            let stale = st.zones.stale.map(\.description).sorted()
            statsBox.withLock { $0.zoneLoadErrors = result.failures.count; $0.staleZones = stale }
            for e in st.lastErrors { logger.error("zone load failed, previous version kept if any: \(e)", metadata: ["event": "zone.load_failed"]) }
            if !readStore(&st, force: true), st.storeToken == -1, let cached = cache?.load() {
                // The store has never been read and is away: serve the last state this node saved.
                st.gslb = cached.state
                statsBox.withLock { $0.servingCacheSavedAt = cached.savedAt }
                logger.warning("store unreachable at start: serving the local cache saved at \(RFC3339.format(cached.savedAt)) until it answers", metadata: ["event": "store.cache_served"])
            }
            refreshGeo(&st)
            let served = Set(st.last?.zones.map(\.origin) ?? [])
            if let last = st.last, st.zones.changed.isEmpty, served == Set(st.zones.zones.keys) {
                // Every zone as served: the index stays; the GSLB layer is rebuilt only if the store changed.
                statsBox.withLock { $0.unchangedReloads += 1 }
                logger.info("zones unchanged, zone index of snapshot \(last.generation) kept", metadata: ["event": "zone.unchanged"])
                if effectiveGSLB(st) != last.gslb { return rebuild(&st, zonesChanged: false) }
                return Report(zones: last.zones.map { ($0.origin.description, $0.serial, $0.source) }, errors: st.lastErrors,
                              stale: stale, issues: last.issues, generation: last.generation, buildMicros: 0)
            }
            return rebuild(&st, zonesChanged: true)
        }
    }

    /// Lets go of the replaced snapshots that nothing else holds any more, outside the lock: a replaced zone index
    /// (hundreds of MiB for a large zone) is freed on this thread, not on the query thread that dropped it last, and
    /// its pages are handed back (malloc_trim) rather than kept resident until the next reload. The store watcher
    /// calls it every interval.
    public func releaseRetired() {
        var (released, indexGone) = state.withLock { st -> ([ServingSnapshot], Bool) in
            var out: [ServingSnapshot] = []
            var i = 0
            while i < st.retired.count {
                if isKnownUniquelyReferenced(&st.retired[i]) { out.append(st.retired.remove(at: i)) } else { i += 1 }
            }
            return (out, out.contains { $0.zoneIndex !== st.last?.zoneIndex })
        }
        released.removeAll()
        if indexGone { cairn_release_free_memory() }
    }

    /// Re-reads the store when another writer changed it (or an override expired); cheap otherwise.
    /// Returns true when a new snapshot was published.
    @discardableResult
    public func refreshIfChanged() -> Bool {
        state.withLock { st in
            let expired = st.nextExpiry.map { $0 <= clock() } ?? false
            let storeChanged = readStore(&st, force: expired)
            let geoChanged = refreshGeo(&st)
            guard storeChanged || geoChanged else { return false }
            _ = rebuild(&st, zonesChanged: false)
            return true
        }
    }

    /// Asks the GeoIP provider for the configuration's database (a stat of its file; a new file is opened here,
    /// on the publisher's side); true when it is another database than the one served.
    @discardableResult
    private func refreshGeo(_ st: inout State) -> Bool {
        guard let geo else { return false }
        let db = geo.database(for: st.gslb.config.geoip)
        guard db != st.geo else { return false }
        st.geo = db
        return true
    }

    /// Reads the GSLB state when the store's change token moved; returns true if it did.
    private func readStore(_ st: inout State, force: Bool) -> Bool {
        guard let repo = repository else { return force }
        do {
            let token = try repo.changeToken()
            if token != st.storeToken && st.storeToken != -1 { statsBox.withLock { $0.storeChanges += 1 } }
            let flipped = markStore(up: true, error: nil)
            guard force || token != st.storeToken else { return flipped && st.liveNodes.count > 1 }
            // Equal state (SQLite sees the registry's heartbeats as changes too): nothing to rebuild.
            let loaded = try repo.loadState()
            let changed = loaded != st.gslb
            st.gslb = loaded
            st.storeToken = token
            statsBox.withLock { $0.servingCacheSavedAt = nil }
            return force || changed || (flipped && st.liveNodes.count > 1)
        } catch {
            statsBox.withLock { $0.storeReadErrors += 1 }
            // Quorum stops counting the other nodes while the store is away: rebuild on the local view.
            return markStore(up: false, error: "\(error)") && st.liveNodes.count > 1
        }
    }

    /// The registry as just read (`NodeRegistryService`), with this node's own record as it is now: when the set
    /// of live nodes changed, health quorum counts other nodes now and the pools are rebuilt.
    public func updateRegistry(_ nodes: [NodeRecord], own: NodeRecord? = nil) {
        let now = clock()
        var nodes = nodes
        if let own { nodes = (nodes.filter { $0.name != own.name } + [own]).sorted { $0.name < $1.name } }
        let live = nodes.filter { $0.isLive(now: now, goneAfter: goneAfter) }.map(\.name).sorted()
        state.withLock { st in
            st.registry = nodes
            guard live != st.liveNodes else { return }
            logger.info("live nodes: \(live.isEmpty ? "none" : live.joined(separator: ", "))", metadata: ["event": "node.live"])
            st.liveNodes = live
            if st.last != nil { _ = rebuild(&st, zonesChanged: false) }
        }
    }

    /// The node registry as last read (`GET /v1/nodes`): every node sharing the store, this one included.
    public var registry: [NodeRecord] { state.withLock { $0.registry } }

    /// The change token of the state this node serves (the registry shows how far behind the newest it is).
    public var storeToken: Int64 { state.withLock { $0.storeToken } }

    /// Notes whether the store answered; logs the transitions only (a database that is away fails every
    /// check: 5 lines a second would bury the one that matters). True when it flipped.
    private func markStore(up: Bool, error: String?) -> Bool {
        let was = statsBox.withLock { s -> Bool in
            defer { s.storeUp = up }
            return s.storeUp
        }
        if was && !up {
            logger.error("store unreachable, serving the last snapshot: \(error ?? "?")", metadata: ["event": "store.unreachable"])
        } else if !was && up {
            logger.info("store reachable again", metadata: ["event": "store.reachable"])
        }
        return was != up
    }

    /// Whether the last store read worked (`/readyz` says `degraded` when not).
    public var storeUp: Bool { statsBox.withLock { $0.storeUp } }

    private let pending = Mutex<(changes: [MemberHealth], endColdStart: Bool, scheduled: Bool)>(([], false, false))
    private let publishQueue = DispatchQueue(label: "cairn.publish")
    /// Health changes arriving within this window are published together.
    public var coalesceWindow: Double { 0.02 }

    /// Health transitions from the monitor: published within `coalesceWindow`, together
    /// with any others that arrive meanwhile, rebuilding only the pools whose members
    /// changed (the zone index is shared with the previous snapshot). Never blocks the caller
    /// on a rebuild.
    public func applyHealth(_ changes: [MemberHealth], endColdStart: Bool = false) {
        let schedule = pending.withLock { p -> Bool in
            p.changes += changes
            p.endColdStart = p.endColdStart || endColdStart
            if p.scheduled { return false }
            p.scheduled = true
            return true
        }
        guard schedule else { return }
        publishQueue.asyncAfter(deadline: .now() + coalesceWindow) { [self] in flushHealth() }
    }

    /// Publishes the pending health changes now (also used by tests).
    public func flushHealth() {
        let (changes, endCold) = pending.withLock { p -> ([MemberHealth], Bool) in
            defer { p = ([], false, false) }
            return (p.changes, p.endColdStart)
        }
        guard !changes.isEmpty || endCold else { return }
        state.withLock { st in
            // A member's newer state is never replaced by an older one: the end of the cold start reports every
            // state as the prober saw it then, and a transition made since may be queued before it.
            for h in changes where (st.live[h.key]?.since ?? -.infinity) <= h.since { st.live[h.key] = h }
            if endCold { st.coldStart = false }
            _ = rebuild(&st, zonesChanged: false)
        }
    }

    /// The state the snapshot is built from: this process's own probe results over the store's rows,
    /// then, with several live nodes and the store answering, each member's state as the nodes agree
    /// on it (its monitor's `quorum`).
    private func effectiveGSLB(_ st: State) -> GSLBState {
        var g = st.gslb
        g.geo = st.geo
        let quorum = st.liveNodes.count > 1 && statsBox.withLock { $0.storeUp }
        g.observations = []
        guard !st.live.isEmpty || st.coldStart || quorum else { return g }
        var byKey: [MemberKey: MemberHealth] = [:]
        for var h in g.health {
            if st.coldStart { h.stale = true }
            byKey[h.key] = h
        }
        for (k, h) in st.live { byKey[k] = h }
        if quorum { applyQuorum(&byKey, &g, st) }
        g.health = Self.sortedByKey(byKey.values)
        return g
    }

    /// Health rows in the order of their keys' text (`pool/address`), each key's text made once: made inside
    /// the comparison, it was two strings per comparison, most of a health transition's rebuild with 50,000
    /// members (scripts/bench-large-config).
    static func sortedByKey(_ rows: some Collection<MemberHealth>) -> [MemberHealth] {
        rows.map { ($0.key.description, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Replaces each monitored member's own state by the one the live nodes agree on, and keeps in `g`
    /// the observations that counted (this node's own included) and the nodes counted.
    private func applyQuorum(_ byKey: inout [MemberKey: MemberHealth], _ g: inout GSLBState, _ st: State) {
        let live = Set(st.liveNodes)
        var others: [MemberKey: [NodeObservation]] = [:]
        for o in st.gslb.observations where o.node != nodeName && live.contains(o.node) { others[o.key, default: []].append(o) }
        var counted: [NodeObservation] = []
        g.config.forEachMonitoredMember { p, m, monitor in
            let key = MemberKey(pool: p.name, address: m.address)
            let own = byKey[key]
            let seen = others[key] ?? []
            counted.append(NodeObservation(node: nodeName, key: key, state: own?.state ?? .unknown, since: own?.since ?? 0))
            counted += seen
            let rule = monitor.quorum ?? .default(liveNodes: live.count)
            let agreed = rule.decide(own: own?.state ?? .unknown, others: seen.map(\.state))
            guard agreed != (own?.state ?? .unknown) else { return }
            var h = own ?? MemberHealth(key: key, state: .unknown, since: 0)
            h.state = agreed
            h.since = seen.filter { $0.state == agreed }.map(\.since).max() ?? h.since
            byKey[key] = h
        }
        g.observations = counted
        g.quorumNodes = st.liveNodes
    }

    /// What a rebuild built: everything, the GSLB layer around the shared zone index, or only some pools.
    enum RebuildKind { case full, gslb, incremental }

    /// Publishes a built snapshot and records the rebuild (count, duration, next override expiry); the state it
    /// was built from (this node's own health over the store's) goes to the local cache, once read from the store.
    private func publish(_ snap: ServingSnapshot, _ st: inout State, kind: RebuildKind, started: DispatchTime, now: Double) -> Report {
        box.publish(snap)
        if let cache, st.storeToken != -1 {
            var saved = st.gslb
            saved.observations = []
            var byKey = Dictionary(saved.health.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            for (k, h) in st.live { byKey[k] = h }
            saved.health = Self.sortedByKey(byKey.values)
            cache.save(saved)
        }
        if let old = st.last {
            st.retired.append(old)
            if st.retired.count > Self.maxRetired { st.retired.removeFirst() }
        }
        st.last = snap
        st.nextExpiry = st.gslb.overrides.compactMap(\.expiresAt).filter { $0 > now }.min()
        let nanos = DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds
        let (count, duration): (WritableKeyPath<Stats, UInt64>, WritableKeyPath<Stats, Histogram>) = switch kind {
        case .full: (\.fullRebuilds, \.fullDuration)
        case .gslb: (\.gslbRebuilds, \.gslbDuration)
        case .incremental: (\.incrementalRebuilds, \.incrementalDuration)
        }
        statsBox.withLock { s in
            s[keyPath: count] += 1
            s[keyPath: duration].observe(Double(nanos) / 1e9)
            s.lastPublished = now
        }
        return Report(zones: snap.zones.map { ($0.origin.description, $0.serial, $0.source) }, errors: st.lastErrors,
                      stale: st.zones.stale.map(\.description).sorted(), issues: snap.issues, generation: snap.generation,
                      buildMicros: Int(nanos / 1000))
    }

    /// Builds and publishes the next snapshot. The zone index is built only when the zones were
    /// (re)loaded; otherwise the previous snapshot's index is shared: same config, only the pools whose
    /// members' state changed are rebuilt; another config, the whole GSLB layer (pools, topology) is.
    private func rebuild(_ st: inout State, zonesChanged: Bool) -> Report {
        let started = DispatchTime.now()
        let now = clock()
        let gen = (st.last?.generation ?? 0) + 1
        if !zonesChanged, let old = st.last {
            let gslb = effectiveGSLB(st)
            if let snap = SnapshotBuilder().rebuildingPools(of: old, gslb: gslb, now: now, generation: gen) {
                let report = publish(snap, &st, kind: .incremental, started: started, now: now)
                logger.debug("published snapshot \(gen) (pools only): \(report.buildMicros) µs", metadata: ["event": "snapshot.published"])
                return report
            }
            let snap = SnapshotBuilder().build(index: old.zoneIndex, gslb: gslb, now: now, generation: gen)
            logIssues(snap, &st)
            let report = publish(snap, &st, kind: .gslb, started: started, now: now)
            logger.info("published snapshot \(gen) (GSLB layer, zone index shared): \(snap.pools.count) pools, \(report.buildMicros) µs", metadata: ["event": "snapshot.published"])
            return report
        }
        do {
            // The zones that changed are indexed; the others are taken from the index being served.
            let changed = st.zones.changed.compactMap { st.zones.zones[$0] }.sorted { $0.origin < $1.origin }
            let keep = Set(st.zones.zones.keys).subtracting(st.zones.changed)
            let old = st.last?.zoneIndex ?? .empty
            try SnapshotBuilder.check(zones: changed, reusing: old, keep: keep)
            // The build cannot fail now: the zone set lets go of the records, so that the build holds the only
            // reference and drops each zone's records once encoded (a changed zone's reload peak).
            st.zones.indexed()
            let indexed = changed.map(\.origin.description).joined(separator: " ")
            statsBox.withLock { $0.zonesIndexed += UInt64(changed.count) }
            let index = try SnapshotBuilder(recordsDropped: { cairn_release_free_memory() })
                .buildIndex(zones: consume changed, reusing: old, keep: keep)
            let snap = SnapshotBuilder().build(index: index, gslb: effectiveGSLB(st), now: now, generation: gen)
            logIssues(snap, &st)
            let report = publish(snap, &st, kind: .full, started: started, now: now)
            logger.info("published snapshot \(gen): \(snap.zones.count) zones (indexed: \(indexed.isEmpty ? "none" : indexed); \(keep.count) kept), \(snap.nameCount) names, \(snap.pools.count) pools, \(st.lastErrors.count) zone errors, \(report.buildMicros) µs", metadata: ["event": "snapshot.published"])
            return report
        } catch {
            // The previous snapshot keeps serving.
            statsBox.withLock { $0.failedRebuilds += 1 }
            logger.error("snapshot build failed, previous snapshot kept: \(error)", metadata: ["event": "snapshot.build_failed"])
            return Report(zones: [], errors: st.lastErrors + ["\(error)"], stale: [], issues: [], generation: st.last?.generation ?? 0,
                          buildMicros: 0)
        }
    }

    /// Logs the build's issues (pools left out, with why) when they differ from the last build's.
    private func logIssues(_ snap: ServingSnapshot, _ st: inout State) {
        if snap.issues != st.lastIssues { for i in snap.issues { logger.warning("\(i)", metadata: ["event": "snapshot.issue"]) } }
        st.lastIssues = snap.issues
    }

    public var lastErrors: [String] { state.withLock { $0.lastErrors } }
}

/// The thread that notices store changes made by any process (within `interval`).
public final class StoreWatcher: Sendable {
    private let stopped = Atomic<Bool>(false)

    /// Polls the store of `publisher` every `interval` seconds on a background thread until `stop()`.
    public init(publisher: SnapshotPublisher, interval: Double) {
        NamedThread.start("cairn-store-watch") { [self] in
            while !stopped.load(ordering: .relaxed) {
                publisher.refreshIfChanged()
                publisher.releaseRetired()
                Thread.sleep(forTimeInterval: interval)
            }
        }
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }
}
