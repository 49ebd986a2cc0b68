import GSLBCore

/// `/v1/tokens` (admin scope): API tokens; the secret is shown once, at creation.
struct TokensController: AdminController {
    let repo: any TokenRepository
    let clock: @Sendable () -> Double

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/tokens", .admin) { _ in .ok(["tokens": try repo.listTokens()]) }
        routes.on(.post, "/v1/tokens", .admin) { c in try await createToken(c) }
        routes.on(.delete, "/v1/tokens/:id", .admin) { c in try deleteToken(c) }
    }

    func createToken(_ c: AdminAPI.Call) async throws -> AdminAPI.Reply {
        let body = try await c.body(TokenRequest.self, "a token")
        let expiresAt = body.expiresIn.map { clock() + $0 }
        let (token, secret) = try repo.createToken(name: body.name, scope: body.scope, expiresAt: expiresAt, principal: c.principal,
                                                   source: c.context.remote)
        return .created(WithKey(token, "token", secret))
    }

    func deleteToken(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        guard let id = Int64(c.param("id")), id > 0 else { throw APIError.badRequest("id", "expected a token id") }
        try repo.deleteToken(id: id, principal: c.principal, source: c.context.remote, requestID: c.requestID)
        return .noContent
    }
}
