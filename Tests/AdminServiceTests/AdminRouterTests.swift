import DNSWire
import Foundation
import GSLBCore
import GSLBStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SnapshotService
import Testing
@testable import AdminService

/// The admin API's routes, driven through HummingbirdTesting's router-level client: no socket, but
/// the real router, authentication, codec, a real SQLite file and a real snapshot publisher. What a
/// socket adds (connection caps, deadlines, TLS) is AdminAPILimitsTests' job, process-level.
@Suite struct AdminRouterTests {
    static let origin = try! DomainName("router.test.")

    /// One zone, from memory.
    struct Zones: ZoneSource {
        func loadZones() -> ZoneLoadResult {
            let o = AdminRouterTests.origin
            let ns = try! DomainName("ns.router.test.")
            let soa = ResourceRecord(name: o, type: .soa, ttl: 3600,
                                     rdata: ns.wire + (try! DomainName("hostmaster.router.test.")).wire
                                         + [0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 2, 88, 0, 9, 58, 128, 0, 0, 0, 60])
            return ZoneLoadResult(zones: [ZoneContent(origin: o, records: [
                soa,
                ResourceRecord(name: o, type: .ns, ttl: 3600, rdata: ns.wire),
                ResourceRecord(name: ns, type: .a, ttl: 3600, rdata: [192, 0, 2, 53]),
            ], source: "memory")], failures: [])
        }
    }

    struct Fixture {
        let dir: URL
        let store: Store
        let publisher: SnapshotPublisher
        let api: AdminAPI
        let read: String, write: String, admin: String
    }

    static func fixture() throws -> Fixture {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-router-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try Store(path: dir.appendingPathComponent("cairn.sqlite").path)
        let publisher = SnapshotPublisher(source: Zones(), repository: store)
        publisher.reload()
        let api = AdminAPI(configuration: AdminAPIConfiguration(), repository: store, publisher: publisher, health: nil,
                           readiness: Readiness(waiting: { [] }))
        func token(_ name: String, _ scope: TokenScope) throws -> String {
            try store.createToken(name: name, scope: scope, expiresAt: nil, principal: "test", source: "test").secret
        }
        return Fixture(dir: dir, store: store, publisher: publisher, api: api,
                       read: try token("r", .read), write: try token("w", .write), admin: try token("a", .admin))
    }

    static func headers(_ token: String?, _ extra: [HTTPField.Name: String] = [:]) -> HTTPFields {
        var h = HTTPFields()
        if let token { h[.authorization] = "Bearer \(token)" }
        h[.contentType] = "application/json"
        for (k, v) in extra { h[k] = v }
        return h
    }

    static func json(_ r: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any], "not a JSON object: \(String(buffer: r.body))")
    }

    @Test func tokensAreCheckedBeforeAnyHandlerRuns() async throws {
        let f = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let app = Application(router: f.api.buildRouter())
        try await app.test(.router) { client in
            // Liveness needs no token; everything under /v1 does.
            try await client.execute(uri: "/healthz", method: .get) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).trimmingCharacters(in: .whitespacesAndNewlines) == #"{"status":"ok"}"#)
            }
            try await client.execute(uri: "/v1/sites", method: .get, headers: Self.headers(nil)) { r in
                #expect(r.status == .unauthorized)
                let body = try Self.json(r)
                #expect(Set(body.keys) == ["error", "field", "message", "status", "title", "detail"], "\(body)")
                #expect(r.headers[.contentType] == "application/problem+json")
            }
            try await client.execute(uri: "/v1/sites", method: .get, headers: Self.headers("cairn_not-a-token")) { r in
                #expect(r.status == .unauthorized)
            }
            // A read token may read but not write; the store is untouched.
            try await client.execute(uri: "/v1/sites", method: .get, headers: Self.headers(f.read)) { r in
                #expect(r.status == .ok)
                #expect(String(buffer: r.body).trimmingCharacters(in: .whitespacesAndNewlines) == #"{"sites":[]}"#)
            }
            try await client.execute(uri: "/v1/sites", method: .post, headers: Self.headers(f.read),
                                     body: ByteBuffer(string: #"{"name":"fra"}"#)) { r in
                #expect(r.status == .forbidden, "\(r.status) \(String(buffer: r.body))")
            }
            // Tokens are admin's.
            try await client.execute(uri: "/v1/tokens", method: .get, headers: Self.headers(f.write)) { r in
                #expect(r.status == .forbidden)
            }
        }
        #expect(try f.store.exportConfig().sites.isEmpty)
    }

    @Test func aWriteIsStoredAuditedAndServedBeforeItsResponse() async throws {
        let f = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let app = Application(router: f.api.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/sites", method: .post, headers: Self.headers(f.write),
                                     body: ByteBuffer(string: #"{"name":"fra","region":"eu"}"#)) { r in
                #expect(r.status == .created, "\(r.status) \(String(buffer: r.body))")
                #expect(r.headers[.eTag] == "\"1\"")
                let body = try Self.json(r)
                #expect(body["name"] as? String == "fra")
                #expect(body["version"] as? Int == 1)
            }
            let pool = #"{"name":"www.router.test.","type":"A","policy":"failover","members":[{"site":"fra","address":"192.0.2.10"}]}"#
            try await client.execute(uri: "/v1/pools", method: .post, headers: Self.headers(f.write),
                                     body: ByteBuffer(string: pool)) { r in
                #expect(r.status == .created, "\(r.status) \(String(buffer: r.body))")
            }
        }
        // In the store, with its audit rows, and in the snapshot the DNS listeners read.
        #expect(try f.store.exportConfig().sites.map(\.name) == ["fra"])
        let audit = try f.store.listAudit(object: nil, since: nil, until: nil, limit: 10, offset: 0)
        #expect(Set(audit.map(\.object)).isSuperset(of: ["site:fra", "pool:www.router.test./A"]), "\(audit.map(\.object))")
        #expect(audit.filter { !$0.object.hasPrefix("token:") }.allSatisfy { $0.principal == "token:w" }, "\(audit.map(\.principal))")
        let ex = f.publisher.box.load().explain(name: try DomainName("www.router.test."), type: .a, client: .unknown, ecs: nil)
        #expect(ex.answer == ["192.0.2.10"], "\(ex)")
    }

    @Test func badBodiesGet4xxNamingTheFieldAndChangeNothing() async throws {
        let f = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let app = Application(router: f.api.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/sites", method: .post, headers: Self.headers(f.write),
                                     body: ByteBuffer(string: #"{"name":"fra","capacity":"lots"}"#)) { r in
                #expect(r.status == .unprocessableContent, "\(r.status) \(String(buffer: r.body))")
                let body = try Self.json(r)
                #expect(body["field"] as? String == "capacity")
            }
            try await client.execute(uri: "/v1/sites", method: .post, headers: Self.headers(f.write),
                                     body: ByteBuffer(string: #"{"name":"fra","regoin":"eu"}"#)) { r in
                #expect(r.status == .unprocessableContent)
                let body = try Self.json(r)
                #expect(body["field"] as? String == "regoin")
                #expect((body["message"] as? String ?? "").contains("region"), "no 'did you mean': \(body)")
            }
            try await client.execute(uri: "/v1/sites", method: .post, headers: Self.headers(f.write),
                                     body: ByteBuffer(string: #"{"name": "#)) { r in
                #expect(r.status == .badRequest, "\(r.status) \(String(buffer: r.body))")
            }
            // A member at a site that does not exist.
            let pool = #"{"name":"www.router.test.","type":"A","members":[{"site":"nowhere","address":"192.0.2.10"}]}"#
            try await client.execute(uri: "/v1/pools", method: .post, headers: Self.headers(f.write),
                                     body: ByteBuffer(string: pool)) { r in
                #expect(r.status == .unprocessableContent, "\(r.status) \(String(buffer: r.body))")
                let body = try Self.json(r)
                #expect((body["field"] as? String ?? "").hasPrefix("members[0].site"), "\(body)")
            }
        }
        #expect(try f.store.exportConfig() == GSLBConfig())
        #expect(try f.store.listAudit(object: nil, since: nil, until: nil, limit: 10, offset: 0).allSatisfy { !$0.object.hasPrefix("site:") })
    }

    @Test func aStaleIfMatchIsPreconditionFailedAndTheCurrentOneGoesThrough() async throws {
        let f = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let app = Application(router: f.api.buildRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/sites", method: .post, headers: Self.headers(f.write),
                                     body: ByteBuffer(string: #"{"name":"fra"}"#)) { r in #expect(r.status == .created) }
            try await client.execute(uri: "/v1/sites/fra", method: .put, headers: Self.headers(f.write, [.ifMatch: "\"7\""]),
                                     body: ByteBuffer(string: #"{"region":"eu"}"#)) { r in
                #expect(r.status == .preconditionFailed, "\(r.status) \(String(buffer: r.body))")
            }
            try await client.execute(uri: "/v1/sites/fra", method: .put, headers: Self.headers(f.write, [.ifMatch: "\"1\""]),
                                     body: ByteBuffer(string: #"{"region":"eu"}"#)) { r in
                #expect(r.status == .ok, "\(r.status) \(String(buffer: r.body))")
                #expect(r.headers[.eTag] == "\"2\"")
            }
        }
        #expect(try f.store.exportConfig().sites.first?.region == "eu")
    }

    @Test func aPutBodyMayLeaveOutTheKeysItsPathFixesButNotContradictThem() async throws {
        let f = try Self.fixture()
        defer { try? FileManager.default.removeItem(at: f.dir) }
        let app = Application(router: f.api.buildRouter())
        try await app.test(.router) { client in
            func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                try await client.execute(uri: uri, method: method, headers: Self.headers(f.write), body: ByteBuffer(string: body)) { r in
                    (r.status, (try? JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]) ?? [:])
                }
            }
            #expect(try await call(.post, "/v1/sites", #"{"name":"fra"}"#).0 == .created)
            var (status, body) = try await call(.put, "/v1/sites/fra", #"{"name":"ams"}"#)
            #expect(status == .unprocessableContent && body["field"] as? String == "name", "\(body)")
            #expect(try await call(.put, "/v1/sites/fra", #"{"name":"fra","region":"eu"}"#).0 == .ok)

            let pool = #"{"name":"www.router.test.","type":"A","members":[{"site":"fra","address":"192.0.2.10"}]}"#
            #expect(try await call(.post, "/v1/pools", pool).0 == .created)
            (status, body) = try await call(.put, "/v1/pools/www.router.test.", #"{"type":"AAAA"}"#)
            #expect(status == .unprocessableContent && body["field"] as? String == "type", "\(body)")
            (status, body) = try await call(.put, "/v1/pools/www.router.test.", #"{"name":"other.router.test."}"#)
            #expect(status == .unprocessableContent && body["field"] as? String == "name", "\(body)")
            // The name as a pool name is compared: case and the trailing dot do not matter.
            #expect(try await call(.put, "/v1/pools/www.router.test.", #"{"name":"WWW.router.test","ttl":60}"#).0 == .ok)

            (status, body) = try await call(.put, "/v1/pools/www.router.test./members/192.0.2.10", #"{"address":"192.0.2.11"}"#)
            #expect(status == .unprocessableContent && body["field"] as? String == "address", "\(body)")
            #expect(try await call(.put, "/v1/pools/www.router.test./members/192.0.2.10", #"{"weight":5}"#).0 == .ok)
        }
        let config = try f.store.exportConfig()
        #expect(config.sites.map(\.name) == ["fra"] && config.sites.first?.region == "eu")
        #expect(config.pools.first?.ttl == 60 && config.pools.first?.members.map(\.address) == ["192.0.2.10"])
        #expect(config.pools.first?.members.first?.weight == 5 && config.pools.first?.members.first?.site == "fra")
    }
}
