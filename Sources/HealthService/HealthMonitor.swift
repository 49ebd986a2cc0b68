import Foundation
import GSLBCore
import Logging
import Synchronization
import CNetShim
import HeapModule
import SnapshotService

/// Probes every distinct target once per interval (however many pools share it; a command monitor naming
/// `{pool}` has one target per pool), spreads probes over the interval, caps concurrency, runs each target's
/// rise/fall state machine, and reports transitions. It reads the configuration from the published snapshot
/// and never touches the DNS path.
public final class HealthMonitor: Sendable {
    /// A distinct probe target and the members it decides.
    struct Target: Hashable, Sendable {
        let spec: ProbeSpec
        let members: [MemberKey]
    }

    /// What the rest of Cairn sees of one target.
    public struct Status: Sendable {
        public var spec: ProbeSpec
        public var members: [MemberKey]
        public var machine: HealthStateMachine
        public var last: ProbeResult?
        public var lastAt: Double?
        public var probes = 0
        public var lateProbes = 0
        public var maxLateness = 0.0
        /// The load last published for this target's members.
        public var publishedLoad: Double?
    }

    public struct Options: Sendable {
        public var maxConcurrency: Int
        /// This node's name, sent with HTTP probes (`X-Cairn-Node`).
        public var node: String?
        public init(maxConcurrency: Int = 2048, node: String? = nil) { self.maxConcurrency = maxConcurrency; self.node = node }
    }

    let box: SnapshotBox
    let prober: any Prober
    /// The prober's callback path (plain TCP and HTTP on the probe loop): no task per probe.
    let starter: (any ProbeStarter)?
    let options: Options
    let clock: @Sendable () -> Double
    let logger: Logger
    /// Called with the member states that changed (coalesced per probe result).
    let onChange: @Sendable ([MemberHealth], [String]) -> Void
    /// Called once with every probed member's state when the first round ends.
    let onColdStartEnd: @Sendable ([MemberHealth]) -> Void
    private let state = Mutex<[ProbeSpec: Status]>([:])
    /// Members whose probes fail inside Cairn (probe-mode drills), by drill.
    private let faults = Mutex<[String: Set<MemberKey>]>([:])
    private let running = Atomic<Bool>(false)
    private let firstRoundDone = Atomic<Bool>(false)
    private let inFlightBox = Mutex<Set<ProbeSpec>>([])
    /// Targets that have not had a result yet, until the first round ends.
    private let awaitingFirst = Mutex<Set<ProbeSpec>>([])
    private let activeBox = Atomic<Int>(0)

    /// Probe and transition counts since start, for metrics.
    public struct Stats: Sendable {
        public struct MonitorKey: Hashable, Sendable {
            public var monitor: String
            public var type: String
        }
        public struct TransitionKey: Hashable, Sendable {
            public var pool: String
            /// `A` or `AAAA` (from the member's address).
            public var type: String
            public var to: String
        }
        /// Probe round trips (start to verdict) per monitor.
        public var durations: [MonitorKey: Histogram] = [:]
        /// Probe results per monitor: [successes, failures].
        public var results: [MonitorKey: [UInt64]] = [:]
        /// Probes that started more than half an interval after their slot.
        public var late: [MonitorKey: UInt64] = [:]
        /// Real-state transitions per member (the first verdict after `unknown` included).
        public var transitions: [TransitionKey: UInt64] = [:]
    }
    private let statsBox = Mutex<Stats>(Stats())

    /// A copy of the counters, for metrics.
    public var stats: Stats { statsBox.withLock { $0 } }

    /// Probes in flight now.
    public var inFlight: Int { activeBox.load(ordering: .relaxed) }

    /// Distinct probe targets now.
    public var targetCount: Int { state.withLock { $0.count } }

    public init(box: SnapshotBox, prober: any Prober, options: Options = Options(),
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "cairn.health"),
                onColdStartEnd: @escaping @Sendable ([MemberHealth]) -> Void = { _ in },
                onChange: @escaping @Sendable ([MemberHealth], [String]) -> Void) {
        self.onColdStartEnd = onColdStartEnd
        self.box = box
        self.prober = prober
        self.starter = prober as? any ProbeStarter
        self.options = options
        self.clock = clock
        self.logger = logger
        self.onChange = onChange
    }

    /// True once every target known at start has had at least one probe.
    public var coldStartOver: Bool { firstRoundDone.load(ordering: .relaxed) }

    public var statuses: [Status] { state.withLock { Array($0.values) } }

    /// The distinct targets of a configuration: members with a monitor (member's, else pool's).
    /// A CNAME pool's member is probed at its `probe.address`, else at its target's address in the served zones
    /// (`ServingSnapshot.probeAddress(ofTarget:)`); one with neither is not probed (its state stays unknown).
    /// A `command` monitor whose argv names `{pool}` runs once per pool: the pool is then part of the target
    /// (at most one target per member of all pools, `--max-members`); every other target is shared by the pools.
    static func targets(_ gslb: GSLBState, node: String? = nil, snapshot: ServingSnapshot? = nil) -> [Target] {
        var byspec: [ProbeSpec: [MemberKey]] = [:]
        var order: [ProbeSpec] = []
        // Per monitor name: does its argv name `{pool}` (parsed once per monitor, not per member).
        var namesPool: [String: Bool] = [:]
        gslb.config.forEachMonitoredMember { p, m, mon in
            guard m.state != .disabled else { return }
            // A CNAME pool's target name is probed at the address the served zones give it.
            guard let addr = m.probe?.address ?? (p.isCNAME ? snapshot?.probeAddress(ofTarget: m.address) : m.address) else { return }
            guard let port = m.probe?.port ?? mon.port ?? (mon.type == .command ? 0 : nil) else { return }
            let perPool = mon.type == .command && (namesPool[mon.name] ?? {
                guard case .command(let c)? = MonitorCheck.parse(mon).check else { return false }
                let names = c.namesPool
                namesPool[mon.name] = names
                return names
            }())
            let specKey = ProbeSpec(address: addr, port: port, monitor: mon, poolName: perPool ? p.name : "", node: node)
            if byspec[specKey] == nil { order.append(specKey) }
            byspec[specKey, default: []].append(MemberKey(pool: p.name, address: m.address))
        }
        return order.map { Target(spec: $0, members: byspec[$0]!) }
    }

    /// Runs until `stop()`: a scheduler loop that fires each target at its slot of the interval.
    /// The loop has a thread of its own (`cairn-health`, at the process's priority + 2, like the probe
    /// loop): on the concurrency pool it ran at the pool's priority, below the DNS threads' when Cairn is
    /// started with a raised priority, and fell behind whenever DNS was busy.
    public func run() async {
        running.store(true, ordering: .relaxed)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            NamedThread.start("cairn-health") { [self] in
                _ = cairn_thread_nice_from_process(ProbeLoop.niceIncrement)
                schedule()
                done.resume()
            }
        }
    }

    private func schedule() {
        var lastGeneration: UInt64 = .max
        var lastConfig: GSLBConfig?
        var lastZones: ObjectIdentifier?
        var targets: [Target] = []
        var specs: [ProbeSpec] = []
        var heap = Heap<Due>()
        var pendingFirst = Set<ProbeSpec>()
        var lastReport = clock()
        while running.load(ordering: .relaxed) {
            let snap = box.load()
            // Targets change only with the configuration, not with health.
            if snap.generation != lastGeneration {
                lastGeneration = snap.generation
                // ... and with the zones, where CNAME pools' targets get their addresses.
                if lastConfig != snap.gslb.config || lastZones != ObjectIdentifier(snap.zoneIndex) {
                    lastConfig = snap.gslb.config
                    lastZones = ObjectIdentifier(snap.zoneIndex)
                    let fresh = HealthMonitor.targets(snap.gslb, node: options.node, snapshot: snap)
                    // A change that moves no target (a weight, a TTL) keeps the schedule and every target's state as
                    // they are: rebuilding them made three tables of every target (a third of a write's CPU with
                    // 50,000 monitored members, scripts/bench-large-config).
                    if fresh != targets {
                        targets = fresh
                        let now = clock()
                        var oldDue: [ProbeSpec: Double] = [:]
                        for e in heap.unordered { oldDue[specs[e.index]] = e.due }
                        let health = Dictionary(snap.gslb.health.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
                        specs = targets.map(\.spec)
                        heap = Heap<Due>()
                        state.withLock { st in
                            var next: [ProbeSpec: Status] = [:]
                            for (i, t) in targets.enumerated() {
                                if var s = st[t.spec] {
                                    s.members = t.members
                                    s.spec = t.spec
                                    next[t.spec] = s
                                } else {
                                    // Cold start: the last known state from the store, marked stale.
                                    let known = t.members.compactMap { health[$0] }.first
                                    next[t.spec] = Status(spec: t.spec, members: t.members,
                                                          machine: HealthStateMachine(rise: t.spec.monitor.rise, fall: t.spec.monitor.fall,
                                                                                      initial: known?.state ?? .unknown, since: known?.since ?? now,
                                                                                      stale: known != nil))
                                }
                                // Spread first probes over the interval by a stable hash of the target.
                                let interval = Double(t.spec.monitor.intervalMs) / 1000
                                // (The pool too, empty but for a command naming `{pool}`: one pool's run is not another's slot.)
                                let slot = Double(fnv1a(Array((t.spec.description + t.spec.poolName).utf8)) % 1000) / 1000 * interval
                                heap.insert(Due(due: oldDue[t.spec] ?? (now + slot), index: i))
                            }
                            st = next
                        }
                        if !firstRoundDone.load(ordering: .relaxed) {
                            pendingFirst = Set(specs)
                            awaitingFirst.withLock { $0 = pendingFirst }
                        }
                    }
                }
            }
            let now = clock()
            var nextWake = now + 0.25
            // Only the targets that are due: O(log n) each.
            while let top = heap.min, top.due <= now {
                if activeBox.load(ordering: .relaxed) >= options.maxConcurrency { nextWake = now + 0.002; break }
                _ = heap.popMin()
                let spec = specs[top.index]
                let interval = Double(spec.monitor.intervalMs) / 1000
                let lateness = now - top.due
                // Next slot keeps the phase; a target that fell far behind restarts from now.
                heap.insert(Due(due: lateness > interval ? now + interval : top.due + interval, index: top.index))
                // Still probing from the last slot: skip this one.
                guard inFlightBox.withLock({ $0.insert(spec).inserted }) else { continue }
                activeBox.add(1, ordering: .relaxed)
                pendingFirst.remove(spec)
                let done: @Sendable (ProbeResult) -> Void = { [self] r in
                    self.handle(spec: spec, result: r, lateness: lateness)
                    self.finished(spec)
                }
                // The verdict comes back on the probe loop's thread; handled there, no task.
                if let starter, starter.start(spec, done: done) { continue }
                // Other probes (https, dns, command, host names): a task each, not kept once done.
                Task { [self] in done(await self.prober.probe(spec)) }
            }
            if let top = heap.min { nextWake = min(nextWake, top.due) }
            if pendingFirst.isEmpty && !firstRoundDone.load(ordering: .relaxed) && !targets.isEmpty {
                // Every target has been sent once; the round ends when each has a result.
                if awaitingFirst.withLock({ $0.isEmpty }) {
                    firstRoundDone.store(true, ordering: .relaxed)
                    let all: [MemberHealth] = state.withLock { st in
                        for i in st.values.indices { st.values[i].machine.endColdStart() }
                        return st.values.flatMap { s in
                            s.members.map { MemberHealth(key: $0, state: s.machine.state, since: s.machine.since, load: s.publishedLoad) }
                        }
                    }
                    logger.info("first probe round done: \(targets.count) targets", metadata: ["event": "health.first_round"])
                    onColdStartEnd(all)
                }
            } else if targets.isEmpty && !firstRoundDone.load(ordering: .relaxed) {
                firstRoundDone.store(true, ordering: .relaxed)
                onColdStartEnd([])
            }
            if now - lastReport >= reportEvery {
                report(since: lastReport, now: now)
                lastReport = now
            }
            // At least 5 ms: with thousands of targets a wake-up per due target costs more CPU than the
            // probes (each sleep is two thread wake-ups); 5 ms is 5 % of the shortest interval.
            usleep(UInt32(max(0.005, min(nextWake - clock(), 0.25)) * 1e6))
        }
    }

    public func stop() { running.store(false, ordering: .relaxed) }

    /// Seconds between scheduling summaries in the log (info level).
    public var reportEvery: Double { 10 }

    /// One log line: targets, probes done, states, and how late probes started against their slot.
    /// `late` counts probes that started more than half an interval after their slot, i.e. more
    /// than 1.5 intervals after the previous probe of the same target.
    func report(since: Double, now: Double) {
        let (targets, probes, up, down, unknown, late, maxLate) = state.withLock { st -> (Int, Int, Int, Int, Int, Int, Double) in
            var p = 0, u = 0, d = 0, k = 0, l = 0
            var m = 0.0
            for i in st.values.indices {
                let s = st.values[i]
                p += s.probes
                l += s.lateProbes
                m = max(m, s.maxLateness / (Double(s.spec.monitor.intervalMs) / 1000))
                switch s.machine.state { case .up: u += 1; case .down: d += 1; case .unknown: k += 1 }
                st.values[i].probes = 0
                st.values[i].lateProbes = 0
                st.values[i].maxLateness = 0
            }
            return (st.count, p, u, d, k, l, m)
        }
        guard targets > 0 else { return }
        let secs = max(0.001, now - since)
        logger.info("health: \(targets) targets (\(up) up, \(down) down, \(unknown) unknown), \(probes) probes in \(String(format: "%.1f", secs)) s (\(Int(Double(probes) / secs))/s), \(late) started > 0.5 interval late, max lateness \(String(format: "%.2f", maxLate)) interval, in flight \(activeBox.load(ordering: .relaxed))", metadata: ["event": "health.summary"])
    }

    private func finished(_ spec: ProbeSpec) {
        inFlightBox.withLock { _ = $0.remove(spec) }
        activeBox.add(-1, ordering: .relaxed)
    }

    func handle(spec: ProbeSpec, result probed: ProbeResult, lateness: Double) {
        let now = clock()
        let injected = faults.withLock { f in f.isEmpty ? [] : f.values.reduce(into: Set<MemberKey>()) { $0.formUnion($1) } }
        var result = probed
        if !injected.isEmpty, state.withLock({ $0[spec]?.members.contains { injected.contains($0) } ?? false }) {
            result = ProbeResult(ok: false, latency: probed.latency, detail: "drill: failure injected (real result: \(probed.ok ? "up" : "down"))")
        }
        if !firstRoundDone.load(ordering: .relaxed) { awaitingFirst.withLock { _ = $0.remove(spec) } }
        var changed: [MemberHealth] = []
        var lines: [String] = []
        var loadWarnings: [String] = []
        var transition: HealthStateMachine.Transition?
        var members: [MemberKey] = []
        let late = lateness > Double(spec.monitor.intervalMs) / 1000 * 0.5
        state.withLock { st in
            // Updated in place (no copy of the status out and back, one hash of the spec).
            guard let i = st.index(forKey: spec) else { return }
            func update(_ s: inout Status) {
                s.last = result
                s.lastAt = now
                s.probes += 1
                if late { s.lateProbes += 1 }
                s.maxLateness = max(s.maxLateness, lateness)
                // A target that answers without a readable load has an unknown load from now on: it must not keep
                // winning least-loaded on its last number.
                let loadLost = result.ok && result.load == nil && result.loadProblem != nil && s.publishedLoad != nil
                let loadMoved: Bool = {
                    if loadLost { return true }
                    guard let l = result.load else { return false }
                    guard let p = s.publishedLoad else { return true }
                    return abs(l - p) > max(0.01 * abs(p), 1e-9)
                }()
                if loadMoved { s.publishedLoad = result.load }
                if loadLost, let why = result.loadProblem {
                    loadWarnings.append("\(spec): load unknown: \(why) (members \(s.members.map(\.description).joined(separator: ", ")))")
                }
                if let t = s.machine.record(ok: result.ok, at: now) {
                    transition = t
                    members = s.members
                    changed += s.members.map { MemberHealth(key: $0, state: t.to, since: now, load: s.publishedLoad) }
                    lines.append("\(spec): real state \(t.from.rawValue) → \(t.to.rawValue) (\(result.fullDetail)); members \(s.members.map(\.description).joined(separator: ", "))")
                }
                else if loadMoved {
                    // Load moved by more than 1 %: least-loaded pools need it; the state did not change.
                    for m in s.members {
                        changed.append(MemberHealth(key: m, state: s.machine.state, since: s.machine.since, load: s.publishedLoad))
                    }
                }
            }
            update(&st.values[i])
        }
        let key = Stats.MonitorKey(monitor: spec.monitor.name, type: spec.monitor.type.rawValue)
        statsBox.withLock { st in
            st.durations[key, default: Histogram(bounds: Histogram.probeBounds)].observe(max(0, result.latency))
            st.results[key, default: [0, 0]][result.ok ? 0 : 1] += 1
            if late { st.late[key, default: 0] += 1 }
            if let t = transition {
                for m in members {
                    let type = m.address.hasSuffix(".") ? "CNAME" : m.address.contains(":") ? "AAAA" : "A"
                    st.transitions[Stats.TransitionKey(pool: m.pool, type: type, to: t.to.rawValue), default: 0] += 1
                }
            }
        }
        for w in loadWarnings { logger.warning("\(w)", metadata: ["event": "health.load_unknown"]) }
        if !changed.isEmpty {
            for l in lines { logger.notice("\(l)", metadata: ["event": "health.transition"]) }
            onChange(changed, lines)
        }
    }
}

/// When a target is due next: the scheduler's swift-collections `Heap`, ordered by due time.
struct Due: Comparable {
    var due: Double
    var index: Int
    static func < (a: Due, b: Due) -> Bool { a.due < b.due }
}

extension HealthMonitor: ProbeFaultInjector {
    public func injectFailures(_ members: Set<MemberKey>, tag: String) {
        faults.withLock { $0[tag] = members }
    }

    public func clearFailures(tag: String) {
        _ = faults.withLock { $0.removeValue(forKey: tag) }
    }
}
