import Foundation
import Synchronization
import GSLBCore

/// The GSLB state in a SQLite file (WAL, foreign keys on) or a PostgreSQL database, behind
/// the repository protocols. The repository logic is written once over `SQLDatabase`; the
/// backends (`SQLiteDatabase`, `PostgreSQLDatabase`) only run SQL in transactions.
///
/// Every write is one transaction with its audit rows; writers are serialised. Readers
/// (`loadState`) see a committed snapshot and never block writers. See `docs/store.md`.
public final class Store: ConfigRepository, Sendable {
    /// Where the store is.
    public let location: StoreLocation
    /// Written into every audit row this store writes (`--node-name`; the host name for the CLI).
    public let node: String?

    let database: any SQLDatabase
    /// The config as last read or written, at the store's config generation (`Store+ConfigCache.swift`).
    let configCache = Mutex<ConfigCache?>(nil)
    /// Seconds since the Unix epoch, for audit rows and history (injectable for tests).
    let now: @Sendable () -> Double

    /// The SQLite file, or nil on PostgreSQL.
    public var path: String? { location.sqlitePath }

    /// Opens the SQLite file at `path` (created with mode 0600 when missing) and migrates it.
    public convenience init(path: String, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        try self.init(location: .sqlite(path: path), now: now)
    }

    /// Opens (creating a SQLite file with mode 0600 if missing) and migrates the store at
    /// `location`. Throws `StoreError` with code `.schemaTooNew` when it was migrated by a
    /// newer Cairn, `.cannotOpen` when it is not usable (not a SQLite file, PostgreSQL refuses
    /// the connection or the login).
    ///
    /// With `waitForDatabase`, a PostgreSQL server that cannot be reached at all (not one that refuses the login)
    /// does not fail: the store connects at its first use that finds the server up (`connected` is false until then),
    /// and every call before fails as a store that went away does.
    public init(location: StoreLocation, environment: [String: String] = ProcessInfo.processInfo.environment,
                node: String? = nil, waitForDatabase: Bool = false,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.location = location
        self.node = node
        self.now = now
        do {
            switch location {
            case .sqlite(let path): database = try SQLiteDatabase(path: path)
            case .postgres(let p): database = try PostgreSQLDatabase(location: p, environment: environment)
            }
        } catch let error as SQLError {
            // The backends name the file or the server.
            guard waitForDatabase, error.unreachable, case .postgres(let p) = location else { throw StoreError(error, doing: "opening the store") }
            database = DeferredDatabase(location: p, environment: environment, error: error)
            return
        }
        try Schema.migrate(database)
    }

    /// Closes the connections (PostgreSQL) or the file (SQLite); the store is not used afterwards.
    public func close() { database.close() }

    /// Runs a write transaction (serialised with every other writer, in every process).
    func write<T>(_ what: String, announce: Bool = true, _ body: (any SQLTransaction) throws -> T) throws -> T {
        try mapErrors(what) { try database.write(announce: announce, body).result }
    }

    func read<T>(_ what: String, _ body: (any SQLTransaction) throws -> T) throws -> T {
        try mapErrors(what) { try database.read(body) }
    }

    // MARK: - Change detection

    /// A number that changes whenever anybody commits a change to the store.
    ///
    /// SQLite: `PRAGMA data_version` on a dedicated connection (moved by any other connection's
    /// commit, another process's included) combined with a counter of this store's own commits.
    /// PostgreSQL: `cairn_changes.generation`, bumped by every write transaction that changed a
    /// row, in that transaction. The server polls it (every 200 ms) and rebuilds its snapshot
    /// when it moves.
    public func changeToken() throws -> Int64 {
        try mapErrors("reading the change token") { try database.changeToken() }
    }

    /// Whether writes by other processes and nodes are pushed (PostgreSQL `LISTEN/NOTIFY`);
    /// SQLite is only polled (`changeToken`).
    public var notifiesChanges: Bool { database.dialect == .postgres }

    /// Runs until its task is cancelled, calling `onChange` soon after anyone commits a write
    /// (and once at the start): PostgreSQL `LISTEN cairn_changes` on a connection of its own,
    /// reconnecting after a failure. Returns at once on SQLite. `onChange` runs in the
    /// listening task: hand real work to another queue. It is a hint to read `changeToken()` now; the
    /// periodic check stays the safety net (a notification can be lost while reconnecting).
    public func listenForChanges(onChange: @escaping @Sendable () -> Void) async {
        if let deferred = database as? DeferredDatabase { return await deferred.listenForChanges(onChange: onChange) }
        guard let pg = database as? PostgreSQLDatabase else { return }
        await pg.listenForChanges(onChange: onChange)
    }

    // MARK: - Backup

    /// Copies the whole database to `path` with SQLite's online backup API (readers and
    /// writers keep working meanwhile). The copy holds token hashes and the audit log, so
    /// it is always mode 0600, whatever file was at `path` before; it opens with
    /// `Store(path:)`. Only a SQLite store has a backup file (PostgreSQL: `cairn store copy`
    /// to a SQLite file, or `pg_dump`).
    ///
    /// The copy is written to a new temporary file beside `path` (created 0600 with
    /// `O_EXCL | O_NOFOLLOW`) and renamed over `path` once complete: `path` holds the old
    /// file or the whole new one, never a part; a symlink at `path` is replaced, not
    /// followed (the file it pointed to is left alone); on failure the temporary file is
    /// removed and `path` is as it was. `path` may not be the store itself.
    public func backup(to path: String) throws {
        guard let sqlite = database as? SQLiteDatabase else {
            throw StoreError(.invalid, "backup writes a SQLite file from a SQLite store; for PostgreSQL use "
                             + "`cairn store copy \(location) sqlite:FILE` or pg_dump")
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var own = stat(), there = stat()
        if stat(sqlite.path, &own) == 0, stat(path, &there) == 0, own.st_dev == there.st_dev, own.st_ino == there.st_ino {
            throw StoreError(.invalid, "\(path) is the store itself: back up to another file")
        }
        let temp = directory + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString
        let fd = open(temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(.cannotOpen, "\(path): cannot create \(temp): \(String(cString: strerror(errno)))")
        }
        _ = fchmod(fd, 0o600)   // whatever the umask
        Glibc.close(fd)
        var placed = false
        defer {
            if !placed { for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temp + suffix) } }
        }
        try mapErrors("backing up to \(path)") { try sqlite.backup(into: temp) }
        // On disk before it takes the name: after a crash `path` is the old file or the
        // whole new one.
        let sync = open(temp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if sync >= 0 { _ = fsync(sync); Glibc.close(sync) }
        // A -wal or -shm left beside an earlier copy would be replayed into this one.
        for suffix in ["-wal", "-shm", "-journal"] { unlink(path + suffix) }
        guard rename(temp, path) == 0 else {
            throw StoreError(.cannotOpen, "\(path): cannot replace it with the backup: \(String(cString: strerror(errno)))")
        }
        placed = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 { _ = fsync(dirFD); Glibc.close(dirFD) }
    }

    // MARK: - Versions

    /// The version of every stored object, keyed as in the audit log: `site:NAME`,
    /// `monitor:NAME`, `pool:NAME/TYPE`, `member:NAME/TYPE/ADDRESS`, `topology:NETWORK`,
    /// `override:ID`. A version starts at 1 and grows by one on each update.
    public func objectVersions() throws -> [String: Int64] {
        try read("reading versions") { db in try readVersions(db) }
    }

    /// Every object's version: the config objects' from the config cache, overrides and collections read.
    func readVersions(_ db: any SQLTransaction) throws -> [String: Int64] {
        try cachedConfig(db).versions.merging(try Self.readOtherVersions(db)) { a, _ in a }
    }

    /// The versions of the config's objects (sites, monitors, pools, members, topology entries).
    static func readConfigVersions(_ db: any SQLTransaction) throws -> [String: Int64] {
        let keys: [(sql: String, key: (SQLRow) -> String)] = [
            ("SELECT name, version FROM sites", { ObjectName.site($0["name"]) }),
            ("SELECT name, version FROM monitors", { ObjectName.monitor($0["name"]) }),
            ("SELECT name, type, version FROM pools", { ObjectName.pool($0["name"], $0["type"]) }),
            ("SELECT pool_name, pool_type, address, version FROM members", { ObjectName.member($0["pool_name"], $0["pool_type"], $0["address"]) }),
            ("SELECT network, version FROM topology", { ObjectName.topology($0["network"]) }),
            ("SELECT version FROM geoip", { _ in ObjectName.geoip }),
        ]
        var versions: [String: Int64] = [:]
        for (sql, key) in keys {
            for row in try db.fetch(sql) { versions[key(row)] = row["version"] }
        }
        return versions
    }

    /// The versions of overrides and of whole collections (not the config generation: it is no object).
    static func readOtherVersions(_ db: any SQLTransaction) throws -> [String: Int64] {
        var versions: [String: Int64] = [:]
        for row in try db.fetch("SELECT id, version FROM overrides") {
            versions[ObjectName.override(row["id"])] = row["version"]
        }
        for row in try db.fetch("SELECT name, version FROM collection_versions WHERE name <> ?", [ConfigCache.generationRow]) {
            versions[ObjectName.collection(row["name"])] = row["version"]
        }
        return versions
    }
}
