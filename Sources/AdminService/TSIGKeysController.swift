import Foundation
import GSLBCore

/// `/v1/tsig-keys` (admin scope): TSIG keys; the secret is shown once, at creation, never listed.
struct TSIGKeysController: AdminController {
    let repo: any TSIGKeyRepository

    func addRoutes(to routes: AdminRoutes) {
        routes.on(.get, "/v1/tsig-keys", .admin) { _ in .ok(["tsig_keys": try repo.listTSIGKeys()]) }
        routes.on(.post, "/v1/tsig-keys", .admin) { c in try await createKey(c) }
        routes.on(.delete, "/v1/tsig-keys/:name", .admin) { c in try deleteKey(c) }
    }

    func createKey(_ c: AdminAPI.Call) async throws -> AdminAPI.Reply {
        let body = try await c.body(TSIGKeyRequest.self, "a TSIG key")
        // A conflict is not a stale If-Match: the name is taken.
        let key = try APIError.conflictAs("name") {
            try repo.createTSIGKey(name: body.name, algorithm: body.algorithm, secret: body.secret, principal: c.principal,
                                   source: c.context.remote, requestID: c.requestID)
        }
        return .created(WithKey(WithKey(key, "secret", key.base64Secret), "key_file", key.bindKeyFile))
    }

    func deleteKey(_ c: AdminAPI.Call) throws -> AdminAPI.Reply {
        try repo.deleteTSIGKey(name: c.param("name"), principal: c.principal, source: c.context.remote, requestID: c.requestID)
        return .noContent
    }
}
