import Foundation
import GSLBCore
import HTTPTypes
import DrillService

/// `/v1/drills`: plan, start, list, read, report and abort failover drills.
struct DrillsController: AdminController {
    let repo: any DrillRepository
    let drills: DrillRunner?
    let clock: @Sendable () -> Double

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/drills", .read) { _ in .ok(["drills": try repo.listDrills(limit: 1000).map(DrillSummary.init)]) }
        routes.on(.post, "/v1/drills", .write) { c in try await startDrill(c) }
        routes.on(.get, "/v1/drills/plan", .read) { c in try planDrill(c) }
        routes.on(.get, "/v1/drills/:id", .read) { c in try getDrill(c) }
        routes.on(.get, "/v1/drills/:id/report", .read) { c in try drillReport(c) }
        routes.on(.post, "/v1/drills/:id/abort", .write) { c in try abortDrill(c) }
    }

    /// `body`'s result with the drill runner; the `DrillError`s it throws become API errors.
    func withRunner<T>(_ body: (DrillRunner) throws -> T) throws -> T {
        guard let d = drills else { throw APIError(.serviceUnavailable, "unavailable", "drills are not available in this server") }
        do { return try body(d) } catch let e as DrillError {
            switch e.kind {
            case .invalid: throw APIError.invalid(e.field, e.message)
            case .conflict: throw APIError.conflict(e.field, e.message)
            case .notFound: throw APIError.notFound(e.message, field: e.field)
            case .unsafe: throw APIError(.conflict, "unsafe", field: e.field, e.message)
            }
        }
    }

    /// A drill document (report or plan), in snake_case keys as the rest of the API.
    func drillReply(_ document: some Encodable, _ status: HTTPResponse.Status = .ok) -> AdminAPI.Reply {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        enc.keyEncodingStrategy = .convertToSnakeCase
        return AdminAPI.Reply(status: status, text: ((try? String(decoding: enc.encode(document), as: UTF8.self)) ?? "null") + "\n")
    }

    /// The plan for the target the query names by `site`, `member` or `pool` (exactly one).
    func planDrill(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let given = [("site", OverrideScope.site), ("member", .member), ("pool", .pool)].compactMap { key, scope in
            c.query(key).flatMap { $0.isEmpty ? nil : DrillTarget(scope: scope, name: $0) }
        }
        guard given.count == 1 else { throw APIError.invalid("site", "name exactly one of site, member (POOL/ADDRESS) or pool") }
        return drillReply(try withRunner { try $0.plan(given[0]) })
    }

    func startDrill(_ c: AdminAPI.Call) async throws -> AdminAPI.Reply {
        let body = try await c.body(DrillRequest.self, "a drill")
        if let at = body.at, at <= clock() - 1 { throw APIError.invalid("at", "is in the past") }
        let r = try withRunner {
            try $0.start(target: body.target, mode: body.mode, hold: body.hold, force: body.force, at: body.at,
                         principal: c.principal, source: c.context.remote, requestID: c.requestID,
                         reason: body.reason, ticket: body.ticket, resolvers: body.resolvers)
        }
        return drillReply(r, .created)
    }

    func getDrill(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let id = c.param("id")
        guard let r = try repo.drill(id: id) else { throw APIError.notFound("no drill \(id)") }
        return drillReply(r)
    }

    /// `?format=markdown` (default), `text` or `html` (one self-contained page).
    func drillReport(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        let id = c.param("id")
        guard let r = try repo.drill(id: id) else { throw APIError.notFound("no drill \(id)") }
        switch c.query("format") ?? "markdown" {
        case "markdown": return AdminAPI.Reply(status: .ok, text: r.markdown, contentType: "text/markdown; charset=utf-8")
        case "text": return AdminAPI.Reply(status: .ok, text: r.text, contentType: "text/plain; charset=utf-8")
        case "html": return AdminAPI.Reply(status: .ok, text: r.html, contentType: "text/html; charset=utf-8")
        default: throw APIError.badRequest("format", "expected markdown, text or html")
        }
    }

    func abortDrill(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        drillReply(try withRunner { try $0.abort(id: c.param("id"), principal: c.principal, source: c.context.remote, requestID: c.requestID) })
    }
}
