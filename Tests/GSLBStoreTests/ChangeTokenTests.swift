import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct ChangeTokenTests {
    @Test(arguments: Backend.allCases) func theTokenMovesAfterAWriteByAnotherStoreOnTheSameLocation(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let server = try place.open()
        let other = try place.open()        // another process (SQLite), another node (PostgreSQL)
        let t0 = try server.changeToken()
        #expect(try server.changeToken() == t0)
        try other.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        let t1 = try server.changeToken()
        #expect(t1 != t0)
        #expect(try server.changeToken() == t1)
        try other.recordHealth(MemberHealth(key: MemberKey(pool: "www.example.com.", address: "192.0.2.10"), state: .down, since: 1))
        #expect(try server.changeToken() != t1)
        #expect(try server.loadState().health.count == 1)
    }

    @Test(arguments: Backend.allCases) func theTokenMovesAfterOwnWritesOnly(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let t0 = try store.changeToken()
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        let t1 = try store.changeToken()
        #expect(t1 != t0)
        _ = try store.loadState()
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)   // no change
        #expect(try store.changeToken() == t1)
        try store.addOverride(Override(scope: .site, target: "fra", state: .down, reason: "r", principal: "p",
                                       expiresAt: nil, createdAt: 1),
                              audit: AuditEntry(time: 1, principal: "p", source: "s", action: "", object: ""))
        #expect(try store.changeToken() != t1)
    }

}
}

@Suite struct SQLiteChangeTokenTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")))
    func theTokenMovesAfterAWriteByAnotherProcess() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        let t0 = try store.changeToken()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [dir.path(), "PRAGMA foreign_keys = ON; UPDATE sites SET capacity = 42, version = version + 1 WHERE name = 'fra';"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try store.changeToken() != t0)
        #expect(try store.loadState().config.sites[0].capacity == 42)
    }
}
