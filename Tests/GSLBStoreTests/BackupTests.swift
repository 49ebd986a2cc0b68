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

    static func mode(_ path: String) throws -> Int {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return Int(st.st_mode & 0o7777)
    }

    static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// The copy holds token hashes and the audit log: it is 0600 even where a 0644 file
    /// was before (the copy used to keep the mode of the file it overwrote).
    @Test func aBackupOverAnExisting0644FileIs0600() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        let backupPath = dir.path("backup.sqlite")

        // An empty file, and an earlier backup made readable by everyone.
        FileManager.default.createFile(atPath: backupPath, contents: nil)
        #expect(chmod(backupPath, 0o644) == 0)
        try store.backup(to: backupPath)
        #expect(try Self.mode(backupPath) == 0o600)
        #expect(chmod(backupPath, 0o644) == 0)
        try store.addOverride(Override(scope: .site, target: "fra", state: .drain, reason: "r", principal: "p",
                                       expiresAt: nil, createdAt: 1),
                              audit: AuditEntry(time: 1, principal: "p", source: "s", action: "", object: ""))
        try store.backup(to: backupPath)
        #expect(try Self.mode(backupPath) == 0o600)

        let restored = try openStore(backupPath)
        #expect(try Observed(restored) == Observed(store))
        #expect(try restored.loadState().config == fullConfig())
        // Nothing left beside it but the backup (and what SQLite keeps of the open copy).
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix("backup") || $0.hasPrefix(".backup") }
        #expect(names.allSatisfy { $0 == "backup.sqlite" || $0 == "backup.sqlite-wal" || $0 == "backup.sqlite-shm" }, "\(names)")
    }

    /// A symlink at the destination is replaced by the backup; the file it pointed to is
    /// left as it was (the copy used to be written through the link).
    @Test func aSymlinkAtTheDestinationIsReplacedNotFollowed() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        // An empty file: the copy used to be written into it, through the link.
        let victim = dir.path("victim")
        FileManager.default.createFile(atPath: victim, contents: nil)
        #expect(chmod(victim, 0o644) == 0)
        let backupPath = dir.path("backup.sqlite")
        try FileManager.default.createSymbolicLink(atPath: backupPath, withDestinationPath: victim)

        try store.backup(to: backupPath)

        #expect(!Self.isSymlink(backupPath))
        #expect(try Self.mode(backupPath) == 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)).isEmpty)
        #expect(try Self.mode(victim) == 0o644)
        #expect(try openStore(backupPath).loadState().config == fullConfig())
    }

    /// A backup that cannot be put in place (here: a directory has the name) fails and
    /// leaves no temporary file behind.
    @Test func aFailedBackupLeavesNoTemporaryFile() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        let backupPath = dir.path("backup.sqlite")
        try FileManager.default.createDirectory(atPath: backupPath, withIntermediateDirectories: false)
        #expect(throws: (any Error).self) { try store.backup(to: backupPath) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
        #expect(Set(names).subtracting(["cairn.sqlite", "cairn.sqlite-wal", "cairn.sqlite-shm"]) == ["backup.sqlite"], "\(names)")
    }

    /// The backup replaces its destination by rename, removing a -wal beside it: the
    /// store itself (or a link to it) is refused, not clobbered.
    @Test func aBackupOntoTheStoreItselfIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        try store.replaceConfig(fullConfig(), principal: "ci", source: "apply", prune: false)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.sqlite"), withDestinationPath: dir.path())
        for target in [dir.path(), dir.path("link.sqlite")] {
            #expect(throws: StoreError.self) { try store.backup(to: target) }
        }
        #expect(try store.loadState().config == fullConfig())
    }
}
