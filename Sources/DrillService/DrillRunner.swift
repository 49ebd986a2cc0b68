import DNSWire
import Foundation
import GSLBCore
import Logging
import Synchronization
import SnapshotService

public struct DrillError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case invalid, conflict, notFound, unsafe }
    public var kind: Kind
    public var field: String?
    public var message: String
    public var description: String { message }
}

/// Runs failover drills: plan on a copy of the snapshot, fail the target (override or probe
/// faults), measure over real UDP against Cairn's own listener, restore, judge and keep the report.
///
/// Several nodes sharing a store (`shared`): one node runs drills, the holder of the store's `drills` lease
/// (renewed every tick; when it dies another node takes the lease and the drills it left, and restores them).
/// A drill started through another node is queued for the runner. The runner measures through the DNS listener
/// of every live node of the registry, and every node applies a probe-mode drill's faults to its own probes.
public final class DrillRunner: Sendable {
    let repo: any DrillRepository & OverrideRepository & AuditRepository
    let publisher: SnapshotPublisher
    let injector: (any ProbeFaultInjector)?
    let listener: @Sendable () -> (host: String, port: Int)?
    let clock: @Sendable () -> Double
    let logger: Logger
    /// Query period while measuring.
    public let intervalMs: Int
    /// The drill override outlives the hold by this much, so that a crashed Cairn still lifts it.
    public let overrideMargin: Double
    private let beginLock = Mutex(())
    private let controls = Mutex<[String: Bool]>([:])   // running drill id -> abort requested
    private let stopped = Atomic<Bool>(false)
    /// This node's name (`--node-name`), and whether nodes share the store (PostgreSQL).
    let node: String
    let shared: Bool
    /// Whether this node holds the drill runner's lease (always, for one node).
    private let holdsLease: Atomic<Bool>
    /// Probe-mode drills of another node whose faults this node applies to its own probes.
    private let followed = Mutex<Set<String>>([])
    /// The runner's lease lasts this long unless renewed (each tick, twice a second).
    public static let leaseSeconds = 5.0
    /// Addresses this node's DNS listener handed out so far, by pool member (its query counters); nil when not available.
    let answerCounts: (@Sendable () -> [TallyLayout.Slot: UInt64])?
    /// `serve --drill-require-reason`: a drill needs `--reason` and `--ticket`.
    public let requireReason: Bool
    /// Written into every report it seals.
    let version: String

    public init(repository: any DrillRepository & OverrideRepository & AuditRepository, publisher: SnapshotPublisher, injector: (any ProbeFaultInjector)?,
                listener: @escaping @Sendable () -> (host: String, port: Int)?,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                intervalMs: Int = 100, overrideMargin: Double = 5, logger: Logger = Logger(label: "cairn.drill"),
                node: String = "", shared: Bool = false, answerCounts: (@Sendable () -> [TallyLayout.Slot: UInt64])? = nil,
                requireReason: Bool = false, version: String = CairnVersion.current) {
        self.node = node; self.shared = shared; holdsLease = Atomic(!shared)
        self.answerCounts = answerCounts; self.requireReason = requireReason; self.version = version
        self.repo = repository; self.publisher = publisher; self.injector = injector; self.listener = listener
        self.clock = clock; self.intervalMs = intervalMs; self.overrideMargin = overrideMargin; self.logger = logger
    }

    // MARK: - Plan

    public func plan(_ target: DrillTarget) throws -> DrillPlan {
        do {
            return try DrillPlanner.plan(target, snapshot: publisher.box.load(), now: clock())
        } catch let e as DrillPlanner.PlanError {
            throw DrillError(kind: .invalid, field: e.field, message: e.message)
        }
    }

    // MARK: - Start

    /// Starts a drill now, or schedules it when `at` is in the future. Throws `.unsafe` when the
    /// plan leaves a pool without a healthy member and `force` is false (the refusal is kept).
    public func start(target: DrillTarget, mode: String, hold: Double, force: Bool, at: Double?, principal: String,
                      source: String, requestID: String?, reason: String? = nil, ticket: String? = nil,
                      resolvers: [String] = []) throws -> DrillReport {
        guard mode == "override" || mode == "probe" else {
            throw DrillError(kind: .invalid, field: "mode", message: "expected override or probe")
        }
        if requireReason && reason == nil {
            throw DrillError(kind: .invalid, field: "reason", message: "this server requires a reason for every drill (--reason TEXT)")
        }
        if requireReason && ticket == nil {
            throw DrillError(kind: .invalid, field: "ticket", message: "this server requires a change or ticket id for every drill (--ticket ID)")
        }
        guard resolvers.count <= DrillRequest.maxResolvers, resolvers.allSatisfy({ DrillRequest.resolverAddress($0) != nil }) else {
            throw DrillError(kind: .invalid, field: "resolvers", message: "expected at most \(DrillRequest.maxResolvers) resolvers, each ADDRESS[:PORT]")
        }
        guard hold.isFinite, hold >= 1, hold <= 86400 else {
            throw DrillError(kind: .invalid, field: "hold", message: "expected a duration from 1s to 24h")
        }
        let snap = publisher.box.load()
        let resolved: DrillTarget
        do { resolved = try DrillPlanner.resolve(target, in: snap) } catch let e as DrillPlanner.PlanError {
            throw DrillError(kind: .invalid, field: e.field, message: e.message)
        }
        var unmonitored: [String] = []
        if mode == "probe" {
            guard injector != nil else { throw DrillError(kind: .invalid, field: "mode", message: "probe mode needs the health monitor") }
            let members = Self.members(of: resolved, in: snap.gslb.config)
            let without = Self.unmonitored(members, in: snap.gslb.config)
            // A site: fail its monitored members, list the others. A member or pool: every member must be monitored.
            if !without.isEmpty && (resolved.scope != .site || without.count == members.count) {
                throw DrillError(kind: .invalid, field: "mode",
                                 message: "probe mode needs monitored members; not monitored: \(without.map(\.description).sorted().joined(separator: ", "))"
                                    + " (use --mode override to fail them)")
            }
            unmonitored = without.map(\.description).sorted()
        }
        let now = clock()
        var report = DrillReport(id: Self.newID(now), target: resolved, mode: mode, hold: hold, force: force,
                                 principal: principal, createdAt: now)
        report.reason = reason
        report.ticket = ticket
        report.node = node.isEmpty ? nil : node
        report.source = source.isEmpty ? nil : source
        report.resolvers = resolvers.isEmpty ? nil : resolvers
        if !unmonitored.isEmpty {
            report.unmonitored = unmonitored
            report.log("probe mode fails only the monitored members; not failed (no monitor): \(unmonitored.joined(separator: ", "))", at: now)
        }
        if let at, at > now + 1 {
            report.scheduledAt = at
            report.log("scheduled for \(DrillReport.time(at)) by \(principal)", at: now)
        } else if shared, let runner = try otherRunner(now: now) {
            report.scheduledAt = now
            report.log("queued by \(principal) for the drill runner, node \(runner)", at: now)
        } else {
            return try begin(report, principal: principal, source: source, requestID: requestID)
        }
        try repo.saveDrill(report, audit: [audit(report, "drill-schedule", principal, source, requestID)])
        return report
    }

    /// Takes or renews the runner's lease; the other node that holds it, or nil when this node does.
    func otherRunner(now: Double) throws -> String? {
        let holder = try repo.acquireLease("drills", holder: node, now: now, ttl: Self.leaseSeconds)
        holdsLease.store(holder == node, ordering: .relaxed)
        return holder == node ? nil : holder
    }

    /// Where the drill measures: this node's UDP listener, and with several nodes every other live node's (from the
    /// registry); with the registry's other nodes listed as not measured.
    func measuredNodes() -> (listeners: [(node: String?, host: String, port: Int)], plan: [DrillPlan.Node]?) {
        guard let own = listener() else { return ([], nil) }
        let registry = publisher.registry
        guard shared, registry.contains(where: { $0.name != node }) else { return ([(nil, own.host, own.port)], nil) }
        var listeners: [(node: String?, host: String, port: Int)] = [(node, own.host, own.port)]
        var plan = [DrillPlan.Node(name: node, state: "live", listener: hostPort(own.host, own.port))]
        let now = clock()
        for n in registry where n.name != node {
            let state = n.stoppedAt != nil ? "stopped" : n.isLive(now: now, goneAfter: publisher.goneAfter) ? "live" : "gone"
            guard state == "live", let udp = n.dns.first(where: { $0.hasPrefix("udp:") }), let (host, port) = Self.parseListener(udp) else {
                plan.append(DrillPlan.Node(name: n.name, state: state, listener: nil))
                continue
            }
            listeners.append((n.name, host, port))
            plan.append(DrillPlan.Node(name: n.name, state: state, listener: hostPort(host, port)))
        }
        return (listeners, plan.sorted { $0.name < $1.name })
    }

    /// `udp:127.0.0.1:53` or `udp:[::1]:53` (the registry's `dns` entries).
    static func parseListener(_ text: String) -> (String, Int)? {
        let rest = text.dropFirst(4)
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) else { return nil }
        var host = String(rest[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// `d-20261205T144628-1a2b`: the creation time (UTC, the RFC 3339 text without its separators) and 16 random bits.
    static func newID(_ now: Double) -> String {
        let stamp = RFC3339.format(now, fractional: false).filter { $0 != "-" && $0 != ":" }.dropLast()
        return "d-\(stamp)-" + String(format: "%04x", UInt32.random(in: 0...0xFFFF))
    }

    func audit(_ r: DrillReport, _ action: String, _ principal: String, _ source: String, _ requestID: String?,
               detail: String? = nil) -> AuditEntry {
        // The row's stored shape: these keys in this order, `hold` as Swift writes a Double (`120.0`).
        var after: [(String, JSONValue)] = [("target", .string(r.target.object)), ("mode", .string(r.mode)), ("hold", .number("\(r.hold)")),
                                            ("status", .string(r.status.rawValue))] + (detail.map { [("detail", .string($0))] } ?? [])
        // Who and why: the reason and ticket given, and the node that accepted the drill.
        for (k, v) in [("reason", r.reason), ("ticket", r.ticket), ("node", r.node)] { if let v { after.append((k, .string(v))) } }
        return AuditEntry(time: clock(), principal: principal, source: source, requestID: requestID, action: action,
                          object: "drill:\(r.id)", after: JSONValue.object(after.map { .init(key: $0.0, value: $0.1) }).compactText)
    }

    /// The members of `members` without a monitor (their own or their pool's).
    static func unmonitored(_ members: Set<MemberKey>, in config: GSLBConfig) -> Set<MemberKey> {
        members.filter { m in
            guard let p = config.pools.first(where: { $0.name == m.pool }) else { return true }
            return (p.members.first { $0.address == m.address }?.monitor ?? p.monitor) == nil
        }
    }

    /// The members a probe-mode drill makes fail: the target's monitored members.
    static func probed(_ r: DrillReport, in config: GSLBConfig) -> Set<MemberKey> {
        let all = members(of: r.target, in: config)
        return all.subtracting(unmonitored(all, in: config))
    }

    /// The members the (resolved) target fails.
    static func members(of target: DrillTarget, in config: GSLBConfig) -> Set<MemberKey> {
        Set(config.pools.flatMap { p in p.members.filter { target.covers($0, of: p) }.map { MemberKey(pool: p.name, address: $0.address) } })
    }

    func busy(_ target: DrillTarget, except id: String) throws -> DrillReport? {
        try repo.unfinishedDrills().first {
            $0.id != id && $0.target.object == target.object && ($0.status == .running || $0.status == .restoring)
        }
    }

    func begin(_ initial: DrillReport, principal: String, source: String, requestID: String?) throws -> DrillReport {
        // One start at a time (an API request and a scheduled drill's tick may race): the busy check and
        // the save of the running drill go together.
        try beginLock.withLock { _ in try beginLocked(initial, principal: principal, source: source, requestID: requestID) }
    }

    private func beginLocked(_ initial: DrillReport, principal: String, source: String, requestID: String?) throws -> DrillReport {
        var r = initial
        let now = clock()
        /// Keeps the drill refused (sealed, with its audit row) and throws why.
        func refuse(_ kind: DrillError.Kind, field: String, _ note: String) throws -> Never {
            r.status = .refused
            r.note = note
            r.log("refused: \(note)", at: now)
            r.seal(version: version)
            try repo.saveDrill(r, audit: [audit(r, "drill-refused", principal, source, requestID, detail: note)])
            throw DrillError(kind: kind, field: field, message: note)
        }
        if let other = try busy(r.target, except: r.id) {
            try refuse(.conflict, field: r.target.scope.rawValue, "drill \(other.id) is already running on \(r.target)")
        }
        var plan = try self.plan(r.target)
        plan.nodes = measuredNodes().plan
        for n in plan.nodes ?? [] where n.listener == nil { r.log("node \(n.name) is \(n.state): its answers are not measured", at: now) }
        r.plan = plan
        if !plan.safe && !r.force {
            try refuse(.unsafe, field: "force", "unsafe: " + plan.problems.map { $0.replacingOccurrences(of: " (use --force to run it anyway)", with: "") }
                .joined(separator: "; ") + " (use --force to run it anyway)")
        }
        if !plan.safe { r.log("unsafe plan forced: " + plan.problems.joined(separator: "; "), at: now) }
        guard listener() != nil else { throw DrillError(kind: .invalid, field: nil, message: "no DNS listener to measure with") }
        controls.withLock { $0[r.id] = false }
        r.status = .running
        r.startedAt = now
        r.log("started by \(principal)" + (r.node.map { " on node \($0)" } ?? "") + (r.reason.map { ": \($0)" } ?? "")
              + (r.ticket.map { " (ticket \($0))" } ?? ""), at: now)
        for w in plan.warnings ?? [] { r.log("warning: \(w)", at: now) }
        try repo.saveDrill(r, audit: [audit(r, "drill-start", principal, source, requestID)])
        NamedThread.start("cairn-drill") { [self, r] in self.execute(r, resumed: false) }
        return r
    }

    // MARK: - Measuring

    struct Key {
        let pool: String
        let type: RecordType
        let client: String
        let name: DomainName
        /// The EDNS options of the query (ECS), the DNS cookie added per listener.
        let options: [(code: UInt16, data: [UInt8])]
    }

    func keys(for plan: DrillPlan) -> [Key] {
        var out: [Key] = []
        for p in plan.pools {
            // A CNAME pool is measured by its CNAME (the chosen target), not by the target's addresses.
            let type: RecordType = p.type == "AAAA" ? .aaaa : p.type == "CNAME" ? .cname : .a
            guard let name = try? DomainName(p.pool) else { continue }
            for e in p.entries {
                var options: [(code: UInt16, data: [UInt8])] = []
                if let c = CIDR(e.client) { options = [QueryBuilder.clientSubnet(address: c.address.bytes, prefix: UInt8(c.prefix))] }
                out.append(Key(pool: p.pool, type: type, client: e.client, name: name, options: options))
            }
        }
        return out
    }

    /// Whether an answer contains the drill's target.
    static func contains(_ addresses: [String], target: DrillTarget, pool: String, sites: [String: String]) -> Bool {
        switch target.scope {
        case .site: return addresses.contains { sites["\(pool)|\($0)"] == target.name }
        case .member:
            let addr = target.name.split(separator: "/", maxSplits: 1).last.map(String.init) ?? ""
            return addresses.contains { Member.sameIdentity($0, addr) }
        case .pool: return !addresses.isEmpty
        }
    }

    func execute(_ initial: DrillReport, resumed: Bool) {
        var r = initial
        let targets = measuredNodes().listeners
        let clients = targets.compactMap { t in UDPQuerier(host: t.host, port: t.port).map { (node: t.node, listener: hostPort(t.host, t.port), querier: $0) } }
        // `--resolver`: the operator's caching resolvers, asked without ECS (they add their clients' subnet if they send ECS).
        let resolverTargets = (r.resolvers ?? []).compactMap { text in DrillRequest.resolverAddress(text).map { (text, $0.host, $0.port) } }
        let resolvers = resolverTargets.compactMap { t in UDPQuerier(host: t.1, port: t.2, recursive: true).map { (name: hostPort(t.1, t.2), querier: $0) } }
        defer { for c in clients { c.querier.close() }; for c in resolvers { c.querier.close() } }
        guard let plan = r.plan, !clients.isEmpty, clients.count == targets.count else {
            r.status = .interrupted
            r.note = "cannot measure: no DNS listener"
            finish(&r)
            return
        }
        let config = publisher.box.load().gslb.config
        /// `pool|address`, the address in its canonical text (an answer's address as a member's).
        func key(_ pool: String, _ address: String) -> String { "\(pool)|\(ClientAddress(text: address)?.description ?? address)" }
        var sites: [String: String] = [:]
        for p in config.pools {
            for m in p.members { sites[key(p.name, m.address)] = m.site }
        }
        // Probe mode on a site with unmonitored members: only the monitored ones fail, so only they are the target.
        let failing: Set<String>? = (r.unmonitored ?? []).isEmpty ? nil : Set(Self.probed(r, in: config).map { key($0.pool, $0.address) })
        func hasTarget(_ addrs: [String], _ pool: String) -> Bool {
            if let failing { return addrs.contains { failing.contains(key(pool, $0)) } }
            return Self.contains(addrs, target: r.target, pool: pool, sites: sites)
        }
        let keys = self.keys(for: plan)
        // Through a resolver: one key per pool, no ECS.
        var resolverKeys: [Key] = []
        for k in keys where !resolverKeys.contains(where: { $0.pool == k.pool && $0.type == k.type }) {
            resolverKeys.append(Key(pool: k.pool, type: k.type, client: "resolver", name: k.name, options: []))
        }
        // One row per node and key: rows n * keys.count ..< (n + 1) * keys.count are node n's.
        let fresh = clients.flatMap { c in keys.map { DrillReport.Seen(pool: $0.pool, type: $0.type.description, client: $0.client, node: c.node) } }
        var seen = r.measurements?.seen ?? fresh
        if seen.count != fresh.count || zip(seen, fresh).contains(where: { $0.node != $1.node }) { seen = fresh }
        let freshResolved = resolvers.flatMap { c in resolverKeys.map { k -> DrillReport.Seen in
            var s = DrillReport.Seen(pool: k.pool, type: k.type.description, client: c.name)
            s.resolver = c.name
            return s
        } }
        var viaResolvers = r.measurements?.resolvers ?? freshResolved
        if viaResolvers.count != freshResolved.count { viaResolvers = freshResolved }
        var queries = r.measurements?.queries ?? 0
        let interval = Double(intervalMs) / 1000
        /// This process still drives the drill: not stopping, and (several nodes) still the runner.
        var driving: Bool { !stopped.load(ordering: .relaxed) && holdsLease.load(ordering: .relaxed) }

        func record(_ s: inout DrillReport.Seen, _ k: Key, _ reply: UDPQuerier.Reply?, phase: Int, dt: Double) {
            guard let reply else { s.timeouts += 1; return }
            let addrs = reply.addresses
            if reply.rcode == 2 { s.servfail += 1 } else if addrs.isEmpty && phase != 0 { s.empty += 1 }
            if addrs.isEmpty, phase != 0, let n = reply.negativeTTL { s.negativeTTL = max(s.negativeTTL ?? 0, n) }
            let bySite: WritableKeyPath<DrillReport.Seen, [String: Int]> = phase == 0 ? \.before : phase == 1 ? \.during : \.after
            for a in addrs { s[keyPath: bySite][sites[key(k.pool, a)] ?? a, default: 0] += 1 }
            let with = hasTarget(addrs, k.pool)
            if with, let t = reply.ttl { s.answerTTL = max(s.answerTTL ?? 0, t) }
            switch phase {
            case 0: if with { s.hadTarget = true }
            case 1:
                if with { s.lastWith = dt } else if s.firstWithout == nil { s.firstWithout = dt }
            default:
                if with && s.failback == nil { s.failback = dt }
            }
        }
        func round(_ phase: Int, since: Double) {
            let t = clock()
            for (n, c) in clients.enumerated() {
                for (j, k) in keys.enumerated() {
                    queries += 1
                    record(&seen[n * keys.count + j], k, c.querier.ask(k), phase: phase, dt: t - since)
                }
            }
            for (n, c) in resolvers.enumerated() {
                for (j, k) in resolverKeys.enumerated() {
                    record(&viaResolvers[n * resolverKeys.count + j], k, c.querier.ask(k), phase: phase, dt: clock() - since)
                }
            }
        }
        // Real clients: this node's answer counters for the affected pools, read before the first test query and a second
        // after the restore (the DNS workers add to them at least once a second), minus this node's own test answers.
        let affected = Set(plan.pools.map { "\($0.pool)|\($0.type)" })
        func answersBySite() -> [String: Int]? {
            guard let counts = answerCounts?() else { return nil }
            var out: [String: Int] = [:]
            for (slot, n) in counts where !slot.address.isEmpty && affected.contains("\(slot.pool)|\(slot.type)") {
                out[slot.site, default: 0] += Int(n)
            }
            return out
        }
        var countsAtStart: [String: Int]?
        var countsAtEnd: [String: Int]?
        var ownAtEnd: [String: Int] = [:]
        func closeCounts() {
            guard countsAtStart != nil, countsAtEnd == nil else { return }
            countsAtEnd = answersBySite()
            // This node's own test queries, every phase (the first listener is this node's).
            for s in seen.prefix(keys.count) { for d in [s.before, s.during, s.after] { for (k, v) in d { ownAtEnd[k, default: 0] += v } } }
        }
        func measurements() -> DrillReport.Measurements {
            var during: [String: Int] = [:]
            for s in seen { for (k, v) in s.during { during[k, default: 0] += v } }
            let all = DrillReport.Measurements.summary(seen)
            var m = DrillReport.Measurements(
                queries: queries, intervalMs: intervalMs, timeToFailover: all.failover, firstAnswerWithout: all.firstWithout,
                timeToFailback: all.failback,
                sitesDuring: during, emptyAnswers: seen.map(\.empty).reduce(0, +), servfails: seen.map(\.servfail).reduce(0, +),
                timeouts: seen.map(\.timeouts).reduce(0, +), seen: seen)
            if clients.count > 1 || clients.first?.node != nil {
                m.nodes = clients.enumerated().map { n, c in
                    DrillReport.NodeResult(node: c.node ?? node, listener: c.listener,
                                           seen: Array(seen[n * keys.count ..< (n + 1) * keys.count]))
                }
            }
            if !viaResolvers.isEmpty { m.resolvers = viaResolvers }
            if let a = countsAtStart, let b = countsAtEnd {
                let own = ownAtEnd
                var total: [String: Int] = [:], real: [String: Int] = [:]
                for site in Set(a.keys).union(b.keys) {
                    let d = max(0, (b[site] ?? 0) - (a[site] ?? 0))
                    if d > 0 { total[site] = d }
                    let c = max(0, d - (own[site] ?? 0))
                    if c > 0 { real[site] = c }
                }
                m.realClients = .init(counts: "addresses handed out for the affected pools by \(shared ? "node \(node)'s" : "this node's") DNS listener from the drill's "
                                      + "first test query to a second after the restore (its query counters), minus the drill's own test queries",
                                      node: shared ? node : nil, all: total, clients: real)
            }
            return m
        }

        // Before: what the answers are with the target up (several rounds, for random policies).
        if !resumed { countsAtStart = answersBySite() }
        if !resumed { for _ in 0..<5 { round(0, since: clock()) } }
        // A key had the target when it was seen in its answers, or the plan says it may be.
        for i in seen.indices where !seen[i].hadTarget {
            let k = keys[i % keys.count]
            if let p = plan.pools.first(where: { $0.pool == k.pool && $0.type == k.type.description }),
               let e = p.entries.first(where: { $0.client == k.client }) {
                seen[i].hadTarget = hasTarget(e.now.addresses, k.pool)
                    || (failing == nil && r.target.scope == .site && e.now.sites.contains(r.target.name))
            }
        }
        if !resumed {
            // Fail the target.
            let start = clock()
            r.startedAt = start
            do {
                if r.mode == "override" {
                    let o = DrillPlanner.override(for: r.target, drillID: r.id, now: start, expiresAt: start + r.hold + overrideMargin)
                    let stored = try repo.addOverride(o, audit: AuditEntry(time: start, principal: r.principal, source: "drill",
                                                                           requestID: nil, action: "create", object: ""))
                    r.overrideID = stored.id
                    r.log("override \(stored.id ?? 0) forces \(r.target) down until \(DrillReport.time(start + r.hold + overrideMargin)) at the latest", at: start)
                } else {
                    injector?.injectFailures(Self.probed(r, in: config), tag: r.id)
                    r.log("probes of \(r.target) now fail inside Cairn", at: start)
                }
                publisher.refreshIfChanged()
                try repo.saveDrill(r, audit: [])
            } catch {
                r.note = "could not fail the target: \(error)"
                r.status = .interrupted
                finish(&r)
                return
            }
        }
        let start = r.startedAt ?? clock()
        // During: until the hold ends or an abort.
        var aborted = false
        var lastSave = clock()
        while clock() < start + r.hold && driving {
            if controls.withLock({ $0[r.id] ?? false }) { aborted = true; break }
            let t0 = clock()
            round(1, since: start)
            if clock() - lastSave > 1 {
                r.measurements = measurements()
                try? repo.saveDrill(r, audit: [])
                lastSave = clock()
            }
            let left = interval - (clock() - t0)
            if left > 0 { Thread.sleep(forTimeInterval: min(left, max(0, start + r.hold - clock()))) }
        }
        if !driving {
            // Cairn is stopping, or another node took the runner's lease: the override's expiry, the next start or
            // the new runner ends the drill.
            r.measurements = measurements()
            try? repo.saveDrill(r, audit: [])
            // No longer driven here: whichever node holds the lease next (this one included) adopts it.
            _ = controls.withLock { $0.removeValue(forKey: r.id) }
            return
        }
        // Restore.
        let restore = clock()
        r.status = .restoring
        r.restoredAt = restore
        if r.mode == "override" {
            for o in (try? repo.activeOverrides(now: restore)) ?? [] where o.drillID == r.id {
                _ = try? repo.removeOverride(id: o.id ?? 0, audit: AuditEntry(time: restore, principal: r.principal, source: "drill",
                                                                             requestID: nil, action: "delete", object: ""))
            }
        } else {
            injector?.clearFailures(tag: r.id)
        }
        publisher.refreshIfChanged()
        r.log(aborted ? "aborted: failure lifted" : "hold over: failure lifted", at: restore)
        try? repo.saveDrill(r, audit: [audit(r, "drill-restore", r.principal, "drill", nil)])
        // After: until every key that had the target has it again, or a timeout.
        // Through a resolver the target comes back only once its cached answer expires: wait up to that TTL longer.
        let resolverTTL = max(plan.maxTTL, viaResolvers.compactMap(\.answerTTL).max() ?? 0)
        let timeout = failbackTimeout(r, config: config) + (viaResolvers.isEmpty ? 0 : Double(min(resolverTTL, 300)) + 1)
        while clock() < restore + timeout && driving {
            let t0 = clock()
            round(2, since: restore)
            if clock() >= restore + 1.1 { closeCounts() }
            if !(seen + viaResolvers).contains(where: { $0.hadTarget && $0.failback == nil }) {
                // A few more rounds to show where traffic settles.
                for _ in 0..<3 { round(2, since: restore) }
                break
            }
            let left = interval - (clock() - t0)
            if left > 0 { Thread.sleep(forTimeInterval: left) }
        }
        if countsAtStart != nil && countsAtEnd == nil && driving {
            // The workers' counters lag up to a second behind their answers.
            let wait = restore + 1.1 - clock()
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
        closeCounts()
        r.measurements = measurements()
        if aborted { r.status = .aborted } else if r.interrupted { r.status = .interrupted } else { r.status = .completed }
        finish(&r)
    }

    func failbackTimeout(_ r: DrillReport, config: GSLBConfig) -> Double {
        guard r.mode == "probe" else { return 5 }
        var worst = 1000
        config.forEachMonitoredMember { _, _, mon in worst = max(worst, mon.rise * mon.intervalMs + mon.timeoutMs) }
        return min(120, Double(worst) / 1000 * 2 + 3)
    }

    func finish(_ r: inout DrillReport) {
        let end = clock()
        r.endedAt = end
        r.verdict = DrillReport.verdict(plan: r.plan, measurements: r.measurements, status: r.status)
        r.log("ended: \(r.status.rawValue), verdict \(r.verdict?.result ?? "none")", at: end)
        r.seal(version: version)
        do {
            try repo.saveDrill(r, audit: [audit(r, "drill-end", r.principal, "drill", nil,
                                                detail: "verdict \(r.verdict?.result ?? "none")")])
        } catch {
            logger.error("cannot save drill \(r.id): \(error)", metadata: ["event": "drill.save_failed"])
        }
        _ = controls.withLock { $0.removeValue(forKey: r.id) }
        logger.notice("drill \(r.id) on \(r.target) ended: \(r.status.rawValue), time-to-failover \(r.measurements?.timeToFailover.map { String(format: "%.3f s", $0) } ?? "-"), verdict \(r.verdict?.result ?? "none")", metadata: ["event": "drill.ended"])
    }

    // MARK: - Abort, recover, schedule

    public func abort(id: String, principal: String, source: String, requestID: String?) throws -> DrillReport {
        guard var r = try repo.drill(id: id) else { throw DrillError(kind: .notFound, field: "id", message: "no drill \(id)") }
        if r.isFinished { throw DrillError(kind: .conflict, field: "id", message: "drill \(id) has already ended (\(r.status.rawValue))") }
        try repo.audit([audit(r, "drill-abort", principal, source, requestID)])
        let mine = controls.withLock { c -> Bool in
            guard c[id] != nil else { return false }
            c[id] = true
            return true
        }
        if mine {
            // The drill's thread restores within one query round, then measures the failback.
            let deadline = clock() + 15
            while clock() < deadline {
                if let now = try repo.drill(id: id), now.isFinished { return now }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return try repo.drill(id: id) ?? r
        }
        // Scheduled, or left by a previous process: lift what it holds and close it.
        for o in try repo.activeOverrides(now: clock()) where o.drillID == id {
            _ = try? repo.removeOverride(id: o.id ?? 0, audit: AuditEntry(time: clock(), principal: principal, source: source,
                                                                         requestID: requestID, action: "delete", object: ""))
        }
        injector?.clearFailures(tag: id)
        publisher.refreshIfChanged()
        r.status = .aborted
        r.log("aborted by \(principal)", at: clock())
        finish(&r)
        return r
    }

    /// At start-up: drills a previous process left running are ended on time and marked interrupted. With several
    /// nodes the runner's lease decides instead (`tick` adopts what a runner that died left).
    public func recover() {
        guard !shared, let all = try? repo.unfinishedDrills() else { return }
        for r in all where r.status == .running || r.status == .restoring { adopt(r, why: "Cairn restarted during the drill") }
    }

    /// Drives a running drill this process did not start: it ends on time (restore, failback, report), marked interrupted.
    func adopt(_ drill: DrillReport, why: String) {
        var r = drill
        r.interrupted = true
        r.log(why, at: clock())
        if r.mode == "probe" && !shared {
            // The injected faults died with the previous process: the failure is already over.
            r.restoredAt = r.restoredAt ?? clock()
            r.note = "probe faults end with the process that injected them"
        } else if r.mode == "probe" && r.status == .running {
            // The other nodes still fail these probes (they follow the drill); this node does too, now.
            injector?.injectFailures(Self.probed(r, in: publisher.box.load().gslb.config), tag: r.id)
        }
        controls.withLock { $0[r.id] = false }
        try? repo.saveDrill(r, audit: [audit(r, "drill-resume", "cairn", "cairn", nil)])
        logger.notice("drill \(r.id) on \(r.target): \(why); it ends at \(DrillReport.time((r.startedAt ?? 0) + r.hold))", metadata: ["event": "drill.started"])
        let snapshot = r
        let shortened = r.mode == "probe" && !shared
        NamedThread.start("cairn-drill") { [self] in
            var s = snapshot
            if shortened { s.hold = max(0, clock() - (s.startedAt ?? clock())) }
            self.execute(s, resumed: true)
        }
    }

    /// Several nodes: applies to this node's probes the faults of the probe-mode drills another node runs, and
    /// lifts them when those drills leave `running`.
    func followProbeFaults(_ all: [DrillReport]) {
        let mine = controls.withLock { Set($0.keys) }
        let running = all.filter { $0.mode == "probe" && $0.status == .running && !mine.contains($0.id) }
        let config = publisher.box.load().gslb.config
        let (start, stop) = followed.withLock { f -> ([DrillReport], [String]) in
            let ids = Set(running.map(\.id))
            let stop = f.subtracting(ids).filter { !mine.contains($0) }
            f = ids
            return (running, Array(stop))
        }
        for r in start { injector?.injectFailures(Self.probed(r, in: config), tag: r.id) }
        for id in stop { injector?.clearFailures(tag: id) }
    }

    /// Starts scheduled drills when due (call every second or so). With several nodes: renews or takes the runner's
    /// lease first and, only when it holds it, starts them and adopts the running drills a runner that died left; every
    /// node follows the probe-mode drills' faults.
    public func tick() {
        guard let all = try? repo.unfinishedDrills() else { return }
        let now = clock()
        if shared {
            followProbeFaults(all)
            let was = holdsLease.load(ordering: .relaxed)
            let other: String?
            do { other = try otherRunner(now: now) } catch {
                holdsLease.store(false, ordering: .relaxed)   // cannot renew: stop driving before another node starts
                return
            }
            if let other {
                if was { logger.warning("drill runner: node \(other) holds the lease now", metadata: ["event": "drill.lease_lost"]) }
                return
            }
            if !was { logger.notice("drill runner: this node (\(node)) runs the drills now", metadata: ["event": "drill.lease_taken"]) }
            for r in all where r.status == .running || r.status == .restoring {
                // Not driven here: then read it again. A drill this process drives is in `controls` from before it is
                // saved running until after it is saved finished, so one that left `controls` since `all` was read
                // shows finished now, and only a drill another runner left is still running.
                guard !controls.withLock({ $0[r.id] != nil }),
                      let fresh = try? repo.drill(id: r.id), fresh.status == .running || fresh.status == .restoring else { continue }
                adopt(fresh, why: "node \(node) took over the drill (its runner stopped renewing the lease)")
            }
        }
        for r in all where r.status == .scheduled && (r.scheduledAt ?? 0) <= now {
            var s = r
            s.log("scheduled start", at: now)
            do {
                _ = try begin(s, principal: r.principal, source: "schedule", requestID: nil)
            } catch {
                logger.warning("scheduled drill \(r.id) refused: \(error)", metadata: ["event": "drill.refused"])
                s.status = .refused
                if s.note == nil { s.note = "\(error)" }
                if let stored = try? repo.drill(id: r.id), stored.status == .scheduled { try? repo.saveDrill(s, audit: []) }
            }
        }
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }
}

/// A blocking UDP client for the drill's own queries (not on the DNS path). It sends a DNS cookie (RFC 7873) and
/// echoes the server cookie it gets back, as a resolver does: with a valid server cookie its queries are exempt
/// from response rate limiting, which a drill's rounds (every key of a pool from one address, ten times a second)
/// would otherwise reach.
final class UDPQuerier {
    let fd: Int32
    /// Recursion desired (RD): set for caching resolvers, clear for authoritative listeners.
    let recursive: Bool
    private let clientCookie = (0..<8).map { _ in UInt8.random(in: 0...255) }
    private var serverCookie: [UInt8] = []

    init?(host: String, port: Int, recursive: Bool = false) {
        self.recursive = recursive
        let h = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
        // The socket address of an IPv4 or IPv6 literal and port, as getaddrinfo(3) makes it (no name lookup).
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(h, String(port), &hints, &found) == 0, let address = found?.pointee else { return nil }
        defer { freeaddrinfo(found) }
        fd = socket(address.ai_family, address.ai_socktype, 0)
        guard fd >= 0 else { return nil }
        guard Glibc.connect(fd, address.ai_addr, address.ai_addrlen) == 0 else { Glibc.close(fd); return nil }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    struct Reply {
        var rcode: Int
        var addresses: [String]
        /// The longest TTL of the answer records; the negative TTL (min(SOA TTL, MINIMUM)) of an answer without them.
        var ttl: Int?
        var negativeTTL: Int?
    }

    /// The reply, or nil on timeout.
    func ask(_ key: DrillRunner.Key) -> Reply? {
        let type = key.type
        let q = QueryBuilder.make(id: UInt16.random(in: 0...UInt16.max), name: key.name, type: type, rd: recursive, edns: (udpSize: 1232, dnssecOK: false),
                                  options: key.options + [(code: 10, data: clientCookie + serverCookie)])
        _ = q.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buf = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<3 {
            let n = recv(fd, &buf, buf.count, 0)
            guard n > 0 else { return nil }
            guard n >= 12, buf[0] == q[0], buf[1] == q[1] else { continue }   // a late answer to an earlier query
            guard let m = try? Message(bytes: Array(buf[0..<n])) else { return nil }
            if let cookie = m.ednsOptions.first(where: { $0.code == 10 })?.data, cookie.count >= 16, cookie.count <= 40,
               Array(cookie.prefix(8)) == clientCookie {
                serverCookie = Array(cookie.dropFirst(8))
            }
            let records = m.answer.filter { $0.type == type }
            let addrs = records.map { RDataText.format(type: type, rdata: $0.rdata) }
            var negative: Int?
            if records.isEmpty, let soa = m.authority.first(where: { $0.type == .soa }), soa.rdata.count >= 4 {
                let minimum = soa.rdata.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                negative = Int(min(soa.ttl, minimum))
            }
            return Reply(rcode: Int(m.rcode.rawValue), addresses: addrs, ttl: records.map { Int($0.ttl) }.max(), negativeTTL: negative)
        }
        return nil
    }

    func close() { Glibc.close(fd) }
}
