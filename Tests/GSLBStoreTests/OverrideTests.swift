import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct OverrideTests {
    let context = AuditEntry(time: 100, principal: "alice", source: "10.0.0.1", requestID: "r1", action: "", object: "")

    @Test(arguments: Backend.allCases) func expireOverridesLiftsOnlyExpiredOnesAndAuditsThem(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let expired = try store.addOverride(Override(scope: .site, target: "fra", state: .down, reason: "maintenance",
                                                     principal: "alice", expiresAt: 200, createdAt: 100), audit: context)
        let atNow = try store.addOverride(Override(scope: .member, target: "www.example.com./192.0.2.10", state: .drain,
                                                   reason: "drill", principal: "drill", expiresAt: 300, createdAt: 100,
                                                   drillID: "d-1"), audit: context)
        let later = try store.addOverride(Override(scope: .pool, target: "www.example.com.", state: .up, reason: "pin",
                                                   principal: "alice", expiresAt: 301, createdAt: 100), audit: context)
        let permanent = try store.addOverride(Override(scope: .site, target: "iad", state: .drain, reason: "decommission",
                                                       principal: "alice", expiresAt: nil, createdAt: 100), audit: context)
        #expect(try store.activeOverrides(now: 250) == [atNow, later, permanent])
        #expect(try store.loadState().overrides == [expired, atNow, later, permanent])

        let lifted = try store.expireOverrides(now: 300, principal: "cairn")
        #expect(lifted == [expired, atNow])
        #expect(try store.loadState().overrides == [later, permanent])
        let audit = try store.listAudit(since: 300, limit: 10)
        #expect(audit.map(\.action) == ["expire", "expire"])
        #expect(audit.map(\.object) == ["override:\(expired.id!)", "override:\(atNow.id!)"])
        #expect(audit.allSatisfy { $0.principal == "cairn" && $0.before != nil && $0.after == nil })
        #expect(audit[1].before?.contains("\"drill_id\":\"d-1\"") == true)
        #expect(try store.expireOverrides(now: 300, principal: "cairn").isEmpty)
    }

    @Test(arguments: Backend.allCases) func addingAndRemovingAnOverrideIsAudited(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let added = try store.addOverride(Override(scope: .site, target: "fra", state: .down, reason: "r",
                                                   principal: "alice", expiresAt: 500, createdAt: 100), audit: context)
        let id = try #require(added.id)
        let removed = try store.removeOverride(id: id, audit: context)
        #expect(removed == added)
        #expect(try store.loadState().overrides.isEmpty)
        let audit = try store.listAudit(object: "override:\(id)", limit: 10)
        #expect(audit.map(\.action) == ["create", "delete"])
        #expect(audit.allSatisfy { $0.principal == "alice" && $0.requestID == "r1" && $0.time == 100 })
        #expect(throws: StoreError(.notFound, "no such override", object: "override:\(id)")) {
            try store.removeOverride(id: id, audit: context)
        }
        // Ids are never reused.
        let next = try store.addOverride(added, audit: context)
        #expect(next.id != id)
    }
}
}
