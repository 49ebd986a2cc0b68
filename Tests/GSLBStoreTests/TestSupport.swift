import Foundation
import GSLBCore
@testable import GSLBStore
import TestPostgres
import Testing

/// A directory of its own under the system temp dir, removed by `cleanUp()`.
struct TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String = "cairn.sqlite") -> String { url.appendingPathComponent(name).path }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

let fixedTime: Double = 1_700_000_000

func openStore(_ path: String) throws -> Store {
    try Store(path: path, now: { fixedTime })
}

/// The backends the repository contract runs on: a real SQLite file and a real PostgreSQL 15
/// (started by the tests, `TestPostgres`).
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// A new, empty store location of this backend.
    func makeLocation() throws -> TestLocation {
        switch self {
        case .sqlite:
            let dir = try TempDir()
            return TestLocation(location: .sqlite(path: dir.path()), environment: [:], cleanUp: { dir.cleanUp() })
        case .postgres:
            let server = try TestPostgres.shared()
            return TestLocation(location: try StoreLocation(try server.makeDatabase()), environment: server.environment,
                                cleanUp: {})
        }
    }
}

/// A store location of a test; `open()` opens (and migrates) it, as often as a test likes.
struct TestLocation {
    let location: StoreLocation
    let environment: [String: String]
    let cleanUp: () -> Void

    func open() throws -> Store {
        try Store(location: location, environment: environment, now: { fixedTime })
    }
}

/// The repository contract: every test in it runs on each `Backend` (`swift test --filter RepositoryContract`).
@Suite struct RepositoryContract {}

/// A config with every field of every object set, sorted as `loadState` returns it
/// (sites, monitors by name; pools by name/type), with members and topology deliberately
/// not in address order so that stored order is tested.
func fullConfig() -> GSLBConfig {
    GSLBConfig(
        sites: [
            Site(name: "fra", region: "eu", location: GeoPoint(lat: 50.11, lon: 8.68), capacity: 1000, load: 250.5),
            Site(name: "iad", region: "us", location: GeoPoint(lat: 38.95, lon: -77.45), capacity: 500, load: 0),
            Site(name: "sin"),
        ],
        pools: [
            Pool(name: "backup.example.com.", type: "A", policy: .failover, ttl: 60, answers: 1, ecs: false,
                 fallback: .servfail, members: [Member(site: "sin", address: "203.0.113.99")]),
            Pool(name: "www.example.com.", type: "A", policy: .closest, ttl: 20, answers: 2, ecs: true,
                 fallback: .pool("backup.example.com."), monitor: "web", rto: 30.5,
                 members: [
                     Member(site: "iad", address: "198.51.100.10", weight: 50, priority: 2, state: .drain,
                            monitor: "tcp443", probe: ProbeTarget(address: "10.0.0.1", port: 8080), load: 0.25),
                     Member(site: "fra", address: "192.0.2.10", weight: 100, priority: 1),
                     Member(site: "sin", address: "192.0.2.200", weight: 0, priority: 3, state: .disabled,
                            probe: ProbeTarget(port: 8443)),
                 ]),
            Pool(name: "www.example.com.", type: "AAAA", policy: .weighted, ttl: 30, answers: 1, ecs: true,
                 fallback: .none, members: [Member(site: "fra", address: "2001:db8::10")]),
        ],
        monitors: [
            Monitor(name: "tcp443", type: .tcp, port: 443, intervalMs: 1000, timeoutMs: 300, rise: 2, fall: 2),
            Monitor(name: "web", type: .http, port: 80, intervalMs: 2000, timeoutMs: 500, rise: 3, fall: 2,
                    options: ["path": "\"/healthz\"", "expect_status": "[200, 204]", "verify_tls": "false"]),
        ],
        topology: [
            TopologyEntry(network: "203.0.113.0/24", region: "eu"),
            TopologyEntry(network: "198.51.100.0/24", site: "iad"),
            TopologyEntry(network: "2001:db8::/32", region: "ap", site: "sin", location: GeoPoint(lat: 1.35, lon: 103.82)),
        ])
}

/// Everything observable about a store, to prove that a failed write changed nothing.
struct Observed: Equatable {
    var state: GSLBState
    var versions: [String: Int64]
    var audit: [AuditEntry]

    init(_ store: Store) throws {
        state = try store.loadState()
        versions = try store.objectVersions()
        audit = try store.listAudit(limit: 10_000)
    }
}

// MARK: - Store internals the tests look at (`@testable import GSLBStore`)

extension Store {
    /// Migration identifiers this binary knows, in order ("v1", ...).
    static var knownMigrations: [String] { Schema.migrations.map(\.id) }

    /// Runs raw SQL in a write transaction (tests simulate other writers and newer schemas).
    func executeRaw(_ sql: String) throws {
        try write("executing raw SQL") { db in try db.executeScript(sql) }
    }

    /// Names of the user tables.
    func tableNames() throws -> Set<String> {
        try read("listing tables") { db in
            let sql = switch db.dialect {
            case .sqlite: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            case .postgres: "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            }
            return Set(try db.fetch(sql).map { $0[0] as String })
        }
    }

    /// Column names of `table`, in order.
    func columns(of table: String) throws -> [String] {
        try read("listing columns") { db in
            let sql = switch db.dialect {
            case .sqlite: "SELECT name FROM pragma_table_info(?) ORDER BY cid"
            case .postgres: "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
            }
            return try db.fetch(sql, [table]).map { $0[0] as String }
        }
    }

    /// Every row of `table`.
    func rows(of table: String) throws -> [SQLRow] {
        try read("reading \(table)") { db in try db.fetch("SELECT * FROM \(table)") }
    }

    /// Applied migration identifiers.
    func appliedMigrations() throws -> Set<String> {
        try read("reading migrations") { db in try Schema.appliedMigrations(db) }
    }
}

extension Schema {
    /// Bookkeeping tables beside `tables`: the migrations' record, and on PostgreSQL the change counter.
    static func bookkeepingTables(_ dialect: SQLDialect) -> Set<String> {
        dialect == .postgres ? ["grdb_migrations", "cairn_changes"] : ["grdb_migrations"]
    }
}
