import DNSWire

/// What a drill fails: a site, one member (`POOL/ADDRESS`), or a whole pool.
public struct DrillTarget: Hashable, Sendable, Codable, CustomStringConvertible {
    public var scope: OverrideScope
    public var name: String
    public init(scope: OverrideScope, name: String) { self.scope = scope; self.name = name }
    public var description: String { "\(scope.rawValue) \(name)" }
    /// The object name used for "one drill per object" and the audit log.
    public var object: String { "\(scope.rawValue):\(name)" }

    /// Whether the drill fails `member` of `pool`: a site's members, every member of the pool, or the one member.
    public func covers(_ member: Member, of pool: Pool) -> Bool {
        switch scope {
        case .site: return member.site == name
        case .pool: return pool.name.lowercased() == name.lowercased()
        case .member: return "\(pool.name)/\(member.address)".lowercased() == name.lowercased()
        }
    }
}

/// A what-if computed on a copy of the serving snapshot: answers now and with the target failed.
public struct DrillPlan: Sendable, Codable {
    public struct Answer: Sendable, Codable, Equatable {
        /// One sample answer (the policy's pick for this client).
        public var addresses: [String]
        /// The sites that may receive this client's traffic (every eligible member's site for
        /// weighted, round-robin and consistent-hash pools; the answered ones otherwise).
        public var sites: [String]
        public var fallback: Bool
        public var rcode: String
        public var empty: Bool { addresses.isEmpty || rcode != "NOERROR" }
    }

    public struct Entry: Sendable, Codable {
        /// The topology network (used as the ECS subnet) or `unknown`.
        public var client: String
        public var now: Answer
        public var failed: Answer
        public var moves: Bool
    }

    public struct PoolPlan: Sendable, Codable {
        public var pool: String
        public var type: String
        public var policy: String
        public var ttl: Int
        public var rto: Double?
        public var entries: [Entry]
        /// Healthy (eligible) members left with the target failed.
        public var healthyLeft: Int
        /// `ok`, `fallback` (no healthy member: the pool's fallback answers) or `nothing`.
        public var outcome: String
        /// The pool's `fallback` (`all`, `none`, `servfail`, `pool:NAME`), to name a fail-open failure.
        public var fallback: String? = nil
        /// How long a resolver may cache an empty answer for this name: min(SOA TTL, SOA MINIMUM) of its zone.
        public var negativeTTL: Int? = nil
    }

    public struct Capacity: Sendable, Codable {
        /// Current load of what fails (the sum of its members' probe-reported loads, else the site's load, else the
        /// sum of its members' configured loads); nil = unknown.
        public var failedLoad: Double?
        /// Where `failedLoad` comes from: `probe` (members' loads reported by their monitors), `site` (the site's
        /// configured load) or `member` (the members' configured loads).
        public var failedLoadSource: String? = nil
        /// The failed members' loads, for the report (probe-reported where a probe reports one).
        public var failedMembers: [MemberLoad]? = nil
        /// Sites that take over, with their capacity and load.
        public var survivors: [SiteLoad]
        public var survivingCapacity: Double?
        public var survivingLoad: Double?
        /// survivingCapacity − survivingLoad − failedLoad; nil when something is unknown.
        public var headroom: Double?
        public var sufficient: Bool?
    }

    public struct SiteLoad: Sendable, Codable {
        public var site: String
        public var capacity: Double?
        public var load: Double?
        /// `probe` (the sum of the site's members' probe-reported loads) or `site` (its configured load).
        public var loadSource: String? = nil
    }

    public struct MemberLoad: Sendable, Codable {
        public var pool: String
        public var address: String
        public var site: String
        public var load: Double?
        /// `probe` or `member` (configured).
        public var source: String?
    }

    public var target: DrillTarget
    public var pools: [PoolPlan]
    public var capacity: Capacity
    /// The longest TTL of the affected pools: how long clients may still hold an old answer.
    public var maxTTL: Int
    public var safe: Bool
    public var problems: [String]
    /// What does not make the plan unsafe but means the drill cannot pass (a pool's TTL above its `rto`).
    public var warnings: [String]? = nil
    /// With several nodes sharing the store: every node of the registry, and whether the drill measures it
    /// (live nodes are measured through their DNS listener; gone and stopped ones are not). Nil for one node.
    public var nodes: [Node]?

    public struct Node: Sendable, Codable {
        public var name: String
        /// `live`, `gone` or `stopped` (the registry's word).
        public var state: String
        /// The UDP listener queried (`127.0.0.1:53`); nil when the node is not measured.
        public var listener: String?
        public init(name: String, state: String, listener: String?) { self.name = name; self.state = state; self.listener = listener }
    }
}

public enum DrillPlanner {
    /// Errors: the target does not exist, or serves no pool.
    public struct PlanError: Error, CustomStringConvertible, Sendable {
        public var field: String
        public var message: String
        public var description: String { message }
    }

    /// The override a drill puts in place for `target`.
    public static func override(for target: DrillTarget, drillID: String?, now: Double, expiresAt: Double?) -> Override {
        Override(scope: target.scope, target: target.name, state: .down, reason: "drill \(drillID ?? "plan")",
                 principal: "drill", expiresAt: expiresAt, createdAt: now, drillID: drillID)
    }

    /// The pools the target serves.
    public static func affectedPools(_ target: DrillTarget, in snap: ServingSnapshot) -> [PoolRuntime] {
        snap.pools.filter { p in
            // A pool by its name (even without members); a site or a member by the members it fails.
            target.scope == .pool ? p.pool.name.lowercased() == target.name.lowercased() : p.pool.members.contains { target.covers($0, of: p.pool) }
        }
    }

    /// Checks the target against the config and returns it in its canonical spelling.
    public static func resolve(_ target: DrillTarget, in snap: ServingSnapshot) throws -> DrillTarget {
        let config = snap.gslb.config
        switch target.scope {
        case .site:
            guard config.sites.contains(where: { $0.name == target.name }) else {
                throw PlanError(field: "site", message: "no site \(target.name)")
            }
        case .pool:
            let n = target.name.hasSuffix(".") ? target.name : target.name + "."
            guard let p = config.pools.first(where: { $0.name.lowercased() == n.lowercased() }) else {
                throw PlanError(field: "pool", message: "no pool \(n)")
            }
            return DrillTarget(scope: .pool, name: p.name)
        case .member:
            guard let slash = target.name.firstIndex(of: "/") else {
                throw PlanError(field: "member", message: "expected POOL/ADDRESS")
            }
            var pn = String(target.name[..<slash])
            if !pn.hasSuffix(".") { pn += "." }
            let addr = String(target.name[target.name.index(after: slash)...])
            for p in config.pools where p.name.lowercased() == pn.lowercased() {
                // An address, or a CNAME pool's target name.
                if let m = p.members.first(where: { Member.sameIdentity($0.address, addr) }) {
                    return DrillTarget(scope: .member, name: "\(p.name)/\(m.address)")
                }
            }
            throw PlanError(field: "member", message: "no member \(addr) in \(pn)")
        }
        let t = target
        if affectedPools(t, in: snap).isEmpty { throw PlanError(field: t.scope.rawValue, message: "\(t) serves no pool") }
        return t
    }

    /// The plan: for each affected pool and each topology entry (plus an unknown client),
    /// the answer now and with the target forced down, computed on a copy of `snap`.
    public static func plan(_ target: DrillTarget, snapshot snap: ServingSnapshot, now: Double) throws -> DrillPlan {
        let target = try resolve(target, in: snap)
        var gslb = snap.gslb
        gslb.overrides.append(override(for: target, drillID: nil, now: now, expiresAt: nil))
        let failed = SnapshotBuilder().rebuildingPools(of: snap, gslb: gslb, now: now, generation: snap.generation)
            ?? snap
        let clients: [(String, CIDR?)] = snap.topology.entries.map { ($0.network, CIDR($0.network)) } + [("unknown", nil)]
        var pools: [DrillPlan.PoolPlan] = []
        var problems: [String] = []
        var survivorSites = Set<String>()
        for p in affectedPools(target, in: snap) {
            guard let q = failed.pools.first(where: { $0.pool.name == p.pool.name && $0.pool.type == p.pool.type }) else { continue }
            var entries: [DrillPlan.Entry] = []
            for (label, cidr) in clients {
                let a = answer(p, cidr)
                let b = answer(q, cidr)
                entries.append(.init(client: label, now: a, failed: b, moves: a.sites != b.sites || a.addresses != b.addresses))
                survivorSites.formUnion(b.fallback ? [] : b.sites)
            }
            let left = q.members.filter { $0.eligible }.count
            let outcome = switch (left > 0, p.pool.fallback) {
            case (true, _): "ok"
            case (false, .none), (false, .servfail): "nothing"
            case (false, .all), (false, .pool): "fallback"
            }
            if left == 0 { problems.append("\(p.pool.name) \(p.pool.type) would have no healthy member (fallback \(p.pool.fallback))") }
            let negative = snap.zones.filter { p.name.isSubdomain(of: $0.origin) }.max { $0.origin.labelCount < $1.origin.labelCount }
            pools.append(.init(pool: p.pool.name, type: p.pool.type, policy: p.pool.policy.rawValue, ttl: p.pool.ttl,
                               rto: p.pool.rto, entries: entries, healthyLeft: left, outcome: outcome,
                               fallback: p.pool.fallback.description, negativeTTL: negative.map { Int($0.negativeSOA.ttl) }))
        }
        var warnings: [String] = []
        for pp in pools {
            guard let rto = pp.rto else { continue }
            if Double(pp.ttl) > rto {
                warnings.append("\(pp.pool) \(pp.type): ttl \(pp.ttl) s exceeds rto \(DrillReport.fmt(rto)) s: a resolver may keep the "
                                + "failed answer longer than the objective, so the drill cannot pass")
            }
            if pp.outcome == "nothing", let n = pp.negativeTTL, Double(n) > rto {
                warnings.append("\(pp.pool) \(pp.type): the answer becomes empty and the zone's negative TTL \(n) s exceeds rto \(DrillReport.fmt(rto)) s")
            }
        }
        if let down = alreadyDown(target, in: snap) {
            problems.append("\(target) \(down): the drill would measure nothing (use --force to run it anyway)")
        }
        let capacity = self.capacity(target, snapshot: snap, survivorSites: survivorSites)
        if let h = capacity.headroom, h < 0 {
            problems.append("the surviving sites would exceed their capacity: they lack \(ConfigValidator.number(h.magnitude)) for the failed load")
        }
        let safe = !pools.contains { $0.outcome != "ok" } && capacity.sufficient != false && alreadyDown(target, in: snap) == nil
        return DrillPlan(target: target, pools: pools, capacity: capacity, maxTTL: pools.map(\.ttl).max() ?? 0,
                         safe: safe, problems: problems, warnings: warnings.isEmpty ? nil : warnings)
    }

    /// Why the target already serves no answer before the drill (an override that is not a drill's, or every member of
    /// it drained, disabled or forced), or nil when it serves.
    public static func alreadyDown(_ target: DrillTarget, in snap: ServingSnapshot) -> String? {
        if let o = snap.gslb.overrides.first(where: {
            $0.drillID == nil && $0.scope == target.scope && $0.target.lowercased() == target.name.lowercased() && $0.state != .up
        }) {
            return "is already overridden (\(o.state.rawValue), override \(o.id.map(String.init) ?? "-") by \(o.principal): \(o.reason))"
        }
        let members = affectedPools(target, in: snap).flatMap { p in p.members.filter { target.covers($0.member, of: p.pool) } }
        guard !members.isEmpty else { return nil }
        if members.contains(where: { $0.member.state == .enabled && ($0.forced ?? .up) == .up }) { return nil }
        let why = Set(members.map { m in m.forced.map { "forced \($0.rawValue)" } ?? m.member.state.rawValue }).sorted()
        return "is already drained: every member of it is \(why.joined(separator: " or "))"
    }

    /// Capacity with live loads: each member's load as its probe reports it (else as configured), summed per site (each
    /// address once) when any member of the site reports one, else the site's configured load.
    static func capacity(_ target: DrillTarget, snapshot snap: ServingSnapshot, survivorSites: Set<String>) -> DrillPlan.Capacity {
        let config = snap.gslb.config
        let probed = Dictionary(snap.gslb.health.compactMap { h in h.load.map { (h.key, $0) } }, uniquingKeysWith: { a, _ in a })
        var bySite: [String: [String: (load: Double, probe: Bool)]] = [:]   // site -> address -> load
        var failed: [DrillPlan.MemberLoad] = []
        for p in config.pools {
            for m in p.members {
                let live = probed[MemberKey(pool: p.name, address: m.address)]
                if let l = live ?? m.load {
                    let have = bySite[m.site]?[m.address]
                    if have == nil || (have!.probe == false && live != nil) { bySite[m.site, default: [:]][m.address] = (l, live != nil) }
                }
                if target.covers(m, of: p) {
                    failed.append(.init(pool: p.name, address: m.address, site: m.site, load: live ?? m.load,
                                        source: live != nil ? "probe" : m.load != nil ? "member" : nil))
                }
            }
        }
        func siteLoad(_ s: Site) -> (Double?, String?) {
            let members = bySite[s.name] ?? [:]
            if members.values.contains(where: \.probe) { return (members.values.map(\.load).reduce(0, +), "probe") }
            if let l = s.load { return (l, "site") }
            return members.isEmpty ? (nil, nil) : (members.values.map(\.load).reduce(0, +), "member")
        }
        var failedLoad: Double?
        var failedSource: String?
        var seen = Set<String>()
        let distinct = failed.filter { seen.insert($0.site + "|" + $0.address).inserted }
        if target.scope == .site, let s = config.sites.first(where: { $0.name == target.name }) {
            (failedLoad, failedSource) = siteLoad(s)
        } else if !distinct.isEmpty, distinct.allSatisfy({ $0.load != nil }) {
            failedLoad = distinct.compactMap(\.load).reduce(0, +)
            failedSource = distinct.contains { $0.source == "probe" } ? "probe" : "member"
        }
        let survivors = config.sites.filter { survivorSites.contains($0.name) && !(target.scope == .site && $0.name == target.name) }
            .map { s in let (l, src) = siteLoad(s); return DrillPlan.SiteLoad(site: s.name, capacity: s.capacity, load: l, loadSource: src) }
        let caps = survivors.map(\.capacity)
        let capTotal: Double? = caps.isEmpty || caps.contains(where: { $0 == nil }) ? nil : caps.compactMap { $0 }.reduce(0, +)
        // Unknown when a surviving site has no load (neither reported nor configured): never counted as 0.
        let loadTotal: Double? = survivors.isEmpty || survivors.contains(where: { $0.load == nil }) ? nil
            : survivors.compactMap(\.load).reduce(0, +)
        var headroom: Double?
        if let c = capTotal, let l = loadTotal, let f = failedLoad { headroom = c - l - f }
        return DrillPlan.Capacity(failedLoad: failedLoad, failedLoadSource: failedSource, failedMembers: failed.isEmpty ? nil : failed,
                                  survivors: survivors, survivingCapacity: capTotal,
                                  survivingLoad: loadTotal, headroom: headroom,
                                  sufficient: headroom.map { $0 >= 0 })
    }

    static func answer(_ p: PoolRuntime, _ cidr: CIDR?) -> DrillPlan.Answer {
        // The topology network as the ECS subnet, or as the resolver's address for pools without ECS.
        let ex = p.explain(client: cidr?.address ?? .unknown, ecs: cidr)
        let spread: Set<PolicyKind> = [.weighted, .roundRobin, .consistentHash]
        // Spreading policies may send the client to any eligible member; the others to the ones answered.
        let members = !ex.fallback && spread.contains(p.pool.policy) ? ex.members.filter { $0.eligible && $0.weight > 0 } : ex.members.filter(\.chosen)
        return .init(addresses: ex.answer, sites: Set(members.map(\.site)).sorted(), fallback: ex.fallback, rcode: ex.rcode)
    }
}

/// Makes probes of some members fail inside Cairn (probe-mode drills), without touching the backends:
/// the health service implements it, the drill service calls it, neither imports the other.
public protocol ProbeFaultInjector: Sendable {
    func injectFailures(_ members: Set<MemberKey>, tag: String)
    func clearFailures(tag: String)
}
