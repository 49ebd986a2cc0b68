import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

@Suite struct BackupTests {
    @Test func aBackupOpensWithTheSameState() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        try store.recordHealth(MemberHealth(key: MemberKey(pool: "www.example.com.", address: "192.0.2.10"), state: .up, since: 3))
        try store.addOverride(Override(scope: .site, target: "fra", state: .drain, reason: "r", principal: "p",
                                       expiresAt: nil, createdAt: 1),
                              audit: AuditEntry(time: 1, principal: "p", source: "s", action: "", object: ""))
        let backupPath = dir.path("backup.sqlite")
        try store.backup(to: backupPath)

        let attributes = try FileManager.default.attributesOfItem(atPath: backupPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let restored = try openStore(backupPath)
        #expect(try Observed(restored) == Observed(store))
        #expect(try restored.loadState().config == fullConfig())
    }
}
