import Foundation
import GSLBConfigFile
import GSLBCore
import HTTPTypes
import Hummingbird

/// One resource of the admin API: its routes and handlers, over only the repository roles and
/// services it needs. `AdminAPI.buildRouter` adds every controller's routes and runs each request
/// through authentication and the one error mapping (`AdminAPI.dispatch`), so a controller sees a
/// `Call` (the request, the caller's token) and returns a `Reply`.
protocol AdminController: Sendable {
    func addRoutes(to routes: AdminRoutes)
}

/// Where controllers add their routes: `on(method, path, scope) { call in reply }`, with the scope a token needs (nil: none).
struct AdminRoutes {
    let on: (HTTPRequest.Method, RouterPath, TokenScope?, @escaping @Sendable (AdminAPI.Call) async throws -> AdminAPI.Reply) -> Void
}

// MARK: - Bodies

extension AdminAPI.Call {
    /// The body as a JSON value (at most 1 MiB; `application/json` or `application/merge-patch+json`).
    func readJSON() async throws -> Any {
        let data = try await readJSONData()
        guard let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw APIError.badRequest("body", "the body is not valid JSON")
        }
        return value
    }

    /// The body's bytes, checked as `readJSON` checks them (size, media type), not parsed.
    func readJSONData() async throws -> Data {
        let ct = request.headers[.contentType]?.lowercased() ?? ""
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("body", "a JSON body is required") }
        guard ct.hasPrefix("application/json") || ct.hasPrefix("application/merge-patch+json") else {
            throw APIError(.unsupportedMediaType, "unsupported-media-type", field: "Content-Type",
                           "the body must be application/json (got \(ct.isEmpty ? "none" : ct))")
        }
        return Data(buffer.readableBytesView)
    }

    /// A request body (override, token, drill) read by the config codec. Not `AdminAPI.decode`, which
    /// skips the `version` of config objects: these have none, so `version` stays an unknown key.
    func body<T: Decodable>(_ type: T.Type, _ what: String) async throws -> T {
        try ConfigFile.decode(type, json: try ConfigController.object(try await readJSON(), what)).mapError(APIError.invalid).get()
    }
}
