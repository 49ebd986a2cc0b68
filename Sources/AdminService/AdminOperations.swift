import DNSWire
import Foundation
import GSLBConfigFile
import GSLBCore
import HTTPTypes
import Hummingbird
import DrillService
import HealthService

// Overrides, health, explain, audit, zones and tokens.

extension AdminAPI {
    /// A request body (override, token) read by the config codec. Not `decode`, which skips the
    /// `version` of config objects: these have none, so `version` stays an unknown key.
    func request<T: Decodable>(_ type: T.Type, _ c: Call, _ what: String) async throws -> T {
        switch ConfigFile.decode(type, json: try object(try await readJSON(c), what)) {
        case .success(let v): return v
        case .failure(let issues): throw APIError.invalid(issues[0].path.isEmpty ? nil : issues[0].path, issues[0].message)
        }
    }

    // MARK: - Overrides

    func listOverrides() throws -> Reply {
        let all = try repo.activeOverrides(now: clock())
        return .ok(["overrides": all])
    }

    func overrideID(_ c: Call) throws -> Int64 {
        guard let id = Int64(c.param("id")), id > 0 else { throw APIError.badRequest("id", "expected an override id (a positive integer)") }
        return id
    }

    func getOverride(_ c: Call) throws -> Reply {
        let id = try overrideID(c)
        guard let o = try repo.activeOverrides(now: clock()).first(where: { $0.id == id }) else {
            throw APIError.notFound("no active override \(id)")
        }
        return .ok(o)
    }

    func createOverride(_ c: Call) async throws -> Reply {
        let body = try await request(OverrideRequest.self, c, "an override")
        let (scope, state, reason, permanent) = (body.scope, body.state, body.reason, body.permanent)
        var target = body.target
        let now = clock()
        if let t = body.expiresAt, t <= now { throw APIError.invalid("expires_at", "is in the past") }
        let expiresAt = body.expiresAt ?? body.expiresIn.map { now + $0 }

        // The target must exist now.
        let config = try repo.exportConfig()
        switch scope {
        case .site:
            guard config.sites.contains(where: { $0.name == target }) else { throw APIError.invalid("target", "no site \(target)") }
        case .pool:
            target = Self.poolName(target)
            guard config.pools.contains(where: { $0.name.lowercased() == target.lowercased() }) else {
                throw APIError.invalid("target", "no pool \(target)")
            }
            target = config.pools.first { $0.name.lowercased() == target.lowercased() }!.name
        case .member:
            guard let slash = target.firstIndex(of: "/") else { throw APIError.invalid("target", "expected POOL/ADDRESS") }
            let poolName = Self.poolName(String(target[..<slash])).lowercased()
            let address = String(target[target.index(after: slash)...])
            guard let p = config.pools.first(where: { $0.name.lowercased() == poolName && $0.members.contains { Self.sameAddress($0.address, address) } }),
                  let m = p.members.first(where: { Self.sameAddress($0.address, address) }) else {
                throw APIError.invalid("target", "no member \(address) in a pool \(poolName)")
            }
            target = "\(p.name)/\(m.address)"
        }
        let o = Override(scope: scope, target: target, state: state, reason: reason, principal: c.principal,
                         expiresAt: permanent ? nil : expiresAt, createdAt: now)
        let stored = try repo.addOverride(o, audit: AuditEntry(time: now, principal: c.principal, source: c.context.remote,
                                                               requestID: c.requestID, action: "create", object: ""))
        publisher.refreshIfChanged()
        return .created(stored)
    }

    func deleteOverride(_ c: Call) throws -> Reply {
        let id = try overrideID(c)
        try repo.removeOverride(id: id, audit: AuditEntry(time: clock(), principal: c.principal, source: c.context.remote,
                                                          requestID: c.requestID, action: "delete", object: ""))
        publisher.refreshIfChanged()
        return .noContent
    }

    // MARK: - Health

    func healthReport(_ c: Call) throws -> Reply {
        let snap = publisher.box.load()
        var byMember: [MemberKey: HealthMonitor.Status] = [:]
        for s in health?.statuses ?? [] { for k in s.members { byMember[k] = s } }
        let filter = c.query("pool").map { Self.poolName($0).lowercased() }
        var rows: [HealthRow] = []
        for p in snap.pools where filter == nil || p.pool.name.lowercased() == filter {
            for m in p.members {
                let key = MemberKey(pool: p.pool.name, address: m.member.address)
                let st = byMember[key]
                // A command monitor's output is the program's: admin only (docs/security.md).
                let last = st?.last.map { r in
                    HealthRow.Probe(ok: r.ok, detail: c.isAdmin ? r.fullDetail : r.detail, latencyMs: (r.latency * 1e6).rounded() / 1e3,
                                    at: st?.lastAt.map { RFC3339.format($0) })
                }
                let since = st?.machine.since ?? snap.gslb.health.first { $0.key == key }?.since
                rows.append(HealthRow(
                    pool: p.pool.name, type: p.pool.type, address: m.member.address, site: m.member.site,
                    monitor: m.member.monitor ?? p.pool.monitor, admin: m.member.state.rawValue,
                    real: m.real.rawValue, realStale: m.realStale, forced: m.forced?.rawValue, forcedBy: m.forcedBy,
                    effective: m.effective, eligible: m.eligible, since: since.flatMap { $0 > 0 ? RFC3339.format($0) : nil },
                    lastProbe: last, probes: st?.probes, flaps: st?.machine.flaps, load: m.load))
            }
        }
        if let filter, rows.isEmpty, !snap.pools.contains(where: { $0.pool.name.lowercased() == filter }) {
            throw APIError.notFound("no pool \(filter)", field: "pool")
        }
        return .ok(HealthReport(coldStart: !(health?.coldStartOver ?? true), members: rows))
    }

    // MARK: - Explain

    func explain(_ c: Call) throws -> Reply {
        guard let rawName = c.query("name"), !rawName.isEmpty else { throw APIError.badRequest("name", "required: the name asked") }
        let typeText = (c.query("type") ?? "A").uppercased()
        guard let t = RecordType(name: typeText), t == .a || t == .aaaa else { throw APIError.badRequest("type", "expected A or AAAA") }
        let clientText = c.query("client") ?? c.context.remote
        guard let client = ClientAddress(text: clientText) else { throw APIError.badRequest("client", "not an IP address: \(clientText)") }
        var subnet: CIDR?
        if let e = c.query("ecs"), !e.isEmpty {
            guard let s = CIDR(e) else { throw APIError.badRequest("ecs", "expected ADDRESS/PREFIX") }
            subnet = CIDR(address: s.address, prefix: s.prefix)
        }
        let qname: DomainName
        do { qname = try DomainName(rawName.hasSuffix(".") ? rawName : rawName + ".") } catch {
            throw APIError.badRequest("name", "not a domain name: \(error)")
        }
        let ex = publisher.box.load().explain(name: qname, type: t, client: client, ecs: subnet)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return Reply(status: .ok, text: String(decoding: try enc.encode(ex), as: UTF8.self) + "\n")
    }

    // MARK: - Audit

    func listAudit(_ c: Call) throws -> Reply {
        func time(_ key: String) throws -> Double? {
            guard let s = c.query(key), !s.isEmpty else { return nil }
            if let t = RFC3339.parse(s) { return t }
            if let d = TimeSpan.seconds(s) { return clock() - d }
            if let t = Double(s), t.isFinite { return t }
            throw APIError.badRequest(key, "expected an RFC 3339 time or a duration such as 1h (that long ago)")
        }
        func int(_ key: String, _ def: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let s = c.query(key) else { return def }
            guard let v = Int(s), range.contains(v) else { throw APIError.badRequest(key, "expected an integer in \(range.lowerBound)...\(range.upperBound)") }
            return v
        }
        let limit = try int("limit", 100, 1...1000)
        let offset = try int("offset", 0, 0...Int(Int32.max))
        let since = try time("since")
        let until = try time("until")
        let object = c.query("object").flatMap { $0.isEmpty ? nil : $0 }
        var entries = try repo.listAudit(object: object, since: since, limit: until == nil ? limit : 100_000, offset: until == nil ? offset : 0)
        if let until {
            entries = Array(entries.filter { $0.time <= until }.dropFirst(offset).prefix(limit))
        }
        return .ok(Encode.AuditPage(entries: entries.map { Encode.audit($0, showCommand: c.isAdmin) }, limit: limit, offset: offset))
    }

    // MARK: - Zones

    func zonesJSON(errors: [String], generation: UInt64? = nil) -> ZoneList {
        ZoneList(zones: publisher.box.load().zones.map { ZoneList.Zone(origin: $0.origin.description, serial: $0.serial, source: $0.source) },
                 errors: errors, generation: generation)
    }

    func listZones() -> Reply { .ok(zonesJSON(errors: publisher.lastErrors)) }

    func reloadZones(_ c: Call) -> Reply {
        logger.info("zone reload requested through the API", metadata: ["principal": "\(c.principal)", "request": "\(c.requestID)"])
        let report = publisher.reload()
        return .ok(zonesJSON(errors: report.errors, generation: report.generation))
    }

    // MARK: - Tokens

    func listTokens() throws -> Reply {
        .ok(["tokens": try repo.listTokens()])
    }

    func createToken(_ c: Call) async throws -> Reply {
        let body = try await request(TokenRequest.self, c, "a token")
        let expiresAt = body.expiresIn.map { clock() + $0 }
        let (token, secret) = try repo.createToken(name: body.name, scope: body.scope, expiresAt: expiresAt, principal: c.principal,
                                                   source: c.context.remote)
        return .created(WithKey(token, "token", secret))
    }

    func deleteToken(_ c: Call) throws -> Reply {
        guard let id = Int64(c.param("id")), id > 0 else { throw APIError.badRequest("id", "expected a token id") }
        try repo.deleteToken(id: id, principal: c.principal, source: c.context.remote, requestID: c.requestID)
        return .noContent
    }
}

// MARK: - Drills

extension AdminAPI {
    func drillRunner() throws -> DrillRunner {
        guard let d = drills else { throw APIError(.serviceUnavailable, "unavailable", "drills are not available in this server") }
        return d
    }

    static func drillError(_ e: DrillError) -> APIError {
        switch e.kind {
        case .invalid: return .invalid(e.field, e.message)
        case .conflict: return .conflict(e.field, e.message)
        case .notFound: return .notFound(e.message, field: e.field)
        case .unsafe: return APIError(.conflict, "unsafe", field: e.field, e.message)
        }
    }

    /// Drill documents use snake_case keys, as the rest of the API.
    static func drillEncoder() -> JSONEncoder {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        enc.keyEncodingStrategy = .convertToSnakeCase
        return enc
    }

    func drillReply(_ r: DrillReport, _ status: HTTPResponse.Status = .ok) -> Reply {
        Reply(status: status, text: ((try? String(decoding: Self.drillEncoder().encode(r), as: UTF8.self)) ?? "null") + "\n")
    }

    /// The target named by `site`, `member` or `pool` (exactly one), from a query or a body.
    static func drillTarget(_ get: (String) -> String?) throws -> DrillTarget {
        let given = [("site", OverrideScope.site), ("member", .member), ("pool", .pool)].compactMap { key, scope in
            get(key).flatMap { $0.isEmpty ? nil : DrillTarget(scope: scope, name: $0) }
        }
        guard given.count == 1 else { throw APIError.invalid("site", "name exactly one of site, member (POOL/ADDRESS) or pool") }
        return given[0]
    }

    func planDrill(_ c: Call) throws -> Reply {
        let target = try Self.drillTarget { c.query($0) }
        do {
            let plan = try drillRunner().plan(target)
            let enc = Self.drillEncoder()
            return Reply(status: .ok, text: String(decoding: try enc.encode(plan), as: UTF8.self) + "\n")
        } catch let e as DrillError { throw Self.drillError(e) }
    }

    func startDrill(_ c: Call) async throws -> Reply {
        let body = try await request(DrillRequest.self, c, "a drill")
        if let at = body.at, at <= clock() - 1 { throw APIError.invalid("at", "is in the past") }
        do {
            let r = try drillRunner().start(target: body.target, mode: body.mode, hold: body.hold, force: body.force, at: body.at,
                                            principal: c.principal, source: c.context.remote, requestID: c.requestID)
            return drillReply(r, .created)
        } catch let e as DrillError { throw Self.drillError(e) }
    }

    func listDrills(_ c: Call) throws -> Reply {
        let all = try repo.listDrills(limit: 1000)
        return .ok(["drills": all.map(DrillSummary.init)])
    }

    func getDrill(_ c: Call) throws -> Reply {
        let id = c.param("id")
        guard let r = try repo.drill(id: id) else { throw APIError.notFound("no drill \(id)") }
        return drillReply(r)
    }

    /// `?format=markdown` (default) or `text`.
    func drillReport(_ c: Call) throws -> Reply {
        let id = c.param("id")
        guard let r = try repo.drill(id: id) else { throw APIError.notFound("no drill \(id)") }
        switch c.query("format") ?? "markdown" {
        case "markdown": return Reply(status: .ok, text: r.markdown, contentType: "text/markdown; charset=utf-8")
        case "text": return Reply(status: .ok, text: r.text, contentType: "text/plain; charset=utf-8")
        default: throw APIError.badRequest("format", "expected markdown or text")
        }
    }

    func abortDrill(_ c: Call) throws -> Reply {
        do {
            let r = try drillRunner().abort(id: c.param("id"), principal: c.principal, source: c.context.remote, requestID: c.requestID)
            return drillReply(r)
        } catch let e as DrillError { throw Self.drillError(e) }
    }
}
