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
        #expect(try store.listAudit(limit: 2, offset: 1).map(\.time) == [2, 3])
    }
}
}
