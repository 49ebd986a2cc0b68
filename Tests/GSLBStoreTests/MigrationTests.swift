import Foundation
import GSLBCore
@testable import GSLBStore
import Testing

extension RepositoryContract {
@Suite struct MigrationTests {
    @Test(arguments: Backend.allCases) func migrationsFromAnEmptyStoreCreateEveryTable(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let tables = try store.tableNames()
        for table in Schema.tables {
            #expect(tables.contains(table), "missing table \(table)")
        }
        #expect(try store.appliedMigrations() == Set(Store.knownMigrations))
        #expect(try store.loadState() == GSLBState())
    }

    @Test(arguments: Backend.allCases) func reopeningAMigratedStoreIsIdempotent(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        try place.open().replaceConfig(fullConfig(), principal: "t", source: "test", prune: false)
        let first = try Observed(try place.open())
        let reopened = try place.open()
        #expect(try Observed(reopened) == first)
        #expect(try reopened.appliedMigrations() == Set(Store.knownMigrations))
        #expect(first.state.config == fullConfig())
    }

    @Test(arguments: Backend.allCases) func aVersion1StoreGainsTheTopologyTableVersion(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        // A store as v1 left it: no collection_versions, v2 not recorded.
        try place.open().executeRaw("DROP TABLE collection_versions; DELETE FROM grdb_migrations WHERE identifier = 'v2'")
        let store = try place.open()
        #expect(try store.appliedMigrations() == Set(Store.knownMigrations))
        #expect(try store.objectVersions()[ObjectName.topologyTable] == 1)
        try store.replaceConfig(fullConfig(), principal: "t", source: "test", prune: false)
        #expect(try store.objectVersions()[ObjectName.topologyTable] == 2)
    }

    @Test(arguments: Backend.allCases) func aStoreMigratedByANewerCairnRefusesToOpen(_ backend: Backend) throws {
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        try place.open().executeRaw("INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        do {
            _ = try place.open()
            Issue.record("a newer schema was opened")
        } catch let error as StoreError {
            #expect(error.code == .schemaTooNew)
            #expect(error.description.contains("v99-from-the-future"))
            #expect(error.description.contains("v1"))
        }
    }

    /// docs/store.md has a section per table listing every column: the page stays true to the schema, on both backends.
    @Test(arguments: Backend.allCases) func theStorePageDescribesEveryTableAndColumn(_ backend: Backend) throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/store.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let place = try backend.makeLocation()
        defer { place.cleanUp() }
        let store = try place.open()
        let sections = text.components(separatedBy: "\n### ")
        for table in Schema.tables {
            let section = try #require(sections.first { $0.hasPrefix("`\(table)`") }, "no section for \(table)")
            for column in try store.columns(of: table) {
                #expect(section.contains("| `\(column)` |"), "docs/store.md: \(table).\(column) is not described")
            }
        }
        let dialect: SQLDialect = backend == .sqlite ? .sqlite : .postgres
        #expect(try store.tableNames().subtracting(Schema.tables) == Schema.bookkeepingTables(dialect))
    }
}
}

/// What only the SQLite file has: its bytes, its mode, a file that is not SQLite.
@Suite struct SQLiteFileTests {
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
