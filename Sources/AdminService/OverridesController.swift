import GSLBCore
import SnapshotService

/// `/v1/overrides`: forced states, each written with its audit row, in the answers before the reply.
struct OverridesController: AdminController {
    let repo: any OverrideRepository & ConfigWriteRepository
    let publisher: SnapshotPublisher
    let clock: @Sendable () -> Double

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/overrides", .read) { _ in .ok(["overrides": try repo.activeOverrides(now: clock())]) }
        routes.on(.post, "/v1/overrides", .write) { c in try await createOverride(c) }
        routes.on(.get, "/v1/overrides/:id", .read) { c in try getOverride(c) }
        routes.on(.delete, "/v1/overrides/:id", .write) { c in try deleteOverride(c) }
    }

    func overrideID(_ c: AdminAPI.Call) throws -> Int64 {
        guard let id = Int64(c.param("id")), id > 0 else { throw APIError.badRequest("id", "expected an override id (a positive integer)") }
        return id
    }

    func getOverride(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let id = try overrideID(c)
        guard let o = try repo.activeOverrides(now: clock()).first(where: { $0.id == id }) else {
            throw APIError.notFound("no active override \(id)")
        }
        return .ok(o)
    }

    func createOverride(_ c: AdminAPI.Call) async throws -> AdminAPI.Reply {
        let body = try await c.body(OverrideRequest.self, "an override")
        var target = body.target
        let now = clock()
        if let t = body.expiresAt, t <= now { throw APIError.invalid("expires_at", "is in the past") }
        let expiresAt = body.expiresAt ?? body.expiresIn.map { now + $0 }

        // The target must exist now.
        let config = try repo.exportConfig()
        switch body.scope {
        case .site:
            guard config.sites.contains(where: { $0.name == target }) else { throw APIError.invalid("target", "no site \(target)") }
        case .pool:
            target = Pool.absolute(target)
            guard let p = config.pools.first(where: { $0.name.lowercased() == target.lowercased() }) else {
                throw APIError.invalid("target", "no pool \(target)")
            }
            target = p.name
        case .member:
            guard let slash = target.firstIndex(of: "/") else { throw APIError.invalid("target", "expected POOL/ADDRESS") }
            let poolName = ConfigValidator.Scope.poolKey(String(target[..<slash]))
            let address = String(target[target.index(after: slash)...])
            guard let p = config.pools.first(where: { $0.name.lowercased() == poolName && $0.members.contains { Member.sameIdentity($0.address, address) } }),
                  let m = p.members.first(where: { Member.sameIdentity($0.address, address) }) else {
                throw APIError.invalid("target", "no member \(address) in a pool \(poolName)")
            }
            target = "\(p.name)/\(m.address)"
        }
        let o = Override(scope: body.scope, target: target, state: body.state, reason: body.reason, principal: c.principal,
                         expiresAt: body.permanent ? nil : expiresAt, createdAt: now)
        let stored = try repo.addOverride(o, audit: AuditEntry(time: now, principal: c.principal, source: c.context.remote,
                                                               requestID: c.requestID, action: "create", object: ""))
        publisher.refreshIfChanged()
        return .created(stored)
    }

    func deleteOverride(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let id = try overrideID(c)
        try repo.removeOverride(id: id, audit: AuditEntry(time: clock(), principal: c.principal, source: c.context.remote,
                                                          requestID: c.requestID, action: "delete", object: ""))
        publisher.refreshIfChanged()
        return .noContent
    }
}
