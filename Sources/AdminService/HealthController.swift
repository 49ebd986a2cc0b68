import GSLBCore
import HealthService
import SnapshotService

/// `/v1/health`: every member's real, forced and effective state, its last probe and flaps.
struct HealthController: AdminController {
    let publisher: SnapshotPublisher
    let health: HealthMonitor?

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/health", .read) { c in try healthReport(c) }
    }

    func healthReport(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let snap = publisher.box.load()
        let byMember = Dictionary((health?.statuses ?? []).flatMap { s in s.members.map { ($0, s) } }, uniquingKeysWith: { _, last in last })
        let filter = c.query("pool").map(ConfigValidator.Scope.poolKey)
        let verdicts = snap.quorumVerdicts()
        var rows: [HealthRow] = []
        for p in snap.pools where filter == nil || p.pool.name.lowercased() == filter {
            for m in p.members {
                let key = MemberKey(pool: p.pool.name, address: m.member.address)
                let st = byMember[key]
                // A command monitor's output is the program's: admin only (docs/security.md).
                let last = st?.last.map { r in
                    HealthRow.Probe(ok: r.ok, detail: c.isAdmin ? r.fullDetail : r.detail, latencyMs: (r.latency * 1e6).rounded() / 1e3,
                                    at: st?.lastAt.map { RFC3339.format($0) }, loadProblem: r.ok ? r.loadProblem : nil)
                }
                let since = st?.machine.since ?? snap.gslb.health.first { $0.key == key }?.since
                rows.append(HealthRow(
                    pool: p.pool.name, type: p.pool.type, address: m.member.address, site: m.member.site,
                    monitor: m.member.monitor ?? p.pool.monitor, admin: m.member.state.rawValue,
                    real: m.real.rawValue, realStale: m.realStale, forced: m.forced?.rawValue, forcedBy: m.forcedBy,
                    forcedOverride: m.forcedOverride, forcedDrill: m.forcedDrill,
                    effective: m.effective, eligible: m.eligible, since: since.flatMap { $0 > 0 ? RFC3339.format($0) : nil },
                    lastProbe: last, probes: st?.probes, flaps: st?.machine.flaps, load: m.load,
                    quorum: verdicts[key]?.rule.rawValue, nodes: verdicts[key]?.nodes))
            }
        }
        if let filter, rows.isEmpty, !snap.pools.contains(where: { $0.pool.name.lowercased() == filter }) {
            throw APIError.notFound("no pool \(filter)", field: "pool")
        }
        let cached = publisher.stats.servingCacheSavedAt
        return .ok(HealthReport(coldStart: !(health?.coldStartOver ?? true), configSource: cached == nil ? "store" : "cache",
                                cacheSavedAt: cached.map { RFC3339.format($0) }, members: rows))
    }
}
