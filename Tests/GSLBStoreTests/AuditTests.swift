import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct AuditTests {
    @Test(arguments: Backend.allCases) func listAuditFiltersByObjectAndTimeAndPages(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let written = try store.audit([
            AuditEntry(time: 1, principal: "-", source: "192.0.2.1", action: "auth-failure", object: "api"),
            AuditEntry(time: 2, principal: "a", source: "s", action: "update", object: "pool:www.example.com./A"),
            AuditEntry(time: 3, principal: "a", source: "s", action: "update", object: "pool:www.example.com./AAAA"),
            AuditEntry(time: 4, principal: "a", source: "s", action: "update", object: "pool:www.example.com.x/A"),
        ])
        #expect(written.allSatisfy { $0.id != nil })
        #expect(try store.listAudit(limit: 10) == written)
        #expect(try store.listAudit(object: "pool:www.example.com.", limit: 10).map(\.time) == [2, 3])
        #expect(try store.listAudit(object: "pool:www.example.com./A", limit: 10).map(\.time) == [2])
        #expect(try store.listAudit(since: 3, limit: 10).map(\.time) == [3, 4])
        #expect(try store.listAudit(until: 3, limit: 10).map(\.time) == [1, 2, 3])
        #expect(try store.listAudit(since: 2, until: 3, limit: 1, offset: 1).map(\.time) == [3])
        #expect(try store.listAudit(limit: 2, offset: 1).map(\.time) == [2, 3])
    }

    /// A drain of `fra` is audited as `override:ID`; asking for `site:fra` finds its create and delete rows
    /// (and a pool's or a member's overrides under `pool:` and `member:`), and nothing of another site.
    @Test(arguments: Backend.allCases) func overridesAreFoundUnderTheObjectTheyForce(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let ctx = AuditEntry(time: 10, principal: "ops", source: "cli", action: "", object: "")
        let fra = try store.addOverride(Override(scope: .site, target: "fra", state: .drain, reason: "maintenance",
                                                 principal: "ops", expiresAt: nil, createdAt: 10), audit: ctx)
        _ = try store.addOverride(Override(scope: .site, target: "fra2", state: .drain, reason: "\"target\":\"fra\"}",
                                           principal: "ops", expiresAt: nil, createdAt: 10), audit: ctx)
        _ = try store.addOverride(Override(scope: .pool, target: "www.example.com.", state: .down, reason: "x",
                                           principal: "ops", expiresAt: nil, createdAt: 10), audit: ctx)
        _ = try store.addOverride(Override(scope: .member, target: "www.example.com./192.0.2.10", state: .down, reason: "x",
                                           principal: "ops", expiresAt: nil, createdAt: 10), audit: ctx)
        try store.removeOverride(id: try #require(fra.id), audit: ctx)
        let forFra = try store.listAudit(object: "site:fra", limit: 10)
        #expect(forFra.map(\.action) == ["create", "delete"])
        #expect(forFra.allSatisfy { $0.object == "override:\(fra.id!)" })
        #expect(try store.listAudit(object: "site:fr", limit: 10).isEmpty)
        #expect(try store.listAudit(object: "site:f_a", limit: 10).isEmpty)
        #expect(try store.listAudit(object: "pool:www.example.com./A", limit: 10).count == 1)
        #expect(try store.listAudit(object: "pool:www.example.com.", limit: 10).count == 1)
        #expect(try store.listAudit(object: "member:www.example.com./A/192.0.2.10", limit: 10).count == 1)
        #expect(try store.listAudit(object: "member:www.example.com./A/192.0.2.1", limit: 10).isEmpty)
    }
}

/// The before/after JSON of audit rows, as Cairn has stored them since the audit log began (these strings were
/// written by the hand-made mirror types this codec replaced): rows already in a file and rows written now have
/// one shape, which `GET /v1/audit` passes through and `cairn audit` shows.
@Suite struct AuditShapeTests {
    @Test func auditRowsKeepTheStoredShape() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        try store.replaceConfig(fullConfig(), principal: "alice", source: "cli", prune: false)
        let context = AuditEntry(time: 100, principal: "alice", source: "10.0.0.1", action: "", object: "")
        let o = try store.addOverride(Override(scope: .member, target: "www.example.com./192.0.2.10", state: .drain, reason: "drill \"x\"",
                                               principal: "drill", expiresAt: 300.25, createdAt: 100, drillID: "d-1"), audit: context)
        try store.removeOverride(id: o.id!, audit: context)
        try store.addOverride(Override(scope: .site, target: "iad", state: .down, reason: "r", principal: "alice", expiresAt: nil,
                                       createdAt: 100.5), audit: context)
        let rows = try store.listAudit(limit: 100)
        let stored = Dictionary(rows.map { ("\($0.object) \($0.action)", $0.after ?? $0.before ?? "") }, uniquingKeysWith: { a, _ in a })
        let expected = [
            "site:fra create": #"{"capacity":1000,"load":250.5,"location":{"lat":50.11,"lon":8.68},"name":"fra","region":"eu"}"#,
            "site:sin create": #"{"name":"sin"}"#,
            "monitor:tcp443 create": #"{"fall":2,"interval_ms":1000,"name":"tcp443","port":443,"rise":2,"timeout_ms":300,"type":"tcp"}"#,
            "monitor:web create": #"{"fall":2,"interval_ms":2000,"name":"web","options":{"expect_status":"[200, 204]","path":"\"/healthz\"","#
                + #""verify_tls":"false"},"port":80,"rise":3,"timeout_ms":500,"type":"http"}"#,
            "pool:www.example.com./A create": #"{"answers":2,"ecs":true,"fallback":"pool:backup.example.com.","members":["#
                + #"{"address":"198.51.100.10","load":0.25,"monitor":"tcp443","priority":2,"probe":{"address":"10.0.0.1","port":8080},"#
                + #""site":"iad","state":"drain","weight":50},{"address":"192.0.2.10","priority":1,"site":"fra","state":"enabled","weight":100},"#
                + #"{"address":"192.0.2.200","priority":3,"probe":{"port":8443},"site":"sin","state":"disabled","weight":0}],"#
                + #""monitor":"web","name":"www.example.com.","policy":"closest","rto":30.5,"ttl":20,"type":"A"}"#,
            "topology:198.51.100.0/24 create": #"{"network":"198.51.100.0/24","position":1,"site":"iad"}"#,
            "topology:2001:db8::/32 create": #"{"location":{"lat":1.35,"lon":103.82},"network":"2001:db8::/32","position":2,"#
                + #""region":"ap","site":"sin"}"#,
            "override:1 create": #"{"created_at":100,"drill_id":"d-1","expires_at":300.25,"id":1,"principal":"drill","#
                + #""reason":"drill \"x\"","scope":"member","state":"drain","target":"www.example.com./192.0.2.10"}"#,
            "override:1 delete": #"{"created_at":100,"drill_id":"d-1","expires_at":300.25,"id":1,"principal":"drill","#
                + #""reason":"drill \"x\"","scope":"member","state":"drain","target":"www.example.com./192.0.2.10"}"#,
            "override:2 create": #"{"created_at":100.5,"id":2,"principal":"alice","reason":"r","scope":"site","state":"down","target":"iad"}"#,
        ]
        for (key, text) in expected { #expect(stored[key] == text, "\(key)") }
    }

    /// Token rows: the same keys and values as the hand-made text before (`expires_at` null when there is none);
    /// its keys were in another order, which JSON does not count.
    @Test func tokenAuditRowsKeepTheirKeysAndValues() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        let (t, _) = try store.createToken(name: "ci \"bot\"/1", scope: .write, expiresAt: 1_700_086_400.5, principal: "alice", source: "cli")
        try store.deleteToken(id: t.id, principal: "alice", source: "cli", requestID: nil)
        try store.createToken(name: "ops", scope: .admin, expiresAt: nil, principal: "alice", source: "cli")
        let rows = try store.listAudit(limit: 10)
        func json(_ text: String?) -> NSDictionary? {
            text.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? NSDictionary }
        }
        let before = [#"{"id":1,"name":"ci \"bot\"/1","scope":"write","expires_at":1700086400.5}"#,
                      #"{"id":1,"name":"ci \"bot\"/1","scope":"write","expires_at":1700086400.5}"#,
                      #"{"id":2,"name":"ops","scope":"admin","expires_at":null}"#]
        #expect(rows.map(\.object) == ["token:1", "token:1", "token:2"])
        #expect(rows.map { json($0.after ?? $0.before) } == before.map(json))
        #expect(rows[2].after?.contains(#""expires_at":null"#) == true)
    }
}
}
