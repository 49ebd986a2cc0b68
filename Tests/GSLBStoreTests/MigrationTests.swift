import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

@Suite struct MigrationTests {
    @Test func migrationsFromAnEmptyFileCreateEveryTable() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        let tables = try store.tableNames()
        for table in Schema.tables {
            #expect(tables.contains(table), "missing table \(table)")
        }
        #expect(try store.appliedMigrations() == Set(SQLiteStore.knownMigrations))
        #expect(try store.loadState() == GSLBState())
    }

    @Test func reopeningAMigratedFileIsIdempotent() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        try openStore(dir.path()).replaceConfig(fullConfig(), principal: "t", source: "test", prune: false)
        let first = try Observed(try openStore(dir.path()))
        let reopened = try openStore(dir.path())
        #expect(try Observed(reopened) == first)
        #expect(try reopened.appliedMigrations() == Set(SQLiteStore.knownMigrations))
        #expect(first.state.config == fullConfig())
    }

    @Test func aVersion1FileGainsTheTopologyTableVersion() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        // A file as v1 left it: no collection_versions, v2 not recorded.
        try openStore(dir.path()).executeRaw("DROP TABLE collection_versions; DELETE FROM grdb_migrations WHERE identifier = 'v2'")
        let store = try openStore(dir.path())
        #expect(try store.appliedMigrations() == Set(SQLiteStore.knownMigrations))
        #expect(try store.objectVersions()[ObjectName.topologyTable] == 1)
        try store.replaceConfig(fullConfig(), principal: "t", source: "test", prune: false)
        #expect(try store.objectVersions()[ObjectName.topologyTable] == 2)
    }

    @Test func aFileMigratedByANewerCairnRefusesToOpen() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        try openStore(dir.path()).executeRaw("INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        do {
            _ = try openStore(dir.path())
            Issue.record("a newer schema was opened")
        } catch let error as StoreError {
            #expect(error.code == .schemaTooNew)
            #expect(error.description.contains("v99-from-the-future"))
            #expect(error.description.contains("v1"))
        }
    }

    @Test func aFileThatIsNotSQLiteIsRefused() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: dir.path()))
        #expect(throws: StoreError.self) { try openStore(dir.path()) }
    }

    @Test func theFileIsCreatedWithMode0600() throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        try store.replaceConfig(fullConfig(), principal: "t", source: "test", prune: false)
        for name in ["cairn.sqlite", "cairn.sqlite-wal"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.path(name))
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(name)")
        }
    }
}

@Suite struct StoreDocTests {
    /// docs/store.md has a section per table listing every column: the page stays true to the schema.
    @Test func theStorePageDescribesEveryTableAndColumn() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/store.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let store = try openStore(dir.path())
        let sections = text.components(separatedBy: "\n### ")
        for table in Schema.tables {
            let section = try #require(sections.first { $0.hasPrefix("`\(table)`") }, "no section for \(table)")
            for column in try store.columns(of: table) {
                #expect(section.contains("| `\(column)` |"), "docs/store.md: \(table).\(column) is not described")
            }
        }
        #expect(try store.tableNames().subtracting(Schema.tables) == ["grdb_migrations"])
    }
}
