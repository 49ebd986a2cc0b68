import Foundation
import GRDB
import Synchronization
import GSLBCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The GSLB state in one SQLite file (WAL, foreign keys on, versioned migrations).
///
/// Every write is one immediate transaction with its audit rows. Readers (`loadState`) see
/// a committed snapshot and never block writers. See `docs/store.md`.
public final class SQLiteStore: ConfigRepository, Sendable {
    /// The database file.
    public let path: String
    /// Migration identifiers this binary knows, in order ("v1", ...).
    public static var knownMigrations: [String] { Schema.makeMigrator().migrations }

    let pool: DatabasePool
    /// A dedicated connection that only reads `PRAGMA data_version` (see `changeToken`).
    private let watcher: DatabaseQueue
    private let tokenState = Mutex(TokenState())
    /// Bumped after each commit of this store's own writes.
    private let localWrites = Mutex<Int64>(0)
    /// Seconds since the Unix epoch, for audit rows and history (injectable for tests).
    let now: @Sendable () -> Double

    private struct TokenState {
        var dataVersion: Int64?
        var localWrites: Int64 = 0
        var token: Int64 = 0
    }

    /// Opens (creating it with mode 0600 if missing) and migrates the database at `path`.
    /// Throws `StoreError` with code `.schemaTooNew` when the file was migrated by a newer
    /// Cairn, `.cannotOpen` when it is not a usable SQLite file.
    public init(path: String, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.path = path
        self.now = now
        try Self.createFileIfMissing(path)

        var config = Configuration()
        config.foreignKeysEnabled = true            // PRAGMA foreign_keys = ON on every connection
        config.busyMode = .timeout(5)               // wait up to 5 s for another process's write lock
        config.label = "cairn.store"
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)   // DatabasePool = WAL
        } catch let error as DatabaseError {
            throw StoreError(.cannotOpen, "\(path): \(error.message ?? "\(error.resultCode)")")
        }
        let migrator = Schema.makeMigrator()
        try mapErrors("reading the schema of \(path)") {
            let applied = try pool.read { try migrator.appliedIdentifiers($0) }
            let unknown = applied.subtracting(migrator.migrations).sorted()
            if !unknown.isEmpty {
                throw StoreError.schemaTooNew(found: unknown, known: migrator.migrations)
            }
        }
        try mapErrors("migrating \(path)") { try migrator.migrate(pool) }
        self.pool = pool

        var watcherConfig = Configuration()
        watcherConfig.readonly = true
        watcherConfig.busyMode = .timeout(5)
        watcherConfig.label = "cairn.store.watcher"
        watcher = try mapErrors("opening \(path)") { try DatabaseQueue(path: path, configuration: watcherConfig) }
    }

    private static func createFileIfMissing(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let err = errno
            if err == EEXIST { return }   // created by someone else meanwhile
            throw StoreError(.cannotOpen, "\(path): cannot create: \(String(cString: strerror(err)))")
        }
        defer { close(fd) }
        _ = fchmod(fd, 0o600)   // whatever the umask; SQLite gives -wal and -shm the same mode
    }

    /// Runs a write transaction and, when it changed rows, counts it as a local write once it
    /// has committed (a transaction that changed nothing leaves the change token alone).
    func write<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        let (result, changed) = try mapErrors(what) {
            try pool.write { db in
                let before = db.totalChangesCount
                let result = try body(db)
                return (result, db.totalChangesCount != before)
            }
        }
        if changed { localWrites.withLock { $0 += 1 } }
        return result
    }

    func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        try mapErrors(what) { try pool.read(body) }
    }

    // MARK: - Change detection

    /// A number that changes whenever anybody commits a change to the file.
    ///
    /// Two signals: `PRAGMA data_version` read on a dedicated read-only connection (SQLite
    /// changes it when a connection *other than this one* commits: another process, or this
    /// store's own writer connection), and a counter of this store's own commits (kept so
    /// that own writes are seen even without relying on the first signal). The token is a
    /// generation number bumped each time either signal moved since the previous call, so it
    /// only grows. The server polls it (every 200 ms) and rebuilds its snapshot when it moves.
    public func changeToken() throws -> Int64 {
        let dataVersion = try mapErrors("reading data_version") {
            try watcher.inDatabase { db in try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        }
        let local = localWrites.withLock { $0 }
        return tokenState.withLock { state in
            if state.dataVersion != dataVersion || state.localWrites != local {
                state.dataVersion = dataVersion
                state.localWrites = local
                state.token += 1
            }
            return state.token
        }
    }

    // MARK: - Backup

    /// Copies the whole database to `path` with SQLite's online backup API (readers and
    /// writers keep working meanwhile). The copy holds token hashes and the audit log, so
    /// it is always mode 0600, whatever file was at `path` before; it opens with
    /// `SQLiteStore(path:)`.
    ///
    /// The copy is written to a new temporary file beside `path` (created 0600 with
    /// `O_EXCL | O_NOFOLLOW`) and renamed over `path` once complete: `path` holds the old
    /// file or the whole new one, never a part; a symlink at `path` is replaced, not
    /// followed (the file it pointed to is left alone); on failure the temporary file is
    /// removed and `path` is as it was. `path` may not be the store itself.
    public func backup(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var own = stat(), there = stat()
        if stat(self.path, &own) == 0, stat(path, &there) == 0, own.st_dev == there.st_dev, own.st_ino == there.st_ino {
            throw StoreError(.invalid, "\(path) is the store itself: back up to another file")
        }
        let temp = directory + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString
        let fd = open(temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(.cannotOpen, "\(path): cannot create \(temp): \(String(cString: strerror(errno)))")
        }
        _ = fchmod(fd, 0o600)   // whatever the umask
        close(fd)
        var placed = false
        defer {
            if !placed { for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temp + suffix) } }
        }
        try mapErrors("backing up to \(path)") {
            let destination = try DatabaseQueue(path: temp)
            try pool.backup(to: destination)
            try destination.close()
        }
        // On disk before it takes the name: after a crash `path` is the old file or the
        // whole new one.
        let sync = open(temp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if sync >= 0 { _ = fsync(sync); close(sync) }
        // A -wal or -shm left beside an earlier copy would be replayed into this one.
        for suffix in ["-wal", "-shm", "-journal"] { unlink(path + suffix) }
        guard rename(temp, path) == 0 else {
            throw StoreError(.cannotOpen, "\(path): cannot replace it with the backup: \(String(cString: strerror(errno)))")
        }
        placed = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }

    // MARK: - Versions

    /// The version of every stored object, keyed as in the audit log: `site:NAME`,
    /// `monitor:NAME`, `pool:NAME/TYPE`, `member:NAME/TYPE/ADDRESS`, `topology:NETWORK`,
    /// `override:ID`. A version starts at 1 and grows by one on each update.
    public func objectVersions() throws -> [String: Int64] {
        try read("reading versions") { db in try Self.readVersions(db) }
    }

    static func readVersions(_ db: Database) throws -> [String: Int64] {
        var versions: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, version FROM sites") {
            versions[ObjectName.site(row["name"])] = row["version"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT name, version FROM monitors") {
            versions[ObjectName.monitor(row["name"])] = row["version"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT name, type, version FROM pools") {
            versions[ObjectName.pool(row["name"], row["type"])] = row["version"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT pool_name, pool_type, address, version FROM members") {
            versions[ObjectName.member(row["pool_name"], row["pool_type"], row["address"])] = row["version"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT network, version FROM topology") {
            versions[ObjectName.topology(row["network"])] = row["version"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT id, version FROM overrides") {
            versions[ObjectName.override(row["id"])] = row["version"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT name, version FROM collection_versions") {
            versions[ObjectName.collection(row["name"])] = row["version"]
        }
        return versions
    }
}

/// How objects are named in the audit log, in `objectVersions` and in `StoreError.object`.
public enum ObjectName {
    public static func site(_ name: String) -> String { "site:\(name)" }
    public static func monitor(_ name: String) -> String { "monitor:\(name)" }
    public static func pool(_ name: String, _ type: String) -> String { "pool:\(name)/\(type)" }
    public static func member(_ pool: String, _ type: String, _ address: String) -> String { "member:\(pool)/\(type)/\(address)" }
    public static func topology(_ network: String) -> String { "topology:\(network)" }
    public static func override(_ id: Int64) -> String { "override:\(id)" }
    /// A whole collection's version (`topology`: bumped by any change to any entry).
    public static func collection(_ name: String) -> String { name }
    public static let topologyTable = collection("topology")
}

// MARK: - For tests (`@testable import GSLBStore`)

extension SQLiteStore {
    /// Runs raw SQL in a write transaction (tests simulate other writers and newer schemas).
    func executeRaw(_ sql: String) throws {
        try write("executing raw SQL") { db in try db.execute(sql: sql) }
    }

    /// Names of the user tables in the file.
    func tableNames() throws -> Set<String> {
        try read("listing tables") { db in
            Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        }
    }

    /// Column names of `table`, in order.
    func columns(of table: String) throws -> [String] {
        try read("listing columns") { db in try db.columns(in: table).map(\.name) }
    }

    /// Applied migration identifiers.
    func appliedMigrations() throws -> Set<String> {
        try read("reading migrations") { db in try Schema.makeMigrator().appliedIdentifiers(db) }
    }
}
